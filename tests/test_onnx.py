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


def test_exporting_leaves_the_lent_model_without_dropout(seed_settings: Settings, embedder) -> None:
    """The seed index exported the fixture's model: its transformer is back in eval mode."""
    assert embedder._model is not None and not embedder._model[0].auto_model.training


def test_without_export_the_query_path_falls_back(tmp_path) -> None:
    query = QueryEmbedder(bundled_model_dir(), tmp_path)
    assert query.backend == "sentence-transformers"


def test_query_path_loads_no_torch_scikit_learn_or_pandas(seed_settings: Settings) -> None:
    """Questions are encoded by the exported ONNX model, and the extractive answerer's spaCy
    and LightGBM go without the optional torch, scikit-learn and pandas they would import."""
    code = (
        "import sys; from qa.assistant import Assistant; from index.settings import Settings;"
        f"a = Assistant(Settings(data_dir={str(seed_settings.data_dir)!r}));"
        "r = a.ask('How many troops?');"
        "print(r.answerer, bool(r.citations), a.embedder().backend,"
        " *(m in sys.modules for m in ('sentence_transformers', 'torch', 'sklearn', 'pandas')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["extractive", "True", "onnx", *["False"] * 4]


def test_warm_loads_the_answerers_parser_before_any_question(seed_settings: Settings) -> None:
    """`qa serve` warms the default answerer at start-up: the extractive one's spaCy pipeline
    is loaded by `warm()` alone, no question asked, and without torch."""
    code = (
        "import sys; from qa.assistant import Assistant; from index.settings import Settings;"
        "from index.annotate import nlp;"
        f"a = Assistant(Settings(data_dir={str(seed_settings.data_dir)!r}));"
        "before = nlp.cache_info().currsize; a.answerer().warm();"
        "print(before, nlp.cache_info().currsize, 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["0", "1", "False"]
