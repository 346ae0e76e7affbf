"""Faults injected for real: a Chroma server killed under load, an index rebuilt while a
server answers, corrupted or missing index files, hostile files in the corpus."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from index.build import build_index
from index.errors import IndexCorruptError, StoreUnavailableError
from index.load import load
from index.settings import Settings
from qa.assistant import Assistant
from tests.conftest import ROOT, SEEDS, free_port
from tests.test_api import start_server, stop_servers, wait_ready

pytestmark = pytest.mark.slow


def _chroma(path: Path, port: int) -> subprocess.Popen[bytes]:
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    return subprocess.Popen(
        [exe, "run", "--path", str(path), "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _until(check, timeout: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.server
def test_killed_chroma_server_gives_503_then_recovers_without_restart(
    tmp_path: Path, embedder
) -> None:
    port = free_port()
    store = tmp_path / "chroma"
    chroma = _chroma(store, port)
    settings = Settings(
        data_dir=tmp_path / "d", corpus=[SEEDS], chroma_url=f"http://127.0.0.1:{port}"
    )
    server = None
    try:
        _until(lambda: build_index(settings, embedder=embedder))
        assistant = Assistant(settings)
        assert assistant.search("fake IDs", k=2)
        server = start_server(
            settings.data_dir, tmp_path / "serve", QA_CHROMA_URL=settings.chroma_url or ""
        )
        wait_ready(server)
        with httpx.Client(base_url=server.url, timeout=30) as http:
            body = {"query": "fake IDs", "k": 2}
            assert http.post("/v1/search", json=body).status_code == 200

            chroma.send_signal(signal.SIGKILL)
            chroma.wait()
            # No hang: the client's 30 s timeout would fail the request instead of a 503.
            with pytest.raises(StoreUnavailableError, match="chroma run"):
                assistant.search("uniforms", k=2)
            down = http.post("/v1/search", json={"query": "uniforms", "k": 2})
            assert down.status_code == 503, down.text
            assert "Chroma server" in down.json()["error"]["message"]

            chroma = _chroma(store, port)
            back = _until(lambda: _ok(http.post("/v1/search", json={"query": "drones", "k": 2})))
            assert back.json() and "newsqa is ready" in server.log_text()
            assert _until(lambda: assistant.search("drones", k=2))
    finally:
        if server is not None:
            stop_servers(server)
        chroma.terminate()
        chroma.wait(30)


def _at_least(items: list[int], n: int) -> None:
    assert len(items) >= n, len(items)


def _ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code == 200, response.text
    return response


@pytest.mark.server
def test_queries_keep_working_while_the_index_is_rebuilt(
    tmp_path: Path, corpus: Path, embedder
) -> None:
    settings = Settings(data_dir=tmp_path / "d", corpus=[corpus])
    build_index(settings, embedder=embedder)
    server = start_server(settings.data_dir, tmp_path / "serve")
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            while not stop.is_set():
                r = http.post("/v1/search", json={"query": "satellite images", "k": 3})
                statuses.append(r.status_code)

    try:
        wait_ready(server)
        worker = threading.Thread(target=hammer)
        worker.start()
        (corpus / "new_article.txt").write_text(
            "Pyongyang opened a new railway bridge to Khasan, officials said on Monday.\n"
        )
        env = {**os.environ, "QA_DATA_DIR": str(settings.data_dir)}
        done = subprocess.run(
            [sys.executable, "-m", "qa.cli", "index", str(corpus)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "1 added" in done.stdout or "added" in done.stdout
        # A few more requests after the switch to the new generation, then stop.
        after = len(statuses) + 5
        _until(lambda: _at_least(statuses, after))
        stop.set()
        worker.join(60)
        with httpx.Client(base_url=server.url, timeout=60) as http:
            hits = http.post("/v1/search", json={"query": "railway bridge Khasan", "k": 1}).json()
        assert hits[0]["article_id"] == "new_article.txt"
        assert statuses and set(statuses) == {200}, statuses[-5:]
    finally:
        stop.set()
        stop_servers(server)


def test_corrupted_and_missing_index_name_the_fix(tmp_path: Path, seed_settings) -> None:
    data = tmp_path / "copy"
    shutil.copytree(seed_settings.data_dir, data)
    gen = next((data / "index").glob("gen-*"))
    (gen / "manifest.json").write_text("{not json")
    env = {**os.environ, "QA_DATA_DIR": str(data)}
    cli = [sys.executable, "-m", "qa.cli", "search", "troops"]
    broken = subprocess.run(cli, cwd=ROOT, env=env, capture_output=True, text=True)
    assert broken.returncode == 3 and "qa index --rebuild" in broken.stderr
    assert "Traceback" not in broken.stderr

    shutil.rmtree(data / "index")
    missing = subprocess.run(cli, cwd=ROOT, env=env, capture_output=True, text=True)
    assert missing.returncode == 3 and "qa index" in missing.stderr

    shutil.copytree(seed_settings.data_dir, tmp_path / "nochroma")
    gen = next((tmp_path / "nochroma" / "index").glob("gen-*"))
    shutil.rmtree(gen / "chroma")
    (gen / "chroma").write_text("not a folder")
    with pytest.raises(IndexCorruptError, match="qa index --rebuild"):
        Assistant(Settings(data_dir=tmp_path / "nochroma")).search("troops")


def test_hostile_files_are_skipped_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "ok.txt").write_text("A real sentence about troops.")
    with open(folder / "huge.txt", "wb") as fh:  # 50 MB, sparse
        fh.truncate(50 * 1024 * 1024)
    (folder / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    (folder / "loop").symlink_to(folder)
    (folder / "bad.md").write_bytes(b"\xff\xfe\xfa not utf-8")
    loaded = load([folder], max_bytes=20 * 1024 * 1024)
    assert [a.id for a in loaded.articles] == ["ok.txt"]
    reasons = {s.path.name: s.reason for s in loaded.skipped}
    assert set(reasons) == {"huge.txt", "dangling.txt", "bad.md"}
    assert reasons["huge.txt"].startswith("too large")
    assert "disappeared" in reasons["dangling.txt"]
