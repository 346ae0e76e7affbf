"""The chat window: Gradio over the one `Assistant`, mounted at `/` of the API app.

Imported only by `qa serve` (it imports gradio).

Presentation only: the Assistant answers; this module streams its events into a chat,
renders the cited passages inside their articles (all article text HTML-escaped), and
appends thumbs up/down to `DATA_DIR/feedback.jsonl` in the gold-set schema.
"""

from __future__ import annotations

import hmac
import html
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from index.errors import NewsQAError
from qa.answer import Answer, Check, Checking, Retrieved
from qa.answerers import ANSWERERS
from qa.ui_articles import CSS as ARTICLES_CSS

if TYPE_CHECKING:
    from fastapi import FastAPI

    from index.settings import Settings
    from qa.assistant import Assistant
    from qa.library import Library

log = logging.getLogger("newsqa.ui")

UI_CONCURRENCY = 8
"""Chat requests served at once (Gradio's default is 1)."""
CONTEXT_CHARS = 400
"""Article text shown on each side of a cited span (the whole article is one click away)."""
# About the bundled seed articles; any question works.
EXAMPLES = [
    "How many North Korean soldiers are already in Russia?",
    "Which officials are quoted about the deployment?",
    "What did Russia say about the reports of North Korean troops?",
    "Who won the 2022 World Cup?",
]
_MARKER = re.compile(r"\s*\[\d+\]")

CSS = """
.nq-panel { font-size: 0.95rem; }
.nq-banner { border-radius: 6px; padding: 0.5em 0.75em; margin: 0 0 0.6em; font-weight: 600; }
.nq-conflict { background: #fff4e5; border: 2px solid #f08c00; color: #7a4100; }
.nq-abstain { background: #eef2f7; border: 1px solid #9aa8b8; color: #2d3a4a; }
.nq-query { color: var(--body-text-color-subdued); margin: 0 0 0.6em; }
.nq-source { border: 1px solid var(--border-color-primary); border-radius: 6px;
  margin: 0 0 0.5em; padding: 0.4em 0.6em; }
.nq-source > summary { cursor: pointer; font-weight: 600; }
.nq-n { display: inline-block; min-width: 2.2em; color: #1c64f2; }
.nq-meta { color: var(--body-text-color-subdued); font-size: 0.85em; margin: 0.3em 0; }
.nq-article { white-space: pre-wrap; line-height: 1.5; max-height: 26em; overflow: auto;
  border-left: 3px solid var(--border-color-primary); padding-left: 0.6em; }
mark.nq-hl { background: #ffe066; color: #000; padding: 0 0.1em; border-radius: 2px; }
.nq-full > summary { cursor: pointer; color: var(--body-text-color-subdued); margin-top: 0.4em; }
.nq-passage { margin: 0 0 0.4em; }
"""


