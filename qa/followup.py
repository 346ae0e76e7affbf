"""Turn a follow-up ("What did she call the claims?") into a standalone search query.

Generative backends may offer `condense(question, history)`; otherwise the query is made
history-aware without an LLM: when the question leans on earlier turns (pronouns,
"what about ...", very short), the previous user question and the names in the previous
answer are added to it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_ANAPHORA = re.compile(
    r"\b(he|she|him|her|his|hers|they|them|their|theirs|it|its|this|that|these|those|there|"
    r"then|the same|the former|the latter|the agency|the country|the group|the article|"
    r"the report|the source)\b",
    re.IGNORECASE,
)
# "Where are the troops training?" stands alone; "And where?" (short) or "What about ..." not.
_CONTINUATION = re.compile(r"^(and|also|what about|how about|who else|anything else|more)\b", re.I)
# "Oren Pike", "Ministry of Transport", "the 3rd Battalion" (an ordinal leads some names).
_NAME = re.compile(
    r"\b(?:\d{1,3}(?:st|nd|rd|th)\s+)?[A-Z][\w’'-]+(?:\s+(?:[A-Z][\w’'-]+|of|for|the|and)){0,4}\b"
)
_MARKERS = re.compile(r"\[\d+\]")
_NOT_NAMES = frozenset(
    "The A An It They He She This That These Those What Who Which When Where Why How "
    "According Sources The articles".split()
)


def needs_history(question: str) -> bool:
    words = question.split()
    return bool(_ANAPHORA.search(question) or _CONTINUATION.match(question)) or len(words) <= 3


def standalone_query(question: str, history: Sequence[dict[str, str]], backend: Any = None) -> str:
    users = [t["content"] for t in history if t["role"] == "user" and t["content"].strip()]
    if not users or not needs_history(question):
        return question
    condense = getattr(backend, "condense", None)
    if callable(condense):
        condensed = condense(question, history)
        if isinstance(condensed, str) and condensed.strip():
            return " ".join(condensed.split())
    # Carry the names of the last exchange into the new question, not the whole old
    # question: its other words would pull retrieval back to what was already answered.
    previous = _MARKERS.sub("", users[-1])
    answers = [t["content"] for t in history if t["role"] == "assistant"]
    # The answer's lead, before its first citation ("Oren Pike [1]. ..."), names what was
    # found; the quoted sentences after it name much else.
    head = _MARKERS.split(answers[-1], maxsplit=1)[0][:200] if answers else ""
    names: list[str] = []
    for text in (previous, head):
        for m in _NAME.finditer(text):
            name = m.group(0)
            if m.start() == 0 and len(name.split()) == 1:
                continue  # a capitalised first word is usually not a name
            if name.split()[0] in _NOT_NAMES:
                continue
            names.append(name)
    extra = " ".join(dict.fromkeys(n for n in names if n.lower() not in question.lower()))
    return f"{question} {extra}".strip() if extra else f"{' '.join(previous.split())} {question}"
