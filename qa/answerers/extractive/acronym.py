"""Questions that ask what an abbreviation stands for ("What does the VMI stand for?"): the
answer is the name the text spells it out as, where it introduces the abbreviation in
brackets, "the Velmar Maritime Institute (VMI)" or "the VMI (Velmar Maritime Institute)", or
with "or", "the VMI or Velmar Maritime Institute".

The fitting data asks almost no such questions, so the span model has not learned what
answers them; news readers ask them often, and the text says it directly, whatever the
corpus: the initials of the name's words, leaving out the small words of a name ("of",
"and", "the"), spell the abbreviation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from qa.answerers.extractive.reading import Sentence

MAX_WORDS = 10  # the most words a spelled-out name may have
# Words a name's initials leave out: English function words, the particles of names in other
# languages ("Institut de la Mer"), and a possessive's "'s".
_SMALL = frozenset(
    {"of", "for", "and", "the", "in", "on", "at", "to", "de", "du", "des", "la", "le", "von"}
    | {"van", "der", "di", "da", "'s", "’s", "'", "’", "&", "-"}
)

Word = Callable[[Sentence, int], str]  # the text of a sentence's token i, as written


def expand(sentences: Iterable[Sentence], acronym: str, word: Word) -> tuple[Sentence, int, int]:
    """The first sentence that spells `acronym` out beside it in brackets, with the first
    and last token of the name; LookupError when none does."""
    for sentence in sentences:
        found = expand_in(sentence, acronym, word)
        if found is not None:
            return sentence, *found
    raise LookupError(acronym)


def expand_in(sentence: Sentence, acronym: str, word: Word) -> tuple[int, int] | None:
    n = len(sentence.tokens)
    for i in range(n):
        if word(sentence, i) != acronym:
            continue
        # "the Velmar Maritime Institute (VMI)": the name ends just before the bracket.
        if 1 < i < n - 1 and word(sentence, i - 1) == "(" and word(sentence, i + 1) == ")":
            found = _spelled(sentence, acronym, word, i - 2, -1)
            if found is not None:
                return found
        # "the VMI (Velmar Maritime Institute)": the name starts just after it.
        if i + 2 < n and word(sentence, i + 1) == "(":
            found = _spelled(sentence, acronym, word, i + 2, 1)
            if found is not None and found[1] + 1 < n and word(sentence, found[1] + 1) == ")":
                return found
        # "the VMI or Velmar Maritime Institute", "the Velmar Maritime Institute, or VMI,"
        if i + 2 < n and word(sentence, i + 1) == "or":
            found = _spelled(sentence, acronym, word, i + 2, 1)
            if found is not None:
                return found
        if i > 1 and word(sentence, i - 1) == "or":
            before = i - 3 if word(sentence, i - 2) == "," else i - 2
            found = _spelled(sentence, acronym, word, before, -1)
            if found is not None:
                return found
    return None


def _spelled(
    sentence: Sentence, acronym: str, word: Word, start: int, step: int
) -> tuple[int, int] | None:
    """The tokens from `start` walking by `step` whose initials spell `acronym` (read the
    same way), as (first, last); None when the words there do not."""
    letters = acronym.upper() if step > 0 else acronym.upper()[::-1]
    i, matched, used = start, 0, 0
    while matched < len(letters) and 0 <= i < len(sentence.tokens) and used < MAX_WORDS:
        text = word(sentence, i)
        if text.lower() not in _SMALL:
            if text[:1] != letters[matched]:
                return None
            matched += 1
        used += 1
        i += step
    if matched < len(letters):
        return None
    last = i - step
    return (start, last) if step > 0 else (last, start)
