"""From a question and its passages to scored candidate spans: one path for answering and
for fitting, so the features a model is fitted on are the ones it is later given."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.annotate import nlp
from index.store import IndexSnapshot
from qa.answerers.extractive.candidates import Candidate, candidates
from qa.answerers.extractive.features import Features, Ranks, candidate_features
from qa.answerers.extractive.reading import (
    Lemmas,
    Question,
    Sentence,
    parse_question,
    read_sentences,
)
from qa.retrieve import Hit


@dataclass(frozen=True)
class Reading:
    question: Question
    sentences: list[Sentence]
    spans: list[tuple[Sentence, Candidate]]
    features: list[Features]
    weights: dict[str, float]


class Reader:
    """Parses questions and reads passages for one index generation at a time."""

    def __init__(self, sentences_per_ranking: int) -> None:
        self._per_ranking = sentences_per_ranking
        self._lemmas: tuple[IndexSnapshot, Lemmas] | None = None
        self._lock = threading.Lock()

    def lemmas(self, snap: IndexSnapshot) -> Lemmas:
        cached = self._lemmas
        if cached is None or cached[0] is not snap:
            with self._lock:
                cached = (snap, Lemmas(*snap.annotations().lemma_counts()))
                self._lemmas = cached
        return cached[1]

    def question(self, text: str) -> Question:
        return parse_question(nlp()(text))

    def read(
        self, snap: IndexSnapshot, question: Question, qvec: np.ndarray, passages: Sequence[Hit]
    ) -> Reading:
        lemmas = self.lemmas(snap)
        weights = {w: lemmas.idf(w) for w in question.content}
        sentences = read_sentences(snap, passages, question, np.asarray(qvec), lemmas)
        return self.reread(question, sentences, weights)

    def reread(
        self, question: Question, sentences: list[Sentence], weights: dict[str, float]
    ) -> Reading:
        """The candidates of these sentences, ranked among themselves: `read` once the
        sentences are read (`qa fit` also reads a question without the ones that answer it)."""
        ranks = Ranks.of(sentences)
        chosen = sorted(
            i
            for i in range(len(sentences))
            if ranks.cos_rank[i] < self._per_ranking or ranks.ov_rank[i] < self._per_ranking
        )
        spans: list[tuple[Sentence, Candidate]] = []
        features: list[Features] = []
        for i in chosen:
            for cand in candidates(sentences[i]):
                spans.append((sentences[i], cand))
                features.append(candidate_features(question, sentences[i], i, cand, ranks, weights))
        return Reading(question, sentences, spans, features, weights)


def span_text(snap: IndexSnapshot, article_id: str, cand: Candidate) -> str:
    text: Any = snap.articles[article_id]["text"]
    return str(text[cand.start : cand.end])
