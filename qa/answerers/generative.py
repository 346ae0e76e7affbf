"""Generative answerers (llamacpp, openai): one loop around a LangChain chat model.

The prompt (`qa/prompts/answer.txt`) puts the retrieved passages, numbered, in a delimited
block and asks for `[n]` citations. The reply streams through `MarkerFilter`, which checks
every marker against the passages given, drops the invalid ones and renumbers the rest in
order of first use, so the streamed text and the final Draft agree. Before that,
`attribution.Attributor` cites the sentences the model left unmarked to the passage that
supports them; a reply no passage supports is withheld, with a notice. When the backend is
missing, fails, times out or returns garbage, the extractive answer is returned instead,
with a notice saying what happened.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import TYPE_CHECKING

from index.errors import BackendError, BadInputError
from qa.answer import Draft, Evidence
from qa.answerers import Resources, Turn, word_deltas
from qa.answerers.attribution import Attributor
from qa.retrieve import Hit

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

ABSTAIN = "The articles don't say."
WITHHELD = "The {name} answer was withheld: no passage supports it."
CONDENSE_MAX_TOKENS = 64
HISTORY_TURNS = 6
HISTORY_CHARS = 500
# Small models sometimes carry on past their answer by echoing the prompt's own structure.
STOP = ["</passages>", "<passages>", "\nQuestion:", "\nConversation so far:"]

_ABSTAINS = re.compile(
    r"\b(?:articles?|passages?|sources?)\s+(?:do(?:es)?\s*n[o'’]t|do(?:es)? not)\s+"
    r"(?:say|mention|state|specify|contain|provide|answer)"
    r"|\bnot (?:mentioned|stated|specified|given) in the (?:articles?|passages?)",
    re.I,
)
# Inside brackets: "1", "1, 3", "2; 4", "Passage 2", "^1". Anything else ("[sic]") is text.
_CITE_GROUP = re.compile(
    r"(?:(?:passages?|sources?)\s*)?\^?\d{1,3}"
    r"(?:\s*(?:,|;|&|and|\s)\s*(?:(?:passages?|sources?)\s*)?\^?\d{1,3})*",
    re.I,
)
_DELIMITER = re.compile(r"<\s*/?\s*passages?\b[^>]*>", re.I)
_NUMBER_IN_BRACKETS = re.compile(r"\[(\d{1,3})\]")
_HISTORY_MARKERS = re.compile(r"\s*\[\d{1,3}\]")
_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"[ \t]{2,}")


@dataclass(frozen=True)
class Chat:
    """A loaded chat model, shared by every thread (both backends are HTTP clients)."""

    model: BaseChatModel


# -- prompts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    system: str
    user: Template


@functools.cache
def load_prompt(name: str) -> Prompt:
    """A prompt file: the system text, then `=== user ===`, then the user-message template."""
    text = resources.files("qa").joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")
    system, sep, user = text.partition("=== user ===\n")
    if not sep:
        raise BackendError(f"qa/prompts/{name}.txt lacks its '=== user ===' line; reinstall.")
    return Prompt(system.strip(), Template(user))


def _clean(text: str) -> str:
    """Passage or title text made safe to quote inside the delimited block."""
    text = _DELIMITER.sub(" ", " ".join(text.split()))
    # A bracketed number inside an article would read like a citation marker.
    return _NUMBER_IN_BRACKETS.sub(r"(\1)", text)


def render_passages(passages: Sequence[Hit]) -> str:
    return "\n\n".join(
        f"[{n}] {_clean(hit.title)}: {_clean(hit.text)}" for n, hit in enumerate(passages, 1)
    )


def render_history(history: Sequence[Turn]) -> str:
    lines = []
    for turn in history[-HISTORY_TURNS:]:
        content = " ".join(_HISTORY_MARKERS.sub("", turn["content"]).split())
        if len(content) > HISTORY_CHARS:
            content = content[:HISTORY_CHARS] + "…"
        lines.append(f"{'User' if turn['role'] == 'user' else 'Assistant'}: {content}")
    return "\n".join(lines)


def _messages(prompt: Prompt, **fields: str) -> list[BaseMessage]:
    from langchain_core.messages import HumanMessage, SystemMessage

    return [SystemMessage(prompt.system), HumanMessage(prompt.user.substitute(fields))]


def answer_messages(
    question: str, passages: Sequence[Hit], history: Sequence[Turn]
) -> list[BaseMessage]:
    past = render_history(history)
    return _messages(
        load_prompt("answer"),
        history=f"Conversation so far:\n{past}\n\n" if past else "",
        passages=render_passages(passages),
        question=question,
    )


def condense_messages(question: str, history: Sequence[Turn]) -> list[BaseMessage]:
    return _messages(load_prompt("condense"), history=render_history(history), question=question)


# -- markers -------------------------------------------------------------------------


class MarkerFilter:
    """Validates `[n]` markers in streamed text against `count` passages.

    Valid markers are renumbered in order of first use (so `evidence()` lines up with
    them); markers pointing at no passage are dropped. Text after an unclosed `[` is held
    back until the bracket closes or clearly is not a marker.
    """

    HOLD = 40

    def __init__(self, count: int) -> None:
        self.count = count
        self.order: dict[int, int] = {}  # passage number -> marker number, by first use
        self._buf = ""
        self._last = ""  # the marker just emitted, while no text has followed it

    def feed(self, chunk: str) -> str:
        buf = self._buf + chunk
        out: list[str] = []
        while buf:
            i = buf.find("[")
            if i < 0:
                out.append(buf)
                self._last = ""
                buf = ""
                break
            if i:
                out.append(buf[:i])
                self._last = ""
            buf = buf[i:]
            j = buf.find("]")
            if j < 0:
                if len(buf) <= self.HOLD and "\n" not in buf:
                    break  # wait for the closing bracket
                out.append(buf[0])
                self._last = ""
                buf = buf[1:]
                continue
            inner = buf[1:j]
            if "[" in inner:
                out.append(buf[0])
                self._last = ""
                buf = buf[1:]
                continue
            out.append(self._convert(inner))
            buf = buf[j + 1 :]
        self._buf = buf
        return "".join(out)

    def flush(self) -> str:
        rest, self._buf = self._buf, ""
        return rest

    def _convert(self, inner: str) -> str:
        cited = _cited_passages(inner, self.count)
        if cited is None:
            self._last = ""
            return f"[{inner}]"
        marks: list[str] = []
        for n in cited:
            mark = f"[{self.order.setdefault(n, len(self.order) + 1)}]"
            # "[1][1]" is written once, as `qa.citations.finalize` would.
            if mark not in marks and mark != self._last:
                marks.append(mark)
                self._last = mark
        return "".join(marks)

    def evidence(self, passages: Sequence[Hit]) -> tuple[Evidence, ...]:
        """The cited passages, in marker order: marker [m] refers to evidence[m-1]."""
        return tuple(
            Evidence(
                passages[n - 1].article_id,
                passages[n - 1].start,
                passages[n - 1].end,
                passages[n - 1].score,
            )
            for n in self.order
        )


class Tidy:
    """Streams text into the shape `qa.citations.finalize` gives the final answer (whitespace
    runs collapsed, no space before `.,;:`, none at either end), so the streamed deltas
    join to exactly the text of the final Answer. Whitespace is held until the next
    character shows whether it stays."""

    def __init__(self) -> None:
        self._space = ""
        self._started = False

    def feed(self, text: str) -> str:
        out: list[str] = []
        for ch in text:
            if ch.isspace():
                if self._started:
                    self._space += ch
                continue
            if self._space:
                space = _SPACES.sub(" ", self._space)
                out.append(space.rstrip(" \t") if ch in ".,;:" else space)
                self._space = ""
            self._started = True
            out.append(ch)
        return "".join(out)

    def flush(self) -> str:
        self._space = ""  # trailing whitespace is dropped
        return ""


def validate(text: str, passages: Sequence[Hit]) -> tuple[str, tuple[Evidence, ...]]:
    """A finished reply's text with only valid, renumbered markers, and their evidence."""
    f = MarkerFilter(len(passages))
    tidy = Tidy()
    out = tidy.feed(f.feed(text) + f.flush())
    return out, f.evidence(passages)


