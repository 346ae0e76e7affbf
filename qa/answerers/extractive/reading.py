"""What the extractive answerer reads: the question's own parse, and the retrieved passages'
sentences with the tokens, entities and noun chunks `qa index` stored for them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.annotate import ChunkAnnotation
from index.store import IndexSnapshot
from qa.retrieve import Hit

_WH_TAGS = {"WDT", "WP", "WP$", "WRB"}
_CONTENT_POS = {"NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV"}


@dataclass(frozen=True)
class Question:
    text: str
    qtype: str  # the wh-word ("what", "how many", "how old" ...), YES_NO, or "none"
    wh_nouns: tuple[str, ...]  # lemmas of what is asked for: "year" in "what year"
    lemmas: frozenset[str]  # every lemma, for "does the span repeat the question"
    content: tuple[str, ...]  # content lemmas, in order, no repeats
    names: tuple[str, ...]  # proper nouns and entities, lower-cased lemmas
    root: str  # the main verb's lemma
    wh_dep: str = ""  # the wh-phrase's role in the question ("nsubj", "pobj", ...)
    wh_gov: str = ""  # the lemma the wh-phrase attaches to ("revoke" in "when was X revoked")
    wh_prep: str = ""  # the preposition before the wh-phrase ("in" in "in what year")
    negated: bool = False  # the question has a negation
    plural: bool = False  # what is asked for is plural ("which experts"): several answers
    stems: frozenset[str] = frozenset()  # every word's stem, for "Korea" in "Korean"
    acronyms: frozenset[str] = frozenset()  # words in capitals ("NATO"), lower-cased
    # "Who is Ilse Varga?": the name the question asks to be described, as the lemmas
    # of its words; () for every other question (see define.py).
    defined: tuple[str, ...] = ()
    # "What does the VMI stand for?": the abbreviation to spell out, as written; "" for
    # every other question (see acronym.py).
    expands: str = ""


def parse_question(doc: Any) -> Question:
    """A question's spaCy doc as the features need it."""
    tokens = [t for t in doc if not t.is_space]
    wh = next((t for t in tokens if t.tag_ in _WH_TAGS), None)
    qtype = YES_NO if tokens and tokens[0].pos_ == "AUX" else "none"
    nouns: list[str] = []
    plural = False
    wh_dep = wh_gov = wh_prep = ""
    if wh is not None:
        phrase = wh
        while phrase.dep_ in {"det", "amod", "advmod"} and phrase.head is not phrase:
            phrase = phrase.head  # "how many outputs": the phrase is headed by "outputs"
        if phrase.dep_ == "pobj" and phrase.head.dep_ == "prep":
            wh_prep = phrase.head.lower_
            phrase = phrase.head  # "in what year": the role is the preposition's
        elif any(c.dep_ == "prep" and not list(c.children) for c in phrase.head.children):
            # "which university is he from": a stranded preposition
            wh_prep = next(
                c.lower_ for c in phrase.head.children if c.dep_ == "prep" and not list(c.children)
            )
        wh_dep = phrase.dep_
        wh_gov = phrase.head.lemma_.lower() if phrase.head is not phrase else ""
        qtype = wh.lower_
        after = doc[wh.i + 1] if wh.i + 1 < len(doc) else None
        if qtype == "how" and after is not None and after.pos_ in {"ADJ", "ADV"}:
            qtype = f"how {after.lower_}"
        asked = None
        led = _led_noun(doc, wh)
        if led is not None:
            asked = led
            # "which experts", "what weapons": the wh-word picks out several
            plural = asked.tag_ in {"NNS", "NNPS"}
        elif after is not None and qtype.startswith("how ") and after.head.pos_ == "NOUN":
            asked = after.head
        else:
            asked = next((t for t in doc[wh.i + 1 :] if t.pos_ == "NOUN"), None)
        if asked is not None:
            nouns.append(asked.lemma_.lower())
            for child in asked.children:  # "the name of the alphabet": alphabet too
                if child.dep_ == "prep" and child.lower_ == "of":
                    nouns += [g.lemma_.lower() for g in child.children if g.dep_ == "pobj"]
    content = [
        t.lemma_.lower()
        for t in tokens
        if (t.pos_ in _CONTENT_POS and not t.is_stop and t.tag_ not in _WH_TAGS and t.is_alpha)
        or t.like_num
    ]
    names = [t.lemma_.lower() for t in tokens if t.pos_ == "PROPN"]
    root = next((t.lemma_.lower() for t in tokens if t.dep_ == "ROOT"), "")
    return Question(
        text=doc.text,
        qtype=qtype,
        wh_nouns=tuple(dict.fromkeys(nouns)),
        lemmas=frozenset(t.lemma_.lower() for t in tokens),
        content=tuple(dict.fromkeys(content)),
        names=tuple(dict.fromkeys(names)),
        root=root,
        wh_dep=wh_dep,
        wh_gov=wh_gov,
        wh_prep=wh_prep,
        negated=any(t.dep_ == "neg" for t in tokens),
        plural=plural,
        stems=frozenset(stem(t.lower_) for t in tokens if t.is_alpha),
        acronyms=frozenset(t.lower_ for t in tokens if t.is_alpha and t.is_upper and len(t) > 1),
        defined=_defined(tokens),
        expands=_expands(tokens, qtype, root),
    )


# What a question asking to spell an abbreviation out says: "What does X stand for?", "What
# is X short for?", "What does the abbreviation X mean?", "What is the full name of X?",
# "What does X refer to?" (English, not any corpus's words).
_SPELL_OUT = frozenset({"abbreviation", "acronym", "initialism", "short", "full"})
_SPELL_VERBS = frozenset({"stand", "mean", "refer"})
# Every other word such a question may have: "What is the full form of X?", "What do the
# letters X mean?". A word beyond these asks something else ("What does the US stand to
# gain?", "What does the VMI report mean for the harbour?").
_SPELL_WORDS = _SPELL_OUT | _SPELL_VERBS | {"name", "form", "letter", "term", "word"}


