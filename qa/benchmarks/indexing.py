"""Indexing throughput: the full pipeline, annotation included, against a bare `encode` of
the same chunk texts."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.settings import Settings
from qa.benchmarks.stats import ratio

ANNOTATION_STAGES = ("annotate", "embed_sentences")


def load_model(model_dir: Path) -> Any:
    """A plain SentenceTransformer for the floor (loaded once, offline, on the CPU)."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


def _encode_floor(model: Any, texts: Sequence[str], batch_size: int) -> tuple[float, float]:
    """Wall and CPU seconds of one bare `encode` of `texts`."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_indexing(settings: Settings, corpus: Sequence[Path], embedder: Any) -> dict[str, Any]:
    """Build `corpus` into `settings.data_dir`, timed between two bare encodes of its chunks.

    The floor is encoded once before the build and once after it, and their mean is the
    floor: load on this shared machine that changes during the run then weighs on both
    sides alike. Before the build, the chunk texts come from `prepare`, the same text
    stages the build runs; the test that they match the stored chunks guards the pairing.

    `embedder` is already loaded and has built an index in this process (tokenizer, sentence
    splitter and the query-path ONNX export are one-off work the measured build should not
    pay for; the caller copies the export into `settings.data_dir`).
    """
    from index.build import build_index, prepare
    from index.store import open_index

    texts = [c.text for c in prepare(settings, list(corpus)).chunks]
    model = load_model(settings.model_dir())
    model.encode(["warm up"], show_progress_bar=False)
    batch = settings.embed_batch_size
    before = _encode_floor(model, texts, batch)

    wall, cpu = time.perf_counter(), time.process_time()
    report = build_index(settings, list(corpus), embedder=embedder, rebuild=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    snap = open_index(settings)
    if sorted(texts) != sorted(snap.text(c) for c in snap.chunks):
        raise AssertionError("the floor encoded other texts than the pipeline stored")
    after = _encode_floor(model, texts, batch)
    floor_wall, floor_cpu = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2

    chunks = len(texts)
    stages = {k: round(v, 3) for k, v in report.timings.items()}
    other = wall - sum(stages.values())
    # Tagging and sentence vectors (`index.annotate`), apart: what they add to the build.
    annotation = sum(report.timings.get(k, 0.0) for k in ANNOTATION_STAGES)
    return {
        "articles": report.articles,
        "chunks": chunks,
        "duplicates_dropped": report.duplicates_dropped,
        "seconds": round(wall, 2),
        "chunks_per_s": round(chunks / wall, 2),
        "floor_seconds": round(floor_wall, 2),
        "floor_before_after_s": [round(before[0], 2), round(after[0], 2)],
        "floor_chunks_per_s": round(chunks / floor_wall, 2),
        "ratio": ratio(floor_wall, wall),
        "annotation_s": round(annotation, 2),
        "ratio_without_annotation": ratio(floor_wall, wall - annotation),
        "embed_stage_ratio": ratio(floor_wall, report.timings.get("embed", 0.0)),
        "cpu_ratio": ratio(floor_cpu, cpu),
        "batch_size": batch,
        "stages_s": {**stages, "other": round(max(other, 0.0), 3)},
    }
