"""Query latency: retrieval and extractive answers against one encode plus one bare Chroma query.

The three measurements are interleaved question by question, so a burst of load from other
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


def warm(assistant: Assistant, questions: Sequence[str], answer: bool = True) -> None:
    """Open the index, load the encoder, BM25 and the answerer before anything is timed.

    With `answer`, every question is asked once: the answerer keeps the sentence vectors of
    passages it has seen, and a server that has answered for a while has them too.
    """
    assistant.search("warm up the index", k=1)
    if answer:
        for question in questions:
            assistant.ask(question, answerer="extractive")


def bench_query(
    assistant: Assistant,
    questions: Sequence[str],
    n: int,
    offset: int = 0,
    answer: bool = True,
    answer_every: int = 1,
) -> dict[str, Any]:
    """Retrieval (and, with `answer`, extractive answer) latency over `n` questions; answers
    for every `answer_every`-th one. With `answer_every` > 1 (the 100k index, where an answer
    costs ~0.3 s) the answerer is not warmed on the gold questions either."""
    warm(assistant, questions, answer and answer_every == 1)
    size = dense_candidates(assistant)
    floor_q = workload(questions, n, offset)
    retrieve_q = workload(questions, n, offset + n)
    answer_q = workload(questions, n, offset + 2 * n)
    floor_s: list[float] = []
    retrieve_s: list[float] = []
    answer_s: list[float] = []
    stages: dict[str, list[float]] = {}
    for i in range(n):
        floor_s.append(floor_once(assistant, floor_q[i], size))
        t = time.perf_counter()
        _, timings = assistant.retrieve(retrieve_q[i])
        retrieve_s.append(time.perf_counter() - t)
        for key, value in timings.items():
            stages.setdefault(key, []).append(value)
        if answer and i % answer_every == 0:
            t = time.perf_counter()
            assistant.ask(answer_q[i], answerer="extractive")
            answer_s.append(time.perf_counter() - t)
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
    }
    if answer:
        answered = summary_ms(answer_s)
        out["answer"] = {
            **answered,
            "questions": len(answer_s),
            "ratio_to_retrieve": ratio(answered["p50_ms"], retrieve["p50_ms"]),
        }
    return out
