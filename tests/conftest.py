"""Shared fixtures. Every test runs sealed: data folders live under tmp_path."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from index.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def _sealed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("QA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QA_CORPUS", f'["{SEEDS}"]')
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from index.embed import SentenceTransformerEmbedder
    from index.settings import bundled_model_dir

    return SentenceTransformerEmbedder(bundled_model_dir())


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory, embedder) -> Settings:  # type: ignore[no-untyped-def]
    """A read-only index of the five seed articles, built once per session."""
    from index.build import build_index

    settings = Settings(data_dir=tmp_path_factory.mktemp("seed-index"), corpus=[SEEDS])
    build_index(settings, embedder=embedder)
    return settings


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the seeds."""
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
