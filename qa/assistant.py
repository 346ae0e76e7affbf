"""The one object every front end uses: search, ask, stream.

Building an Assistant is cheap. The embedding model and the index open on first use and
are shared by all threads; a rebuilt index (a new generation) is picked up on the next call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from typing import Any

from index.errors import BadInputError
from index.settings import Settings
from index.store import IndexSnapshot, current_generation, open_index
from qa.retrieve import Hit, bm25_search, dense_search, fuse


class Assistant:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._lock = threading.RLock()
        self._snapshot: IndexSnapshot | None = None
        self._embedder: Any = None

    # -- resources -------------------------------------------------------------------
    def embedder(self) -> Any:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from qa.query_embed import QueryEmbedder

                    self._embedder = QueryEmbedder(self.settings.model_dir())
        return self._embedder

    def snapshot(self) -> IndexSnapshot:
        """The live index generation, reopened when `qa index` published a new one."""
        snap = self._snapshot
        gen = current_generation(self.settings)
        if snap is None or gen != snap.gen_dir:
            with self._lock:
                snap = self._snapshot
                if snap is None or gen != snap.gen_dir:
                    snap = open_index(self.settings, self.embedder().model_id)
                    self._snapshot = snap
        return snap

    # -- retrieval -------------------------------------------------------------------
    def _check_k(self, k: int | None) -> int:
        k = self.settings.k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.settings.max_k:
            raise BadInputError(f"k must be a whole number from 1 to {self.settings.max_k}.")
        return k

    def retrieve(
        self, query: str, k: int | None = None, article_ids: Collection[str] | None = None
    ) -> tuple[list[Hit], dict[str, float]]:
        k = self._check_k(k)
        query = " ".join(query.split()) if isinstance(query, str) else ""
        if not query:
            raise BadInputError("The query is empty: type a question or some words to search for.")
        snap = self.snapshot()
        timings: dict[str, float] = {}
        t = time.perf_counter()
        vector = self.embedder().embed_query(query)
        timings["embed_ms"] = (time.perf_counter() - t) * 1000
        n = min(len(snap.chunks), max(4 * k, 20))
        if n == 0:
            return [], timings
        t = time.perf_counter()
        dense = dense_search(snap, vector, n, article_ids)
        timings["dense_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        lexical = bm25_search(snap, query, n, article_ids)
        timings["bm25_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        hits = fuse(snap, dense, lexical, k)
        timings["fuse_ms"] = (time.perf_counter() - t) * 1000
        return hits, timings

    def search(
        self, query: str, k: int | None = None, article_ids: Collection[str] | None = None
    ) -> list[Hit]:
        return self.retrieve(query, k, article_ids)[0]
