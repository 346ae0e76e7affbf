"""Articles users add and remove while the app serves (`qa articles`, `/v1/articles`, the UI).

An upload is checked and its text extracted first, with no lock held. Then one
`build_index` run, under the index's lock, applies the change to the live generation's
articles and publishes a new generation: readers see an article whole or not at all, two
changes never interleave, and a failed or killed run leaves the previous generation live.

The live generation is the record of which uploads exist: its `articles.json` holds each
upload's text and metadata (`"source": "upload"`). Beside it, `DATA/articles/<key>/` keeps the
file as it was sent and `text.txt`, the extracted text every citation points into. Folders
that no published generation refers to (a failed upload, a removed article) are swept
after the next change.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from index.errors import (
    BadInputError,
    IndexBusyError,
    NewsQAError,
    NotFoundError,
    ReadOnlyArticleError,
)
from index.extract import Extracted, ExtractError, extract
from index.load import Article, Loaded, Skipped
from index.settings import Settings
from index.store import IndexSnapshot, open_index

if TYPE_CHECKING:
    from index.build import IndexReport, Progress
    from index.embed import Embedder

UPLOAD = "upload"
TEXT_FILE = "text.txt"
META_FILE = "meta.json"
# What an upload's article record keeps besides its text, to rebuild it unchanged.
_KEPT = ("title", "author", "outlet", "date", "pages", "source", "added", "original")
_KEY = re.compile(r"[0-9a-f]{16}")
_UNSAFE = re.compile(r"[^\w.\- ]+")


@dataclass(frozen=True)
class Upload:
    """A file as a user sent it: its name (any path parts are ignored) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Staged:
    """An upload whose text was extracted, waiting for the lock."""

    id: str
    name: str
    data: bytes
    found: Extracted
    added: str


@dataclass(frozen=True)
class Changes:
    """What one `build_index` run adds to and removes from the live uploads."""

    add: tuple[Staged, ...] = ()
    remove: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Rejected:
    name: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class AddReport:
    indexed: tuple[dict[str, Any], ...]
    skipped: tuple[Rejected, ...]
    generation: str
    seconds: float
    index: IndexReport | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "indexed": list(self.indexed),
            "skipped": [s.to_dict() for s in self.skipped],
            "generation": self.generation,
            "seconds": round(self.seconds, 3),
        }


def root(settings: Settings) -> Path:
    return settings.data_dir / "articles"


