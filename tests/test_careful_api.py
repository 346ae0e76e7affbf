"""Careful mode over real HTTP on loopback: `"verify": true` on /v1/ask, its stream's `checking`
and `check` events, and the OpenAI-compatible endpoint's `verify` field.

A real `qa serve` runs on the seed index with its verifier on the `openai` backend, pointed at
a stub OpenAI-compatible endpoint on loopback whose first token is "No" with probability
0.95 (tests/test_verify.py's Stub): every check finds that the passage does not bear the
answer out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from index.settings import Settings
from qa.careful import ABSTAIN, load_cut
from tests.test_api import Server, assert_error, sse_events, start_server, stop_servers
from tests.test_api import wait_ready as wait_server
from tests.test_careful import QUESTION
from tests.test_verify import Stub

pytestmark = [pytest.mark.server, pytest.mark.slow]

SAYS_NO = [("No", -0.05), ("Yes", -3.0)]


class GatedStub(Stub):
    """A Stub whose replies wait while `gate` is closed: a test can see what the UI shows
    while a check is under way, without timing anything."""

    def __init__(self, alternatives: list[tuple[str, float]]) -> None:
        self.gate = threading.Event()
        self.gate.set()
        super().__init__(alternatives)

    def completion(self) -> dict[str, Any]:
        self.gate.wait(600)
        return super().completion()


@pytest.fixture(scope="module")
def stub() -> Iterator[Stub]:
    server = Stub(SAYS_NO)
    yield server
    server.close()


@pytest.fixture(scope="module")
def server(
    seed_settings: Settings, stub: Stub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    s = start_server(
        seed_settings.data_dir,
        tmp_path_factory.mktemp("careful-server"),
        QA_VERIFIER="openai",
        QA_OPENAI_BASE_URL=stub.url,
        QA_OPENAI_MODEL="stub",
    )
    try:
        wait_server(s)
        yield s
    finally:
        stop_servers(s)


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield client


def test_ask_with_verify_reports_the_check(api: httpx.Client, stub: Stub) -> None:
    asked = len(stub.requests)
    body = api.post("/v1/ask", json={"question": QUESTION, "verify": True}).json()
    check = body["check"]
    assert check["outcome"] == "abstained" and check["p_no"] > check["cut"]
    assert "does not bear it out" in check["reason"]
    assert body["answer"] == ABSTAIN and body["abstained"] and body["citations"] == []
    assert "Austin" in check["unchecked"] and body["answerer"] == "extractive"
    # One check (after the verifier's probe on first use), about this question, with the
    # passage the fast answer cited; then one for each next-best candidate tried.
    # When the packaged cut says so, the model is also asked to read the passage itself
    # (the stub's "Yes" is in no passage, so it is not checked).
    prompts = [r["messages"][-1]["content"] for r in stub.requests[asked:]]
    prompts = [p for p in prompts if "This passage is a probe." not in p]
    reads = [p for p in prompts if "Proposed answer:" not in p]
    checks = [p for p in prompts if p not in reads]
    assert len(checks) == 1 + check["tried"] and prompts[0] == checks[0]
    assert len(reads) == int(load_cut(None).read)
    assert check["read"] == ("Yes" if load_cut(None).read else None)
    assert check["tried"] <= load_cut(None).alternatives
    prompt = checks[0]
    assert QUESTION in prompt and "Austin" in prompt.split("Question:")[0]
    assert body["timings_ms"]["check_ms"] > 0


def test_without_verify_nothing_is_checked(api: httpx.Client, stub: Stub) -> None:
    asked = len(stub.requests)
    body = api.post("/v1/ask", json={"question": QUESTION, "answerer": "extractive"}).json()
    assert body["check"] is None and not body["abstained"] and "Austin" in body["answer"]
    assert len(stub.requests) == asked


def test_the_stream_sends_the_check_as_its_own_event(api: httpx.Client) -> None:
    body = {"question": QUESTION, "verify": True}
    with api.stream("POST", "/v1/ask/stream", json=body) as r:
        assert r.status_code == 200
        events = sse_events(r)
    names = [name for name, _ in events]
    assert names[0] == "retrieved" and names[-3:] == ["checking", "check", "answer"]
    assert set(names[1:-3]) == {"delta"}
    fast = events[-3][1]["answer"]
    check, final = events[-2][1], events[-1][1]
    # The deltas are the fast answer, sent before the check; the final answer says what it found.
    assert "".join(d["text"] for n, d in events if n == "delta") == fast["answer"]
    assert fast["check"] is None and not fast["abstained"]
    assert final["check"] == check and check["outcome"] == "abstained"
    assert final["answer"] == ABSTAIN and check["unchecked"] == fast["answer"]


def test_verify_must_be_a_boolean(api: httpx.Client) -> None:
    response = api.post("/v1/ask", json={"question": QUESTION, "verify": "maybe"})
    assert_error(response, 422, "verify")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_the_openai_endpoint_takes_verify(api: httpx.Client, stream: bool) -> None:
    body = {
        "model": "newsqa",
        "messages": [{"role": "user", "content": QUESTION}],
        "stream": stream,
        "verify": True,
    }
    if not stream:
        data = api.post("/v1/chat/completions", json=body).json()
        assert data["choices"][0]["message"]["content"] == ABSTAIN
        assert data["check"]["outcome"] == "abstained" and data["abstained"]
        return
    with api.stream("POST", "/v1/chat/completions", json=body) as r:
        chunks = [d for _, d in sse_events(r) if d != "[DONE]"]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    # OpenAI clients join the deltas: with verify they are the final, checked answer.
    assert content == ABSTAIN
    assert chunks[-1]["check"]["outcome"] == "abstained"


def test_docs_describe_verify(api: httpx.Client) -> None:
    schema = api.get("/openapi.json").json()["components"]["schemas"]
    ask = next(v for k, v in schema.items() if k.startswith("AskRequest"))
    assert "Careful mode" in ask["properties"]["verify"]["description"]
    assert "checking" in api.get("/openapi.json").text
