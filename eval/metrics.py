"""Evaluation metrics: small pure functions `metric(gold, prediction)`.

Answers are compared after SQuAD-style normalisation, as whole tokens: "1,500" equals "1500",
but "100,000" never matches "10,000", and "June" matches inside "June 2024".
A metric that does not apply to an item (exact match on an unanswerable question, say)
returns None and is left out of the averages.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("factoid", "list", "conflict", "unanswerable", "followup")
# Kinds whose `answers` are separate items to cover, not aliases of one answer.
SET_KINDS = frozenset({"list", "conflict"})
# A list or conflict answer counts as correct when it covers at least this share of the items.
SET_PASS = 0.5

_MARKER = re.compile(r"\[(\d{1,3})\]")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# A decimal number is one token ("1.28"); any other run of letters or digits is a token.
_TOKEN = re.compile(r"\d+(?:\.\d+)+|[^\W_]+")
_ARTICLES = frozenset({"a", "an", "the"})

Value = float | bool | None


@dataclass(frozen=True)
class GoldItem:
    """One line of a gold file. `answers` are aliases, or for list/conflict the items to cover."""

    id: str
    question: str
    answers: tuple[str, ...]
    sources: tuple[str, ...]
    kind: str
    history: tuple[Mapping[str, str], ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class Prediction:
    """What the assistant returned, as plain data (see `Answer.to_dict`)."""

    answer: str
    abstained: bool
    citations: tuple[Mapping[str, Any], ...] = ()  # n, article_id, quote, start, end
    passages: tuple[Mapping[str, Any], ...] = ()  # retrieved, best first
    conflict: bool = False

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> Prediction:
        trace = answer.get("trace") or {}
        passages = tuple(trace.get("passages") or ())
        # The answerer may have read a wider pool; retrieval is scored on the top k.
        k = trace.get("k")
        return cls(
            answer=str(answer["answer"]),
            abstained=bool(answer["abstained"]),
            citations=tuple(answer.get("citations") or ()),
            passages=passages[:k] if isinstance(k, int) and k > 0 else passages,
            conflict=bool(answer.get("conflict")),
        )


# -- normalisation --------------------------------------------------------------------------
def tokens(text: str) -> tuple[str, ...]:
    """Lowercased word and number tokens, without [n] markers, punctuation or articles."""
    text = _MARKER.sub(" ", unicodedata.normalize("NFKC", text)).lower()
    text = _THOUSANDS.sub("", text)
    return tuple(t for t in _TOKEN.findall(text) if t not in _ARTICLES)


def normalize(text: str) -> str:
    return " ".join(tokens(text))


def _within(needle: Sequence[str], hay: Sequence[str]) -> bool:
    """`needle` occurs in `hay` as consecutive whole tokens (an empty needle never does)."""
    n = len(needle)
    if n == 0:
        return False
    return any(tuple(hay[i : i + n]) == tuple(needle) for i in range(len(hay) - n + 1))


def contains(text: str, answer: str) -> bool:
    return _within(tokens(answer), tokens(text))


def covered(gold: GoldItem, prediction: Prediction) -> tuple[str, ...]:
    """The gold answers the prediction states (none when it abstained)."""
    if prediction.abstained:
        return ()
    said = tokens(prediction.answer)
    return tuple(a for a in gold.answers if _within(tokens(a), said))


# -- answers --------------------------------------------------------------------------------
def accuracy(gold: GoldItem, prediction: Prediction) -> float:
    """1/0 whether a gold answer is stated (or, unanswerable, whether it abstained);
    for list and conflict items the share of gold items stated."""
    if not gold.answerable:
        return float(prediction.abstained)
    found = covered(gold, prediction)
    if gold.kind in SET_KINDS:
        return len(found) / len(gold.answers)
    return float(bool(found))


def correct(gold: GoldItem, prediction: Prediction) -> bool:
    score = accuracy(gold, prediction)
    if gold.answerable and gold.kind in SET_KINDS:
        return score >= SET_PASS
    return score == 1.0


def exact_match(gold: GoldItem, prediction: Prediction) -> float | None:
    """SQuAD exact match against the best gold answer; None for unanswerable items."""
    if not gold.answerable:
        return None
    if prediction.abstained:
        return 0.0
    said = tokens(prediction.answer)
    return float(any(tokens(a) == said for a in gold.answers))


def _f1(pred: Sequence[str], ref: Sequence[str]) -> float:
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def f1(gold: GoldItem, prediction: Prediction) -> float | None:
    """SQuAD token F1 against the best gold answer; None for unanswerable items."""
    if not gold.answerable:
        return None
    if prediction.abstained:
        return 0.0
    said = tokens(prediction.answer)
    return max(_f1(said, tokens(a)) for a in gold.answers)


# -- abstention -----------------------------------------------------------------------------
def abstention(gold: GoldItem, prediction: Prediction) -> bool | None:
    """Unanswerable items: did it abstain? None for answerable items."""
    return None if gold.answerable else prediction.abstained


def false_abstention(gold: GoldItem, prediction: Prediction) -> bool | None:
    """Answerable items: did it abstain anyway? None for unanswerable items."""
    return prediction.abstained if gold.answerable else None


def conflict_flagged(gold: GoldItem, prediction: Prediction) -> bool | None:
    """Conflict items: did the answer say the sources disagree?"""
    return prediction.conflict if gold.kind == "conflict" else None


# -- citations ------------------------------------------------------------------------------
def citation_validity(prediction: Prediction, articles: Mapping[str, str]) -> bool | None:
    """Every [n] refers to a returned citation, and every citation's quote is the article text
    at its offsets. An answer that states something with no marker at all is not valid;
    an abstention without citations has nothing to check (None)."""
    markers = {int(n) for n in _MARKER.findall(prediction.answer)}
    if not markers and not prediction.citations:
        return None if prediction.abstained else False
    if not markers:
        return False
    numbers = {c.get("n") for c in prediction.citations}
    if not markers <= numbers:
        return False
    return all(_quote_matches(c, articles) for c in prediction.citations)


def _quote_matches(citation: Mapping[str, Any], articles: Mapping[str, str]) -> bool:
    text = articles.get(str(citation.get("article_id")))
    start, end = citation.get("start"), citation.get("end")
    if text is None or not isinstance(start, int) or not isinstance(end, int):
        return False
    return 0 <= start < end <= len(text) and text[start:end] == citation.get("quote")


def citation_support(gold: GoldItem, prediction: Prediction) -> float | None:
    """Correct answers only: does a cited quote contain the answer stated? For list and
    conflict items, the share of stated items found in a cited quote."""
    found = covered(gold, prediction)
    if not found or not correct(gold, prediction):
        return None
    quotes = [tokens(str(c.get("quote", ""))) for c in prediction.citations]
    supported = [a for a in found if any(_within(tokens(a), q) for q in quotes)]
    if gold.kind in SET_KINDS:
        return len(supported) / len(found)
    return float(bool(supported))


def answered_correctly(gold: GoldItem, prediction: Prediction) -> bool | None:
    """Answerable items only: correct, and a cited quote holds what makes it correct."""
    if not gold.answerable:
        return None
    support = citation_support(gold, prediction)
    return bool(support)


def lead_scores(gold: GoldItem, prediction: Prediction) -> tuple[float, float] | None:
    """SQuAD 2.0 EM and F1 of the reply's short answer (the text before its first marker;
    empty for an abstention) against the aliases; None for lists and conflicts."""
    from eval.squad import best_scores, lead

    if gold.kind in SET_KINDS:
        return None
    return best_scores(gold.answers, lead(prediction.answer, prediction.abstained))


def lead_exact_match(gold: GoldItem, prediction: Prediction) -> float | None:
    scores = lead_scores(gold, prediction)
    return None if scores is None else scores[0]


def lead_f1(gold: GoldItem, prediction: Prediction) -> float | None:
    scores = lead_scores(gold, prediction)
    return None if scores is None else scores[1]


def lead_correct(gold: GoldItem, prediction: Prediction) -> bool | None:
    """Answerable alias items: the short answer itself holds a gold alias."""
    if gold.kind in SET_KINDS or not gold.answerable:
        return None
    from eval.squad import lead

    short = lead(prediction.answer, prediction.abstained)
    return any(contains(short, a) for a in gold.answers)


# -- retrieval ------------------------------------------------------------------------------
def source_hit(gold: GoldItem, prediction: Prediction) -> bool | None:
    """A retrieved passage comes from one of the gold sources (hit@k)."""
    if not gold.sources:
        return None
    return any(p.get("article_id") in gold.sources for p in prediction.passages)


def reciprocal_rank(gold: GoldItem, prediction: Prediction) -> float | None:
    """1/rank of the first passage from a gold source; 0 when none was retrieved."""
    if not gold.sources:
        return None
    for rank, p in enumerate(prediction.passages, 1):
        if p.get("article_id") in gold.sources:
            return 1.0 / rank
    return 0.0


def answer_in_context(gold: GoldItem, prediction: Prediction) -> bool | None:
    """A gold answer occurs in the retrieved passages (answer-in-context@k)."""
    if not gold.answerable:
        return None
    texts = [tokens(str(p.get("text", ""))) for p in prediction.passages]
    return any(_within(tokens(a), t) for a in gold.answers for t in texts)


def duplicate(prediction: Prediction) -> bool:
    """The retrieved list holds the same passage twice (same chunk id or same text)."""
    ids = [p.get("chunk_id") for p in prediction.passages if p.get("chunk_id")]
    texts = [normalize(str(p.get("text", ""))) for p in prediction.passages]
    return len(set(ids)) < len(ids) or len(set(texts)) < len(texts)


# -- all together ---------------------------------------------------------------------------
def score(gold: GoldItem, prediction: Prediction, articles: Mapping[str, str]) -> dict[str, Value]:
    """Every per-item metric, by name."""
    return {
        "accuracy": accuracy(gold, prediction),
        "exact_match": exact_match(gold, prediction),
        "f1": f1(gold, prediction),
        "abstention": abstention(gold, prediction),
        "false_abstention": false_abstention(gold, prediction),
        "conflict_flagged": conflict_flagged(gold, prediction),
        "citation_validity": citation_validity(prediction, articles),
        "citation_support": citation_support(gold, prediction),
        "answered_correctly": answered_correctly(gold, prediction),
        "lead_exact_match": lead_exact_match(gold, prediction),
        "lead_f1": lead_f1(gold, prediction),
        "lead_correct": lead_correct(gold, prediction),
        "source_hit": source_hit(gold, prediction),
        "answer_in_context": answer_in_context(gold, prediction),
        "mrr": reciprocal_rank(gold, prediction),
        "duplicate_rate": duplicate(prediction),
    }


# The summary averages each per-item metric of the same name (and the `correct` flag).
METRICS = (
    "correct",
    "accuracy",
    "exact_match",
    "f1",
    "abstention",
    "false_abstention",
    "conflict_flagged",
    "citation_validity",
    "citation_support",
    "answered_correctly",
    "lead_exact_match",
    "lead_f1",
    "lead_correct",
    "source_hit",
    "answer_in_context",
    "mrr",
    "duplicate_rate",
)


def mean(values: Iterable[Value]) -> float | None:
    """Mean of the values that apply (None is skipped); None when none apply."""
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize(rows: Sequence[Mapping[str, Value]], latencies_ms: Sequence[float]) -> dict[str, Any]:
    """Averages of per-item metric rows (each row also holds `correct`), and latency."""
    out: dict[str, Any] = {"n": len(rows)}
    for name in METRICS:
        out[name] = mean(row.get(name) for row in rows)
    out["latency_p50_ms"] = percentile(latencies_ms, 50)
    out["latency_p95_ms"] = percentile(latencies_ms, 95)
    return out