def article_id(name: str) -> str:
    """The id of an uploaded file: its base name, with characters unsafe in a path replaced."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    base = unicodedata.normalize("NFC", base).strip()
    safe = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, suffix = safe.rpartition(".")
    if not dot:
        stem, suffix = safe, ""
    stem = stem[: 120 - len(suffix)]
    return f"{stem}.{suffix}" if dot and stem else safe[:120]


def stage(settings: Settings, uploads: Sequence[Upload]) -> tuple[list[Staged], list[Rejected]]:
    """Check each upload against the limits and extract its text; bad ones are rejected."""
    if not uploads:
        raise BadInputError("No file was sent: attach one or more article files.")
    if len(uploads) > settings.max_upload_files:
        raise BadInputError(
            f"{len(uploads)} files were sent; one upload takes at most "
            f"{settings.max_upload_files} (QA_MAX_UPLOAD_FILES). Send them in smaller batches."
        )
    allowed = {s.lower() for s in settings.upload_types}
    limit = int(settings.max_upload_mb * 1e6)
    added = datetime.now(UTC).isoformat(timespec="seconds")
    staged: list[Staged] = []
    rejected: list[Rejected] = []
    for up in uploads:
        aid = article_id(up.name)
        suffix = Path(aid).suffix.lower()
        shown = up.name or "(unnamed file)"
        reason = None
        if not aid or not Path(aid).stem:
            reason = "the file has no usable name; rename it (e.g. story.html) and send it again"
        elif suffix not in allowed:
            reason = (
                f"unsupported file type {suffix or '(none)'!r}; send one of "
                f"{', '.join(sorted(allowed))}"
            )
        elif len(up.data) > limit:
            reason = (
                f"too large ({len(up.data) / 1e6:.2f} MB > {settings.max_upload_mb:g} MB, "
                "QA_MAX_UPLOAD_MB); split it or send its text only"
            )
        elif any(s.id == aid for s in staged):
            reason = f"sent twice in this upload (as {aid!r}); send it once"
        if reason is None:
            try:
                found = extract(suffix, up.data)
            except ExtractError as exc:
                reason = str(exc)
            else:
                staged.append(Staged(aid, shown, up.data, found, added))
                continue
        rejected.append(Rejected(shown, reason))
    return staged, rejected


# -- under the index lock (called by build_index) -----------------------------------------
def with_uploads(settings: Settings, loaded: Loaded, changes: Changes | None) -> Loaded:
    """The corpus plus the live uploads, with `changes` applied and new files written."""
    changes = changes or Changes()
    live = _live_uploads(settings)
    corpus = {a.id: a for a in loaded.articles}
    for rid in sorted(changes.remove):
        if rid in live:
            del live[rid]
        elif rid in corpus:
            raise ReadOnlyArticleError(
                f"{rid!r} comes from the corpus ({corpus[rid].path}), not from an upload; "
                "remove the file there and run `qa index` instead."
            )
        else:
            raise NotFoundError(
                f"No article with id {rid!r} in the index; `qa articles list` "
                "(or GET /v1/articles) shows the ids."
            )
    articles = dict(corpus)
    skipped = list(loaded.skipped)
    for aid, art in live.items():
        if aid in articles:  # a corpus file was added later under an upload's name
            skipped.append(
                Skipped(articles[aid].path, f"duplicate article id {aid!r} (also an upload)")
            )
        articles[aid] = art
    for st in changes.add:
        if st.id in articles:
            skipped.append(
                Skipped(
                    Path(st.name),
                    f"an article with id {st.id!r} is already indexed; remove it first "
                    f"(`qa articles remove {st.id}`) or rename the file",
                )
            )
            continue
        articles[st.id] = _write(settings, st)
    ordered = tuple(articles[k] for k in sorted(articles))
    return Loaded(ordered, tuple(skipped), loaded.catalogs)


def sweep(settings: Settings, articles: dict[str, dict[str, Any]]) -> None:
    """Remove upload folders the just-published generation does not refer to."""
    folder = root(settings)
    if not folder.is_dir():
        return
    kept = {Path(a["path"]).parent.name for a in articles.values() if a.get("source") == UPLOAD}
    for sub in folder.iterdir():
        if sub.is_dir() and _KEY.fullmatch(sub.name) and sub.name not in kept:
            shutil.rmtree(sub, ignore_errors=True)


def _write(settings: Settings, st: Staged) -> Article:
    key = hashlib.sha256(st.id.encode() + b"\0" + st.data).hexdigest()[:16]
    folder = root(settings) / key
    folder.mkdir(parents=True, exist_ok=True)
    original = folder / st.id
    original.write_bytes(st.data)
    text = folder / TEXT_FILE
    text.write_text(st.found.text, encoding="utf-8")
    meta = {**st.found.meta, "source": UPLOAD, "added": st.added, "original": str(original)}
    (folder / META_FILE).write_text(
        json.dumps({"id": st.id, "kind": st.found.kind, "meta": meta}, ensure_ascii=False),
        encoding="utf-8",
    )
    # The article's path is the original, so a title found nowhere else is its name.
    return Article(st.id, original, st.found.text, st.found.kind, meta)


def live_corpus(settings: Settings) -> Loaded | None:
    """The live generation's corpus articles as they were indexed (None without an index).

    An upload or a removal changes only uploads: it re-uses what `qa index` last read from
    QA_CORPUS or its PATHs rather than reading the corpus folders again."""
    try:
        snap = open_index(settings)
    except NewsQAError:
        return None
    return Loaded(tuple(_as_articles(snap, corpus=True).values()), (), ())


def _as_articles(snap: IndexSnapshot, corpus: bool) -> dict[str, Article]:
    return {
        aid: Article(
            aid,
            Path(a["path"]),
            a["text"],
            a.get("kind", "text"),
            {k: a[k] for k in _KEPT if a.get(k) is not None},
        )
        for aid, a in sorted(snap.articles.items())
        if (a.get("source") == UPLOAD) != corpus
    }


def _live_uploads(settings: Settings) -> dict[str, Article]:
    try:
        snap = open_index(settings)
    except NewsQAError:
        return _uploads_on_disk(settings)  # no readable index: rebuild from the folders
    return _as_articles(snap, corpus=False)


def _uploads_on_disk(settings: Settings) -> dict[str, Article]:
    out: dict[str, Article] = {}
    folder = root(settings)
    for meta_file in sorted(folder.glob(f"*/{META_FILE}")) if folder.is_dir() else []:
        try:
            rec = json.loads(meta_file.read_text(encoding="utf-8"))
            text_file = meta_file.parent / TEXT_FILE
            text = text_file.read_text(encoding="utf-8")
        except (OSError, ValueError):
            continue
        original = meta_file.parent / rec["id"]
        out[rec["id"]] = Article(rec["id"], original, text, rec["kind"], rec["meta"])
    return out


# -- the operations every front end calls -------------------------------------------------
def add_articles(
    settings: Settings,
    uploads: Sequence[Upload],
    *,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> AddReport:
    """Index `uploads` in one new generation. Raises `BadInputError` when none can be added,
    `IndexBusyError` while another change or `qa index` holds the lock."""
    staged, rejected = stage(settings, uploads)
    if not staged:
        raise BadInputError(_nothing_added(rejected))
    report = _build(settings, Changes(add=tuple(staged)), embedder, progress)
    # A staged upload is indexed unless the build skipped it (its id was taken).
    why = {s.path: s.reason for s in report.skipped}
    listed = {a["article_id"]: a for a in summaries(open_index(settings))}
    indexed = []
    for st in staged:
        if Path(st.name) in why or st.id not in listed:
            rejected.append(Rejected(st.name, why.get(Path(st.name), "not indexed")))
        else:
            indexed.append(listed[st.id])
    if not indexed:
        raise BadInputError(_nothing_added(rejected))
    return AddReport(tuple(indexed), tuple(rejected), report.generation, report.seconds, report)


def remove_article(
    settings: Settings, article_id: str, *, embedder: Embedder | None = None
) -> dict[str, Any]:
    """Remove one uploaded article in one new generation; its files go with it."""
    before = {a["article_id"]: a for a in summaries(open_index(settings))}
    report = _build(settings, Changes(remove=frozenset({article_id})), embedder, None)
    gone = before.get(article_id, {"article_id": article_id})
    return {**gone, "removed": True, "generation": report.generation}


def summaries(snap: IndexSnapshot) -> list[dict[str, Any]]:
    """Every article of a generation, as `GET /v1/articles` lists it (text left out)."""
    chunks = Counter(c.article_id for c in snap.chunks)
    out = []
    for aid in sorted(snap.articles):
        a = snap.articles[aid]
        pages = a.get("pages")
        out.append(
            {
                "article_id": aid,
                "title": a["title"],
                "outlet": a.get("outlet"),
                "author": a.get("author"),
                "date": a.get("date"),
                "kind": a.get("kind", "text"),
                "source": a.get("source", "corpus"),
                "chunks": chunks.get(aid, 0),
                "characters": len(a["text"]),
                "pages": len(pages) if pages else None,
                "added": a.get("added"),
            }
        )
    return out


def _build(
    settings: Settings, changes: Changes, embedder: Embedder | None, progress: Progress | None
) -> IndexReport:
    from index.build import build_index

    try:
        return build_index(settings, embedder=embedder, progress=progress, changes=changes)
    except IndexBusyError:
        raise IndexBusyError(
            "Another upload, removal or `qa index` is changing the index right now; "
            "wait for it to finish, then send this again."
        ) from None
    except NewsQAError:
        raise
    except Exception as exc:  # the previous generation is still live: say so, and why
        raise NewsQAError(
            f"Indexing failed ({type(exc).__name__}: {exc}); the index is unchanged. "
            "Try again; if it keeps failing, the server log has the details."
        ) from exc


def _nothing_added(rejected: Sequence[Rejected]) -> str:
    reasons = "; ".join(f"{r.name}: {r.reason}" for r in rejected)
    return f"No article was added ({reasons}). Nothing in the index changed."
