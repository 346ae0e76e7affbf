"""The reply: the best span first with its marker, then the sentence it came from; or an
abstention when the fitted decision says the passages do not answer."""

from __future__ import annotations

from collections.abc import Sequence

from qa.answer import Draft, Evidence
from qa.answerers.learned.features import question_features
from qa.answerers.learned.model import AnswererModel
from qa.answerers.learned.pipeline import Reading
from qa.citations import MARKER
from qa.retrieve import Hit


def _quote(text: str) -> str:
    # Source text may contain bracketed digits; they must not read as citation markers.
    return MARKER.sub(lambda m: f"({m.group(1)})", " ".join(text.split()))


def decide(reading: Reading, model: AnswererModel) -> tuple[int, float]:
    """The best span's index (-1: none) and the probability that it answers."""
    scores = [model.span.logit(f) for f in reading.features]
    if not scores:
        return -1, 0.0
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    sentence = reading.spans[best][0]
    row = question_features(reading.question, scores, sentence, reading.sentences, reading.weights)
    return best, model.answerable.probability(row)


def compose(reading: Reading, model: AnswererModel, passages: Sequence[Hit]) -> Draft:
    best, p = decide(reading, model)
    if best < 0 or p < model.threshold:
        return Draft("The articles don't say.", True, ())
    sentence, cand = reading.spans[best]
    hit = passages[sentence.hit]
    text = hit.text
    span = _quote(text[cand.start - hit.start : cand.end - hit.start])
    quote = _quote(text[sentence.start - hit.start : sentence.end - hit.start])
    ev = Evidence(hit.article_id, sentence.start, sentence.end, round(p, 4))
    if span == quote:
        return Draft(f"{span} [1]", False, (ev,))
    return Draft(f"{span[:1].upper()}{span[1:]} [1]. {quote} [1]", False, (ev,))
