"""Features for short Chinese complaints: character n-grams plus jieba words."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import List

from bot.textnorm import normalize

# Words of residents' problems that jieba's general dictionary splits (井盖, 飞线充电, 化粪池…);
# the NLU pipeline's tokenizer loads the same folder (config.yml: dictionary_path).
DICTIONARY_DIR = Path(__file__).resolve().parents[1] / "nlu" / "dictionary"


@functools.lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    for path in sorted(DICTIONARY_DIR.glob("*.txt")):
        jieba.load_userdict(str(path))
    return jieba


def jieba_words(text: str) -> List[str]:
    return [w for w in _jieba().lcut(text) if w.strip()]


def build_vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char",
                    ngram_range=(1, 3),
                    preprocessor=normalize,
                    sublinear_tf=True,
                    min_df=1,
                ),
            ),
            (
                "words",
                TfidfVectorizer(
                    tokenizer=jieba_words,
                    preprocessor=normalize,
                    token_pattern=None,
                    lowercase=False,
                    sublinear_tf=True,
                ),
            ),
        ]
    )