# -- rendering (pure functions; every piece of article text goes through html.escape) ----
def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _md(text: str) -> str:
    """Article-derived text inside a Markdown chat message: markup is shown, not run."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _highlighted(text: str, start: int, end: int, lo: int, hi: int) -> str:
    before = _esc(text[lo:start])
    after = _esc(text[end:hi])
    left = "…" if lo > 0 else ""
    right = "…" if hi < len(text) else ""
    return f'{left}{before}<mark class="nq-hl">{_esc(text[start:end])}</mark>{after}{right}'


def _window(text: str, start: int, end: int) -> tuple[int, int]:
    lo = max(0, start - CONTEXT_CHARS)
    hi = min(len(text), end + CONTEXT_CHARS)
    # Start and stop at word boundaries.
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    return lo, hi


def source_html(
    n: int | None,
    article_id: str,
    title: str,
    start: int,
    end: int,
    score: float,
    text: str | None,
    page: int | None = None,
) -> str:
    """One source: its number and title; opened, the span highlighted inside its article."""
    label = f'<span class="nq-n">[{n}]</span> ' if n is not None else ""
    where = f"page {page} · " if page is not None else ""
    meta = f"{_esc(article_id)} · {where}characters {start}–{end} · score {score:.2f}"
    if text is None or text[start:end] == "":
        body = '<div class="nq-article"><mark class="nq-hl">(passage unavailable)</mark></div>'
    else:
        lo, hi = _window(text, start, end)
        body = (
            f'<div class="nq-article nq-excerpt">{_highlighted(text, start, end, lo, hi)}</div>'
            '<details class="nq-full"><summary>Whole article</summary>'
            f'<div class="nq-article">{_highlighted(text, start, end, 0, len(text))}</div>'
            "</details>"
        )
    anchor = f' id="nq-source-{n}"' if n is not None else ""
    return (
        f'<details class="nq-source"{anchor}><summary>{label}{_esc(title)}</summary>'
        f'<div class="nq-meta">{meta}</div>{body}</details>'
    )


def sources_html(
    answer: Answer, article_text: Callable[[str], str | None], searched_for: str | None
) -> str:
    parts = ['<div class="nq-panel">']
    if searched_for:
        parts.append(f'<p class="nq-query">Searched for: “{_esc(searched_for)}”</p>')
    if answer.conflict:
        parts.append(
            '<div class="nq-banner nq-conflict" role="alert">⚠️ The sources disagree: '
            "compare the claims and their sources below.</div>"
        )
    if answer.abstained:
        parts.append(
            '<div class="nq-banner nq-abstain">No answer: nothing in the articles answers '
            "this question, so no source is cited.</div>"
        )
    elif not answer.citations:
        parts.append('<div class="nq-banner nq-abstain">This answer cites no source.</div>')
    texts: dict[str, str | None] = {}
    for c in answer.citations:
        if c.article_id not in texts:
            texts[c.article_id] = article_text(c.article_id)
        parts.append(
            source_html(
                c.n, c.article_id, c.title, c.start, c.end, c.score, texts[c.article_id], c.page
            )
        )
    parts.append("</div>")
    return "".join(parts)


def passages_html(found: Retrieved, searched_for: str | None) -> str:
    """Shown while the answer streams: what retrieval found, before anything is cited."""
    parts = ['<div class="nq-panel">']
    if searched_for:
        parts.append(f'<p class="nq-query">Searched for: “{_esc(searched_for)}”</p>')
    parts.append(f'<p class="nq-query">Found {len(found.hits)} passages; answering …</p>')
    for h in found.hits:
        snippet = " ".join(h.text.split())
        snippet = snippet[:220] + ("…" if len(snippet) > 220 else "")
        parts.append(
            f'<p class="nq-passage"><b>{_esc(h.title)}</b><br>'
            f'<span class="nq-meta">{_esc(snippet)}</span></p>'
        )
    parts.append("</div>")
    return "".join(parts)


EMPTY_SOURCES = (
    '<div class="nq-panel"><p class="nq-query">Ask a question: the passages an answer cites '
    "appear here, numbered, each inside its article.</p></div>"
)


CHECKING = "⏳ *Checking the passage this answer cites …*"


def check_text(check: Check) -> str | None:
    """Careful mode's finding as a chat line (a fallback shows as the answer's note)."""
    if check.outcome == "kept":
        return f"✅ **Checked:** {_md(check.reason)}"
    if check.outcome in ("abstained", "replaced"):
        return (
            f"🔍 **Checked:** {_md(check.reason)} The unchecked answer was: "
            f"“{_md(check.unchecked or '')}”"
        )
    if check.outcome == "answered":
        return f"🔍 **Checked:** {_md(check.reason)}"
    if check.outcome == "skipped":
        return f"*Not checked: {_md(check.reason)}*"
    return None


def chat_text(answer: Answer, searched_for: str | None, checking: bool = False) -> str:
    """The chat message for a finished answer (Markdown); `checking`: its check is running."""
    parts = []
    if searched_for:
        parts.append(f"🔎 *searched for: {_md(searched_for)}*")
    if answer.conflict:
        parts.append("⚠️ **The sources disagree** — each claim is given with its source.")
    parts.append(("🤷 " if answer.abstained else "") + _md(answer.text))
    line = check_text(answer.check) if answer.check else None
    if line:
        parts.append(line)
    if checking:
        parts.append(CHECKING)
    if answer.notice:
        parts.append(f"*Note: {_md(answer.notice)}*")
    return "\n\n".join(parts)


# -- conversation state ------------------------------------------------------------------
def content_text(content: Any) -> str:
    """Text of a Gradio message content: a string, or a list of {"type": "text"} parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return content_text(content.get("content", content.get("text", "")))
    if isinstance(content, list):
        return "".join(content_text(p) for p in content)
    return ""


