"""`qa index`: run the pipeline and publish a new generation atomically.

Only one build runs per data directory (a file lock). Unchanged chunks reuse their stored
vectors, so a re-run embeds only what changed; a run with nothing changed writes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index import annotate
from index.articles import Changes, live_corpus, sweep, with_uploads
from index.chunk import Chunk, chunk, token_counter
from index.clean import CleanArticle, clean
from index.dedupe import DedupedArticle, dedupe
from index.embed import Embedder, SentenceTransformerEmbedder
from index.errors import IndexBusyError, NewsQAError
from index.load import Loaded, Skipped, load
from index.settings import Settings
from index.store import (
    ARTICLES,
    CHUNKS,
    MANIFEST,
    SCHEMA_VERSION,
    STOPWORDS,
    IndexSnapshot,
    chroma_client,
    collection_name,
    current_generation,
    hnsw_for,
    index_root,
    open_index,
    store_unavailable,
    write_current,
    write_json,
)
from index.terms import bm25_tokenize

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class IndexReport:
    articles: int
    chunks: int
    added: int
    updated: int
    removed: int
    unchanged: int
    embedded: int
    duplicates_dropped: int
    skipped: tuple[Skipped, ...]
    seconds: float
    generation: str
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        line = (
            f"Indexed {self.articles} articles: {self.chunks} chunks "
            f"({self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.unchanged} unchanged; {self.embedded} embedded; "
            f"{self.duplicates_dropped} duplicate sentences dropped) in {self.seconds:.1f}s"
        )
        if "annotate" in self.timings:
            line += f" (annotating {self.timings['annotate']:.1f}s)"
        if self.skipped:
            line += f"; skipped {len(self.skipped)}: " + "; ".join(
                f"{s.path} ({s.reason})" for s in self.skipped
            )
        return line


def _read_catalogs(paths: Iterable[Path]) -> dict[str, dict[str, str]]:
    catalog: dict[str, dict[str, str]] = {}
    for path in paths:
        try:
            catalog.update(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise NewsQAError(
                f"{path} is not a valid JSON catalog ({exc}); fix or remove it."
            ) from exc
    return catalog


def _lock(settings: Settings) -> Any:
    from filelock import FileLock, Timeout

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.data_dir / "index.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IndexBusyError(
            f"Another `qa index` is building the index in {settings.data_dir}. "
            "Wait for it to finish, then run this again."
        ) from None
    return lock


def _previous(settings: Settings, model_id: str, rebuild: bool) -> IndexSnapshot | None:
    if rebuild:
        return None
    try:
        snap = open_index(settings)
    except NewsQAError:
        return None  # missing or unreadable: build from scratch
    return snap if snap.manifest.get("embedding_model") == model_id else None


def _stale_generations(settings: Settings, keep: Sequence[Path]) -> list[Path]:
    root = index_root(settings)
    keep_names = {p.name for p in keep}
    return sorted(p for p in root.glob("gen-*") if p.is_dir() and p.name not in keep_names)


def _next_generation(settings: Settings) -> Path:
    numbers = [int(p.name.split("-")[1]) for p in index_root(settings).glob("gen-*")]
    return index_root(settings) / f"gen-{max(numbers, default=0) + 1:06d}"


def _drop_generation(settings: Settings, gen: Path) -> None:
    if settings.chroma_url:
        # Already gone, or the server is down: the folder goes anyway.
        with contextlib.suppress(Exception):
            chroma_client(settings, gen).delete_collection(collection_name(settings, gen))
    shutil.rmtree(gen, ignore_errors=True)


def _lap(timings: dict[str, float], stage: str, since: float) -> float:
    """Add the time since `since` to `stage`; the new start."""
    now = time.perf_counter()
    timings[stage] = round(timings.get(stage, 0.0) + now - since, 4)
    return now


@dataclass(frozen=True)
class Prepared:
    """The text stages' output: what gets embedded and stored."""

    loaded: Loaded
    catalog: dict[str, dict[str, str]]
    cleaned: list[CleanArticle]
    deduped: list[DedupedArticle]
    chunks: list[Chunk]


def prepare(
    settings: Settings,
    paths: Sequence[Path] | None = None,
    timings: dict[str, float] | None = None,
    changes: Changes | None = None,
) -> Prepared:
    """Load, clean, de-duplicate and chunk `paths` (default: the configured corpus) and the
    uploaded articles; with `changes` (an upload or removal), the live corpus instead."""
    timings = {} if timings is None else timings

    t = time.perf_counter()
    max_bytes = int(settings.max_file_mb * 1e6)
    loaded = None if changes is None else live_corpus(settings)
    loaded = with_uploads(settings, loaded or load(paths or settings.corpus, max_bytes), changes)
    catalog = _read_catalogs(loaded.catalogs)
    t = _lap(timings, "load", t)
    cleaned = [
        clean(a, catalog.get(a.id, {}).get("title") or a.meta.get("title")) for a in loaded.articles
    ]
    t = _lap(timings, "clean", t)
    deduped = dedupe(cleaned, settings.near_duplicate_threshold)
    t = _lap(timings, "dedupe", t)
    counter = token_counter(settings.model_dir())
    chunks: list[Chunk] = []
    for doc in deduped:
        chunks.extend(chunk(doc, counter, settings.chunk_tokens))
    _lap(timings, "chunk", t)
    return Prepared(loaded, catalog, cleaned, deduped, chunks)


