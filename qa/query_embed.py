"""Query-side embedding: ONNX when `qa index` exported the model, else sentence-transformers.

A small LRU cache keeps recent query vectors (repeated and follow-up questions are common).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import SentenceTransformerEmbedder, describe_model
from index.onnx_encoder import OnnxEncoder, onnx_path


class QueryEmbedder:
    def __init__(self, model_dir: Path, data_dir: Path, cache_size: int = 1024) -> None:
        self.model_dir = model_dir
        self.model_id, self.dimension = describe_model(model_dir)
        self._onnx_file = onnx_path(data_dir, self.model_id)
        self._encoder: Any = None
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        return "onnx" if self._onnx_file.exists() else "sentence-transformers"

    def _get_encoder(self) -> Any:
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    if self._onnx_file.exists():
                        self._encoder = OnnxEncoder(self._onnx_file, self.model_dir)
                    else:
                        self._encoder = SentenceTransformerEmbedder(self.model_dir, batch_size=32)
        return self._encoder

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = self._get_encoder().embed([text])[0]
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def embed_many(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._get_encoder().embed(texts), dtype=np.float32)
