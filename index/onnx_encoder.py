"""A torch-free encoder for the query path: the same model exported to ONNX.

Importing sentence-transformers (and torch) takes seconds; onnxruntime and tokenizers take
a fraction of one. `qa index` exports the model once per model id into the data directory
(the export is checked to reproduce sentence-transformers' vectors); queries then encode
with onnxruntime. Pooling (attention-masked mean) and L2 normalisation follow the model's
own `1_Pooling` and `Normalize` modules, which is what all-MiniLM-L6-v2 declares.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.clean import normalize


def onnx_path(data_dir: Path, model_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in model_id)
    return data_dir / "models" / safe / "model.onnx"


def supports_onnx(model_dir: Path) -> bool:
    """Only mean-pooled, normalised BERT-style models are exported."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "") for m in modules]
    return (
        pooling.get("pooling_mode_mean_tokens") is True
        and sum(bool(v) for k, v in pooling.items() if k.startswith("pooling_mode")) == 1
        and any(k.endswith("Normalize") for k in kinds)
    )


def export_onnx(st_model: Any, target: Path) -> None:
    """Export a loaded SentenceTransformer's transformer to `target` (atomic)."""
    import torch

    auto = st_model[0].auto_model.eval()

    class _Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = auto

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    dummy = torch.ones(2, 8, dtype=torch.long)
    axes = {"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"}}
    axes |= {"token_type_ids": {0: "b", 1: "s"}, "last_hidden_state": {0: "b", 1: "s"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about shapes that are dynamic_axes
        torch.onnx.export(
            _Wrapper(),
            (dummy, torch.ones_like(dummy), torch.zeros_like(dummy)),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    # The exporter gives the wrapper back its training mode, and with it the model: put the
    # model back as it was lent, without dropout.
    auto.eval()
    os.replace(tmp, target)


class OnnxEncoder:
    """Encodes texts with onnxruntime; thread-safe (sessions allow concurrent runs)."""

    def __init__(self, onnx_file: Path, model_dir: Path, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config = model_dir / "sentence_bert_config.json"
        max_len = (
            json.loads(config.read_text()).get("max_seq_length", 256) if config.exists() else 256
        )
        self._tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tok.enable_truncation(int(max_len))
        self._tok.enable_padding()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        # Idle pool threads spin by default, burning a core they may not get back on a shared
        # two-core machine (and stealing it from concurrent requests); measured faster off.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(onnx_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._names = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            encoded = self._tok.encode_batch([normalize(t) for t in texts])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._names:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encoded], dtype=np.int64)
        hidden = self._session.run(None, feeds)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        vectors = summed / np.clip(mask.sum(axis=1, keepdims=True), 1, None)
        vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return vectors.astype(np.float32)
