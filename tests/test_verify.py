"""The verifier: the real SmolLM2-135M GGUF behind the `llamacpp` backend's own llama.cpp
server for the probability it reads; a dead port and a silent one for the failures; and a
stub OpenAI-compatible endpoint on loopback (HTTP, the seam the verifier talks through) for
a backend that sends no log-probabilities and for the arithmetic on the ones it sends.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from index.errors import BackendError
from index.settings import Settings
from qa.answerers.generative import CONDENSE_MAX_TOKENS
from qa.models import MODELS
from qa.verify import READ_TOKENS, load_verifier, read_messages, verify_messages
from tests.conftest import ROOT, SEEDS, free_port
from tests.test_answerers import Silent

SMOLLM2 = ROOT / "models" / MODELS["smollm2"].filename
LOCAL = {
    "verifier": "llamacpp",
    "llamacpp_ctx": 2048,
    "llamacpp_threads": 1,  # one thread: on a shared 2-core machine idle threads spin
    "llamacpp_reuse_prompt": False,  # each check independent of the one before
    "llm_timeout_s": 120.0,
}


def seed_paragraph() -> str:
    """A real paragraph of a seed article: the longest of its first lines."""
    text = sorted(SEEDS.glob("*.txt"))[0].read_text(encoding="utf-8")
    return max(text.splitlines()[:6], key=len)


@pytest.mark.llm
@pytest.mark.slow
@pytest.mark.parametrize(
    "question", ["What does this passage report?", "Who won the 2018 FIFA World Cup?"]
)
def test_the_probability_is_read_and_is_deterministic(question: str) -> None:
    if not SMOLLM2.is_file():
        pytest.fail(f"{SMOLLM2} is missing: run `make llm-models`")
    verifier = load_verifier(Settings(llamacpp_model=SMOLLM2, **LOCAL))
    passage = seed_paragraph()
    first = verifier.check(question, passage, "A report")
    assert 0.0 <= first.p_no <= 1.0
    assert 0.0 < first.mass <= 1.0 + 1e-9, "neither Yes nor No among the alternatives"
    assert verifier.check(question, passage, "A report").p_no == first.p_no
    assert verifier.p_no(question, passage, "A report") == first.p_no


@pytest.mark.llm
@pytest.mark.slow
def test_the_model_reads_a_span_deterministically_and_its_prompt_starts_as_the_check_s() -> None:
    if not SMOLLM2.is_file():
        pytest.fail(f"{SMOLLM2} is missing: run `make llm-models`")
    verifier = load_verifier(Settings(llamacpp_model=SMOLLM2, **LOCAL))
    passage, question = seed_paragraph(), "Who confirmed the troop movements?"
    first = verifier.read(question, passage)
    assert first.seconds > 0
    assert first.text is None or (first.text.strip() == first.text and "\n" not in first.text)
    assert verifier.read(question, passage).text == first.text
    # The read prompt repeats the check's up to the question, so a server that keeps the
    # check's prompt evaluated reads the passage again for free.
    check = verify_messages(question, passage, "A")[-1].content
    read = read_messages(question, passage)[-1].content
    assert isinstance(check, str) and isinstance(read, str)
    shared = check.split("Proposed answer:")[0]
    assert read.startswith(shared) and question in shared and passage in shared


@pytest.mark.parametrize(
    ("content", "span"),
    [
        ('"International law."', "International law"),
        ("  the binary alphabet\nbecause ...", "the binary alphabet"),
        ("Unanswerable.", None),
        ("unanswerable", None),
        ("", None),
    ],
)
def test_the_reading_is_the_first_line_of_the_reply_without_quotes(
    content: str, span: str | None
) -> None:
    stub = Stub([("Yes", -0.1)], content)
    try:
        verifier = load_verifier(stub.settings())
        read = verifier.read("What does it comply with?", "It complies with international law.")
    finally:
        stub.close()
    assert read.text == span
    body = stub.requests[-1]  # after the start-up probe
    # langchain-openai sends max_tokens as OpenAI's newer max_completion_tokens
    assert body.get("max_completion_tokens", body.get("max_tokens")) == READ_TOKENS
    assert body["stop"] == ["\n"]
    assert not body.get("logprobs")


@pytest.mark.parametrize(
    ("content", "condensed"),
    [
        ("What did Lloyd Austin confirm?", "What did Lloyd Austin confirm?"),
        ("He confirmed the deployment.", None),  # an answer, not a rewrite: refused
        ("What did Ilse Varga confirm?", None),  # the prompt's example, not the conversation
    ],
)
def test_a_follow_up_is_rewritten_to_stand_alone(content: str, condensed: str | None) -> None:
    stub = Stub([("Yes", -0.1)], content)
    history = [
        {"role": "user", "content": "Who is Lloyd Austin?"},
        {"role": "assistant", "content": "The U.S. Defense Secretary."},
    ]
    try:
        verifier = load_verifier(stub.settings())
        assert verifier.condense("What did he confirm?", history) == condensed
    finally:
        stub.close()
    body = stub.requests[-1]
    prompt = body["messages"][-1]["content"]
    assert "What did he confirm?" in prompt and "Who is Lloyd Austin?" in prompt
    assert body.get("max_completion_tokens", body.get("max_tokens")) == CONDENSE_MAX_TOKENS


def test_a_missing_local_model_is_reported_at_start_up(tmp_path: Any) -> None:
    settings = Settings(llamacpp_model=tmp_path / "missing.gguf", **LOCAL)
    with pytest.raises(BackendError, match="does not exist"):
        load_verifier(settings)


def test_a_dead_backend_is_a_backend_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    settings = Settings(verifier="openai", openai_base_url=url, openai_model="m")
    with pytest.raises(BackendError, match="could not be reached") as err:
        load_verifier(settings)
    assert url in str(err.value) and "QA_OPENAI_BASE_URL" in str(err.value)


def test_a_silent_backend_times_out_with_a_backend_error() -> None:
    silent = Silent()
    try:
        url = f"http://127.0.0.1:{silent.port}/v1"
        settings = Settings(
            verifier="openai", openai_base_url=url, openai_model="m", llm_timeout_s=0.5
        )
        with pytest.raises(BackendError, match=r"timed out after 0\.5 s") as err:
            load_verifier(settings)
        assert "QA_LLM_TIMEOUT_S" in str(err.value)
    finally:
        silent.close()


# -- a stub OpenAI-compatible endpoint --------------------------------------------------


class Stub:
    """Answers every chat completion with "Yes" and the given first-token alternatives
    (None: no `logprobs` at all, as some servers do); keeps the request bodies."""

    def __init__(self, alternatives: list[tuple[str, float]] | None, content: str = "Yes") -> None:
        self.requests: list[dict[str, Any]] = []
        self.content = content
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                data = json.dumps(stub.completion()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.alternatives = alternatives
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def completion(self) -> dict[str, Any]:
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": self.content},
            "finish_reason": "length",
            "logprobs": None,
        }
        if self.alternatives is not None:
            top = [{"token": t, "logprob": lp, "bytes": None} for t, lp in self.alternatives]
            first = {**top[0], "top_logprobs": top} if top else None
            choice["logprobs"] = {"content": [first] if first else []}
        return {
            "id": "stub",
            "object": "chat.completion",
            "created": 0,
            "model": "stub",
            "choices": [choice],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    def settings(self) -> Settings:
        return Settings(verifier="openai", openai_base_url=self.url, openai_model="stub")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub(request: pytest.FixtureRequest) -> Iterator[Stub]:
    server = Stub(request.param)
    yield server
    server.close()


@pytest.mark.parametrize("stub", [None, []], indirect=True, ids=["no-logprobs", "empty"])
def test_a_backend_without_logprobs_is_reported_at_start_up(stub: Stub) -> None:
    with pytest.raises(BackendError, match="returned no token log-probabilities") as err:
        load_verifier(stub.settings())
    assert stub.url in str(err.value)
    # It was asked for them: one token and its alternatives.
    (request,) = stub.requests
    assert request["logprobs"] is True and request["top_logprobs"] == 10
    # langchain-openai spells the budget the newer way; servers take either.
    assert request.get("max_completion_tokens", request.get("max_tokens")) == 1
    assert "Reply Yes or No." in request["messages"][-1]["content"]


E = math.exp


@pytest.mark.parametrize(
    ("stub", "yes", "no"),
    [
        ([("Yes", -0.2), (" No", -1.9), ("no", -4.0), ("Maybe", -3.0)], E(-0.2), E(-1.9) + E(-4)),
        ([(" NO", -0.1), ("yes ", -2.5), ("The", -3.0)], E(-2.5), E(-0.1)),
        ([("The", -0.1), ("Passage", -2.5)], 0.0, 0.0),
    ],
    indirect=["stub"],
    ids=["yes-leads", "no-leads", "neither"],
)
def test_p_no_is_no_over_yes_plus_no(stub: Stub, yes: float, no: float) -> None:
    verifier = load_verifier(stub.settings())
    passage = seed_paragraph()
    verdict = verifier.check("What does this passage report?", passage, "A  short\nreport")
    assert verdict.mass == pytest.approx(yes + no)
    # Neither reply among the alternatives: nothing either way.
    assert verdict.p_no == pytest.approx(no / (yes + no) if yes + no else 0.5)
    asked = stub.requests[-1]["messages"][-1]["content"]
    assert passage.strip() in asked and "A short report" in asked  # the answer proposed


def test_the_measurement_sample_is_seeded_balanced_and_spread() -> None:
    from eval.verify_sample import sample

    items = [
        {"id": f"{a}-{i}", "article": f"a{a}.txt", "answers": ["x"] if i % 3 else []}
        for a in range(8)
        for i in range(30 + a)
    ]
    chosen = sample(items, 64, seed=3)
    assert len({q["id"] for q in chosen}) == 64
    assert sum(not q["answers"] for q in chosen) == 32
    for answerable in (True, False):
        per_article = [
            sum(q["article"] == f"a{a}.txt" and bool(q["answers"]) == answerable for q in chosen)
            for a in range(8)
        ]
        assert per_article == [4] * 8
    assert sample(items, 64, seed=3) == chosen
    assert sample(items, 64, seed=4) != chosen
