"""The Articles tab of the chat window: list, upload and remove articles.

Presentation only, over `qa.library.Library` (the code path of `/v1/articles` and
`qa articles`). Every piece of article-derived text is HTML-escaped. Imported by `qa.ui`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import gradio as gr

from index.articles import Upload
from index.errors import NewsQAError

if TYPE_CHECKING:
    from index.settings import Settings
    from qa.library import Library

Stage = Literal["working", "added", "failed"]

CSS = """
.nq-articles table { width: 100%; border-collapse: collapse; font-size: 0.9rem; }
.nq-articles th, .nq-articles td { text-align: left; padding: 0.3em 0.5em;
  border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
.nq-articles .nq-id { font-family: ui-monospace, monospace; font-size: 0.85em; }
.nq-articles .nq-upload-row { background: #f3f8ff; }
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _when(iso: str) -> str:
    return iso.replace("T", " ").replace("+00:00", " UTC")


def articles_html(rows: list[dict[str, Any]]) -> str:
    """The article list as an HTML table (every value escaped)."""
    head = (
        "<tr><th>Title</th><th>Id</th><th>Outlet · author · date</th><th>Type</th>"
        "<th>Chunks</th><th>Added</th></tr>"
    )
    body = []
    for a in rows:
        about = " · ".join(_esc(a.get(k)) for k in ("outlet", "author", "date") if a.get(k))
        kind = _esc(a["kind"]) + (f", {a['pages']} pages" if a.get("pages") else "")
        added = _esc(_when(a["added"])) if a.get("added") else "corpus"
        css = ' class="nq-upload-row"' if a["source"] == "upload" else ""
        body.append(
            f'<tr{css} data-article-id="{_esc(a["article_id"])}"><td>{_esc(a["title"])}</td>'
            f'<td class="nq-id">{_esc(a["article_id"])}</td><td>{about or "—"}</td>'
            f"<td>{kind}</td><td>{a['chunks']}</td><td>{added}</td></tr>"
        )
    count = f"<p>{len(rows)} articles; uploaded ones can be removed below.</p>"
    return f'<div class="nq-articles">{count}<table>{head}{"".join(body)}</table></div>'


def articles_tab(
    library: Library, settings: Settings
) -> tuple[Callable[[], tuple[str, dict[str, Any]]], list[Any]]:
    """The tab's components and events, built inside the caller's `gr.Blocks`; returns the
    function that refreshes the list and the components it fills (for load and tab events)."""

    def listing() -> tuple[str, dict[str, Any]]:
        try:
            rows = library.list()
        except NewsQAError as exc:
            return f'<div class="nq-articles">⚠️ {_esc(exc)}</div>', gr.update(choices=[])
        uploads = [a["article_id"] for a in rows if a["source"] == "upload"]
        return articles_html(rows), gr.update(choices=uploads, value=None)

    def add(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> Iterator[Any]:  # noqa: B008
        """Index the chosen files; answerable as soon as this finishes."""
        for message, stage in add_messages(library, files, progress):
            if stage == "working":
                yield message, gr.skip(), gr.skip(), gr.skip()
            else:  # the list is read again; the chosen files are cleared once added
                yield message, *listing(), None if stage == "added" else gr.skip()

    def ask_remove(article_id: str | None) -> tuple[Any, Any, Any]:
        if not article_id:
            return gr.update(visible=False), gr.skip(), "Choose an uploaded article to remove."
        question = f"Remove **{_md(article_id)}** from the index? It will no longer be cited."
        return gr.update(visible=True), question, gr.skip()

    def remove(article_id: str | None) -> tuple[Any, str, str, Any]:
        try:
            gone = library.remove(article_id or "")
            status = f"**Removed** {_md(gone.get('title') or gone['article_id'])}."
        except NewsQAError as exc:
            status = f"**Not removed.** {_md(str(exc))}"
        table, choices = listing()
        return gr.update(visible=False), status, table, choices

    gr.Markdown(
        "### Articles\nEvery article the assistant answers from. Add news pages (HTML), "
        "PDFs, Markdown or text files: "
        f"at most {settings.max_upload_files} files of {settings.max_upload_mb:g} MB each."
    )
    table = gr.HTML(elem_id="nq-articles")
    with gr.Row():
        files = gr.File(
            file_count="multiple",
            file_types=list(settings.upload_types),
            type="filepath",
            label="Add articles",
            elem_id="nq-upload",
        )
        with gr.Column():
            add_btn = gr.Button("Add to the index", variant="primary", elem_id="nq-add")
            status = gr.Markdown(elem_id="nq-article-status")
    with gr.Row():
        choice = gr.Dropdown(
            [], label="Remove an uploaded article", elem_id="nq-remove-choice", interactive=True
        )
        remove_btn = gr.Button("Remove …", variant="secondary", elem_id="nq-remove")
    with gr.Row(visible=False, elem_id="nq-confirm-row") as confirm_row:
        confirm_text = gr.Markdown()
        yes = gr.Button("Yes, remove it", variant="stop", elem_id="nq-confirm")
        no = gr.Button("Cancel", elem_id="nq-cancel")

    # One queue for additions and removals: the window's own changes wait their turn.
    add_btn.click(
        add,
        [files],
        [status, table, choice, files],
        concurrency_limit=1,
        concurrency_id="nq-articles",
        api_visibility="private",
    )
    remove_btn.click(
        ask_remove, [choice], [confirm_row, confirm_text, status], api_visibility="private"
    )
    yes.click(
        remove,
        [choice],
        [confirm_row, status, table, choice],
        concurrency_limit=1,
        concurrency_id="nq-articles",
        api_visibility="private",
    )
    no.click(lambda: gr.update(visible=False), None, [confirm_row], api_visibility="private")
    return listing, [table, choice]


def add_messages(
    library: Library, files: list[str] | None, progress: Callable[..., Any]
) -> Iterator[tuple[str, Stage]]:
    """The status messages of one upload, in order, each with its stage: what is being
    indexed ("working"), then what was added and skipped ("added") or why nothing was
    ("failed")."""
    paths = [Path(f) for f in files or []]
    if not paths:
        yield "Choose one or more files first.", "working"
        return
    names = ", ".join(p.name for p in paths)
    yield f"Indexing {len(paths)} file(s): {_md(names)} …", "working"

    def embedding(done: int, total: int) -> None:
        progress(done / max(total, 1), desc=f"Embedded {done}/{total} new passages")

    try:
        progress(0, desc="Loading the embedding model")
        library.embedder()  # slow only on the first upload of the process
        progress(0, desc="Extracting, chunking and embedding")
        uploads = [Upload(p.name, p.read_bytes()) for p in paths]
        report = library.add(uploads, progress=embedding)
    except NewsQAError as exc:
        yield f"**Not added.** {_md(str(exc))}", "failed"
        return
    lines = [
        f"**Added {len(report.indexed)} article(s)** in {report.seconds:.1f}s; "
        "ask about them in the Chat tab.\n"
    ]
    lines += [f"- {_md(a['title'])} (`{_md(a['article_id'])}`)" for a in report.indexed]
    if report.skipped:
        lines.append(f"\n**Skipped {len(report.skipped)}:**\n")
        lines += [f"- `{_md(s.name)}`: {_md(s.reason)}" for s in report.skipped]
    yield "\n".join(lines), "added"


def _md(text: str) -> str:
    """Article-derived text inside Markdown: markup is shown, not run."""
    return text.replace("<", "&lt;").replace(">", "&gt;")
