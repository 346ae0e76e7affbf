"""The torch-free query encoder must reproduce sentence-transformers' vectors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from index.settings import Settings, bundled_model_dir
from qa.query_embed import QueryEmbedder
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

TEXTS = [
    "How many North Korean troops are in Russia?",
    "The NIS reported that these troops have been issued Russian uniforms and fake IDs.",
    "护卫舰 and [specific date] stay as they are",
]


def test_index_exports_onnx_and_queries_use_it(seed_settings: Settings, embedder) -> None:
    query = QueryEmbedder(bundled_model_dir(), seed_settings.data_dir)
    assert query.backend == "onnx"
    fast = query.embed_many(TEXTS)
    reference = embedder.embed(TEXTS)
    assert fast.shape == reference.shape == (3, 384)
    assert np.all(np.sum(fast * reference, axis=1) > 0.9999)


def test_without_export_the_query_path_falls_back(tmp_path) -> None:
    query = QueryEmbedder(bundled_model_dir(), tmp_path)
    assert query.backend == "sentence-transformers"


def test_query_path_does_not_load_sentence_transformers(seed_settings: Settings) -> None:
    """Questions are encoded by the exported ONNX model. (spaCy, which parses the question
    for the extractive answerer, imports torch through thinc when torch is installed.)"""
    code = (
        "import sys; from qa.assistant import Assistant; from index.settings import Settings;"
        f"a = Assistant(Settings(data_dir={str(seed_settings.data_dir)!r}));"
        "a.ask('How many troops?');"
        "print('sentence_transformers' in sys.modules, a.embedder().backend)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "onnx"]
