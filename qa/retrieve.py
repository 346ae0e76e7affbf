"""Hybrid retrieval: dense (Chroma, cosine) + lexical (BM25), fused by reciprocal rank.

The fused list is then de-duplicated (no sentence twice) and diversified across articles.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.clean import normalize
from index.store import ChunkRecord, IndexSnapshot

RRF_K = 60
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    article_id: str
    title: str
    text: str
    start: int
    end: int
    score: float  # fused score, 1.0 = ranked first by both retrievers
    dense_score: float | None  # cosine similarity, when the dense side found it
    bm25_score: float | None
    sentences: tuple[tuple[int, int], ...] = field(repr=False, default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "article_id": self.article_id,
            "title": self.title,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 4),
            "bm25_score": None if self.bm25_score is None else round(self.bm25_score, 4),
        }


def dense_search(
    snap: IndexSnapshot, vector: np.ndarray, n: int, article_ids: Collection[str] | None
) -> list[tuple[int, float]]:
    where = {"article_id": {"$in": sorted(article_ids)}} if article_ids else None
    collection = snap.collection()
    try:
        res = collection.query(
            query_embeddings=[vector.tolist()], n_results=n, where=where, include=["distances"]
        )
    except Exception as exc:
        raise snap.store_error(exc) from exc
    out = []
    for cid, dist in zip(res["ids"][0], res["distances"][0], strict=True):
        if cid in snap.by_id:
            out.append((snap.by_id[cid], 1.0 - float(dist)))
    return out


def bm25_search(
    snap: IndexSnapshot, query: str, n: int, article_ids: Collection[str] | None
) -> list[tuple[int, float]]:
    bm25 = snap.bm25()
    tokens = bm25.tokenize(query)
    if not tokens:
        return []
    mask = None
    if article_ids:
        mask = np.array([c.article_id in article_ids for c in snap.chunks], dtype=np.float32)
    return [(d, s) for d, s in bm25.top(tokens, n, mask) if s > 0]


def _sentence_keys(text: str, chunk: ChunkRecord) -> set[str]:
    return {
        " ".join(_WORD.findall(normalize(text[s - chunk.start : e - chunk.start]).casefold()))
        for s, e in chunk.sentences
    }


def fuse(
    snap: IndexSnapshot,
    dense: list[tuple[int, float]],
    lexical: list[tuple[int, float]],
    k: int,
    diversity: float = 0.1,
) -> list[Hit]:
    fused: dict[int, float] = {}
    dense_score = dict(dense)
    bm25_score = dict(lexical)
    for ranked in (dense, lexical):
        for rank, (idx, _) in enumerate(ranked):
            fused[idx] = fused.get(idx, 0.0) + 1.0 / (RRF_K + rank + 1)
    best = 2.0 / (RRF_K + 1)
    order = sorted(fused, key=lambda i: (-fused[i], i))
    hits: list[Hit] = []
    seen: set[str] = set()
    per_article: dict[str, int] = {}
    pool = []
    for idx in order:
        chunk = snap.chunks[idx]
        text = snap.text(chunk)
        keys = _sentence_keys(text, chunk)
        if keys & seen:  # never return the same passage (or sentence) twice
            continue
        seen |= keys
        pool.append((idx, chunk, text))
    # Diversity: each further passage from the same article weighs a little less.
    while pool and len(hits) < k:
        j = max(
            range(len(pool)),
            key=lambda n: (
                fused[pool[n][0]] / (1 + diversity * per_article.get(pool[n][1].article_id, 0))
            ),
        )
        idx, chunk, text = pool.pop(j)
        per_article[chunk.article_id] = per_article.get(chunk.article_id, 0) + 1
        hits.append(
            Hit(
                chunk_id=chunk.id,
                article_id=chunk.article_id,
                title=snap.title(chunk.article_id),
                text=text,
                start=chunk.start,
                end=chunk.end,
                score=fused[idx] / best,
                dense_score=dense_score.get(idx),
                bm25_score=bm25_score.get(idx),
                sentences=chunk.sentences,
            )
        )
    return hits
