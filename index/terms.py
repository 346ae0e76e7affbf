"""The one definition of a search term, shared by BM25 indexing and the answerers."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from index.clean import normalize

WORD = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def stem(word: str) -> str:
    return str(_stemmer().stemWord(word.lower()))


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens (stop words are kept; BM25 drops its own)."""
    return [str(t) for t in _stemmer().stemWords(WORD.findall(normalize(text).lower()))]


def bm25_tokenize(texts: list[str]) -> Any:
    import bm25s

    return bm25s.tokenize(
        [normalize(t) for t in texts],
        stopwords="en",
        stemmer=_stemmer().stemWords,
        show_progress=False,
        return_ids=False,
    )


@lru_cache(maxsize=1)
def _lemmas() -> Any:
    import simplemma

    return simplemma


@lru_cache(maxsize=65536)
def lemma_stem(word: str) -> str:
    """A word's dictionary form, stemmed: 'began' and 'begin', 'brought' and 'bring' meet.
    For matching questions to sentences; the BM25 index keeps plain stems."""
    low = word.lower()
    if not low.strip():
        return low
    return stem(str(_lemmas().lemmatize(low, lang="en")))


def lemma_terms(text: str) -> list[str]:
    return [lemma_stem(w) for w in WORD.findall(normalize(text).lower())]
