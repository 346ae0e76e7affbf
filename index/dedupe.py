"""Stage 3: split content lines into sentences and keep each sentence once.

A sentence is dropped when an earlier one (in this article or an earlier article) is the
same after normalisation, or a near duplicate by MinHash-estimated Jaccard similarity of
word 3-shingles. Near duplicates must also state the same figures, so that two sources
disagreeing on a number are both kept.

Sentences come from sentencex (Wikimedia's rule-based segmenter, compiled): on 1,000
generated articles it splits in 0.03 s what pysbd took 17 s for, and it keeps "ca. 10,000"
and URLs whole where pysbd broke them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from index.clean import CleanArticle, Span, normalize

_NON_WORD = re.compile(r"[^\w]+")
_DIGITS = re.compile(r"\d[\d,.]*")
_MIN_WORDS_FOR_NEAR = 8
_NUM_PERM = 64


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    block: int  # index of the content line it came from


@dataclass(frozen=True)
class DedupedArticle:
    article: CleanArticle
    sentences: tuple[Sentence, ...]  # kept sentences, in order
    duplicates: int  # sentences dropped as duplicates


def split_sentences(text: str, span: Span) -> list[Span]:
    """Sentence spans inside `text[span.start:span.end]`, as absolute offsets."""
    from sentencex import segment

    block = text[span.start : span.end]
    out: list[Span] = []
    cursor = 0
    for piece in segment("en", block):
        piece = piece.strip()
        if not piece:
            continue
        at = block.find(piece, cursor)
        if at < 0:  # the segmenter altered the text; fall back to the rest of the line
            out.append(Span(span.start + cursor, span.end))
            return out
        if out and at == cursor and block[at - 1] in ".!?":
            # "window.__pwned", "v2.0beta": a Latin full stop with no space after it ends
            # no sentence (a CJK one, "。", needs none and is left alone).
            out[-1] = Span(out[-1].start, span.start + at + len(piece))
        else:
            out.append(Span(span.start + at, span.start + at + len(piece)))
        cursor = at + len(piece)
    return out


def _key(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", normalize(text).casefold()).split())


class _NearIndex:
    def __init__(self, threshold: float) -> None:
        from datasketch import MinHash, MinHashLSH

        # One set of permutations for every sentence: drawing them is most of a MinHash's cost.
        template = MinHash(num_perm=_NUM_PERM)
        self._minhash = partial(
            MinHash,
            num_perm=_NUM_PERM,
            permutations=template.permutations,
            scheme=template.scheme,
        )
        self._lsh = MinHashLSH(threshold=threshold, num_perm=_NUM_PERM)
        self._digits: dict[str, tuple[str, ...]] = {}
        self._count = 0

    def seen(self, key: str) -> bool:
        """True if a near duplicate was added before; otherwise remember `key`."""
        words = key.split()
        if len(words) < _MIN_WORDS_FOR_NEAR:
            return False
        shingles = {" ".join(words[i : i + 3]).encode() for i in range(len(words) - 2)}
        mh = self._minhash()
        mh.update_batch(list(shingles))
        digits = tuple(sorted(_DIGITS.findall(key)))
        if any(self._digits[m] == digits for m in self._lsh.query(mh)):
            return True
        name = str(self._count)
        self._count += 1
        self._lsh.insert(name, mh)
        self._digits[name] = digits
        return False


def dedupe(articles: Iterable[CleanArticle], threshold: float = 0.8) -> list[DedupedArticle]:
    exact: set[str] = set()
    near = _NearIndex(threshold)
    out: list[DedupedArticle] = []
    for art in articles:
        kept: list[Sentence] = []
        dropped = 0
        for b, block in enumerate(art.blocks):
            for s in split_sentences(art.text, block):
                key = _key(art.text[s.start : s.end])
                if not key or key in exact or near.seen(key):
                    dropped += 1
                    continue
                exact.add(key)
                kept.append(Sentence(s.start, s.end, b))
        out.append(DedupedArticle(art, tuple(kept), dropped))
    return out