def history_turns(history: list[Any], answers: dict[str, Any]) -> list[dict[str, str]]:
    """Chat messages back to `{"role", "content"}` turns; decorated answers to their text."""
    turns: list[dict[str, str]] = []
    for message in history or []:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        if (message.get("metadata") or {}).get("title"):
            continue
        text = content_text(message.get("content"))
        record = answers.get(text) if message["role"] == "assistant" else None
        if record and record.get("error"):
            # A failed turn is not conversation: drop it and the question that caused it.
            if turns and turns[-1]["role"] == "user":
                turns.pop()
            continue
        if record:
            text = record["answer"]["answer"]
        if text.strip():
            turns.append({"role": message["role"], "content": text})
    return turns


def feedback_item(record: dict[str, Any], liked: bool) -> dict[str, Any]:
    """A feedback line in the gold-set schema (eval/gold.jsonl) plus what was rated.

    A thumbs-up makes the answer (without [n] markers) the gold answer and its cited
    articles the sources; a thumbs-down leaves `answers` empty for a reviewer to fill.
    """
    answer = record["answer"]
    history = record["history"]
    if history:
        kind = "followup"
    elif answer["abstained"]:
        kind = "unanswerable" if liked else "factoid"
    else:
        kind = "conflict" if answer["conflict"] else "factoid"
    good = liked and not answer["abstained"]
    item: dict[str, Any] = {
        "id": f"feedback-{uuid.uuid4().hex[:12]}",
        "question": answer["question"],
        "answers": [_MARKER.sub("", answer["answer"]).strip()] if good else [],
        "sources": sorted({c["article_id"] for c in answer["citations"]}) if good else [],
        "kind": kind,
    }
    if history:
        item["history"] = history
    item.update(
        rating="up" if liked else "down",
        answer=answer["answer"],
        citations=answer["citations"],
        answerer=answer["answerer"],
        abstained=answer["abstained"],
        conflict=answer["conflict"],
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return item


class FeedbackLog:
    """Appends one JSON line per rating; safe across the server's threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, item: dict[str, Any]) -> None:
        line = json.dumps(item, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)


# -- the app -----------------------------------------------------------------------------
def error_text(exc: Exception) -> str:
    """A failure as a chat message: what happened and what to do, never a stack trace."""
    if isinstance(exc, NewsQAError):
        titles = {502: "Answerer unavailable", 503: "Index unavailable", 404: "Not found"}
        return f"⚠️ **{titles.get(exc.http_status, 'Cannot answer that')}.** {_md(str(exc))}"
    log.exception("chat failed")
    return "⚠️ **Server error.** Something went wrong on the server; the details are in its log."


def build_ui(assistant: Assistant, settings: Settings, library: Library | None = None) -> gr.Blocks:
    from qa.library import Library
    from qa.ui_articles import articles_tab as build_articles_tab

    library = library or Library(assistant)
    feedback = FeedbackLog(settings.data_dir / "feedback.jsonl")

    def article_text(article_id: str) -> str | None:
        try:
            return str(assistant.article(article_id)["text"])
        except NewsQAError:
            return None

    def respond(
        message: str,
        history: list[Any],
        answerer: str | None,
        verify: bool | None,
        answers: dict[str, Any],
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Ask the articles; the reply cites numbered sources shown in the Sources panel.
        In careful mode the fast answer is shown while its check runs, then the finding."""
        turns = history_turns(history, answers)
        searched_for: str | None = None
        text = ""
        prefix = ""
        panel = EMPTY_SOURCES
        try:
            events = assistant.stream(
                message, turns, answerer=answerer or None, verify=bool(verify)
            )
            for event in events:
                if isinstance(event, Retrieved):
                    if turns and event.query != " ".join(str(message).split()):
                        searched_for = event.query
                        prefix = f"🔎 *searched for: {_md(searched_for)}*\n\n"
                    panel = passages_html(event, searched_for)
                    yield prefix + "…", panel, answers
                elif isinstance(event, Answer):
                    shown = chat_text(event, searched_for)
                    record = event.to_dict()
                    record.pop("trace", None)
                    answers[shown] = {"history": turns, "answer": record}
                    yield shown, sources_html(event, article_text, searched_for), answers
                elif isinstance(event, Checking):
                    shown = chat_text(event.answer, searched_for, checking=True)
                    yield shown, sources_html(event.answer, article_text, searched_for), answers
                elif isinstance(event, Check):
                    continue  # the final Answer, right behind it, carries the check
                else:
                    text += event
                    yield prefix + _md(text), panel, answers
        except Exception as exc:
            # Shown in the chat (Gradio's error modal would blank the chat and lock the box).
            shown = error_text(exc)
            answers[shown] = {"error": True}
            yield shown, EMPTY_SOURCES, answers

    def careful_answerer(on: bool, current: str) -> str:
        """Turning careful mode on picks the answerer its cut was fitted for (changeable)."""
        if not on:
            return current
        try:
            return assistant.careful_cut().answerer
        except NewsQAError as exc:
            gr.Warning(str(exc))
            return current

    def rate(answers: dict[str, Any], like: gr.LikeData) -> None:
        record = answers.get(content_text(like.value))
        if record is None or record.get("error"):
            gr.Warning("Only answers given in this session can be rated.")
            return
        feedback.append(feedback_item(record, like.liked is True))
        gr.Info("Thanks: your rating was saved.")

    with gr.Blocks(title="newsqa", analytics_enabled=False, fill_height=False) as demo:
        answers = gr.State({})
        sources = gr.HTML(EMPTY_SOURCES, js_on_load=None, elem_id="nq-sources", render=False)
        with gr.Row():
            gr.Markdown(
                "## newsqa: ask the news articles\n"
                "Answers quote the articles and cite them. Open a numbered source to see "
                "the passage highlighted inside its article.",
            )
            answerer = gr.Dropdown(
                list(ANSWERERS),
                value=settings.answerer,
                label="Answerer",
                elem_id="nq-answerer",
                info="extractive needs no LLM; the others need a configured backend.",
                interactive=True,
                scale=0,
                min_width=220,
            )
            verify = gr.Checkbox(
                value=settings.verify,
                label="Careful mode",
                info="After the answer, the local model checks the passage it cites.",
                elem_id="nq-verify",
                interactive=True,
                scale=0,
                min_width=220,
            )
        with gr.Tabs(elem_id="nq-tabs"):
            with (
                gr.Tab("Chat", id="chat", elem_id="nq-chat-tab"),
                gr.Row(equal_height=False),
            ):
                with gr.Column(scale=3):
                    chat = gr.ChatInterface(
                        respond,
                        chatbot=gr.Chatbot(
                            label="Chat",
                            height=560,
                            latex_delimiters=[],
                            buttons=["copy"],
                            elem_id="nq-chat",
                        ),
                        textbox=gr.Textbox(
                            placeholder="Ask about the articles …",
                            show_label=False,
                            elem_id="nq-question",
                            submit_btn=True,
                            stop_btn=True,
                        ),
                        additional_inputs=[answerer, verify, answers],
                        additional_outputs=[sources, answers],
                        examples=[[q, None] for q in EXAMPLES],
                        api_name="chat",
                        concurrency_limit=UI_CONCURRENCY,
                        analytics_enabled=False,
                        fill_height=False,
                    )
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources.render()
            with gr.Tab("Articles", id="articles", elem_id="nq-articles-tab") as articles_tab:
                refresh, listed = build_articles_tab(library, settings)
        verify.change(careful_answerer, [verify, answerer], answerer, api_visibility="private")
        articles_tab.select(refresh, None, listed, api_visibility="private")
        demo.load(refresh, None, listed, api_visibility="private")
        chat.chatbot.like(rate, [answers], None, api_visibility="private")
    demo.queue(default_concurrency_limit=UI_CONCURRENCY)
    return demo


def mount_ui(
    app: FastAPI,
    assistant: Assistant,
    settings: Settings,
    path: str = "/",
    library: Library | None = None,
) -> FastAPI:
    """Mount the chat UI on `app`; with an api_key set, the UI asks for it at login."""
    auth: Callable[[str, str], bool] | None = None
    if settings.api_key:
        key = settings.api_key.encode()

        def auth(_user: str, password: str) -> bool:
            return hmac.compare_digest(password.encode(), key)

    return gr.mount_gradio_app(
        app,
        build_ui(assistant, settings, library),
        path=path,
        server_name=settings.host,
        server_port=settings.port,
        auth=auth,
        auth_message="Sign in with any user name and the server's API key as the password.",
        footer_links=["api"],
        run_history=False,
        css=CSS + ARTICLES_CSS,
        # System fonts: the bundled web font's bold face lacks some glyphs when offline.
        theme=gr.themes.Default(
            font=("ui-sans-serif", "system-ui", "sans-serif"),
            font_mono=("ui-monospace", "monospace"),
        ),
        ssr_mode=False,
        mcp_server=False,
    )
