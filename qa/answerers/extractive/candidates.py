"""Candidate answers: spans the parse gives inside a sentence (entities, noun chunks, and the
phrases headed by a noun, number or adjective), each with its type and syntactic root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa.answerers.extractive.reading import Sentence

_HEADS = {"NOUN", "PROPN", "NUM", "ADJ"}
_LEADING = {"DET", "PRON", "CCONJ", "ADP", "PUNCT"}  # trimmed off a span's edges
_MARKUP = frozenset("#*_~`|>=")
_TRAILING = {"PUNCT", "CCONJ", "ADP", "PART"}
MAX_TOKENS = 10


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    first: int  # first token, as an index into the sentence's tokens
    last: int  # last token (inclusive)
    root: int  # the token whose head lies outside the span
    source: str  # "ent", "np" or "sub"
    label: str  # the entity label, or "NP-" + the root's part of speech


def _wordlike(token: list[Any]) -> bool:
    """Not markup: a token made only of Markdown's marks ("###", "**") is none of the text."""
    return not set(str(token[2])) <= _MARKUP


def _governed(tokens: list[list[Any]], i: int, first: int, last: int) -> bool:
    """Token i's head is one of the tokens first..last."""
    return any(tokens[i][5] == tokens[j][0] for j in range(first, last + 1))


def _root(tokens: list[list[Any]], first: int, last: int) -> int:
    starts = {tokens[i][0] for i in range(first, last + 1)}
    for i in range(first, last + 1):
        if tokens[i][5] not in starts or tokens[i][5] == tokens[i][0]:
            return i
    return last


def _bracketed(tokens: list[list[Any]]) -> list[bool]:
    """Which tokens are square brackets or lie between them. Square brackets hold what an
    editor put in ("[citation needed]", "[update]") or left to fill ("[date]"), never the
    text's own statement: no span touching them is a candidate."""
    out, depth = [], 0
    for t in tokens:
        if t[2] == "[":
            depth += 1
        out.append(depth > 0)
        if t[2] == "]" and depth:
            depth -= 1
    return out


def candidates(sentence: Sentence) -> list[Candidate]:
    toks = sentence.tokens
    if not toks:
        return []
    editorial = _bracketed(toks)
    at = {t[0]: i for i, t in enumerate(toks)}
    ends = {t[1]: i for i, t in enumerate(toks)}
    spans: dict[tuple[int, int], tuple[str, str]] = {}

    def add(first: int, last: int, source: str, label: str | None = None) -> None:
        # Markup is trimmed too, whatever part of speech the tagger gave it ("#" is a NOUN).
        while first <= last and (toks[first][3] in _LEADING or not _wordlike(toks[first])):
            first += 1
        while last >= first and (toks[last][3] in _TRAILING or not _wordlike(toks[last])):
            last -= 1
        if first > last:
            return
        # A symbol that one of the span's words governs belongs to it: "$" before "2,000"
        # (the tagger's MONEY entity leaves the sign out).
        while first > 0 and toks[first - 1][3] == "SYM" and _governed(toks, first - 1, first, last):
            first -= 1
        while (
            last + 1 < len(toks)
            and toks[last + 1][3] == "SYM"
            and _governed(toks, last + 1, first, last)
        ):
            last += 1
        if last - first + 1 > MAX_TOKENS:
            return
        if not any(ch.isalnum() for t in toks[first : last + 1] for ch in str(t[2])):
            return  # dashes, symbols: nothing a reply could state
        if any(editorial[first : last + 1]):
            return
        key = (first, last)
        if key in spans and spans[key][0] == "ent":
            return
        root = _root(toks, first, last)
        spans[key] = (source, label or f"NP-{toks[root][3]}")

    for s, e, label in sentence.entities:
        if s in at and e in ends:
            add(at[s], ends[e], "ent", label)
    for s, e in sentence.noun_chunks:
        if s in at and e in ends:
            add(at[s], ends[e], "np")
    children: dict[int, list[int]] = {}
    for i, t in enumerate(toks):
        h = at.get(t[5])
        if h is not None and h != i:
            children.setdefault(h, []).append(i)
    for i, t in enumerate(toks):
        if t[3] not in _HEADS or i not in children:
            continue
        lo = hi = i
        stack = [i]
        while stack:  # the token's subtree, as far as it is contiguous
            j = stack.pop()
            lo, hi = min(lo, j), max(hi, j)
            stack.extend(children.get(j, []))
        if hi - lo + 1 <= MAX_TOKENS:
            add(lo, hi, "sub")
    out = []
    for (first, last), (source, label) in spans.items():
        out.append(
            Candidate(
                toks[first][0],
                toks[last][1],
                first,
                last,
                _root(toks, first, last),
                source,
                label,
            )
        )
    return out
