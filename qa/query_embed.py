"""Query-side embedding, with a small cache of recent queries."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from index.embed import SentenceTransformerEmbedder


class QueryEmbedder:
    def __init__(self, model_dir: Path, cache_size: int = 1024) -> None:
        self._inner = SentenceTransformerEmbedder(model_dir, batch_size=1)
        self.model_id = self._inner.model_id
        self.dimension = self._inner.dimension
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = self._inner.embed([text])[0]
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def embed_many(self, texts: list[str]) -> np.ndarray:
        return self._inner.embed(texts)