def garbage(text: str) -> str | None:
    """Why a reply is unusable, or None: empty, a repetition loop, leaked template tokens."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return "it returned an empty answer"
    if "<|" in text or "|>" in text:
        return "it returned chat-template tokens"
    if len(words) >= 12 and len(set(words)) < 0.3 * len(words):
        return "it returned a repetition loop"
    return None


def _cited_passages(inner: str, count: int) -> list[int] | None:
    """The passage numbers (1..count) a bracket's content cites; None if it is no marker."""
    if not _CITE_GROUP.fullmatch(inner.strip()):
        return None
    return [n for n in map(int, re.findall(r"\d+", inner)) if 1 <= n <= count]


def has_marker(text: str, count: int) -> bool:
    """Whether `text` holds a marker `MarkerFilter` would keep (one naming a passage)."""
    return any(_cited_passages(inner, count) for inner in re.findall(r"\[([^\[\]]*)\]", text))


def is_abstention(text: str, cited: bool) -> bool:
    return not cited and bool(_ABSTAINS.search(text))


# -- the answerer --------------------------------------------------------------------


class GenerativeAnswerer:
    """An answerer over any LangChain chat model; `load` builds the model on first use."""

    def __init__(self, name: str, resources: Resources, load: Callable[[], Chat]) -> None:
        self.name = name
        self.resources = resources
        self.settings = resources.settings
        self._load = load
        self._chat: Chat | None = None
        self._lock = threading.Lock()
        # Deadlines are read from this clock; tests give it a deterministic one.
        self.clock: Callable[[], float] = time.monotonic

    def warm(self) -> None:
        """Nothing: the backend (a llama.cpp server, a remote endpoint) starts or is reached
        on the first answer, whose notice reports it if it fails."""

    def chat(self) -> Chat:
        if self._chat is None:
            with self._lock:
                if self._chat is None:
                    self._chat = self._load()
        return self._chat

    def _deltas(
        self, messages: list[BaseMessage], max_tokens: int, deadline: float
    ) -> Iterator[str]:
        """Raw text deltas from the model; BackendError when the deadline passes. The HTTP
        client's own timeout bounds the wait for each chunk, the first one included."""
        chat = self.chat()
        timeout = self.settings.llm_timeout_s
        chunks = chat.model.stream(messages, stop=STOP, max_tokens=max_tokens)
        try:
            for chunk in chunks:
                if self.clock() > deadline:
                    raise BackendError(f"timed out after {timeout:g} s")
                if chunk.text:
                    yield chunk.text
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # closes the connection: llama.cpp stops generating into the void

    def _generate(
        self, question: str, passages: Sequence[Hit], history: Sequence[Turn]
    ) -> Iterator[str | Draft]:
        deadline = self.clock() + self.settings.llm_timeout_s
        messages = answer_messages(question, passages, history)
        markers = MarkerFilter(len(passages))
        tidy = Tidy()
        attributor = Attributor(passages, functools.partial(has_marker, count=len(passages)))
        parts: list[str] = []
        for raw in self._deltas(messages, self.settings.max_tokens, deadline):
            delta = tidy.feed(markers.feed(attributor.feed(raw)))
            if delta:
                parts.append(delta)
                yield delta
        tail = tidy.feed(markers.feed(attributor.flush()) + markers.flush())
        if tail:
            parts.append(tail)
            yield tail
        text = "".join(parts)
        problem = garbage(text)
        if problem:
            raise BackendError(problem)
        cited = bool(markers.order)
        if is_abstention(text, cited):
            yield Draft(text=text, abstained=True, evidence=())
        elif not attributor.grounded:
            # Nothing in the passages says what the model said: withhold it, and say so.
            log.info("%s reply withheld, no passage supports it: %r", self.name, text[:500])
            notice = WITHHELD.format(name=self.name)
            yield Draft(text=ABSTAIN, abstained=True, evidence=(), notice=notice, withheld=True)
        else:
            yield Draft(text=text, abstained=False, evidence=markers.evidence(passages))

    def _fallback(
        self, question: str, passages: Sequence[Hit], history: Sequence[Turn], exc: Exception
    ) -> Draft:
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        log.warning("%s backend failed; using the extractive answer", self.name, exc_info=exc)
        draft = self.resources.answerer("extractive").answer(question, passages, history)
        notice = f"The {self.name} backend failed ({reason}); showing the extractive answer."
        return dataclasses.replace(draft, notice=notice)

    def stream(
        self, question: str, passages: Sequence[Hit], history: Sequence[Turn]
    ) -> Iterator[str | Draft]:
        """Deltas then the Draft. If the backend fails after text was sent, the final Draft
        (the extractive answer with a notice) replaces what was streamed."""
        if not passages:
            yield from word_deltas(ABSTAIN)
            yield Draft(ABSTAIN, abstained=True, evidence=())
            return
        sent = False
        try:
            for event in self._generate(question, passages, history):
                if isinstance(event, str):
                    sent = True
                yield event
            return
        except Exception as exc:  # any backend failure ends in the fallback, with a notice
            draft = self._fallback(question, passages, history, exc)
        if not sent:
            yield from word_deltas(draft.text)
        yield draft

    def answer(self, question: str, passages: Sequence[Hit], history: Sequence[Turn]) -> Draft:
        draft: Draft | None = None
        for event in self.stream(question, passages, history):
            if isinstance(event, Draft):
                draft = event
        assert draft is not None
        return draft

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        """A standalone version of a follow-up question, or None (the caller then falls back
        to its history-aware query)."""
        deadline = self.clock() + self.settings.llm_timeout_s
        try:
            text = "".join(
                self._deltas(condense_messages(question, history), CONDENSE_MAX_TOKENS, deadline)
            )
        except Exception as exc:
            log.warning("%s could not condense the question: %s", self.name, exc)
            return None
        return clean_condensed(text, question, history)


