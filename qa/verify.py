"""The verifier: asks a chat model whether a proposed answer to a question is correct
according to a passage, and reads the reply from the probabilities of its first token rather
than from its text.

The model writes one token to `qa/prompts/verify.txt` ("... Reply Yes or No."); of that
token's most likely alternatives, those reading "yes" or "no" (case and spaces aside: " No",
"NO") are summed, and `p_no` is P(No) / (P(Yes) + P(No)). Its raw Yes/No is nearly useless
(small models say Yes to almost everything); the probability ranks, and a decision needs a
threshold fitted on data (see eval/verify_sample.py).

Any OpenAI-compatible endpoint that returns token log-probabilities will do: the local
llama.cpp server of the `llamacpp` backend, or the `openai` backend's endpoint, configured by
the same settings. `load_verifier` makes one probe call, so a backend that returns no
log-probabilities is reported at start-up, not mid-answer.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from index.errors import BackendError
from index.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

    from qa.answerers import Turn

# The two replies the prompt allows, compared after strip() and lower().
YES, NO = "yes", "no"
# Alternatives asked for the one token: enough that both replies are seen whenever either is
# at all likely (OpenAI allows at most 20).
TOP_LOGPROBS = 10
NO_LOGPROBS = (
    "returned no token log-probabilities; the verifier reads the probability of its Yes/No "
    "reply, so it needs an OpenAI-compatible endpoint that honours `logprobs` and "
    "`top_logprobs` (llama.cpp's server, vLLM, OpenAI): point QA_OPENAI_BASE_URL at one, or "
    "set QA_VERIFIER=llamacpp with QA_LLAMACPP_MODEL"
)


@dataclass(frozen=True)
class Read:
    """The model's own reading of the passage: the span it copied, or None when it replied
    that the passage does not answer (or wrote nothing)."""

    text: str | None
    seconds: float


# What the read prompt (qa/prompts/read.txt) allows instead of a span.
UNANSWERABLE = "unanswerable"
# Tokens the model may write for its span: a short answer, not a sentence.
READ_TOKENS = 32


@dataclass(frozen=True)
class Verdict:
    p_no: float  # the probability that the passage does not bear the answer out
    mass: float  # P(Yes) + P(No) among the alternatives: low means the reply was neither
    seconds: float


class Verifier:
    """Asks `model` (a ChatOpenAI) about one passage at a time; thread-safe like its client."""

    def __init__(self, model: BaseChatModel, where: str, timeout_s: float) -> None:
        self.model = model
        self.where = where  # names the backend in error messages
        self.timeout_s = timeout_s

    def p_no(self, question: str, passage: str, answer: str) -> float:
        return self.check(question, passage, answer).p_no

    def check(self, question: str, passage: str, answer: str) -> Verdict:
        t = time.perf_counter()
        reply = self._ask(verify_messages(question, passage, answer))
        alternatives = top_logprobs(reply)
        if not alternatives:
            raise BackendError(f"the verifier's backend ({self.where}) {NO_LOGPROBS}")
        p_yes, p_no = reply_probabilities(alternatives)
        mass = p_yes + p_no
        # Neither reply among the alternatives: the model said nothing either way.
        share = p_no / mass if mass > 0 else 0.5
        return Verdict(share, mass, time.perf_counter() - t)

    def read(self, question: str, passage: str) -> Read:
        """The model's span for `question`, copied from `passage` (qa/prompts/read.txt):
        greedy, one line, at most READ_TOKENS tokens. The prompt starts as the check's does,
        so a server that reuses the cached prefix of the check reads it again for free."""
        t = time.perf_counter()
        reply = self._ask(read_messages(question, passage), max_tokens=READ_TOKENS, stop=["\n"])
        return Read(reading(str(getattr(reply, "content", "") or "")), time.perf_counter() - t)

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        """A follow-up rewritten by the model to stand alone (qa/prompts/condense.txt, as the
        generative answerers do), or None when its reply is not a usable question."""
        from qa.answerers.generative import (
            CONDENSE_MAX_TOKENS,
            clean_condensed,
            condense_messages,
        )

        reply = self._ask(condense_messages(question, history), max_tokens=CONDENSE_MAX_TOKENS)
        return clean_condensed(str(getattr(reply, "content", "") or ""), question, history)

    def probe(self) -> None:
        """One short request; BackendError if the backend is unreachable or gives no
        log-probabilities."""
        self.check("What is this passage?", "This passage is a probe.", "A probe")

    def _ask(self, messages: list[BaseMessage], **options: Any) -> Any:
        import openai

        options = options or {"max_tokens": 1, "logprobs": True, "top_logprobs": TOP_LOGPROBS}
        try:
            return self.model.invoke(messages, **options)
        except openai.APITimeoutError as exc:
            raise BackendError(
                f"the verifier's backend ({self.where}) timed out after {self.timeout_s:g} s: "
                "raise QA_LLM_TIMEOUT_S, or give llama.cpp more threads (QA_LLAMACPP_THREADS)"
            ) from exc
        except openai.APIConnectionError as exc:
            raise BackendError(
                f"the verifier's backend ({self.where}) could not be reached (connection "
                f"failed: {exc}): start that server or correct QA_OPENAI_BASE_URL"
            ) from exc
        except openai.APIStatusError as exc:
            raise BackendError(
                f"the verifier's backend ({self.where}) answered HTTP {exc.status_code} "
                f"({' '.join(str(exc).split())[:200]}): check QA_OPENAI_MODEL and "
                "QA_OPENAI_API_KEY"
            ) from exc


def verify_messages(question: str, passage: str, answer: str) -> list[BaseMessage]:
    from langchain_core.messages import HumanMessage, SystemMessage

    from qa.answerers.generative import load_prompt

    prompt = load_prompt("verify")
    user = prompt.user.substitute(
        passage=passage.strip(), question=question.strip(), answer=" ".join(answer.split())
    ).strip()
    # No system text of its own: the model's chat template keeps its default, as measured.
    system = [SystemMessage(prompt.system)] if prompt.system else []
    return [*system, HumanMessage(user)]


def read_messages(question: str, passage: str) -> list[BaseMessage]:
    from langchain_core.messages import HumanMessage, SystemMessage

    from qa.answerers.generative import load_prompt

    prompt = load_prompt("read")
    user = prompt.user.substitute(passage=passage.strip(), question=question.strip()).strip()
    system = [SystemMessage(prompt.system)] if prompt.system else []
    return [*system, HumanMessage(user)]


def reading(reply: str) -> str | None:
    """The span in the model's reply: its first line without surrounding quotes or a final
    full stop; None for "unanswerable" or nothing."""
    text = reply.strip().splitlines()[0].strip() if reply.strip() else ""
    text = text.strip("\"'“”‘’`").rstrip(".").strip()
    if not text or text.lower().rstrip(".") == UNANSWERABLE:
        return None
    return text


def top_logprobs(reply: Any) -> list[dict[str, Any]]:
    """The first generated token's alternatives, `[{"token", "logprob"}, ...]`; empty when
    the backend sent none."""
    logprobs = (getattr(reply, "response_metadata", None) or {}).get("logprobs") or {}
    content = logprobs.get("content") or []
    return list(content[0].get("top_logprobs") or []) if content else []


def reply_probabilities(alternatives: list[dict[str, Any]]) -> tuple[float, float]:
    """(P(Yes), P(No)) summed over the alternatives that read as either reply."""
    p = {YES: 0.0, NO: 0.0}
    for alt in alternatives:
        word = str(alt.get("token", "")).strip().lower()
        if word in p:
            p[word] += math.exp(float(alt["logprob"]))
    return p[YES], p[NO]


def load_verifier(settings: Settings) -> Verifier:
    """The verifier on `settings.verifier`'s backend, probed once: BackendError now, not at
    the first question, if it cannot serve."""
    if settings.verifier == "llamacpp":
        from qa.answerers import llamacpp

        chat = llamacpp.load_chat(settings)
        where = f"llama.cpp with {settings.llamacpp_model}"
    else:
        from qa.answerers import openai_compat

        chat = openai_compat.load_chat(settings)
        where = settings.openai_base_url or "api.openai.com"
    verifier = Verifier(chat.model, where, settings.llm_timeout_s)
    verifier.probe()
    return verifier
