"""What a question asks for: its type, its keywords and the names it mentions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index import terms

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
        "reported reports one author authors writer piece outlet story far stand claim claims "
        "claimed state states stated reportedly allegedly actually eventually currently every each "
        "per ever"
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
ORG, NAME, AUTHOR, PUBLISHER, ACRONYM = "org", "name", "author", "publisher", "acronym"
PEOPLE = "people"  # several people: "Which experts are quoted ...?"

_TYPES = [
    (ACRONYM, re.compile(r"\bwhat (does|do|did) (the )?(abbreviation |acronym |initials )?"
                         r"[A-Z][A-Za-z.]{1,9} stand for\b|\bwhat is [A-Z]{2,9}\b\??$", re.I)),
    (AUTHOR, re.compile(r"^\s*(who (wrote|authored|is the (author|writer))|by whom)\b", re.I)),
    (PUBLISHER, re.compile(r"\b(which|what) (\w+ ){0,2}(outlet|publication|newspaper|site|website|"
                           r"publisher)\b.*\b(publish|ran|run|carried|post)|^\s*who published\b",
                           re.I)),
    (PEOPLE, re.compile(r"\b(?:which|what|who are the|who were the|name the)\s+"
                        r"(?:(?!(?:do|does|did|term|word|kind|type|name|is|are|was|were)\b)"
                        r"[\w.\-]+\s+)?"
                        r"(?:experts|officials|analysts|leaders|people|specialists|spokes\w*people|"
                        r"spokesmen|ministers|politicians|diplomats|commentators|scholars|"
                        r"researchers|observers|persons|individuals)\b", re.I)),
    (ORG, re.compile(r"\b(which|what) (\w+ ){0,2}(outlet|newspaper|network|organi[sz]ation|agency|"
                     r"company|publication|think tank|institution|media|channel|body|alliance|"
                     r"service|university|center|centre)\b", re.I)),
    (NAME, re.compile(r"\bwhat is the name of\b|\bwhat (was|were|are) the names? of\b"
                      r"|\bwhat is (he|she|it|the \w+) called\b", re.I)),
    (DURATION, re.compile(r"^\s*(for )?how long\b(?! (?:is|was|are|were) (?:the|a|an|it|its)\b)"
                          r"(?! (?:is|was|are|were) [A-Z])", re.I)),
    (NUMBER, re.compile(r"\bhow (many|much)\b|\bwhat (number|percentage|share|amount|size)\b"
                        r"|\bhow (large|big|long|far|high|tall|wide|deep|old)\b"
                        r"|\bwhat is the (total|number|size|length)\b", re.I)),
    (DATE, re.compile(r"^\s*when\b|\bwhat (date|day|year|month|time)\b|\bin which (year|month)\b"
                      r"|\bon what date\b", re.I)),
    (PLACE, re.compile(r"^\s*where\b|\b(which|what) (\w+ )?(city|country|countries|region|"
                       r"place|port|"
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


_ROLE = re.compile(
    r"\bname of (?:the |this |that )?((?:[\w’'-]+ ){0,3}?[\w’'-]+?)"
    r"(?= who| that| which| to| in| of| for| near| at| with| from|\?|$)",
    re.I,
)


_ORG_NOUN = re.compile(
    r"\b(?:which|what)\s+(?:[\w.\-]+\s+){0,2}?(university|agency|ministry|institute|institution|"
    r"center|centre|council|service|fleet|army|corps|company|network|newspaper|think tank|"
    r"organi[sz]ation|alliance|office|department|committee|court|party|union|bank)\b",
    re.I,
)


def org_noun(text: str) -> str | None:
    """'Which university does the engineer teach at?' -> 'university'."""
    m = _ORG_NOUN.search(text)
    return m.group(1).lower() if m else None


def role_noun(text: str) -> str | None:
    """'What is the name of the NATO spokesperson who ...' -> 'spokesperson'."""
    m = _ROLE.search(text)
    return m.group(1).split()[-1].lower() if m else None


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
    return terms.lemma_stem(w) if w else w


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
    if qtype == PERSON and _WHO_IS_NAME.match(text):
        qtype = GENERAL  # "Who is Mark Cancian?" asks what the articles say of him
    return Question(text=text, qtype=qtype, keywords=tuple(k for k in keywords if k), names=names)


_WHO_IS_NAME = re.compile(r"^\s*[Ww]ho (?:is|was) (?:[A-Z][\w’'.\-]*\s*)+\??\s*$")
