"""The HTTP API of `qa serve`, over real HTTP on loopback.

Two real servers start once for this module, in parallel, on the seed index: one open, one
with QA_API_KEY. Tests talk to them with httpx, the official `openai` client and
`gradio_client`.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.settings import Settings
from tests.conftest import SEEDS, free_port

pytestmark = [pytest.mark.server, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "k3y-for-tests-0b7c"
QUESTION = "Who is the spokesperson for the Russian Foreign Ministry?"


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(data_dir: Path, workdir: Path, **env: str) -> Server:
    """`qa serve` in a subprocess on a free loopback port, sealed into `workdir`."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    full_env.update(
        QA_DATA_DIR=str(data_dir),
        QA_CORPUS=json.dumps([str(SEEDS)]),
        HF_HUB_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        GRADIO_TEMP_DIR=str(workdir / "gradio-tmp"),
        PYTHONUNBUFFERED="1",
        **env,
    )
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env={**full_env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(f"http://127.0.0.1:{port}", proc, log)


def wait_ready(server: Server, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"qa serve exited:\n{server.log_text()[-3000:]}")
        if "newsqa is ready: " in server.log_text():
            return
        time.sleep(0.2)
    stop_servers(server)
    raise RuntimeError(f"qa serve not ready after {timeout}s:\n{server.log_text()[-3000:]}")


def stop_servers(*servers: Server) -> None:
    for server in servers:
        server.proc.terminate()
    for server in servers:
        try:
            server.proc.wait(15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)


@pytest.fixture(scope="module")
def servers(
    seed_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    work = tmp_path_factory.mktemp("api-servers")
    started = {
        "open": start_server(seed_settings.data_dir, work / "open"),
        "auth": start_server(seed_settings.data_dir, work / "auth", QA_API_KEY=API_KEY),
    }
    try:
        for s in started.values():
            wait_ready(s)
        yield started
    finally:
        stop_servers(*started.values())


@pytest.fixture(scope="module")
def api(servers: dict[str, Server]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=servers["open"].url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def authed(servers: dict[str, Server]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=servers["auth"].url, timeout=60) as client:
        yield client


def sse_events(response: httpx.Response) -> list[tuple[str | None, Any]]:
    """(event name, parsed data) for each server-sent event."""
    events: list[tuple[str | None, Any]] = []
    name: str | None = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
            events.append((name, data if data == "[DONE]" else json.loads(data)))
            name = None
    return events


def assert_error(response: httpx.Response, status: int, param: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    error = body["error"]
    assert error["code"] == status
    assert error["message"]
    assert "Traceback" not in response.text
    if param is not None:
        assert error["param"] == param, error
        assert param.split("[")[0].split(".")[0] in error["message"], error
    return str(error["message"])


# -- the routes ----------------------------------------------------------------------------
def test_healthz_reports_the_index(api: httpx.Client) -> None:
    r = api.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["articles"] == 5
    assert body["chunks"] > 5
    assert body["embedding_model"]


def test_ask_returns_an_answer_citing_the_article_text(api: httpx.Client) -> None:
    r = api.post("/v1/ask", json={"question": QUESTION})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["question"] == QUESTION
    assert not answer["abstained"]
    assert "Zakharova" in answer["answer"]
    assert answer["citations"], answer
    for c in answer["citations"]:
        assert f"[{c['n']}]" in answer["answer"]
        article = api.get(f"/v1/articles/{c['article_id']}").json()
        assert article["text"][c["start"] : c["end"]] == c["quote"]
        assert article["title"] == c["title"]


def test_ask_follow_up_uses_the_history(api: httpx.Client) -> None:
    first = api.post("/v1/ask", json={"question": QUESTION}).json()
    history = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first["answer"]},
    ]
    question = "What did she say about the troops?"
    r = api.post("/v1/ask", json={"question": question, "history": history})
    assert r.status_code == 200, r.text
    query = r.json()["trace"]["query"]
    assert query != question
    assert "Zakharova" in query


def test_ask_abstains_when_the_articles_do_not_say(api: httpx.Client) -> None:
    r = api.post("/v1/ask", json={"question": "Who won the 2022 World Cup?"})
    assert r.status_code == 200
    assert r.json()["abstained"] is True
    assert r.json()["citations"] == []


def test_ask_stream_sends_passages_then_deltas_then_the_answer(api: httpx.Client) -> None:
    with api.stream("POST", "/v1/ask/stream", json={"question": QUESTION}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
    names = [name for name, _ in events]
    assert names[0] == "retrieved"
    assert names[-1] == "answer"
    assert names.count("answer") == 1
    assert names.count("delta") >= 2
    assert set(names[1:-1]) == {"delta"}
    retrieved, answer = events[0][1], events[-1][1]
    assert retrieved["query"] == QUESTION
    assert retrieved["passages"] and "article_id" in retrieved["passages"][0]
    assert "".join(data["text"] for name, data in events if name == "delta") == answer["answer"]
    assert answer["citations"]


def test_ask_stream_rejects_bad_input_before_streaming(api: httpx.Client) -> None:
    r = api.post("/v1/ask/stream", json={"question": "x", "k": 0})
    assert r.headers["content-type"].startswith("application/json")
    assert_error(r, 422, "k")


def test_search_returns_k_hits(api: httpx.Client) -> None:
    r = api.post("/v1/search", json={"query": "fake IDs", "k": 3})
    assert r.status_code == 200, r.text
    hits = r.json()
    assert len(hits) == 3
    assert {"chunk_id", "article_id", "title", "text", "start", "end", "score"} <= set(hits[0])
    assert "fake IDs" in hits[0]["text"]
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_article_by_id(api: httpx.Client) -> None:
    r = api.get("/v1/articles/000_7f6ec0fcc98417b5.txt")
    assert r.status_code == 200
    body = r.json()
    assert body["article_id"] == "000_7f6ec0fcc98417b5.txt"
    assert body["title"].startswith("South Korea Raises Alarm")
    assert body["text"] == (SEEDS / "000_7f6ec0fcc98417b5.txt").read_text()


@pytest.mark.parametrize(
    "path",
    [
        "nope.txt",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e/%2e%2e/etc/passwd",
        "000_7f6ec0fcc98417b5.txt/../../etc/passwd",
    ],
)
def test_unknown_or_path_like_article_is_404(api: httpx.Client, path: str) -> None:
    message = assert_error(api.get(f"/v1/articles/{path}"), 404)
    assert "root:" not in message


def test_literal_dot_dot_path_is_404(servers: dict[str, Server]) -> None:
    # httpx would normalise "../"; http.client sends the path as written.
    host, port = servers["open"].url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", "/v1/articles/../../etc/passwd")
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    assert response.status == 404
    assert "root:" not in body
    assert json.loads(body)["error"]["code"] == 404


def test_unknown_v1_route_is_a_json_404(api: httpx.Client) -> None:
    assert "/docs" in assert_error(api.get("/v1/nothing-here"), 404)


def test_docs_and_schema_document_the_limits(api: httpx.Client) -> None:
    assert "swagger" in api.get("/docs").text.lower()
    schema = api.get("/openapi.json").json()
    for path in ("/v1/ask", "/v1/ask/stream", "/v1/search", "/v1/chat/completions", "/healthz"):
        assert path in schema["paths"], path
    props = schema["components"]["schemas"]["AskRequest"]["properties"]
    defaults = Settings()
    assert props["question"]["maxLength"] == defaults.max_question_chars
    assert props["history"]["maxItems"] == defaults.max_history_turns
    k = props["k"]["anyOf"][0]
    assert (k["minimum"], k["maximum"]) == (1, defaults.max_k)


# -- bad input -----------------------------------------------------------------------------
TURN = {"role": "user", "content": "hi"}
BAD_INPUT = [
    ("/v1/ask", {"question": ""}, "question"),
    ("/v1/ask", {"question": "   \n\t "}, "question"),
    ("/v1/ask", {"question": 5}, "question"),
    ("/v1/ask", {"question": ["a list"]}, "question"),
    ("/v1/ask", {"question": "x" * 2001}, "question"),
    ("/v1/ask", {"question": "null\x00byte"}, "question"),
    ("/v1/ask", {"question": "bell\x07"}, "question"),
    ("/v1/ask", {"questoin": "typo"}, "question"),
    ("/v1/ask", {"question": "q", "k": 0}, "k"),
    ("/v1/ask", {"question": "q", "k": -1}, "k"),
    ("/v1/ask", {"question": "q", "k": 10**9}, "k"),
    ("/v1/ask", {"question": "q", "k": "five"}, "k"),
    ("/v1/ask", {"question": "q", "k": 2.5}, "k"),
    ("/v1/ask", {"question": "q", "answerer": "gpt-17"}, "answerer"),
    ("/v1/ask", {"question": "q", "history": "not a list"}, "history"),
    (
        "/v1/ask",
        {"question": "q", "history": [{"role": "system", "content": "x"}]},
        "history[0].role",
    ),
    ("/v1/ask", {"question": "q", "history": [{"role": "user"}]}, "history[0].content"),
    ("/v1/ask", {"question": "q", "history": [TURN] * 51}, "history"),
    ("/v1/search", {"query": ""}, "query"),
    ("/v1/search", {"query": "troops", "k": 51}, "k"),
    ("/v1/chat/completions", {"model": "gpt-4", "messages": [TURN]}, "model"),
    ("/v1/chat/completions", {"messages": []}, "messages"),
    (
        "/v1/chat/completions",
        {"messages": [{"role": "wizard", "content": "x"}]},
        "messages[0].role",
    ),
]


@pytest.mark.parametrize(("route", "body", "param"), BAD_INPUT)
def test_bad_input_is_422_naming_the_field(
    api: httpx.Client, route: str, body: Any, param: str
) -> None:
    assert_error(api.post(route, json=body), 422, param)


@pytest.mark.parametrize(
    ("content", "param"),
    [(b'{"question": ', "body"), (b"[1, 2]", "body"), (b"\xff\xfe garbage", "body")],
)
def test_malformed_body_is_422(api: httpx.Client, content: bytes, param: str) -> None:
    r = api.post("/v1/ask", content=content, headers={"content-type": "application/json"})
    assert_error(r, 422, param)


def test_chat_completion_must_end_with_a_user_message(api: httpx.Client) -> None:
    r = api.post("/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "x"}]})
    assert "last message" in assert_error(r, 422)


def test_oversized_bodies_are_413(api: httpx.Client) -> None:
    big = json.dumps({"question": "x" * 1_000_000}).encode()
    assert "bytes" in assert_error(api.post("/v1/ask", content=big), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    assert_error(api.post("/v1/ask", content=chunks()), 413)
    many_turns = {"question": "q", "history": [TURN] * 10_000}
    assert api.post("/v1/ask", json=many_turns).status_code in (413, 422)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
ASK_BODIES = st.fixed_dictionaries(
    {"question": st.text(max_size=300) | JSON},
    optional={
        "k": st.integers() | JSON,
        "answerer": st.sampled_from(["extractive", "nope", ""]) | JSON,
        "history": st.lists(
            st.fixed_dictionaries(
                {"role": st.sampled_from(["user", "assistant", "system"]), "content": JSON}
            ),
            max_size=3,
        )
        | JSON,
    },
)


@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(route=st.sampled_from(["/v1/ask", "/v1/search", "/v1/chat/completions"]), body=JSON)
def test_any_json_gets_an_answer_or_a_4xx(api: httpx.Client, route: str, body: Any) -> None:
    r = api.post(route, json=body)
    assert r.status_code in (200, 413, 422), r.text
    if r.status_code != 200:
        assert r.json()["error"]["message"]


@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(body=ASK_BODIES)
def test_ask_shaped_bodies_get_an_answer_or_a_4xx(api: httpx.Client, body: Any) -> None:
    r = api.post("/v1/ask", json=body)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert isinstance(r.json()["citations"], list)
    else:
        assert r.json()["error"]["message"]


def test_server_keeps_answering_after_bad_input(api: httpx.Client) -> None:
    for route, body, _ in BAD_INPUT[:8]:
        assert api.post(route, json=body).status_code == 422
    assert api.post("/v1/ask", json={"question": QUESTION}).status_code == 200
    assert api.get("/healthz").status_code == 200


def test_concurrent_requests_are_all_served(api: httpx.Client) -> None:
    questions = [QUESTION, "How many North Korean troops were sent?", "Who is Kim Jong Un?"] * 3

    def ask(q: str) -> int:
        return api.post("/v1/ask", json={"question": q}).status_code

    with ThreadPoolExecutor(max_workers=9) as pool:
        assert list(pool.map(ask, questions)) == [200] * len(questions)


# -- OpenAI compatibility ------------------------------------------------------------------
def test_chat_completions_over_http(api: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
    ]
    r = api.post("/v1/chat/completions", json={"model": "newsqa", "messages": messages})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion"
    content = body["choices"][0]["message"]["content"]
    assert "Zakharova" in content and "[1]" in content
    assert body["citations"][0]["n"] == 1


def test_openai_client_gets_a_cited_answer(servers: dict[str, Server]) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=servers["open"].url + "/v1", api_key="unused", max_retries=0)
    assert "newsqa" in [m.id for m in client.models.list()]
    reply = client.chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": QUESTION}]
    )
    content = reply.choices[0].message.content or ""
    assert "Zakharova" in content and "[1]" in content
    citations = (reply.model_extra or {})["citations"]
    assert citations[0]["article_id"] == "003_69af64450ae759f3.txt"


def test_openai_client_streams_a_cited_answer(servers: dict[str, Server]) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=servers["open"].url + "/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(
        model="newsqa/extractive",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 3
    assert "Zakharova" in text and "[1]" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["citations"][0]["n"] == 1


def test_openai_client_sees_validation_errors(servers: dict[str, Server]) -> None:
    import openai

    client = openai.OpenAI(base_url=servers["open"].url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError, match="empty"):
        client.chat.completions.create(model="newsqa", messages=[{"role": "user", "content": ""}])


# -- the chat endpoint for gradio_client -----------------------------------------------------
def test_gradio_client_calls_the_pinned_chat_endpoint(servers: dict[str, Server]) -> None:
    from gradio_client import Client

    client = Client(servers["open"].url + "/", verbose=False)
    assert "/chat" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    reply, sources = client.predict(QUESTION, "extractive", api_name="/chat")
    assert "Zakharova" in reply and "[1]" in reply
    assert 'id="nq-source-1"' in sources and "<mark" in sources
    follow_up, _ = client.predict(
        "What did she say about the troops?", "extractive", api_name="/chat"
    )
    assert "searched for:" in follow_up and "Zakharova" in follow_up


# -- API key -------------------------------------------------------------------------------
V1_ROUTES = [
    ("GET", "/v1/models", None),
    ("POST", "/v1/ask", {"question": QUESTION}),
    ("POST", "/v1/ask/stream", {"question": QUESTION}),
    ("POST", "/v1/search", {"query": "troops"}),
    ("GET", "/v1/articles/000_7f6ec0fcc98417b5.txt", None),
    ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": QUESTION}]}),
    ("GET", "/v1/not-a-route", None),
]


@pytest.mark.parametrize(("method", "path", "body"), V1_ROUTES)
@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-guess", f"Bearer {API_KEY}x", API_KEY, f"Basic {API_KEY}"]
)
def test_every_v1_route_needs_the_key(
    authed: httpx.Client, method: str, path: str, body: Any, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    r = authed.request(method, path, json=body, headers=headers)
    message = assert_error(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    assert API_KEY not in r.text and "wrong-guess" not in r.text
    assert "QA_API_KEY" in message


@pytest.mark.parametrize(("method", "path", "body"), V1_ROUTES[:-1])
def test_the_right_key_opens_every_v1_route(
    authed: httpx.Client, method: str, path: str, body: Any
) -> None:
    r = authed.request(method, path, json=body, headers={"Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 200, r.text


def test_without_a_key_configured_no_header_is_needed(api: httpx.Client) -> None:
    assert api.get("/v1/models").status_code == 200


def test_health_is_open_and_the_ui_asks_for_the_key(authed: httpx.Client) -> None:
    assert authed.get("/healthz").status_code == 200
    assert authed.get("/gradio_api/info").status_code == 401
    assert "auth_required" in authed.get("/").text


def test_openai_and_gradio_clients_with_the_key(servers: dict[str, Server]) -> None:
    import openai
    from gradio_client import Client

    url = servers["auth"].url
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0).models.list()
    client = openai.OpenAI(base_url=url + "/v1", api_key=API_KEY, max_retries=0)
    reply = client.chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": QUESTION}]
    )
    assert "[1]" in (reply.choices[0].message.content or "")
    reply_text, _ = Client(url + "/", auth=("anyone", API_KEY), verbose=False).predict(
        QUESTION, "extractive", api_name="/chat"
    )
    assert "Zakharova" in reply_text


def test_the_key_never_reaches_the_log(servers: dict[str, Server], authed: httpx.Client) -> None:
    authed.get("/v1/models", headers={"Authorization": "Bearer wrong-guess"})
    authed.get("/v1/models", headers={"Authorization": f"Bearer {API_KEY}"})
    log = servers["auth"].log_text()
    assert "GET /v1/models" in log  # the access log is there ...
    assert API_KEY not in log  # ... without the key or the guesses
    assert "wrong-guess" not in log
