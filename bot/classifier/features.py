"""Features for Chinese complaints: character n-grams plus jieba words, of the whole message and of
its first line.

A long report usually opens with its subject (「XX小区垃圾长期无人清运」) and then tells the story; the
subject says more about the category than the story's greetings, dates and names, so when the
training messages have such a first line it is counted once more on its own (a message that is one
line is then its own subject). Chat messages of one line get the whole-message features only."""

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


def first_line(text: str) -> str:
    """The subject of a message: its first non-blank line, normalised."""
    return next((line for line in normalize(text).splitlines() if line.strip()), "")


def _tfidf_pair(preprocessor):
    from sklearn.feature_extraction.text import TfidfVectorizer

    chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), preprocessor=preprocessor, sublinear_tf=True)
    words = TfidfVectorizer(
        tokenizer=jieba_words, preprocessor=preprocessor, token_pattern=None, lowercase=False, sublinear_tf=True
    )
    return chars, words


def has_subject(text: str) -> bool:
    """A first line followed by more text, as in a web-board message (title, then body)."""
    return len([line for line in text.splitlines() if line.strip()]) > 1


def build_vectorizer(subjects: bool = False):
    from sklearn.pipeline import FeatureUnion

    chars, words = _tfidf_pair(normalize)
    parts = [("chars", chars), ("words", words)]
    if subjects:
        subject_chars, subject_words = _tfidf_pair(first_line)
        parts += [("subject_chars", subject_chars), ("subject_words", subject_words)]
    return FeatureUnion(parts)