def build_index(
    settings: Settings,
    paths: Sequence[Path] | None = None,
    *,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    changes: Changes | None = None,
) -> IndexReport:
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    lock = _lock(settings)
    try:
        index_root(settings).mkdir(parents=True, exist_ok=True)
        embedder = embedder or SentenceTransformerEmbedder(
            settings.model_dir(), settings.embed_batch_size
        )
        prepared = prepare(settings, paths, timings, changes)
        loaded, catalog, cleaned = prepared.loaded, prepared.catalog, prepared.cleaned
        deduped, chunks = prepared.deduped, prepared.chunks

        articles = {
            c.id: {
                "title": c.title,
                "author": c.author or a.meta.get("author"),
                "author_span": [c.author_span.start, c.author_span.end] if c.author_span else None,
                "outlet": catalog.get(c.id, {}).get("outlet") or a.meta.get("outlet"),
                "path": str(a.path),
                "kind": a.kind,
                "sha256": hashlib.sha256(a.text.encode()).hexdigest(),
                "text": a.text,
                # Extracted metadata (date, PDF page starts) and an upload's record.
                **{k: v for k, v in a.meta.items() if k not in {"title", "author", "outlet"}},
            }
            for c, a in zip(cleaned, loaded.articles, strict=True)
        }
        prev = _previous(settings, embedder.model_id, rebuild)
        old_ids = {c.id for c in prev.chunks} if prev else set()
        old_articles = {c.article_id for c in prev.chunks} if prev else set()
        new_ids = {c.id for c in chunks}
        unchanged = [c for c in chunks if c.id in old_ids]
        fresh = [c for c in chunks if c.id not in old_ids]
        updated = sum(1 for c in fresh if c.article_id in old_articles)
        report_base = dict(
            articles=len(articles),
            chunks=len(chunks),
            added=len(fresh) - updated,
            updated=updated,
            removed=len(old_ids - new_ids),
            unchanged=len(unchanged),
            duplicates_dropped=sum(d.duplicates for d in deduped),
            skipped=loaded.skipped,
        )
        same_meta = prev is not None and {
            k: {f: v for f, v in a.items() if f != "path"} for k, a in prev.articles.items()
        } == {k: {f: v for f, v in a.items() if f != "path"} for k, a in articles.items()}
        annotated = prev is not None and (prev.gen_dir / annotate.ANNOTATIONS).exists()
        if prev is not None and not fresh and old_ids == new_ids and same_meta and annotated:
            _ensure_onnx(settings, embedder, timings)
            return IndexReport(
                **report_base,  # type: ignore[arg-type]
                embedded=0,
                seconds=time.perf_counter() - t0,
                generation=prev.gen_dir.name,
                timings=timings,
            )

        current = current_generation(settings)
        for stale in _stale_generations(settings, [p for p in (current,) if p]):
            if prev is None or stale != prev.gen_dir:
                _drop_generation(settings, stale)
        gen = _next_generation(settings)
        gen.mkdir()

        vectors = _vectors(prev, unchanged, fresh, embedder, progress, timings)
        _annotate(prev, gen, chunks, embedder, timings)
        t = time.perf_counter()
        _store(settings, gen, chunks, vectors, embedder)
        save_bm25(gen / "bm25", [c.text for c in chunks])
        write_json(gen / ARTICLES, articles)
        write_json(
            gen / CHUNKS,
            [[c.id, c.article_id, c.start, c.end, c.sentences, c.position] for c in chunks],
        )
        write_json(
            gen / MANIFEST,
            {
                "schema": SCHEMA_VERSION,
                "embedding_model": embedder.model_id,
                "dimension": embedder.dimension,
                "collection": collection_name(settings, gen),
                "chroma": settings.chroma_url or "embedded",
                "articles": len(articles),
                "chunks": len(chunks),
                "created": time.time(),
            },
        )
        write_current(settings, gen)
        sweep(settings, articles)
        _lap(timings, "store", t)
        _ensure_onnx(settings, embedder, timings)
        # Keep the generation readers may still hold; drop anything older.
        for stale in _stale_generations(settings, [gen, *([current] if current else [])]):
            _drop_generation(settings, stale)
        return IndexReport(
            **report_base,  # type: ignore[arg-type]
            embedded=len(fresh),
            seconds=time.perf_counter() - t0,
            generation=gen.name,
            timings=timings,
        )
    finally:
        lock.release()


