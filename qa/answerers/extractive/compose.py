"""The reply: the best span first with its marker, then the sentence it came from; or an
abstention when the fitted decision says the passages do not answer.

Some questions have several answers. A question asking for a plural ("which experts")
lists every span of the best one's kind that scores within the model's fitted margin of it.
A figure is listed with the other figures the model rates as highly when they come from
other articles, and the reply says the sources differ, each figure with its source. The
question types the fit found better answered by a whole sentence ("why", "how") get the
best span's sentence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cache
from typing import Any

from qa.answer import Draft, Evidence
from qa.answerers.extractive.acronym import expand
from qa.answerers.extractive.candidates import Candidate
from qa.answerers.extractive.define import describe
from qa.answerers.extractive.features import question_features
from qa.answerers.extractive.model import AnswererModel
from qa.answerers.extractive.pipeline import Reading
from qa.answerers.extractive.reading import YES_NO, Sentence
from qa.citations import MARKER
from qa.retrieve import Hit

NUMERIC = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
MAX_ITEMS = 5
MAX_QUOTES = 3
# The next-best spans a single-span reply carries for careful mode: when the verifier
# rejects the best one, it checks these in turn (qa/careful.py; how many it checks, and
# with what cut, is fitted).
MAX_ALTERNATIVES = 2
ABSTAIN = "The articles don't say."


def _quote(text: str) -> str:
    # Source text may contain bracketed digits; they must not read as citation markers.
    return MARKER.sub(lambda m: f"({m.group(1)})", " ".join(text.split()))


def decide(reading: Reading, model: AnswererModel) -> tuple[int, float, list[float]]:
    """The best span's index (-1: none), the probability that it answers, and every span's
    score."""
    scores = model.span.scores(reading.features)
    if not scores:
        return -1, 0.0, scores
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    sentence = reading.spans[best][0]
    row = question_features(reading.question, scores, sentence, reading.sentences, reading.weights)
    return best, model.answerable.probability(row), scores


def sentence_led(qtype: str, fitted: Sequence[str] | frozenset[str]) -> bool:
    """Whether a question of this type is answered with a sentence: the types the fit found
    better answered so ("why", "how"), and yes/no questions, which no span answers."""
    return qtype in fitted or qtype == YES_NO


def lead_span(reading: Reading, best: int) -> int:
    """The span whose sentence leads a sentence-led reply: the best span's, or for a yes/no
    question (whose spans answer nothing) the first span of the sentence most like it, of
    those that end as a sentence does (not a heading)."""
    if reading.question.qtype != YES_NO or best < 0:
        return best
    closed = [i for i, f in enumerate(reading.features) if not f.get("s_open")] or [best]
    return max(closed, key=lambda i: (reading.spans[i][0].cosine, -i))


def _figure(sentence: Sentence, cand: Candidate) -> str | None:
    """The digits of a numeric span ("12,000 troops" -> "12000"), None if it has none."""
    nums = [str(t[2]) for t in sentence.tokens[cand.first : cand.last + 1] if t[3] == "NUM"]
    return " ".join(nums).replace(",", "") or None


def shown_start(sentence: Sentence, cand: Candidate) -> int:
    """Where a span's text starts in a reply: a determiner the parse makes part of the span's
    number ("a" in "a million", a quantmod) is shown with it, though candidates trim
    determiners off; so is the rest of a hyphenated name the span starts inside of;
    otherwise the span's own start."""
    toks = sentence.tokens
    first = cand.first
    while _joins(toks, first - 1):
        first -= 2
    before = toks[first - 1] if first > 0 else None
    if (
        before is not None
        and before[3] == "DET"
        and before[4] == "quantmod"
        and cand.start <= before[5] < cand.end
    ):
        return int(before[0])
    return int(toks[first][0]) if first != cand.first else cand.start


def shown_end(sentence: Sentence, cand: Candidate) -> int:
    """Where a span's text ends in a reply: a name is never shown cut at a hyphen ("Anne" of
    "Anne-Marie Holt"), which the tagger splits into three tokens. Only the reply's
    text widens: the fitted model reads the span as it is."""
    toks = sentence.tokens
    last = cand.last
    while _joins(toks, last + 1):
        last += 2
    return int(toks[last][1]) if last != cand.last else cand.end


