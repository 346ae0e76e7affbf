"""`qa bench` runs end to end on a tiny corpus and emits well-formed figures.

Benchmarks are not timed tests: nothing here asserts a speed, only that every figure the
issue asks for is present, is a number where a number belongs, and that the load on the
server had no errors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from qa.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.server]

TINY = [
    "bench",
    "--articles",
    "12",
    "--queries",
    "8",
    "--scale-chunks",
    "400",
    "--requests",
    "6",
    "--cold-runs",
    "1",
]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_bench_tiny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    work = tmp_path / "work"
    assert main([*TINY, "--json", "--out", str(out), "--work", str(work)]) == 0
    r = json.loads(capsys.readouterr().out)

    assert isinstance(r["machine"], str) and r["machine"]
    for key in ("chunks", "chunks_per_s", "floor_chunks_per_s", "ratio"):
        assert _number(r["index"][key]), key
    assert r["index"]["articles"] == 12 and r["index"]["chunks"] > 12
    before, after = r["index"]["floor_before_after_s"]
    assert _number(before) and _number(after)
    assert r["index"]["floor_seconds"] == pytest.approx((before + after) / 2, abs=0.011)
    for key in ("p50_ms", "p95_ms", "floor_p50_ms", "ratio"):
        assert _number(r["retrieve"][key]), key
    for key in ("p50_ms", "p95_ms", "ratio_to_retrieve"):
        assert _number(r["answer"][key]), key
    # Both embedded answerers are timed on the seeds and at scale, each warmed up first.
    for query in (r["query_seed"], r["query_scale"]):
        assert set(query["answers"]) == {"extractive"}
        for ans in query["answers"].values():
            for key in ("p50_ms", "p95_ms", "ratio_to_retrieve", "warm_up_s"):
                assert _number(ans[key]), key
            assert ans["questions"] > 0
    assert r["query_corpus"]["answers"] == {}
    assert r["scale"]["chunks"] == 400
    assert "perturb" in r["scale"]["vectors"]
    for key in ("retrieve_p95_ms", "ratio_to_seed_p95", "answer_ratio_to_retrieve"):
        assert _number(r["scale"][key]), key
    # The indexing figures include annotation, and say what it cost.
    assert r["index"]["stages_s"]["annotate"] > 0
    assert r["index"]["annotation_s"] >= r["index"]["stages_s"]["annotate"]
    assert _number(r["index"]["ratio_without_annotation"])
    for key in ("seconds", "floor_seconds"):
        assert _number(r["cold_start"][key]) and r["cold_start"][key] > 0, key
    assert [s["clients"] for s in r["server"]] == [1, 4, 16]
    for s in r["server"]:
        assert s["requests"] == 6 and s["errors"] == 0, s
        for key in ("rps", "p50_ms", "p95_ms"):
            assert _number(s[key]) and s[key] > 0, key
    assert _number(r["in_process_rps"]) and r["in_process_rps"] > 0
    assert _number(r["peak_rss_mb"]) and r["peak_rss_mb"] > 0
    # No verifier model is configured here: careful mode is reported as not measured, and why.
    assert "not measured" in r["careful"]["skipped"] and "GGUF" in r["careful"]["skipped"]
    assert {t["target"] for t in r["targets"]} and all(
        isinstance(t["met"], bool) for t in r["targets"]
    )

    # --out: the same figures as markdown tables, and as JSON.
    md = (out / "bench.md").read_text()
    assert "| clients | requests | rps |" in md and "### Cold start" in md
    assert "### Careful mode" in md
    assert json.loads((out / "bench.json").read_text())["index"] == r["index"]
    # --work keeps the scratch folder.
    assert (work / "seed" / "index" / "CURRENT").exists()
    # The scale index carries tags and sentence vectors for every chunk, as `qa index` does.
    from index.settings import Settings
    from index.store import open_index

    snap = open_index(Settings(data_dir=work / "scale"))
    notes = snap.annotations()
    assert len(notes.chunks) == len(snap.chunks) == 400
    for i, (chunk, note) in enumerate(zip(snap.chunks, notes.chunks, strict=True)):
        text = snap.articles[chunk.article_id]["text"]
        assert notes.sentence_vectors(i).shape == (len(chunk.sentences), 384)
        for start, end, *_ in note.tokens:
            assert chunk.start <= start < end <= chunk.end
            assert text[start:end].strip() == text[start:end]
        for start, end, _ in note.entities:
            assert chunk.start <= start < end <= chunk.end
