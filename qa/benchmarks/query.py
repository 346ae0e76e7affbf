"""Query latency: retrieval against one encode plus one bare Chroma query, and answers of
each answerer against that retrieval.

The measurements are interleaved question by question, so a burst of load from other
processes on the machine hits the figure and its floor alike. Every call gets a query string
no earlier call used, so the query-embedding cache never answers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from statistics import median
from typing import TYPE_CHECKING, Any

from qa.benchmarks.corpus import workload
from qa.benchmarks.stats import ratio, summary_ms

if TYPE_CHECKING:
    from qa.assistant import Assistant


def dense_candidates(assistant: Assistant) -> int:
    """How many passages `Assistant.retrieve` asks each retriever for (its own rule)."""
    k = assistant.settings.k
    return min(len(assistant.snapshot().chunks), max(4 * k, 20))


def floor_once(assistant: Assistant, query: str, n: int) -> float:
    from qa.retrieve import dense_search

    snap = assistant.snapshot()
    t = time.perf_counter()
    vector = assistant.embedder().embed_query(query)
    dense_search(snap, vector, n, None)
    return time.perf_counter() - t


ANSWERERS = ("extractive",)
WARM_QUESTIONS = 5


def warm(
    assistant: Assistant, questions: Sequence[str], answerers: Sequence[str]
) -> dict[str, float]:
    """Open the index, load the encoder and BM25, then ask each answerer a few questions:
    what a first question pays once (models, the index's annotations) is not timed. Returns
    each answerer's warm-up seconds."""
    assistant.search("warm up the index", k=1)
    spent: dict[str, float] = {}
    for name in answerers:
        t = time.perf_counter()
        for question in questions[:WARM_QUESTIONS]:
            assistant.ask(question, answerer=name)
        spent[name] = round(time.perf_counter() - t, 2)
    return spent


def bench_query(
    assistant: Assistant,
    questions: Sequence[str],
    n: int,
    offset: int = 0,
    answerers: Sequence[str] = ANSWERERS,
    answer_every: int = 1,
) -> dict[str, Any]:
    """Retrieval latency over `n` questions and, for each of `answerers`, answer latency
    over every `answer_every`-th one (each answerer on questions of its own)."""
    warm_s = warm(assistant, questions, answerers)
    size = dense_candidates(assistant)
    floor_q = workload(questions, n, offset)
    retrieve_q = workload(questions, n, offset + n)
    answer_q = {
        name: workload(questions, n, offset + (2 + j) * n) for j, name in enumerate(answerers)
    }
    floor_s: list[float] = []
    retrieve_s: list[float] = []
    answer_s: dict[str, list[float]] = {name: [] for name in answerers}
    stages: dict[str, list[float]] = {}
    for i in range(n):
        floor_s.append(floor_once(assistant, floor_q[i], size))
        t = time.perf_counter()
        _, timings = assistant.retrieve(retrieve_q[i])
        retrieve_s.append(time.perf_counter() - t)
        for key, value in timings.items():
            stages.setdefault(key, []).append(value)
        if i % answer_every == 0:
            for name in answerers:
                t = time.perf_counter()
                assistant.ask(answer_q[name][i], answerer=name)
                answer_s[name].append(time.perf_counter() - t)
    floor = summary_ms(floor_s)
    retrieve = summary_ms(retrieve_s)
    out: dict[str, Any] = {
        "chunks": len(assistant.snapshot().chunks),
        "queries": n,
        "encoder": assistant.embedder().backend,
        "retrieve": {
            **retrieve,
            "floor_p50_ms": floor["p50_ms"],
            "floor_p95_ms": floor["p95_ms"],
            "ratio": ratio(retrieve["p50_ms"], floor["p50_ms"]),
            "ratio_p95": ratio(retrieve["p95_ms"], floor["p95_ms"]),
            "stages_p50_ms": {k: round(median(v), 2) for k, v in stages.items()},
        },
        "answers": {},
    }
    for name in answerers:
        answered = summary_ms(answer_s[name])
        out["answers"][name] = {
            **answered,
            "questions": len(answer_s[name]),
            "warm_up_s": warm_s[name],
            "ratio_to_retrieve": ratio(answered["p50_ms"], retrieve["p50_ms"]),
        }
    return out
