"""Uploads and the index's generations, without a server: `qa index` keeps the uploads, a
failed upload changes nothing, and uploads survive the loss of the index folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index.articles import Upload, add_articles, remove_article, summaries
from index.build import build_index
from index.errors import NewsQAError
from index.settings import Settings
from index.store import current_generation, open_index
from tests.articles_data import BINARY_PDF, NEWS_PAGE, make_pdf
from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow


class FailingEmbedder:
    """The real model's identity, but every call fails (a backend dying mid-upload)."""

    def __init__(self, real: Any) -> None:
        self.model_id, self.dimension = real.model_id, real.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("the embedding backend died")


@pytest.fixture
def settings(seed_settings: Settings, tmp_path: Path) -> Settings:
    shutil.copytree(seed_settings.data_dir, tmp_path / "data")
    return Settings(data_dir=tmp_path / "data", corpus=seed_settings.corpus)


def _ids(settings: Settings) -> set[str]:
    return {a["article_id"] for a in summaries(open_index(settings))}


def test_qa_index_keeps_the_uploads(settings: Settings, embedder: Any, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "report.pdf")
    report = add_articles(
        settings,
        [Upload("news_page.html", NEWS_PAGE.read_bytes()), Upload("report.pdf", pdf.read_bytes())],
        embedder=embedder,
    )
    assert {a["article_id"] for a in report.indexed} == {"news_page.html", "report.pdf"}
    snap = open_index(settings)
    upload = snap.articles["news_page.html"]
    folder = Path(upload["path"]).parent
    assert (folder / "news_page.html").read_bytes() == NEWS_PAGE.read_bytes()  # as sent
    assert (folder / "text.txt").read_text(encoding="utf-8") == upload["text"]  # cited into
    for c in snap.chunks:
        if c.article_id == "news_page.html":
            assert snap.text(c) == upload["text"][c.start : c.end]

    again = build_index(settings, embedder=embedder)  # a plain `qa index`
    assert again.embedded == 0 and again.generation == report.generation
    assert {"news_page.html", "report.pdf"} <= _ids(settings)

    # The index is lost, the uploads are not: `qa index` rebuilds them from their folders.
    # (In its own process: this one's Chroma client caches the folder about to be reused.)
    shutil.rmtree(settings.data_dir / "index")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_DATA_DIR=str(settings.data_dir), QA_CORPUS=json.dumps([str(SEEDS)]))
    out = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index"],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Indexed 7 articles"), out.stdout
    assert (
        open_index(settings).articles["report.pdf"]["pages"] == snap.articles["report.pdf"]["pages"]
    )


def test_a_failed_upload_leaves_everything_as_it_was(settings: Settings, embedder: Any) -> None:
    live = current_generation(settings)
    before = summaries(open_index(settings))
    with pytest.raises(NewsQAError, match=r"embedding backend died.*the index is unchanged"):
        add_articles(
            settings,
            [Upload("news_page.html", NEWS_PAGE.read_bytes())],
            embedder=FailingEmbedder(embedder),
        )
    assert current_generation(settings) == live
    assert summaries(open_index(settings)) == before
    leftovers = list((settings.data_dir / "articles").iterdir())
    assert len(leftovers) == 1  # the staged files of the failed upload, referenced by nothing

    add_articles(settings, [Upload("news_page.html", NEWS_PAGE.read_bytes())], embedder=embedder)
    remove_article(settings, "news_page.html", embedder=embedder)
    assert list((settings.data_dir / "articles").iterdir()) == []  # swept
    assert summaries(open_index(settings)) == before


def test_the_articles_tab_says_what_it_indexes_before_what_it_added(
    settings: Settings, embedder: Any, tmp_path: Path
) -> None:
    """The tab's status messages in order (the browser may paint a fast upload's first
    message and its last in one frame, so the order is checked here)."""
    from qa.assistant import Assistant
    from qa.library import Library
    from qa.ui_articles import add_messages

    pdf = make_pdf(tmp_path / "orchard report.pdf")
    shown: list[str] = []
    library = Library(Assistant(settings), embedder=embedder)
    messages = list(
        add_messages(
            library, [str(pdf), str(BINARY_PDF)], lambda *a, **kw: shown.append(kw["desc"])
        )
    )
    assert messages[0] == ("Indexing 2 file(s): orchard report.pdf, binary.pdf …", "working")
    last, stage = messages[-1]
    assert stage == "added" and len(messages) == 2
    assert "Added 1 article(s)" in last and "orchard report.pdf" in last
    assert "binary.pdf" in last and "not a PDF" in last
    assert shown[0] == "Loading the embedding model" and shown[-1].startswith("Embedded ")
    nothing = list(add_messages(library, [], print))
    assert nothing == [("Choose one or more files first.", "working")]
    assert "orchard report.pdf" in _ids(settings)
