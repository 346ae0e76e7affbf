"""A 100,000-chunk index without embedding or parsing 100,000 chunks.

Embedding that many chunks on 2 CPU cores takes most of an hour (and parsing them with
spaCy most of another), so the scale index is made from a real, smaller index: each real
chunk is copied many times with other names and figures in its text (so BM25 sees a
realistic, varied vocabulary) and its real embedding plus a small Gaussian perturbation,
re-normalised (cosine about 0.9 to the original). Its sentence vectors are perturbed the
same way, and its annotations are the real chunk's carried through the text edits (a
replaced name or figure keeps its tags, with the new words as lemmas). The result is
written in the same on-disk layout `qa index` publishes (manifest, articles, chunk table,
BM25 index, Chroma collection, annotations and sentence vectors), so the ordinary
`Assistant` and every answerer read it.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from index.annotate import ChunkAnnotation, Token
from index.settings import Settings
from qa.benchmarks.corpus import Edit, vary_edits

CHUNKS_PER_ARTICLE = 10
NOISE = 0.025  # per-dimension standard deviation; 384 dims -> cosine ~0.9 to the source
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class _Chunk:
    sentences: list[tuple[int, int]]  # absolute offsets in the source article
    texts: list[str]
    note: ChunkAnnotation
    rows: Any  # one sentence vector per sentence


def _source(settings: Settings) -> tuple[list[_Chunk], Any, str, int]:
    """Each source chunk (its sentences, annotation and sentence vectors), the chunk
    vectors (in chunk order), the model id and the dimension."""
    import numpy as np

    from index.store import open_index

    snap = open_index(settings)
    notes = snap.annotations()
    chunks = [
        _Chunk(
            [(s, e) for s, e in c.sentences],
            [snap.articles[c.article_id]["text"][s:e] for s, e in c.sentences],
            notes.chunks[i],
            notes.sentence_vectors(i),
        )
        for i, c in enumerate(snap.chunks)
    ]
    coll = snap.collection()
    vectors = np.zeros((len(snap.chunks), int(snap.manifest["dimension"])), dtype=np.float32)
    ids = [c.id for c in snap.chunks]
    for i in range(0, len(ids), 1000):
        got = coll.get(ids=ids[i : i + 1000], include=["embeddings"])
        for cid, emb in zip(got["ids"], got["embeddings"], strict=True):
            vectors[snap.by_id[cid]] = emb
    return chunks, vectors, str(snap.manifest["embedding_model"]), vectors.shape[1]


def _moved(r: int, edits: Sequence[Edit]) -> int:
    """Where offset `r` of a text lands after `edits`; inside a replaced span, at most its
    new end."""
    delta = 0
    for start, end, new in edits:
        if r <= start:
            break
        if r < end:
            return start + delta + min(r - start, len(new))
        delta += len(new) - (end - start)
    return r + delta


def _carry(source: _Chunk, placed: Sequence[tuple[int, list[Edit]]]) -> ChunkAnnotation:
    """The source chunk's annotation for its copy: sentence i now starts at `placed[i][0]`
    and was changed by `placed[i][1]`. Tokens inside a replaced span become the new words,
    each with the tags of the old token at its place (the last one's for extra words)."""
    heads: dict[int, int] = {}

    def where(p: int) -> tuple[int, int, int, list[Edit]] | None:
        for (s, e), (at, edits) in zip(source.sentences, placed, strict=True):
            if s <= p <= e:
                return s, e, at, edits
        return None

    def move(p: int) -> int | None:
        found = where(p)
        return None if found is None else found[2] + _moved(p - found[0], found[3])

    tokens: list[Token] = []
    replaced: dict[tuple[int, int], list[Token]] = {}
    for tok in source.note.tokens:
        found = where(tok[0])
        if found is None or tok[1] > found[1]:
            continue  # between the chunker's sentences: not in the copy
        s, _, at, edits = found
        inside = next((x for x in edits if x[0] <= tok[0] - s and tok[1] - s <= x[1]), None)
        if inside is None:
            new = [at + _moved(tok[0] - s, edits), at + _moved(tok[1] - s, edits), *tok[2:]]
            heads[tok[0]] = new[0]
            tokens.append(new)
            continue
        key = (s + inside[0], s + inside[1])
        if key not in replaced:
            replaced[key] = []
            base = at + _moved(inside[0], edits)
            olds = [t for t in source.note.tokens if key[0] <= t[0] and t[1] <= key[1]]
            words = list(_WORD.finditer(inside[2]))
            for i, m in enumerate(words):
                old = olds[min(i, len(olds) - 1)]
                new = [base + m.start(), base + m.end(), m.group().lower(), *old[3:]]
                replaced[key].append(new)
                tokens.append(new)
            for i, old in enumerate(olds):
                heads[old[0]] = replaced[key][min(i, len(words) - 1)][0]
    for tok in tokens:
        head = heads.get(tok[5])
        tok[5] = head if head is not None else tok[0]

    def span(start: int, end: int) -> tuple[int, int] | None:
        a, b = move(start), move(end)
        return (a, b) if a is not None and b is not None and a < b else None

    entities = [(*moved, label) for s, e, label in source.note.entities if (moved := span(s, e))]
    chunks = [moved for s, e in source.note.noun_chunks if (moved := span(s, e))]
    tokens.sort(key=lambda t: t[0])
    return ChunkAnnotation(tokens, entities, chunks)


def build_scale_index(
    source: Settings, target: Settings, n_chunks: int, seed: int = 0
) -> dict[str, Any]:
    """Publish an index of `n_chunks` derived chunks into `target.data_dir`."""
    import numpy as np

    from index.annotate import save
    from index.build import save_bm25
    from index.store import (
        ARTICLES,
        CHUNKS,
        HNSW,
        MANIFEST,
        SCHEMA_VERSION,
        chroma_client,
        collection_name,
        index_root,
        write_current,
        write_json,
    )

    t0 = time.perf_counter()
    sources, vectors, model_id, dim = _source(source)
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)

    texts: list[str] = []
    rows: list[list[Any]] = []
    articles: dict[str, dict[str, Any]] = {}
    bases: list[int] = []
    notes: list[ChunkAnnotation] = []
    for a in range((n_chunks + CHUNKS_PER_ARTICLE - 1) // CHUNKS_PER_ARTICLE):
        article_id = f"scale_{a:06d}.txt"
        title = f"Scale article {a}"
        body = title + "\n"
        for position in range(min(CHUNKS_PER_ARTICLE, n_chunks - len(texts))):
            j = len(texts)
            base = j % len(sources)
            copy = j // len(sources)
            spans: list[tuple[int, int]] = []
            placed: list[tuple[int, list[Edit]]] = []
            start = len(body)
            for s in sources[base].texts:
                s, edits = (s, []) if copy == 0 else vary_edits(s, rng)
                if spans:
                    body += " "
                spans.append((len(body), len(body) + len(s)))
                placed.append((len(body), edits))
                body += s
            notes.append(_carry(sources[base], placed))
            text = body[start:]
            body += "\n"
            cid = f"{j:07d}-" + hashlib.sha1(f"{article_id}\n{text}".encode()).hexdigest()[:12]
            rows.append([cid, article_id, start, start + len(text), spans, position])
            texts.append(text)
            bases.append(base)
        articles[article_id] = {
            "title": title,
            "author": None,
            "author_span": None,
            "outlet": None,
            "path": article_id,
            "kind": "txt",
            "sha256": hashlib.sha256(body.encode()).hexdigest(),
            "text": body,
        }
    made = vectors[bases] + noise.normal(0.0, NOISE, size=(len(bases), dim)).astype(np.float32)
    made /= np.linalg.norm(made, axis=1, keepdims=True)
    sentence_rows = np.concatenate([sources[b].rows for b in bases])
    sentence_rows += noise.normal(0.0, NOISE, size=sentence_rows.shape).astype(np.float32)
    sentence_rows /= np.linalg.norm(sentence_rows, axis=1, keepdims=True)
    t_texts = time.perf_counter()

    root = index_root(target)
    root.mkdir(parents=True, exist_ok=True)
    gen = root / "gen-000001"
    gen.mkdir(exist_ok=True)
    client = chroma_client(target, gen)
    coll = client.create_collection(
        collection_name(target, gen),
        configuration={"hnsw": dict(HNSW)},
        metadata={"embedding_model": model_id, "dimension": dim},
        embedding_function=None,
    )
    step = min(client.get_max_batch_size(), 5000)
    for i in range(0, len(rows), step):
        batch = rows[i : i + step]
        coll.add(
            ids=[r[0] for r in batch],
            embeddings=made[i : i + step],
            documents=texts[i : i + step],
            metadatas=[{"article_id": r[1], "start": r[2], "end": r[3]} for r in batch],
        )
    t_chroma = time.perf_counter()
    save_bm25(gen / "bm25", texts)
    t_bm25 = time.perf_counter()
    save(gen, notes, sentence_rows.astype(np.float16))
    t_annotations = time.perf_counter()
    write_json(gen / ARTICLES, articles)
    write_json(gen / CHUNKS, rows)
    write_json(
        gen / MANIFEST,
        {
            "schema": SCHEMA_VERSION,
            "embedding_model": model_id,
            "dimension": dim,
            "collection": collection_name(target, gen),
            "chroma": "embedded",
            "articles": len(articles),
            "chunks": len(rows),
            "created": time.time(),
            "synthetic": f"{len(sources)} real chunks, varied text, perturbed vectors, "
            "carried annotations",
        },
    )
    write_current(target, gen)
    return {
        "chunks": len(rows),
        "articles": len(articles),
        "source_chunks": len(sources),
        "sentences": len(sentence_rows),
        "vectors": f"real chunk and sentence embeddings perturbed by N(0, {NOISE}) per "
        "dimension, re-normalised",
        "annotations": "the source chunk's spaCy annotations carried through the text edits",
        "build_s": {
            "texts_vectors_annotations": round(t_texts - t0, 2),
            "chroma_insert": round(t_chroma - t_texts, 2),
            "bm25": round(t_bm25 - t_chroma, 2),
            "annotations_file": round(t_annotations - t_bm25, 2),
            "files": round(time.perf_counter() - t_annotations, 2),
        },
    }
