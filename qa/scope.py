"""Questions that point at one article ("in the Daily Courier article", "according to the
article on the bridge closure") are answered from that article only.

An article is picked by its outlet or author named in the question, or by a described
article ("the Pentagon article", "the piece about ...", "the Herald article") whose words all
occur in exactly one article's title, outlet and author. Anything less certain leaves the
question unscoped: a wrong scope would hide the answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from index import terms

# "the Pentagon article" (words before the noun), "the article about ..." (words after it).
# Both are tried, the words after first: "the outlet that published the article headlined
# ..." is described by what follows the noun, not by what leads to it.
_DESCRIBED = (
    re.compile(
        r"\b(?:article|piece|story|report|post)\s+(?:on|about|headlined|titled|called)\s+"
        r"(?P<after>(?:[\w’'\-]+\s*){1,8})",
        re.I,
    ),
    re.compile(
        r"\b(?:the|this|that)\s+(?P<before>(?:[\w’'\-]+\s+){1,5}?)"
        r"(?:article|piece|story|report|post)\b",
        re.I,
    ),
)
# A title quoted whole ("the piece headlined 'Storm floods the coast'"), however long: the
# phrase runs to the closing quote, and every word of it must be in the title it names.
_QUOTED = re.compile(
    r"\b(?:article|piece|story|report|post)\s+(?:headlined|titled|called|named)\s+"
    r"['\"‘“](?P<title>.+?)['\"’”](?=\W*(?:\s|$))",
    re.I,
)
_FILLER = frozenset(
    "the a an this that article piece story report post news about on of in and to "
    "headlined titled called which who what how".split()
)


def _stems(text: str) -> set[str]:
    return {t for t in terms.lemma_terms(text) if t not in _FILLER and len(t) > 1}


def _stems_in_order(text: str) -> list[str]:
    return list(
        dict.fromkeys(t for t in terms.lemma_terms(text) if t not in _FILLER and len(t) > 1)
    )


def _covered(word: str, title: set[str]) -> bool:
    # "denial" and "denies" stem apart ("denial", "deni"): a shared stem of 4+ letters counts.
    return any(word == t or (min(len(word), len(t)) >= 4 and word.startswith(t)) for t in title)


@dataclass(frozen=True)
class Reference:
    article_id: str
    phrase: str  # the words of the question that point at the article
    stand_in: str = ""  # what the phrase leaves behind when taken out


class ArticleRefs:
    """The outlets, authors and title words of a set of articles, prepared once (per index
    generation) so that finding the article a question points at costs no per-article work
    beyond set lookups."""

    def __init__(self, articles: Mapping[str, Mapping[str, Any]]) -> None:
        self._named = [
            (aid, re.compile(rf"\b{re.escape(value.lower())}\b"))
            for aid, art in articles.items()
            for field in ("outlet", "author")
            if isinstance(value := art.get(field), str) and len(value) >= 4
        ]
        # A described article may be named by a word of its outlet or author as well as of
        # its title: "the Herald article", "the Holt piece".
        self._titles = {
            aid: _stems(" ".join(str(art.get(f) or "") for f in ("title", "outlet", "author")))
            for aid, art in articles.items()
        }

    def find(self, question: str) -> Reference | None:
        """The one article the question points at, or None."""
        low = question.lower()
        named = {}
        for aid, pattern in self._named:
            m = pattern.search(low)
            if m:
                named[aid] = question[m.start() : m.end()]
        if len(named) == 1:
            aid, phrase = named.popitem()
            return Reference(aid, phrase)
        quoted = []
        for q in _QUOTED.finditer(question):
            quoted.append(q.span())
            words = _stems_in_order(q.group("title"))
            matches = self._fitting(words) if words else []
            if len(matches) == 1:
                return Reference(matches[0], q.group(0), "article")
        for m in (m for pattern in _DESCRIBED for m in pattern.finditer(question)):
            if any(a < m.end() and m.start() < b for a, b in quoted):
                continue  # a quoted title no article has whole: not some other title's words
            before = "before" in m.re.groupindex
            words = _stems_in_order(m.group("before" if before else "after"))
            # The description may run into the question ("the officials mentioned in the
            # Pentagon article", "the article on Russia's denial say about food"): the longest
            # run of words next to the noun that fits exactly one title wins.
            for n in range(len(words), 0, -1):
                run = words[-n:] if before else words[:n]
                matches = self._fitting(run)
                if len(matches) == 1:
                    return Reference(matches[0], _phrase(m, run, before), "article")
                if matches:
                    break
        return None

    def _fitting(self, words: list[str]) -> list[str]:
        """The articles whose title has every one of the words."""
        return [
            aid for aid, title in self._titles.items() if all(_covered(w, title) for w in words)
        ]

    def without(self, question: str) -> str:
        """The question with the words that point at an article taken out: they say where
        to look, not what is asked."""
        ref = self.find(question)
        if ref is None:
            return question
        left = " ".join(question.replace(ref.phrase, f" {ref.stand_in} ").split())
        return re.sub(r"\s+([?.!,;:])", r"\1", left)


def _phrase(m: re.Match[str], run: list[str], before: bool) -> str:
    """The matched words from the first (or up to the last) word of `run`."""
    tokens = re.findall(r"[\w’'\-]+|\W+", m.group(0))
    stems = [next(iter(terms.lemma_terms(t)), "") for t in tokens]
    if before:
        first = next(i for i, st in enumerate(stems) if st in run)
        return "".join(tokens[first:]).strip()
    last = max(i for i, st in enumerate(stems) if st in run)
    return "".join(tokens[: last + 1]).strip()