def _joins(toks: list[list[Any]], i: int) -> bool:
    """Token i is a hyphen inside a name: it touches the words on either side, one of them a
    proper noun and neither a verb or an adjective ("Anne-Marie", "Se-hoon"; not
    "Afrikaans-speaking", nor "four" of "four-valve", an answer of its own)."""
    if not 0 < i < len(toks) - 1 or toks[i][2] != "-":
        return False
    left, right = toks[i - 1], toks[i + 1]
    return (
        left[1] == toks[i][0]
        and toks[i][1] == right[0]
        and "PROPN" in {left[3], right[3]}
        and not {left[3], right[3]} & {"VERB", "ADJ", "ADV", "AUX", "PUNCT"}
        and str(left[2])[-1:].isalnum()
        and str(right[2])[:1].isalnum()
    )


def _is_figure(cand: Candidate, sentence: Sentence) -> bool:
    return cand.label in NUMERIC or (cand.source != "ent" and _figure(sentence, cand) is not None)


def pick(
    reading: Reading,
    scores: Sequence[float],
    best: int,
    margin: float | None,
    article_of: Sequence[str],
    text_of: Sequence[str],
) -> tuple[list[int], bool]:
    """The spans the reply gives, best first, and whether they are figures that differ
    between articles (a conflict)."""
    if margin is None:
        return [best], False
    sentence, cand = reading.spans[best]
    figure = _is_figure(cand, sentence)
    if not figure and not reading.question.plural:
        return [best], False
    chosen = [best]
    keys: set[str] = {(_figure(sentence, cand) if figure else None) or text_of[best].lower()}
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    for i in order:
        if scores[i] < scores[best] - margin or len(chosen) >= MAX_ITEMS:
            break
        s, c = reading.spans[i]
        if i in chosen or any(_overlaps(c, s, reading.spans[j]) for j in chosen):
            continue
        key: str | None
        if figure:
            key = _figure(s, c)
            # "How many" asks for one figure ("soldiers" is plural whatever is asked): others
            # are listed only as different figures from other articles.
            if key is None or not _is_figure(c, s) or key in keys:
                continue
            if article_of[i] in {article_of[j] for j in chosen}:
                continue
        else:
            key = text_of[i].lower()
            if (c.label != cand.label) or any(key in k or k in key for k in keys):
                continue
            if reading.features[i].get("c_allstemq"):
                continue  # the question's own words are not one of its answers
        keys.add(key)
        chosen.append(i)
    differ = figure and len({article_of[i] for i in chosen}) > 1
    return chosen, differ


def _overlaps(c: Candidate, s: Sentence, other: tuple[Sentence, Candidate]) -> bool:
    os_, oc = other
    return s.hit == os_.hit and c.start < oc.end and oc.start < c.end


def compose(reading: Reading, model: AnswererModel, passages: Sequence[Hit]) -> Draft:
    """The reply. When the fitted gate abstains on a span, the draft carries the reply that
    span would give (`unabstained`, for careful mode's check). A definitional question ("Who
    is X?") that a sentence answers with a description of X gets that description."""
    if reading.question.expands:
        try:
            return _spelled_out(reading, passages)
        except LookupError:
            # No sentence read spells it out: a span the model was never fitted to choose
            # for such a question ("USA" for "What is NATO short for?") would be a guess.
            return Draft(ABSTAIN, True, ())
    if reading.question.defined:
        try:
            return _described(reading, passages)
        except LookupError:
            pass  # no sentence says what the name is: the spans decide, as for any question
    best, p, scores = decide(reading, model)
    if best < 0:
        return Draft(ABSTAIN, True, ())
    reply = _reply(reading, model, passages, best, p, scores)

    @cache
    def alternatives() -> tuple[Draft, ...]:
        return tuple(
            _reply(reading, model, passages, i, p, scores, alone=True)
            for i in _alternatives(reading, model, passages, best, scores)
        )

    reply = dataclasses.replace(reply, alternatives=alternatives, confidence=round(p, 4))
    if p < model.threshold:
        return Draft(ABSTAIN, True, (), unabstained=reply, confidence=reply.confidence)
    return reply


def _alternatives(
    reading: Reading,
    model: AnswererModel,
    passages: Sequence[Hit],
    best: int,
    scores: list[float],
) -> list[int]:
    """The next-best spans, best first, when the reply gives one span: each says something
    other than the best span (not overlapping it, a different text) and is not the
    question's own words. None for a sentence-led reply or a list."""
    if sentence_led(reading.question.qtype, model.sentence_types):
        return []
    article_of = [passages[s.hit].article_id for s, _ in reading.spans]
    text_of = [_text(passages, s.hit, shown_start(s, c), shown_end(s, c)) for s, c in reading.spans]
    if len(pick(reading, scores, best, model.set_margin, article_of, text_of)[0]) > 1:
        return []
    out = [best]
    for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i)):
        if len(out) > MAX_ALTERNATIVES:
            break
        s, c = reading.spans[i]
        said = text_of[i].lower()
        if i in out or any(_overlaps(c, s, reading.spans[j]) for j in out):
            continue
        if reading.features[i].get("c_allstemq") or any(
            said in text_of[j].lower() or text_of[j].lower() in said for j in out
        ):
            continue
        out.append(i)
    return out[1:]


