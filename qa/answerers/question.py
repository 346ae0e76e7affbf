"""What a question asks for: its type, its keywords and the names it mentions."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z0-9][\w’'\-.]*")
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
        "reported reports one"
    ).split()
)

NUMBER, PERSON, DATE, PLACE, DURATION, LIST, REASON, GENERAL = (
    "number",
    "person",
    "date",
    "place",
    "duration",
    "list",
    "reason",
    "general",
)

_TYPES = [
    (DURATION, re.compile(r"^\s*(for )?how long\b", re.I)),
    (NUMBER, re.compile(r"\bhow (many|much)\b|\bwhat (number|percentage|share|amount|size)\b"
                        r"|\bhow (large|big)\b|\bwhat is the (total|number|size)\b", re.I)),
    (DATE, re.compile(r"^\s*when\b|\bwhat (date|day|year|month|time)\b|\bin which (year|month)\b"
                      r"|\bon what date\b", re.I)),
    (PLACE, re.compile(r"^\s*where\b|\b(which|what) (city|country|countries|region|place|port|"
                       r"location|border|area|base|facility)\b|\bto which\b", re.I)),
    (PERSON, re.compile(r"^\s*(who|whom|whose)\b|\b(which|what) (official|leader|expert|analyst|"
                        r"person|spokes\w*|minister|president|secretary|general|author|writer)\b"
                        r"|\bwho (is|was|are|were)\b", re.I)),
    (LIST, re.compile(r"\b(what|which) (are|were) (the )?\w*\s*(ways|reasons|benefits|risks|"
                      r"challenges|types|kinds|forms|measures|options|responses|items|weapons|"
                      r"countries|roles|concerns|consequences|factors|arguments|examples)\b"
                      r"|\blist\b|\bname (the|some|all|two|three)\b|\bwhat (kinds|types|forms)\b"
                      r"|\bwhat \w+ (has|have|did) .* (supply|supplied|provide|provided|send|sent)"
                      r"\b|\bwhich (countries|nations|organisations|organizations)\b", re.I)),
    (REASON, re.compile(r"^\s*why\b|\bwhat (is|was|are|were) the reasons?\b|\bfor what reason\b"
                        r"|\bwhat motivat", re.I)),
]  # fmt: skip


@dataclass(frozen=True)
class Question:
    text: str
    qtype: str
    keywords: tuple[str, ...]  # lower-case content words
    names: tuple[str, ...]  # capitalised words the user typed (not sentence-initial)


def stem(word: str) -> str:
    w = word.lower().strip("’'.-")
    for suffix in ("’s", "'s"):
        if w.endswith(suffix):
            w = w[: -len(suffix)]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def analyze(text: str) -> Question:
    qtype = GENERAL
    for name, pattern in _TYPES:
        if pattern.search(text):
            qtype = name
            break
    words = _WORD.findall(text)
    keywords = tuple(dict.fromkeys(stem(w) for w in words if w.lower() not in STOPWORDS))
    names = tuple(
        dict.fromkeys(
            w.strip("’'.-")
            for i, w in enumerate(words)
            if i > 0 and w[:1].isupper() and w.lower() not in STOPWORDS and len(w) > 1
        )
    )
    return Question(text=text, qtype=qtype, keywords=tuple(k for k in keywords if k), names=names)
