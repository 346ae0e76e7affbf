"""Typed answer spans inside a sentence: figures, dates, durations, people, places."""

from __future__ import annotations

import re

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_QUALIFIER = (
    r"(?:(?:about|around|approximately|roughly|nearly|almost|up to|as many as|as high as|"
    r"more than|over|some|at least|an additional|an estimated|the first|a further)\s+)?"
)
NUMBER = re.compile(
    _QUALIFIER
    + r"(?<![\w.])\$?\d(?:[\d,]*\d)?(?:\.\d+)?"
    + r"(?:\s*(?:million|billion|trillion|thousand|percent|%))?(?![\w])"
    + r"|"
    + _QUALIFIER
    + r"\b(?:hundreds|thousands|tens of thousands|millions|dozens) of\b"
    + r"|(?:over |more than |nearly |almost |about )?\ba (?:million|billion)\b"
    + r"|"
    + _QUALIFIER
    + r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    + r"thirty|forty|fifty|sixty|seventy|eighty|ninety|a few|several)\s+"
    + r"(?:hundred|thousand|million|billion|trillion)\b",
    re.I,
)
DATE = re.compile(
    rf"\b(?:(?:early|mid|late|since|in|on|by)\s+)?(?:\d{{1,2}}\s+)?(?:{_MONTHS})"
    rf"(?:\s+\d{{1,2}})?(?:,?\s+\d{{4}})?\b"
    r"|\b(?:since|in|by) (?:1[6-9]|20)\d\d\b|\b(?:1[6-9]|20)\d\d\b"
    r"|\bthis (?:summer|spring|autumn|fall|winter|month|year|week)\b"
    r"|\b(?:earlier|later|last|next) (?:this )?(?:month|year|week)\b"
    r"|\bbetween the \d+\w* and \d+\w* of \w+ \w+\b"
    # Placeholders a template left in the text ("[date]", "a certain year"): said as such.
    r"|\[[^\]\d]{1,40}\]|\b(?:a|the) certain (?:date|day|month|year)\b",
)
DURATION = re.compile(
    r"\b(?:(?:for|over|more than|about|nearly|almost|the past|past)\s+)?"
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|a few|several|many)\s+"
    r"(?:years?|months?|weeks?|days?|decades?)\b",
    re.I,
)
_CAP = r"(?:(?:[A-Z]\.){2,}|[A-Z][a-z’']+(?:-[A-Za-z][a-z’']*)*|[A-Z]\.|[A-Z]{2,}|Jr\.|al-\w+)"
CAPITALISED = re.compile(rf"\b{_CAP}(?:[ \-]{_CAP})*")

NON_PERSON = frozenset(
    (
        # Words that start or fill capitalised runs without naming a person: institutions'
        # common nouns, compass points, days, sentence openers.
        "Ministry Center Centre University Council Office Army Corps Peninsula Security Defense "
        "Defence Government Embassy House Strategic International Studies Group Media Nations "
        "Forces Force Navy Air Agency Institute Department Party Command Times Post News "
        "The This That These Those However Although While According North South East West "
        "Northeast Western Eastern Many Some Monday Tuesday Wednesday Thursday Friday Saturday "
        "Sunday In On At By As If For From With After Before During Since Until When Where Why "
        "How What Who Which Meanwhile Still Yet Also"
    ).split()
) | frozenset(_MONTHS.split("|"))
TITLES = frozenset(
    (
        "President Secretary General Lieutenant-General Lieutenant Defense Defence Foreign "
        "Minister Prime Retired Leader Dr. Mr. Mrs. Ms. Spokesperson Spokesman Director Chief "
        "Admiral Colonel Commander Ambassador Senator Supreme Chairman Marshal Professor Expert "
        "US U.S. White House"
    ).split()
)
GEO_PREP = re.compile(
    r"\b(?:in|to|near|at|from|via|into|across|toward|towards|of|with|for)\s+(?:the\s+)?$"
)


def people(sentence: str) -> list[str]:
    out = []
    for m in CAPITALISED.finditer(sentence):
        tokens = m.group(0).split()
        while tokens and (tokens[0] in TITLES or tokens[0] in NON_PERSON):
            tokens = tokens[1:]
        if len(tokens) >= 2 and not any(t.strip(".") in NON_PERSON for t in tokens):
            out.append(" ".join(tokens))
    return out


def places(sentence: str) -> list[str]:
    """Capitalised spans after a place preposition first, then the other capitalised spans."""
    close: list[str] = []
    rest: list[str] = []
    for m in CAPITALISED.finditer(sentence):
        if m.start() == 0:
            continue
        if len(m.group(0).split()) == 1 and re.search(r"(an|ian|ese|ish)$", m.group(0)):
            continue  # a demonym ("Russian") is not a place
        before = sentence[max(0, m.start() - 12) : m.start()]
        (close if GEO_PREP.search(before) else rest).append(m.group(0))
    return close


