"""Definitional questions ("Who is Ilse Varga?"): the answer is what the text says the
name is, read from the parse of a sentence that names it.

The fitting data asks almost no such questions (SQuAD's eight articles: none), so the span
model has not learned what answers them; news readers ask them all the time. The parse says
it directly, whatever the corpus: an apposition ("Tomas Berg, a bridge engineer at the
University of Dunmore, ..."), the phrase the name is in apposition to ("the spokesperson,
Ilse Varga"), a copula ("X is the deputy minister"), the title words before the
name ("Harbour Authority spokesman Oren Pike"), or, failing those, the place the name is
said to be from ("experts such as Oren Pike from the Harbour Authority").
"""

from __future__ import annotations

from collections.abc import Iterable

from qa.answerers.extractive.reading import Sentence

MAX_WORDS = 20  # a description longer than this is a clause, not a phrase
_EDGES = {"PUNCT", "CCONJ"}  # trimmed off a description's ends
_TITLE = {"NOUN", "PROPN"}  # words before a name that can make a title
_CLAUSES = {"relcl", "acl", "advcl", "ccomp"}  # left out of a description
# Prepositions that tie a name to where its bearer belongs ("X from the Institute", "X of
# the University", "X at the Ministry"): English grammar, not any corpus's words.
_AFFILIATION = {"from", "of", "at"}


def describe(sentences: Iterable[Sentence], name: tuple[str, ...]) -> tuple[Sentence, int, int]:
    """The first sentence that describes `name` (lemmas, as Question.defined gives them),
    with the description's first and last token; raises LookupError when none does."""
    for sentence in sentences:
        found = describe_in(sentence, name)
        if found is not None:
            return sentence, *found
    raise LookupError(name)


def describe_in(sentence: Sentence, name: tuple[str, ...]) -> tuple[int, int] | None:
    toks = sentence.tokens
    lemmas = [str(t[2]) for t in toks]
    n = len(name)
    at = {t[0]: i for i, t in enumerate(toks)}
    children: dict[int, list[int]] = {}
    for i, t in enumerate(toks):
        h = at.get(t[5])
        if h is not None and h != i:
            children.setdefault(h, []).append(i)

    def subtree(i: int) -> tuple[int, int]:
        """The phrase headed by token i, without its clauses ("a nobleman who owned ..."):
        the contiguous run of its tokens around i."""
        kept = {i}
        stack = [i]
        while stack:
            j = stack.pop()
            below = [c for c in children.get(j, []) if toks[c][4] not in _CLAUSES]
            kept.update(below)
            stack.extend(below)
        lo = hi = i
        while lo - 1 in kept:
            lo -= 1
        while hi + 1 in kept:
            hi += 1
        return lo, hi

    def trimmed(lo: int, hi: int) -> tuple[int, int] | None:
        while lo <= hi and toks[lo][3] in _EDGES:
            lo += 1
        while hi >= lo and toks[hi][3] in _EDGES:
            hi -= 1
        if lo > hi or hi - lo + 1 > MAX_WORDS:
            return None
        opened = sum(str(toks[i][2]) == "(" for i in range(lo, hi + 1))
        closed = sum(str(toks[i][2]) == ")" for i in range(lo, hi + 1))
        if opened > closed and hi + 1 < len(toks) and str(toks[hi + 1][2]) == ")":
            hi += 1  # "... Institute (VMI)" keeps the bracket it opens
        words = [toks[i] for i in range(lo, hi + 1)]
        if not any(t[3] in _TITLE for t in words) or all(str(t[2]).endswith(".") for t in words):
            return None  # no noun ("," alone), or an abbreviation alone ("Mr.")
        return lo, hi

    for first in range(len(toks) - n + 1):
        if lemmas[first : first + n] != list(name):
            continue
        last = first + n - 1
        span = range(first, last + 1)
        head = next(
            (i for i in span if at.get(toks[i][5]) not in span or toks[i][5] == toks[i][0]), last
        )
        gov = at.get(toks[head][5])
        outside = [c for c in children.get(head, []) if c not in span]
        # "Tomas Berg, a bridge engineer at ...,"
        for c in outside:
            if toks[c][4] == "appos" and (found := trimmed(*subtree(c))):
                return found
        # "the spokesperson, Ilse Varga": the words before the name in its governor's phrase
        if toks[head][4] == "appos" and gov is not None and gov < first:
            lo, _ = subtree(gov)
            if found := trimmed(lo, first - 1):
                return found
        # "Oren Pike is the deputy minister ..."
        if toks[head][4] == "nsubj" and gov is not None and toks[gov][2] == "be":
            for c in children.get(gov, []):
                if toks[c][4] == "attr" and (found := trimmed(*subtree(c))):
                    return found
        # "Harbour Authority spokesman Oren Pike": the title words before the name
        lo, _ = subtree(head)
        titled = all(toks[i][4] in {"compound", "amod", "det", "punct"} for i in range(lo, first))
        if lo < first and titled and (found := trimmed(lo, first - 1)):
            return found
        # "Oren Pike from the Harbour Authority": the prepositional phrase right after it
        after = last + 1
        placed = after in outside and toks[after][4] == "prep"
        if placed and str(toks[after][2]) in _AFFILIATION and (found := trimmed(*subtree(after))):
            return found
    return None
