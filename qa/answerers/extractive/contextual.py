"""Features from the encoder's word pieces in context: how near in meaning a candidate span
is to what the question asks for, and how well the words around it match the question's.

The parse says which words are the same; these say which are alike. "Which outlet" and "the
Media Group", "how were they moved" and "by ship", share no lemma. The vectors are the
retrieval model's own last hidden states (no other model), for the question and for the few
sentences candidates come from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.embed import TokenVectors
from qa.answerers.extractive.candidates import Candidate
from qa.answerers.extractive.features import Features
from qa.answerers.extractive.reading import Question, Sentence

# Word pieces either side of a span whose match to the question's pieces is measured.
WINDOWS = (5, 12, 30)


def _mean_unit(vectors: np.ndarray) -> np.ndarray:
    v = vectors.mean(axis=0)
    return np.asarray(v / max(float(np.linalg.norm(v)), 1e-12), dtype=np.float32)


class QuestionPieces:
    """The question's pieces, their mean, and the mean of the pieces of its asked-for word."""

    def __init__(self, question: Question, pieces: TokenVectors) -> None:
        self.vectors = pieces.vectors
        self.mean = _mean_unit(pieces.vectors) if len(pieces.vectors) else None
        a, b = question.asked_span
        inside = (pieces.offsets[:, 0] < b) & (pieces.offsets[:, 1] > a)
        self.asked = _mean_unit(pieces.vectors[inside]) if b > a and inside.any() else None


def span_features(
    question: QuestionPieces, sentence: Sentence, pieces: TokenVectors, cand: Candidate
) -> Features:
    """`pieces` are the sentence's (offsets from the sentence's start)."""
    if question.mean is None:
        return {}
    lo, hi = cand.start - sentence.start, cand.end - sentence.start
    offs = pieces.offsets
    inside = np.flatnonzero((offs[:, 0] < hi) & (offs[:, 1] > lo))
    if not len(inside):
        return {}
    span = _mean_unit(pieces.vectors[inside])
    f: Features = {"e_q": float(question.mean @ span)}
    if question.asked is not None:
        f["e_wh"] = float(question.asked @ span)
    first, last = int(inside[0]), int(inside[-1])
    for w in WINDOWS:
        around = np.r_[max(0, first - w) : first, last + 1 : min(len(offs), last + 1 + w)]
        if len(around):
            sim = question.vectors @ pieces.vectors[around].T
            f[f"e_ctx{w}"] = float(sim.max(axis=1).mean())
    return f


def with_gaps(rows: Sequence[Features]) -> None:
    """Add to each row, for each feature, how far it is below the question's best."""
    names = {k for r in rows for k in r}
    for k in sorted(names):
        best = max(r[k] for r in rows if k in r)
        for r in rows:
            if k in r:
                r[f"{k}_gap"] = best - r[k]