def _expands(tokens: Sequence[Any], qtype: str, root: str) -> str:
    """The one abbreviation (a word in capitals) a "what" question asks to spell out."""
    if qtype != "what":
        return ""
    if root not in _SPELL_VERBS and not {t.lemma_.lower() for t in tokens} & _SPELL_OUT:
        return ""
    caps = [t for t in tokens if t.is_alpha and t.is_upper and 2 <= len(t.text) <= 8]
    if len(caps) != 1:
        return ""
    others = [
        t.lemma_.lower()
        for t in tokens
        if t.pos_ in _CONTENT_POS and not t.is_stop and t.i != caps[0].i and t.is_alpha
    ]
    return caps[0].text if all(w in _SPELL_WORDS for w in others) else ""


def _defined(tokens: Sequence[Any]) -> tuple[str, ...]:
    """The name a definitional question asks about: "Who is Ilse Varga?", "What was the
    3rd Battalion?" (who or what, the verb "be", then one phrase headed by a proper noun and
    nothing else). "Who is the spokesperson?" asks for a name, not a description: ()."""
    words = [t for t in tokens if not t.is_punct]
    if len(words) < 3 or words[0].lower_ not in {"who", "what"} or words[1].lemma_ != "be":
        return ()
    rest = words[2:]
    inside = {t.i for t in rest}
    heads = [t for t in rest if t.head.i not in inside or t.head.i == t.i]
    if len(heads) != 1 or heads[0].pos_ != "PROPN":
        return ()
    phrase = list(heads[0].subtree)
    if {t.i for t in phrase if not t.is_punct} != inside:
        return ()
    # A name is proper nouns (with "of", punctuation): "the President of Egypt" has them too,
    # but "who is the ..." asks for the holder of a role, so a person's name takes no article.
    if any(t.pos_ not in {"PROPN", "PUNCT", "DET", "ADP"} for t in phrase):
        return ()
    if words[0].lower_ == "who" and any(t.pos_ == "DET" for t in phrase):
        return ()
    # Punctuation inside the name stays: "Anne-Marie Holt" is "anne - marie holt" everywhere.
    return tuple(t.lemma_.lower() for t in phrase if t.pos_ != "DET")


def _led_noun(doc: Any, wh: Any) -> Any:
    """The noun a "which" or "what" determines: its head when the parse says so, else the
    noun its modifiers lead to ("which outside experts", however the parser attached the
    wh-word). None when the wh-word stands alone ("what is ...")."""
    if wh.dep_ in {"det", "amod"} and wh.head.pos_ in {"NOUN", "PROPN"}:
        return wh.head
    if wh.tag_ != "WDT":
        return None
    for t in doc[wh.i + 1 :]:
        if t.pos_ in {"NOUN", "PROPN"} and t.dep_ != "compound":
            return t
        if t.dep_ not in {"amod", "compound", "nummod", "advmod"} and t.pos_ != "ADJ":
            return None
    return None


# "Are they fighting yet?": no span answers a yes/no question; the sentence that does is the
# reply (compose.sentence_led), whatever the fit chose for the types it has data for.
YES_NO = "yes/no"


STEM = 5  # letters a stem keeps: "korean" and "korea", "russians" and "russia" agree


def stem(word: str) -> str:
    """A crude stem: the word's first letters, enough to match a name with its adjective or
    a noun with its plural whatever the parser made of them."""
    return word.lower()[:STEM]


@dataclass(frozen=True)
class Sentence:
    hit: int  # index into the passages, which come best first: the passage's rank
    start: int
    end: int
    tokens: list[list[Any]]  # the annotation's tokens inside the sentence
    entities: list[tuple[int, int, str]]
    noun_chunks: list[tuple[int, int]]
    cosine: float
    overlap: float  # IDF-weighted share of the question's content lemmas the sentence has


class Lemmas:
    """Document frequencies of lemmas over the chunks of one index generation."""

    def __init__(self, chunks: int, df: dict[str, int]) -> None:
        self.n = max(chunks, 1)
        self.df = df

    def idf(self, lemma: str) -> float:
        d = self.df.get(lemma, 0)
        return math.log(1 + (self.n - d + 0.5) / (d + 0.5))


def read_sentences(
    snap: IndexSnapshot,
    passages: Sequence[Hit],
    question: Question,
    qvec: np.ndarray,
    lemmas: Lemmas,
) -> list[Sentence]:
    """Every sentence of the passages with its similarity to the question."""
    notes = snap.annotations()
    weights = {w: lemmas.idf(w) for w in question.content}
    total = sum(weights.values()) or 1.0
    out: list[Sentence] = []
    for rank, hit in enumerate(passages):
        i = snap.by_id.get(hit.chunk_id)
        if i is None:
            continue
        note: ChunkAnnotation = notes.chunks[i]
        cosines = notes.sentence_vectors(i) @ qvec
        for (s, e), cos in zip(snap.chunks[i].sentences, cosines, strict=True):
            toks = [t for t in note.tokens if s <= t[0] and t[1] <= e]
            seen = {t[2] for t in toks}
            overlap = sum(w for k, w in weights.items() if k in seen) / total
            out.append(
                Sentence(
                    hit=rank,
                    start=s,
                    end=e,
                    tokens=toks,
                    entities=[x for x in note.entities if s <= x[0] and x[1] <= e],
                    noun_chunks=[x for x in note.noun_chunks if s <= x[0] and x[1] <= e],
                    cosine=float(cos),
                    overlap=overlap,
                )
            )
    return out