def clean_condensed(text: str, question: str, history: Sequence[Turn]) -> str | None:
    """The model's rewritten question, or None when it is unusable. A reply that is not a
    question is refused: small models answer the follow-up instead of rewriting it ("He
    urged Russia to increase its presence"), and searching for a made-up answer retrieves
    the wrong passages. So is one naming someone the conversation never did (`new_names`):
    the prompt's own example, or a name the model made up."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    line = re.sub(r"^(?:standalone|rewritten)?\s*question\s*:\s*", "", lines[0], flags=re.I)
    line = line.strip().strip("\"'“”").strip()
    if len(line.split()) < 2 or len(line) > 2 * len(question) + 200 or garbage(line):
        return None
    if question.rstrip().endswith("?") and not line.endswith("?"):
        return None
    if new_names(line, [question, *(t["content"] for t in history)]):
        return None
    return line


def new_names(line: str, said: Sequence[str]) -> list[str]:
    """The capitalised words of `line` after its first that none of `said` uses (any case):
    names a rewrite brought in from outside the conversation."""
    known = {w.casefold() for text in said for w in _WORD.findall(text)}
    return [w for w in _WORD.findall(line)[1:] if w[:1].isupper() and w.casefold() not in known]


def make_generative(name: str, resources: Resources) -> GenerativeAnswerer:
    """The backend module is imported here; its optional dependencies on first use."""
    if name == "llamacpp":
        from qa.answerers.llamacpp import load_chat
    elif name == "openai":
        from qa.answerers.openai_compat import load_chat
    else:
        raise BadInputError(f"There is no generative answerer called {name!r}.")
    return GenerativeAnswerer(name, resources, functools.partial(load_chat, resources.settings))


__all__ = ["ABSTAIN", "Chat", "GenerativeAnswerer", "MarkerFilter", "Tidy", "make_generative"]
