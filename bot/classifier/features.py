"""Features for short Chinese complaints: character n-grams plus jieba words."""
from __future__ import annotations

import logging
from typing import List

from bot.textnorm import normalize


def jieba_words(text: str) -> List[str]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [w for w in jieba.lcut(text) if w.strip()]


def build_vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char", ngram_range=(1, 3), preprocessor=normalize,
                    sublinear_tf=True, min_df=1,
                ),
            ),
            (
                "words",
                TfidfVectorizer(
                    tokenizer=jieba_words, preprocessor=normalize, token_pattern=None,
                    lowercase=False, sublinear_tf=True,
                ),
            ),
        ]
    )