def _annotate(
    prev: IndexSnapshot | None,
    gen: Path,
    chunks: list[Chunk],
    embedder: Embedder,
    timings: dict[str, float],
) -> None:
    """Tag every chunk and encode every sentence, reusing what `prev` already holds."""
    old_ann, old_vec = annotate.previous(
        prev.gen_dir if prev else None,
        [c.id for c in prev.chunks] if prev else [],
        [len(c.sentences) for c in prev.chunks] if prev else [],
    )
    t = time.perf_counter()
    annotations = annotate.annotate(chunks, old_ann)
    t = _lap(timings, "annotate", t)
    vectors = annotate.sentence_vectors(chunks, old_vec, embedder)
    annotate.save(gen, annotations, vectors)
    _lap(timings, "embed_sentences", t)


def _ensure_onnx(settings: Settings, embedder: Embedder, timings: dict[str, float]) -> None:
    """Export the model for the fast query path once per model id (best effort)."""
    from index.onnx_encoder import onnx_path, supports_onnx

    target = onnx_path(settings.data_dir, embedder.model_id)
    export = getattr(embedder, "export_onnx", None)
    if target.exists() or export is None or not supports_onnx(settings.model_dir()):
        return
    t = time.perf_counter()
    try:
        export(target)
    except Exception as exc:  # queries fall back to sentence-transformers
        print(f"qa index: warning: ONNX export failed ({exc}); queries will be slower.")
    timings["onnx_export"] = round(time.perf_counter() - t, 4)


def _vectors(
    prev: IndexSnapshot | None,
    unchanged: list[Chunk],
    fresh: list[Chunk],
    embedder: Embedder,
    progress: Progress | None,
    timings: dict[str, float],
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    t = time.perf_counter()
    if prev is not None and unchanged:
        coll = prev.collection()
        ids = [c.id for c in unchanged]
        for i in range(0, len(ids), 1000):
            got = coll.get(ids=ids[i : i + 1000], include=["embeddings"])
            out.update(
                zip(got["ids"], (list(map(float, e)) for e in got["embeddings"]), strict=True)
            )
    timings["reuse"] = round(time.perf_counter() - t, 4)
    t = time.perf_counter()
    # Longest first, as sentence-transformers orders one `encode` call: each batch then pads
    # to texts of nearly its own length, across the whole corpus and not just one step.
    fresh = sorted(fresh, key=lambda c: -len(c.text))
    step = 256
    for i in range(0, len(fresh), step):
        batch = fresh[i : i + step]
        for c, v in zip(batch, embedder.embed([c.text for c in batch]), strict=True):
            out[c.id] = v.tolist()
        if progress:
            progress(min(i + step, len(fresh)), len(fresh))
    timings["embed"] = round(time.perf_counter() - t, 4)
    missing = [c.id for c in unchanged if c.id not in out]
    if missing:  # the old store lost vectors: embed them again rather than fail
        texts = {c.id: c.text for c in unchanged}
        for cid, v in zip(missing, embedder.embed([texts[m] for m in missing]), strict=True):
            out[cid] = v.tolist()
    return out


def _store(
    settings: Settings,
    gen: Path,
    chunks: list[Chunk],
    vectors: dict[str, list[float]],
    embedder: Embedder,
) -> None:
    client = chroma_client(settings, gen)
    try:
        coll = client.create_collection(
            collection_name(settings, gen),
            configuration={"hnsw": hnsw_for(len(chunks))},
            metadata={"embedding_model": embedder.model_id, "dimension": embedder.dimension},
            embedding_function=None,
        )
        step = min(client.get_max_batch_size(), 2000)
    except NewsQAError:
        raise
    except Exception as exc:
        if settings.chroma_url:
            raise store_unavailable(settings, exc) from exc
        raise
    for i in range(0, len(chunks), step):
        batch = chunks[i : i + step]
        coll.upsert(
            ids=[c.id for c in batch],
            embeddings=[vectors[c.id] for c in batch],
            documents=[c.text for c in batch],
            metadatas=[
                {
                    "article_id": c.article_id,
                    "title": c.title,
                    "start": c.start,
                    "end": c.end,
                    "position": c.position,
                    "tokens": c.tokens,
                }
                for c in batch
            ],
        )


def save_bm25(folder: Path, texts: list[str]) -> None:
    """The BM25 index of `texts`, plus the stop words its tokenizer dropped, so the query
    path can tokenize exactly alike without importing bm25s (see `store.Bm25Index`)."""
    import bm25s
    from bm25s.stopwords import STOPWORDS_EN

    retriever = bm25s.BM25()
    retriever.index(bm25_tokenize(texts), show_progress=False)
    retriever.save(str(folder), show_progress=False)
    write_json(folder / STOPWORDS, sorted(STOPWORDS_EN))
