"""Building, updating and reading the index with the real model and a real Chroma."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from index.build import build_index
from index.errors import IndexBusyError, IndexMissingError, ModelMismatchError
from index.settings import Settings, bundled_model_dir
from index.store import open_index
from qa.assistant import Assistant
from tests.conftest import ROOT, SEEDS, free_port

pytestmark = pytest.mark.slow


def test_search_returns_the_fake_ids_passage_first_with_exact_offsets(seed_settings) -> None:
    hits = Assistant(seed_settings).search("fake IDs", k=10)
    assert "fake IDs" in hits[0].text
    sentences: set[str] = set()
    for h in hits:
        assert (SEEDS / h.article_id).read_text()[h.start : h.end] == h.text
        own = {h.text[s - h.start : e - h.start] for s, e in h.sentences}
        assert not own & sentences, "two hits share a sentence"
        sentences |= own
    assert len({h.chunk_id for h in hits}) == len(hits)


def test_search_filters_by_article(seed_settings) -> None:
    only = "004_5f3e8aa817441a8f.txt"
    hits = Assistant(seed_settings).search("troops", k=5, article_ids=[only])
    assert hits and {h.article_id for h in hits} == {only}


def test_the_vector_index_searches_wide_enough_to_be_exact(seed_settings) -> None:
    """The collection keeps the wider search (Chroma's default of 100 misses some of the top
    48 on a few hundred chunks; a small collection is searched at least as wide as it is), and
    its top hits are the exact nearest chunks."""
    import numpy as np

    from index.store import EXHAUSTIVE_UP_TO, HNSW, hnsw_for

    coll = open_index(seed_settings).collection()
    assert coll.configuration_json["hnsw"]["ef_search"] == hnsw_for(coll.count())["ef_search"]
    assert hnsw_for(EXHAUSTIVE_UP_TO)["ef_search"] == EXHAUSTIVE_UP_TO
    assert hnsw_for(EXHAUSTIVE_UP_TO + 1)["ef_search"] == HNSW["ef_search"] < EXHAUSTIVE_UP_TO
    got = coll.get(include=["embeddings"])
    vectors, ids = np.asarray(got["embeddings"]), got["ids"]
    probe = vectors[0] + vectors[1]
    found = coll.query(query_embeddings=[probe.tolist()], n_results=20, include=[])["ids"][0]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = [ids[i] for i in np.argsort(-(unit @ probe))[:20]]
    assert set(found) == set(exact)


def test_reindex_is_idempotent_and_embeds_nothing(tmp_path: Path, embedder) -> None:
    settings = Settings(data_dir=tmp_path / "d", corpus=[SEEDS])
    first = build_index(settings, embedder=embedder)
    assert first.articles == 5 and first.added == first.chunks > 0
    second = build_index(settings, embedder=embedder)
    assert (second.added, second.updated, second.removed, second.embedded) == (0, 0, 0, 0)
    assert second.unchanged == first.chunks and second.generation == first.generation


def test_edit_replaces_only_that_articles_chunks_and_delete_removes_them(
    tmp_path: Path, corpus: Path, embedder
) -> None:
    settings = Settings(data_dir=tmp_path / "d", corpus=[corpus])
    first = build_index(settings, embedder=embedder)
    edited = corpus / "004_5f3e8aa817441a8f.txt"
    edited.write_text(edited.read_text() + "\nA brand new closing paragraph about rice prices.\n")
    second = build_index(settings, embedder=embedder)
    assert second.updated >= 1 and second.added == 0 and second.removed >= 1
    assert second.embedded == second.updated
    assert second.unchanged >= first.chunks - 3
    assert "rice prices" in Assistant(settings).search("rice prices", k=1)[0].text

    (corpus / "001_a098e6d6fb83daf6.txt").unlink()
    third = build_index(settings, embedder=embedder)
    assert third.articles == 4 and third.removed > 0 and third.embedded == 0
    snap = open_index(settings)
    assert "001_a098e6d6fb83daf6.txt" not in {c.article_id for c in snap.chunks}
    assert snap.collection().count() == len(snap.chunks) == third.chunks


def test_bad_files_beside_good_ones(tmp_path: Path, corpus: Path, embedder) -> None:
    (corpus / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    (corpus / "empty.txt").write_text("")
    report = build_index(Settings(data_dir=tmp_path / "d", corpus=[corpus]), embedder=embedder)
    assert report.articles == 5
    assert sorted(s.path.name for s in report.skipped) == ["broken.txt", "empty.txt"]
    assert "broken.txt (binary" in report.summary()


def test_missing_index_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="qa index"):
        Assistant(Settings(data_dir=tmp_path / "empty")).search("troops")


def test_index_built_with_another_model_is_a_clear_error(tmp_path: Path, seed_settings) -> None:
    other = tmp_path / "other-model"
    shutil.copytree(bundled_model_dir(), other, ignore=shutil.ignore_patterns("*.safetensors"))
    (other / "model.safetensors").symlink_to(bundled_model_dir() / "model.safetensors")
    config = json.loads((other / "config.json").read_text())
    config["note"] = "a different model"
    (other / "config.json").write_text(json.dumps(config))
    settings = Settings(data_dir=seed_settings.data_dir, embedding_model=other)
    with pytest.raises(ModelMismatchError, match="qa index --rebuild"):
        Assistant(settings).search("troops")


def test_second_writer_fails_fast(tmp_path: Path, embedder) -> None:
    settings = Settings(data_dir=tmp_path / "d", corpus=[SEEDS])
    settings.data_dir.mkdir(parents=True)
    with FileLock(str(settings.data_dir / "index.lock")), pytest.raises(IndexBusyError):
        build_index(settings, embedder=embedder)


def _qa(*args: str, env: dict[str, str], **kw) -> subprocess.Popen:  # type: ignore[type-arg,no-untyped-def]
    return subprocess.Popen(
        [sys.executable, "-m", "qa.cli", *args], env=env, cwd=ROOT, text=True, **kw
    )


def test_build_killed_midway_keeps_old_index_and_rerun_matches_clean_build(
    tmp_path: Path, embedder
) -> None:
    data = tmp_path / "d"
    big = tmp_path / "big"
    big.mkdir()
    sentences = [
        s.strip() + "."
        for f in sorted(SEEDS.glob("*.txt"))
        for s in f.read_text().replace("\n", " ").split(". ")
        if len(s.split()) > 6
    ]
    for i in range(50):  # enough chunks that embedding takes a few seconds
        body = " ".join(
            f"In report {i}-{j}, {s}" for j, s in enumerate(sentences[i % 40 : i % 40 + 12])
        )
        (big / f"gen_{i:03d}.txt").write_text(body + "\n")
    settings = Settings(data_dir=data, corpus=[SEEDS])
    before = build_index(settings, embedder=embedder)

    env = {**os.environ, "QA_DATA_DIR": str(data)}
    proc = _qa("index", str(SEEDS), str(big), env=env, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    root = data / "index"
    while time.time() < deadline and not any(
        p.name != before.generation for p in root.glob("gen-*")
    ):
        time.sleep(0.05)
    # The new generation exists and 50 articles are still to embed: killed half-way.
    assert proc.poll() is None, "the build finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    # The previous index is untouched and queryable.
    snap = open_index(settings)
    assert snap.gen_dir.name == before.generation and len(snap.chunks) == before.chunks
    assert Assistant(settings).search("fake IDs", k=1)

    done = build_index(Settings(data_dir=data, corpus=[SEEDS, big]), embedder=embedder)
    clean = build_index(
        Settings(data_dir=tmp_path / "clean", corpus=[SEEDS, big]), embedder=embedder
    )
    ids = {c.id for c in open_index(Settings(data_dir=data)).chunks}
    clean_ids = {c.id for c in open_index(Settings(data_dir=tmp_path / "clean")).chunks}
    assert ids == clean_ids and done.chunks == clean.chunks
    assert open_index(Settings(data_dir=data)).collection().count() == clean.chunks
    assert len(list(root.glob("gen-*"))) <= 2


@pytest.mark.server
def test_server_mode_against_a_real_chroma_run(tmp_path: Path, embedder) -> None:
    port = free_port()
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    server = subprocess.Popen(
        [
            chroma,
            "run",
            "--path",
            str(tmp_path / "chroma-server"),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        settings = Settings(
            data_dir=tmp_path / "d", corpus=[SEEDS], chroma_url=f"http://127.0.0.1:{port}"
        )
        deadline = time.time() + 60
        while True:
            try:
                report = build_index(settings, embedder=embedder)
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        assert (
            report.chunks > 0
            and not (tmp_path / "d" / "index" / report.generation / "chroma").exists()
        )
        hits = Assistant(settings).search("fake IDs", k=3)
        assert "fake IDs" in hits[0].text
        assert build_index(settings, embedder=embedder).embedded == 0
    finally:
        server.terminate()
        server.wait(timeout=30)
