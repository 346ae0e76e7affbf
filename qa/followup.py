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
_CONTINUATION = re.compile(
    r"^(and|also|what about|how about|why|when|where|who else|anything else|more)\b", re.I
)
_NAME = re.compile(r"\b[A-Z][\w’'-]+(?:\s+(?:[A-Z][\w’'-]+|of|for|the|and)){0,4}\b")
_MARKERS = re.compile(r"\[\d+\]")


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
    previous = " ".join(users[-1].split())
    answers = [t["content"] for t in history if t["role"] == "assistant"]
    names: list[str] = []
    if answers:
        # Names from the start of the last answer (its answer-first sentence).
        head = _MARKERS.sub("", answers[-1])[:300]
        for m in _NAME.finditer(head):
            name = m.group(0)
            if name.split()[0] not in {"The", "A", "An", "It", "They", "He", "She", "This"}:
                names.append(name)
    extra = " ".join(dict.fromkeys(n for n in names if n.lower() not in previous.lower()))
    return " ".join(p for p in (previous, extra, question) if p)
