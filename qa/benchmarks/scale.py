"""A 100,000-chunk index without embedding 100,000 chunks.

Embedding that many chunks on 2 CPU cores takes most of an hour, so the scale index is made
from a real, smaller index: each real chunk is copied many times with other names and
figures in its text (so BM25 sees a realistic, varied vocabulary) and its real embedding
plus a small Gaussian perturbation, re-normalised (cosine about 0.9 to the original). The
result is written in the same on-disk layout `qa index` publishes (manifest, articles,
chunk table, BM25 index, Chroma collection), so the ordinary `Assistant` reads it.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

from index.settings import Settings

CHUNKS_PER_ARTICLE = 10
NOISE = 0.025  # per-dimension standard deviation; 384 dims -> cosine ~0.9 to the source


def _source(settings: Settings) -> tuple[list[list[str]], Any, str, int]:
    """Each source chunk as its sentences, their vectors (in chunk order), the model id, dim."""
    import numpy as np

    from index.store import open_index

    snap = open_index(settings)
    sentences = [
        [snap.articles[c.article_id]["text"][s:e] for s, e in c.sentences] for c in snap.chunks
    ]
    coll = snap.collection()
    vectors = np.zeros((len(snap.chunks), int(snap.manifest["dimension"])), dtype=np.float32)
    ids = [c.id for c in snap.chunks]
    for i in range(0, len(ids), 1000):
        got = coll.get(ids=ids[i : i + 1000], include=["embeddings"])
        for cid, emb in zip(got["ids"], got["embeddings"], strict=True):
            vectors[snap.by_id[cid]] = emb
    return sentences, vectors, str(snap.manifest["embedding_model"]), vectors.shape[1]


def build_scale_index(
    source: Settings, target: Settings, n_chunks: int, seed: int = 0
) -> dict[str, Any]:
    """Publish an index of `n_chunks` derived chunks into `target.data_dir`."""
    import numpy as np

    from index.build import save_bm25
    from index.store import (
        ARTICLES,
        CHUNKS,
        MANIFEST,
        SCHEMA_VERSION,
        chroma_client,
        collection_name,
        index_root,
        write_current,
        write_json,
    )
    from qa.benchmarks.corpus import vary

    t0 = time.perf_counter()
    sentences, vectors, model_id, dim = _source(source)
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)

    texts: list[str] = []
    rows: list[list[Any]] = []
    articles: dict[str, dict[str, Any]] = {}
    bases: list[int] = []
    for a in range((n_chunks + CHUNKS_PER_ARTICLE - 1) // CHUNKS_PER_ARTICLE):
        article_id = f"scale_{a:06d}.txt"
        title = f"Scale article {a}"
        body = title + "\n"
        for position in range(min(CHUNKS_PER_ARTICLE, n_chunks - len(texts))):
            j = len(texts)
            base = j % len(sentences)
            copy = j // len(sentences)
            spans: list[tuple[int, int]] = []
            start = len(body)
            for s in sentences[base]:
                s = s if copy == 0 else vary(s, rng)
                if spans:
                    body += " "
                spans.append((len(body), len(body) + len(s)))
                body += s
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
    t_texts = time.perf_counter()

    root = index_root(target)
    root.mkdir(parents=True, exist_ok=True)
    gen = root / "gen-000001"
    gen.mkdir(exist_ok=True)
    client = chroma_client(target, gen)
    coll = client.create_collection(
        collection_name(target, gen),
        configuration={"hnsw": {"space": "cosine"}},
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
            "synthetic": f"{len(sentences)} real chunks, varied text, perturbed vectors",
        },
    )
    write_current(target, gen)
    return {
        "chunks": len(rows),
        "articles": len(articles),
        "source_chunks": len(sentences),
        "vectors": f"real chunk embeddings perturbed by N(0, {NOISE}) per dimension, re-normalised",
        "build_s": {
            "texts_and_vectors": round(t_texts - t0, 2),
            "chroma_insert": round(t_chroma - t_texts, 2),
            "bm25": round(t_bm25 - t_chroma, 2),
            "files": round(time.perf_counter() - t_bm25, 2),
        },
    }
