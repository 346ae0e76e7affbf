"""Stage 5a: turn texts into unit vectors with a local sentence-transformers model.

The model loads on first use (importing sentence_transformers alone takes seconds), once
per process, and is shared by every thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.clean import normalize
from index.errors import NewsQAError
from index.optional import importing


class Embedder(Protocol):
    model_id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def describe_model(model_dir: Path) -> tuple[str, int]:
    """A stable identity for a model folder (name + digest of its config) and its dimension."""
    if not (model_dir / "config.json").exists():
        raise NewsQAError(
            f"{model_dir} is not a sentence-transformers model folder (no config.json); "
            "set QA_EMBEDDING_MODEL to one, or unset it to use the bundled all-MiniLM-L6-v2."
        )
    digest = hashlib.sha256()
    for name in (
        "config.json",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
    ):
        path = model_dir / name
        if path.exists():
            digest.update(path.read_bytes())
    weights = sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin"))
    for w in weights:
        digest.update(f"{w.name}:{w.stat().st_size}".encode())
    config = json.loads((model_dir / "config.json").read_text())
    pooling = model_dir / "1_Pooling" / "config.json"
    dim = (
        json.loads(pooling.read_text()).get("word_embedding_dimension")
        if pooling.exists()
        else config.get("hidden_size")
    )
    name = model_dir.parent.name if model_dir.name == "model" else model_dir.name
    return f"{name}@{digest.hexdigest()[:12]}", int(dim or 0)


class SentenceTransformerEmbedder:
    """Encodes with sentence-transformers; thread-safe lazy load."""

    def __init__(self, model_dir: Path, batch_size: int = 32) -> None:
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.model_id, self.dimension = describe_model(model_dir)
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                with importing():  # torch: see index.optional
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()

                self._model = SentenceTransformer(
                    str(self.model_dir), device="cpu", local_files_only=True
                )
        return self._model

    def export_onnx(self, target: Path) -> None:
        """Write the ONNX twin of this model used by the query path (see onnx_encoder)."""
        from index.onnx_encoder import export_onnx

        export_onnx(self._model or self._load(), target)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._model or self._load()
        vectors = model.encode(
            [normalize(t) for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
