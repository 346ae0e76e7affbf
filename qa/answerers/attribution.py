"""Citations for the sentences of a generative reply that carry none.

Small local models often answer from the passages without writing `[n]`. A sentence without
a marker is cited here when one passage holds most of its words and every figure it states;
a reply none of whose sentences any passage supports is not grounded (see `Attributor.grounded`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from index import terms
from qa.retrieve import Hit

SUPPORT = 0.6  # share of a sentence's content words one passage must hold
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_END = re.compile(r"[.!?][\"'”’)]*(?:\s*\[[^\[\]]*\])*$")

# Function words, and words that frame a question rather than say what it is about.
STOPWORDS = frozenset(
    (
        "a about above after again against all also am an and any are as at be because been "
        "before being below between both but by can could did do does doing down during each few "
        "for from further had has have having he her here hers herself him himself his how i if "
        "in into is it its itself just me might more most must my myself no nor not now of off on "
        "once only or other our ours ourselves out over own said same say says she should so some "
        "such than that the their theirs them themselves then there these they this those through "
        "to too under until up very was we were what when where which while who whom whose why "
        "will with would you your yours according article articles tell me give many much name "
        "kind kinds type types list mentioned mention describe described according report "
        "reported reports one author authors writer piece outlet story far stand claim claims "
        "claimed state states stated reportedly allegedly actually eventually currently every each "
        "per ever"
    ).split()
)


def _figures(text: str) -> set[str]:
    return {m.group(0).replace(",", "").rstrip(".") for m in _FIGURE.finditer(text)}


def _content(text: str) -> set[str]:
    words = terms.WORD.findall(text.lower())
    return {terms.lemma_stem(w) for w in words if w not in STOPWORDS and not w.isdigit()}


def _support(passages: Sequence[Hit]) -> list[tuple[set[str], set[str]]]:
    """Each passage's content words (title included) and figures."""
    return [(_content(f"{h.title} {h.text}"), _figures(h.text)) for h in passages]


def _supporting_passage(sentence: str, support: Sequence[tuple[set[str], set[str]]]) -> int | None:
    """The 1-based number of the passage (as prepared by `_support`) that best supports
    `sentence`, or None."""
    words = _content(sentence)
    figures = _figures(sentence)
    if not words:
        return None
    best, best_share = None, 0.0
    for n, (passage_words, passage_figures) in enumerate(support, 1):
        if not figures <= passage_figures:
            continue
        share = len(words & passage_words) / len(words)
        if share > best_share:  # ties go to the better-ranked passage
            best, best_share = n, share
    return best if best_share >= SUPPORT else None


class Attributor:
    """Runs on the model's raw text, before `MarkerFilter`, so that added markers are numbered
    in the order they appear. After each sentence that has no valid marker (`cited`) and
    that a passage supports, it adds that passage's `[n]`."""

    def __init__(self, passages: Sequence[Hit], cited: Callable[[str], bool]) -> None:
        self._passages = passages
        self._support: list[tuple[set[str], set[str]]] | None = None  # made on first use
        self._cited = cited
        self._sentence = ""
        self._held = ""
        self.sentences = 0
        self.supported = 0  # sentences with a marker, the model's or one added here

    def feed(self, text: str) -> str:
        out: list[str] = []
        for ch in text:
            if ch.isspace() and (self._held or _END.search(self._sentence)):
                self._held += ch  # a sentence may have ended: wait for what follows
                continue
            if self._held:
                if ch == "[":  # "... monthly. [2]": the marker still belongs to it
                    self._sentence += self._held
                else:
                    out.append(self._close())
                out.append(self._held)
                self._held = ""
            self._sentence += ch
            out.append(ch)
        return "".join(out)

    def flush(self) -> str:
        self._held = ""  # trailing whitespace is dropped, as `Tidy` drops it
        return self._close()

    def _close(self) -> str:
        sentence, self._sentence = self._sentence.strip(), ""
        if not sentence:
            return ""
        self.sentences += 1
        if self._cited(sentence):
            self.supported += 1
            return ""
        if self._support is None:
            self._support = _support(self._passages)
        n = _supporting_passage(_BRACKETS.sub(" ", sentence), self._support)
        if n is None:
            return ""
        self.supported += 1
        return f" [{n}]"

    @property
    def grounded(self) -> bool:
        """False when the reply has sentences and no passage supports any of them."""
        return self.sentences == 0 or self.supported > 0
