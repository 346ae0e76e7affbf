"""Stage 5b: where an index lives, and the one function that opens it for reading.

An index is a *generation*: a folder `DATA/index/gen-NNNNNN/` holding the manifest, the
articles' text, the chunk table, the BM25 index and (embedded mode) the Chroma files; in
server mode the vectors live in the Chroma collection `<collection>-gen-NNNNNN` instead.
`DATA/index/CURRENT` names the live generation and is replaced atomically, so readers
only ever see a complete index, and a build killed half-way leaves the old one in place.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from index.errors import (
    IndexCorruptError,
    IndexMissingError,
    ModelMismatchError,
    StoreUnavailableError,
)
from index.settings import Settings

MANIFEST = "manifest.json"
ARTICLES = "articles.json"
CHUNKS = "chunks.json"
SCHEMA_VERSION = 1


def index_root(settings: Settings) -> Path:
    return settings.data_dir / "index"


def current_generation(settings: Settings) -> Path | None:
    pointer = index_root(settings) / "CURRENT"
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    return index_root(settings) / name if name else None


def write_current(settings: Settings, gen_dir: Path) -> None:
    pointer = index_root(settings) / "CURRENT"
    tmp = pointer.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        fh.write(gen_dir.name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, pointer)


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def collection_name(settings: Settings, gen_dir: Path) -> str:
    return f"{settings.collection}-{gen_dir.name}" if settings.chroma_url else settings.collection


def chroma_client(settings: Settings, gen_dir: Path) -> Any:
    """A Chroma client for one generation: embedded files, or the configured server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if not settings.chroma_url:
        return chromadb.PersistentClient(path=str(gen_dir / "chroma"), settings=chroma_settings)
    url = urlparse(settings.chroma_url)
    try:
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    except Exception as exc:
        raise store_unavailable(settings, exc) from exc


def store_unavailable(settings: Settings, exc: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"Cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}). "
        "Start it (`chroma run --path DIR --port PORT`) or unset QA_CHROMA_URL for embedded mode."
    )


@dataclass(frozen=True)
class ChunkRecord:
    id: str
    article_id: str
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]
    position: int


@dataclass
class IndexSnapshot:
    """A read-only view of one complete generation; shared across threads."""

    settings: Settings
    gen_dir: Path
    manifest: dict[str, Any]
    articles: dict[str, dict[str, Any]]
    chunks: list[ChunkRecord]
    by_id: dict[str, int]
    _collection: Any = None
    _bm25: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def text(self, chunk: ChunkRecord) -> str:
        return str(self.articles[chunk.article_id]["text"][chunk.start : chunk.end])

    def title(self, article_id: str) -> str:
        return str(self.articles[article_id]["title"])

    def store_error(self, exc: BaseException) -> Exception:
        """The named error for a failed Chroma call: server down, or unreadable files."""
        if self.settings.chroma_url:
            with self._lock:
                self._collection = None  # reconnect on the next call
            return store_unavailable(self.settings, exc)
        return IndexCorruptError(
            f"The Chroma files in {self.gen_dir} cannot be read ({exc}); run `qa index --rebuild`."
        )

    def collection(self) -> Any:
        if self._collection is None:
            with self._lock:
                if self._collection is None:
                    try:
                        client = chroma_client(self.settings, self.gen_dir)
                        self._collection = client.get_collection(
                            collection_name(self.settings, self.gen_dir)
                        )
                    except StoreUnavailableError:
                        raise
                    except Exception as exc:
                        if self.settings.chroma_url:
                            raise store_unavailable(self.settings, exc) from exc
                        raise IndexCorruptError(
                            f"The Chroma files in {self.gen_dir} cannot be opened ({exc}); "
                            "run `qa index --rebuild`."
                        ) from exc
        return self._collection

    def bm25(self) -> Any:
        if self._bm25 is None:
            with self._lock:
                if self._bm25 is None:
                    import bm25s

                    self._bm25 = bm25s.BM25.load(str(self.gen_dir / "bm25"), mmap=False)
        return self._bm25


def open_index(settings: Settings, model_id: str | None = None) -> IndexSnapshot:
    """Open the live generation. Raises a named error with the fix when it cannot."""
    gen_dir = current_generation(settings)
    if gen_dir is None:
        raise IndexMissingError(
            f"No index in {settings.data_dir}. Run `qa index` (or `make run`) to build it."
        )
    try:
        manifest = json.loads((gen_dir / MANIFEST).read_text())
        articles = json.loads((gen_dir / ARTICLES).read_text(encoding="utf-8"))
        rows = json.loads((gen_dir / CHUNKS).read_text())
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(
            f"The index in {gen_dir} is unreadable ({exc}). Run `qa index --rebuild`."
        ) from exc
    if manifest.get("schema") != SCHEMA_VERSION:
        raise IndexCorruptError(
            f"The index in {gen_dir} has an unknown format. Run `qa index --rebuild`."
        )
    if model_id is not None and manifest.get("embedding_model") != model_id:
        raise ModelMismatchError(
            f"The index was built with {manifest.get('embedding_model')} but the configured model "
            f"is {model_id}. Run `qa index --rebuild`, or set QA_EMBEDDING_MODEL back."
        )
    chunks = [
        ChunkRecord(r[0], r[1], r[2], r[3], tuple(tuple(s) for s in r[4]), r[5]) for r in rows
    ]
    return IndexSnapshot(
        settings=settings,
        gen_dir=gen_dir,
        manifest=manifest,
        articles=articles,
        chunks=chunks,
        by_id={c.id: i for i, c in enumerate(chunks)},
    )