def _reply(
    reading: Reading,
    model: AnswererModel,
    passages: Sequence[Hit],
    best: int,
    p: float,
    scores: list[float],
    alone: bool = False,
) -> Draft:
    """The reply that leads with span `best` (with the spans listed beside it, unless
    `alone`)."""
    evidence: list[Evidence] = []

    def cite(s: Sentence) -> str:
        hit = passages[s.hit]
        ev = Evidence(hit.article_id, s.start, s.end, round(p, 4))
        if ev not in evidence:
            evidence.append(ev)
        return f"[{evidence.index(ev) + 1}]"

    if sentence_led(reading.question.qtype, model.sentence_types) and not alone:
        # "Why ...?", "Are they ...?": the sentence is the answer.
        sentence = reading.spans[lead_span(reading, best)][0]
        said = _text(passages, sentence.hit, sentence.start, sentence.end)
        return Draft(f"{said} {cite(sentence)}", False, tuple(evidence), short=said)
    article_of = [passages[s.hit].article_id for s, _ in reading.spans]
    text_of = [_text(passages, s.hit, shown_start(s, c), shown_end(s, c)) for s, c in reading.spans]
    chosen, differ = (
        ([best], False)
        if alone
        else pick(reading, scores, best, model.set_margin, article_of, text_of)
    )

    items = []
    for i in chosen:
        s, _ = reading.spans[i]
        item = f"{text_of[i]} {cite(s)}"
        if differ:
            item += f" ({short_title(passages[s.hit].title)})"
        items.append(item)
    lead = "; ".join(items)
    lead = lead[:1].upper() + lead[1:]
    quotes: list[str] = []
    for i in chosen:
        s, _ = reading.spans[i]
        quote = f"{_text(passages, s.hit, s.start, s.end)} {cite(s)}"
        if quote not in quotes and len(quotes) < MAX_QUOTES:
            quotes.append(quote)
    first = reading.spans[best][0]
    short = "; ".join(text_of[i] for i in chosen)
    if len(chosen) == 1 and text_of[best] == _text(passages, first.hit, first.start, first.end):
        return Draft(quotes[0], False, tuple(evidence), short=short)
    tail = ": the sources give different figures." if differ else "."
    text = f"{lead}{tail} {' '.join(quotes)}"
    return Draft(text, False, tuple(evidence), conflict=differ, short=short)


def _described(reading: Reading, passages: Sequence[Hit]) -> Draft:
    """The description first, then its sentence ("A marine biologist at ... [1]. Maria Okafor,
    a marine biologist at ... [1]"); LookupError when no sentence read describes the name."""
    sentence, first, last = describe(reading.sentences, reading.question.defined)
    toks = sentence.tokens
    said = _text(passages, sentence.hit, toks[first][0], toks[last][1])
    quote = _text(passages, sentence.hit, sentence.start, sentence.end)
    ev = Evidence(passages[sentence.hit].article_id, sentence.start, sentence.end, 1.0)
    return Draft(f"{said[:1].upper()}{said[1:]} [1]. {quote} [1]", False, (ev,), short=said)


def _spelled_out(reading: Reading, passages: Sequence[Hit]) -> Draft:
    """The name an abbreviation stands for, then its sentence ("Velmar Maritime Institute
    [1]. ... the Velmar Maritime Institute (VMI) found ... [1]"); LookupError when no sentence read
    spells it out beside it."""

    def word(sentence: Sentence, i: int) -> str:
        t = sentence.tokens[i]
        return _text(passages, sentence.hit, int(t[0]), int(t[1]))

    sentence, first, last = expand(reading.sentences, reading.question.expands, word)
    toks = sentence.tokens
    said = _text(passages, sentence.hit, toks[first][0], toks[last][1])
    quote = _text(passages, sentence.hit, sentence.start, sentence.end)
    ev = Evidence(passages[sentence.hit].article_id, sentence.start, sentence.end, 1.0)
    return Draft(f"{said} [1]. {quote} [1]", False, (ev,), short=said)


def _text(passages: Sequence[Hit], hit: int, start: int, end: int) -> str:
    """Article text at absolute offsets inside one passage, as a reply may quote it."""
    h = passages[hit]
    return _quote(h.text[start - h.start : end - h.start])


def short_title(title: str, words: int = 8) -> str:
    """A title's first words, to name an article beside an answer."""
    parts = title.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")
