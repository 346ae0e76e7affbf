"""`/v1/articles` and `qa articles` over real HTTP on loopback, while the app serves.

Two real `qa serve` processes share one data directory (a copy of the seed index): one
open, one with QA_API_KEY. They share the index lock and its generations, so a change made
through one is answered by the other, and two changes at once never interleave.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from index.settings import Settings
from tests.articles_data import (
    BINARY_PDF,
    EMPTY,
    MARKDOWN,
    MARKUP_PAGE,
    NEWS_ANSWER,
    NEWS_PAGE,
    NEWS_QUESTION,
    PDF_ANSWER_PAGE,
    PDF_QUESTION,
    make_long_article,
    make_pdf,
)
from tests.test_api import API_KEY, ROOT, Server, assert_error, start_server, stop_servers
from tests.test_api import wait_ready as _wait_ready

pytestmark = [pytest.mark.server, pytest.mark.slow]

SEED = "000_7f6ec0fcc98417b5.txt"
LIMITS = {"QA_MAX_UPLOAD_MB": "0.2", "QA_MAX_UPLOAD_FILES": "6"}
KEY = {"Authorization": f"Bearer {API_KEY}"}


def wait_ready(server: Server) -> None:
    _wait_ready(server, timeout=300)


@pytest.fixture(scope="module")
def data_dir(seed_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("articles") / "data"
    shutil.copytree(seed_settings.data_dir, target)
    return target


@pytest.fixture(scope="module")
def servers(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("articles-servers")
    started = {
        "open": start_server(data_dir, work / "open", **LIMITS),
        "auth": start_server(data_dir, work / "auth", QA_API_KEY=API_KEY, **LIMITS),
    }
    try:
        for s in started.values():
            wait_ready(s)
        yield started
    finally:
        stop_servers(*started.values())


@pytest.fixture(scope="module")
def api(servers: dict[str, Server]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=servers["open"].url, timeout=300) as client:
        yield client


@pytest.fixture(scope="module")
def authed(servers: dict[str, Server]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=servers["auth"].url, timeout=300) as client:
        yield client


def files(*paths: Path, name: str | None = None) -> list[tuple[str, tuple[str, bytes]]]:
    return [("files", (name or p.name, p.read_bytes())) for p in paths]


def listed(client: httpx.Client, **kw: Any) -> dict[str, dict[str, Any]]:
    r = client.get("/v1/articles", **kw)
    assert r.status_code == 200, r.text
    return {a["article_id"]: a for a in r.json()}


def cited(client: httpx.Client, question: str, **kw: Any) -> dict[str, Any]:
    r = client.post("/v1/ask", json={"question": question}, **kw)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_upload_indexes_good_files_skips_bad_ones_and_answers_at_once(
    api: httpx.Client, authed: httpx.Client, tmp_path: Path
) -> None:
    before = listed(api)
    assert set(before) == {a for a in before if a.endswith(".txt")} and len(before) == 5
    assert before[SEED]["source"] == "corpus" and before[SEED]["added"] is None
    pdf = make_pdf(tmp_path / "orchard report.pdf")
    r = api.post(
        "/v1/articles",
        files=files(NEWS_PAGE, MARKUP_PAGE, pdf, BINARY_PDF, EMPTY),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    indexed = {a["article_id"]: a for a in body["indexed"]}
    assert set(indexed) == {"news_page.html", "markup_page.html", "orchard report.pdf"}
    skipped = {s["name"]: s["reason"] for s in body["skipped"]}
    assert set(skipped) == {"binary.pdf", "empty.txt"}
    assert "not a PDF" in skipped["binary.pdf"] and "empty" in skipped["empty.txt"]

    now = listed(api)
    assert set(now) == set(before) | set(indexed)
    page = now["news_page.html"]
    assert (page["outlet"], page["author"], page["date"]) == (
        "The Coastal Ledger",
        "Priya Nandakumar",
        "2024-03-14",
    )
    assert page["title"] == "Velmora Harbour Switches On Saltwind Tidal Turbine"
    assert (page["kind"], page["source"]) == ("html", "upload")
    assert page["chunks"] >= 1 and page["added"]
    assert now["orchard report.pdf"]["pages"] == 3
    assert listed(authed, headers=KEY) == now  # the other process serves the same index

    text = api.get("/v1/articles/news_page.html").json()["text"]
    assert NEWS_ANSWER in text
    for junk in ("Luxury cruises", "seagull_fan88", "Subscribe", "Related stories"):
        assert junk not in text
    markup = api.get("/v1/articles/markup_page.html").json()["text"]
    assert '<script>alert("gotcha")</script>' in markup

    for client, kw in ((api, {}), (authed, {"headers": KEY})):
        answer = cited(client, NEWS_QUESTION, **kw)
        assert not answer["abstained"]
        citation = answer["citations"][0]
        assert citation["article_id"] == "news_page.html"
        assert NEWS_ANSWER in citation["quote"]
        assert text[citation["start"] : citation["end"]] == citation["quote"]
        assert citation["page"] is None

    answer = cited(api, PDF_QUESTION)
    citation = answer["citations"][0]
    assert citation["article_id"] == "orchard report.pdf"
    assert citation["page"] == PDF_ANSWER_PAGE
    assert "Brenlow" in citation["quote"]


def test_delete_removes_an_upload_and_its_answers(
    api: httpx.Client, authed: httpx.Client, data_dir: Path
) -> None:
    if "news_page.html" not in listed(api):
        assert api.post("/v1/articles", files=files(NEWS_PAGE)).status_code == 201
    folders = {p.name for p in (data_dir / "articles").iterdir()}
    r = api.delete("/v1/articles/news_page.html")
    assert r.status_code == 200, r.text
    assert r.json()["removed"] is True and r.json()["article_id"] == "news_page.html"
    assert "news_page.html" not in listed(api)
    assert len({p.name for p in (data_dir / "articles").iterdir()}) == len(folders) - 1
    assert_error(api.get("/v1/articles/news_page.html"), 404)
    assert_error(api.delete("/v1/articles/news_page.html"), 404)
    for client, kw in ((api, {}), (authed, {"headers": KEY})):
        answer = cited(client, NEWS_QUESTION, **kw)
        assert all(c["article_id"] != "news_page.html" for c in answer["citations"])
        assert answer["abstained"], answer["answer"]
    message = assert_error(api.delete(f"/v1/articles/{SEED}"), 409)
    assert "qa index" in message
    assert SEED in listed(api)


def test_bad_uploads_change_nothing_and_say_why(api: httpx.Client, tmp_path: Path) -> None:
    before = listed(api)
    generation = api.get("/healthz").json()["generation"]
    big = tmp_path / "big.txt"
    big.write_text("A long sentence about the weather in the mountains. " * 5000)  # 0.26 MB
    for sent in (files(BINARY_PDF), files(EMPTY), files(big), files(big, name="notes.docx")):
        message = assert_error(api.post("/v1/articles", files=sent), 422)
        assert "No article was added" in message and "Nothing in the index changed" in message
    message = assert_error(api.post("/v1/articles", files=files(big)), 422)
    assert "too large" in message and "QA_MAX_UPLOAD_MB" in message
    message = assert_error(api.post("/v1/articles", files=files(*[EMPTY] * 7)), 422)
    assert "QA_MAX_UPLOAD_FILES" in message
    assert_error(api.post("/v1/articles", files=files(big, name=f"{'x' * 20}.txt") * 12), 413)
    assert_error(api.post("/v1/articles", data={"note": "no files"}), 422, "files")
    r = api.post("/v1/articles", files=files(MARKDOWN))
    assert r.status_code == 201
    message = assert_error(api.post("/v1/articles", files=files(MARKDOWN)), 422)
    assert "already indexed" in message and "qa articles remove" in message
    assert api.delete(f"/v1/articles/{MARKDOWN.name}").status_code == 200
    assert listed(api) == before
    assert api.get("/healthz").json()["generation"] != generation


def test_the_key_guards_the_article_routes(authed: httpx.Client) -> None:
    before = listed(authed, headers=KEY)
    for method, path in (
        ("GET", "/v1/articles"),
        ("POST", "/v1/articles"),
        ("GET", f"/v1/articles/{SEED}"),
        ("DELETE", f"/v1/articles/{SEED}"),
    ):
        r = authed.request(method, path, files=files(MARKDOWN) if method == "POST" else None)
        assert "QA_API_KEY" in assert_error(r, 401)
    r = authed.post("/v1/articles", files=files(MARKDOWN), headers={"Authorization": "Bearer nope"})
    assert_error(r, 401)
    assert listed(authed, headers=KEY) == before
    r = authed.post("/v1/articles", files=files(MARKDOWN), headers=KEY)
    assert r.status_code == 201, r.text
    r = authed.delete(f"/v1/articles/{MARKDOWN.name}", headers=KEY)
    assert r.status_code == 200, r.text


def test_concurrent_uploads_never_interleave(
    api: httpx.Client, authed: httpx.Client, data_dir: Path, tmp_path: Path
) -> None:
    long = make_long_article(tmp_path / "quarry_ledger.txt", 400)
    other = make_pdf(tmp_path / "second.pdf")
    # Both processes load their embedding model now, so neither is still loading it later.
    for client, kw in ((api, {}), (authed, {"headers": KEY})):
        assert client.post("/v1/articles", files=files(MARKDOWN), **kw).status_code == 201
        assert client.delete(f"/v1/articles/{MARKDOWN.name}", **kw).status_code == 200
    before = set(listed(api))
    results: dict[str, httpx.Response] = {}

    def first() -> None:
        results["first"] = api.post("/v1/articles", files=files(long))

    thread = threading.Thread(target=first)
    thread.start()
    gens = {p.name for p in (data_dir / "index").glob("gen-*")}
    _wait_for(lambda: {p.name for p in (data_dir / "index").glob("gen-*")} - gens)
    # The first upload is embedding under the lock: a second one, in either process, waits.
    for client, kw in ((api, {}), (authed, {"headers": KEY})):
        message = assert_error(client.post("/v1/articles", files=files(other), **kw), 409)
        assert "Another upload" in message and "send this again" in message
    assert "quarry_ledger.txt" not in listed(api)  # not visible while half indexed
    thread.join()
    assert results["first"].status_code == 201, results["first"].text
    now = listed(api)
    assert set(now) == before | {"quarry_ledger.txt"}
    assert now["quarry_ledger.txt"]["chunks"] >= 50
    r = authed.post("/v1/articles", files=files(other), headers=KEY)  # now it goes through
    assert r.status_code == 201, r.text
    for aid in ("quarry_ledger.txt", "second.pdf"):
        assert api.delete(f"/v1/articles/{aid}").status_code == 200


def test_cli_changes_the_articles_of_a_running_server(api: httpx.Client, data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))

    def qa(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "qa.cli", "articles", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    out = qa("add", str(MARKDOWN), str(BINARY_PDF))
    assert out.returncode == 0, out.stderr
    assert "Added 1 article" in out.stdout and "trans_siberian.md" in out.stdout
    assert "binary.pdf: not a PDF" in out.stdout
    assert "trans_siberian.md" in listed(api)  # the server answers from it, no restart
    answer = cited(api, "How long is the main line of the Trans-Siberian Railway?")
    assert answer["citations"][0]["article_id"] == "trans_siberian.md"

    out = qa("list", "--json")
    rows = {a["article_id"]: a for a in json.loads(out.stdout)}
    assert rows == listed(api)
    assert "trans_siberian.md" in qa("list").stdout

    out = qa("remove", SEED)
    assert out.returncode == 2 and "qa index" in out.stderr
    out = qa("remove", "nope.txt")
    assert out.returncode == 2 and "No article with id 'nope.txt'" in out.stderr
    out = qa("add", str(EMPTY))
    assert out.returncode == 2 and "empty" in out.stderr
    out = qa("remove", "trans_siberian.md")
    assert out.returncode == 0 and "Removed trans_siberian.md" in out.stdout
    assert "trans_siberian.md" not in listed(api)


def test_an_upload_killed_half_way_leaves_the_previous_generation_live(
    seed_settings: Settings, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(seed_settings.data_dir, data)
    live = (data / "index" / "CURRENT").read_text()
    long = make_long_article(tmp_path / "quarry_ledger.txt", 400)
    server = start_server(data, tmp_path / "serve-1", **LIMITS)
    try:
        wait_ready(server)
        client = httpx.Client(base_url=server.url, timeout=300)
        warm = client.post("/v1/articles", files=files(MARKDOWN))  # loads the embedding model
        assert warm.status_code == 201
        live = (data / "index" / "CURRENT").read_text()
        gens = {p.name for p in (data / "index").glob("gen-*")}

        def upload() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it
                client.post("/v1/articles", files=files(long))

        thread = threading.Thread(target=upload)
        thread.start()
        _wait_for(lambda: {p.name for p in (data / "index").glob("gen-*")} - gens)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)
        thread.join(30)
    finally:
        stop_servers(server)
    assert (data / "index" / "CURRENT").read_text() == live

    again = start_server(data, tmp_path / "serve-2", **LIMITS)
    try:
        wait_ready(again)
        with httpx.Client(base_url=again.url, timeout=300) as client:
            articles = listed(client)
            assert "quarry_ledger.txt" not in articles and "trans_siberian.md" in articles
            answer = cited(client, "How many broken saws did the foreman of shift 3 report?")
            assert all(c["article_id"] != "quarry_ledger.txt" for c in answer["citations"])
            r = client.post("/v1/articles", files=files(long))  # the lock was released
            assert r.status_code == 201, r.text
            assert "quarry_ledger.txt" in listed(client)
    finally:
        stop_servers(again)
    # The half-written generation was dropped by the next change.
    assert len(list((data / "index").glob("gen-*"))) <= 2


def _wait_for(condition: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_docs_state_the_upload_limits(api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()
    post = schema["paths"]["/v1/articles"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    for words in ("At most 6 files of at most 0.2 MB", "QA_MAX_UPLOAD_MB", ".pdf", "409"):
        assert words in post["description"], words
    assert {"get", "post"} <= set(schema["paths"]["/v1/articles"])
    assert {"get", "delete"} <= set(schema["paths"]["/v1/articles/{article_id}"])