def expansion(sentence: str, acronym: str) -> str | None:
    """'the World Health Organization (WHO)' -> 'World Health Organization' for 'WHO'."""
    m = re.search(
        rf"((?:[A-Z][\w’'\-]*\s+(?:of\s+|for\s+|and\s+|the\s+)?){{1,8}})\(\s*{re.escape(acronym)}\s*\)",
        sentence,
    )
    return " ".join(m.group(1).split()) if m else None


def near(sentence: str, candidate: str, role: str) -> bool:
    """Whether `candidate` is in apposition to the role word: "Ana Ruiz, spokesperson",
    "the agency's spokesperson Tom Baker" -- only names, articles and commas between them."""
    low = sentence.lower()
    c = low.find(candidate.lower())
    if c < 0:
        return False
    for m in re.finditer(rf"\b{re.escape(role)}\w*", low):
        between = (
            sentence[c + len(candidate) : m.start()] if m.start() > c else sentence[m.end() : c]
        )
        words = re.findall(r"[\w’'\-]+", between)
        if len(words) <= 4 and all(w[0].isupper() or w in _GLUE for w in words):
            return True
    return False


_GLUE = frozenset({"the", "a", "an", "of", "for", "its", "their"})


_LEADING = frozenset("The A An This That These Those It In On At For But And Its Their".split())


def names(sentence: str) -> list[str]:
    """Capitalised spans and acronyms that are not the sentence's first word."""
    out = []
    for m in CAPITALISED.finditer(sentence):
        words = m.group(0).split()
        led = False
        while words and words[0] in _LEADING:
            words, led = words[1:], True
        # A sentence's first word is capitalised anyway; after "The" it is a name ("The NIS"),
        # and so are several capitalised words ("Russian Railways, the state company, ...").
        if (m.start() > 0 or led or len(words) >= 2) and words:
            out.append(" ".join(words))
    return out


PLACEHOLDER = re.compile(
    r"\[[^\]]{1,40}\]|\b(?:a|the) certain (?:date|day|month|year)\b|\bon the date\b"
    r"|\bthe day of the month\b",
    re.I,
)


def numbers(sentence: str, allow_years: bool = False) -> list[re.Match[str]]:
    found = []
    for m in NUMBER.finditer(sentence):
        core = re.sub(r"[^\d]", "", m.group(0))
        if not allow_years and re.fullmatch(r"(1[6-9]|20)\d\d", core) and "," not in m.group(0):
            continue
        if re.fullmatch(r"\d{1,2}(st|nd|rd|th)?", m.group(0)):
            continue
        found.append(m)
    return found


_ORG_WORD = r"(?:[A-Z][\w’'\-]*|of|for|on|and|the)"


def org_phrases(sentence: str, noun: str) -> list[str]:
    """Capitalised names built on `noun`: 'University of Oxford', 'Russian Pacific Fleet',
    'Center for International and Strategic Studies'."""
    pattern = re.compile(
        rf"((?:[A-Z][\w’'\-]*\s+){{0,4}}{re.escape(noun.title())}"
        rf"(?:\s+(?:of|for|on)\s+(?:the\s+)?[A-Z][\w’'\-]*(?:\s+{_ORG_WORD}){{0,5}})?)"
    )
    out = []
    for m in pattern.finditer(sentence):
        words = m.group(1).split()
        while words and words[-1] in {"of", "for", "on", "and", "the"}:
            words.pop()
        while words and words[0] in {"The", "A", "An"}:
            words.pop(0)
        if len(words) >= 2:
            out.append(" ".join(words))
    return out


UNIT = re.compile(
    r"\s*((?:square |cubic )?(?:kilomet(?:re|er)s?|km|miles?|met(?:re|er)s?|tonnes?|tons?|"
    r"barrels?|litres?|liters?|hectares?|acres?|kilograms?|kg|people|passengers|settlers|"
    r"soldiers|troops|workers|years?|months?|weeks?|days?|hours?|minutes?|roubles?|rubles?|"
    r"dollars?|euros?|pounds?|won|yuan|yen)\b)",
    re.I,
)


def with_unit(sentence: str, figure: str) -> str:
    """'9,289' -> '9,289 kilometres' when the sentence names a unit right after it."""
    at = sentence.find(figure)
    if at < 0:
        return figure
    m = UNIT.match(sentence, at + len(figure))
    return f"{figure} {m.group(1)}" if m else figure
