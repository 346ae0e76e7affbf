"""The articles of the live index, for the API, the UI and `qa articles`: list, get, add, remove.

A thin layer over `index.articles` that shares the process's Assistant (for reading) and
one embedding model (for indexing uploads, loaded on the first upload).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from index.articles import AddReport, Upload, add_articles, remove_article, summaries

if TYPE_CHECKING:
    from index.build import Progress
    from index.embed import Embedder
    from qa.assistant import Assistant


class Library:
    def __init__(self, assistant: Assistant, embedder: Embedder | None = None) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self._embedder = embedder
        self._lock = threading.Lock()

    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from index.embed import SentenceTransformerEmbedder

                embedder = SentenceTransformerEmbedder(
                    self.settings.model_dir(), self.settings.embed_batch_size
                )
                embedder.embed(["load the model now"])  # it loads on first use
                self._embedder = embedder
            return self._embedder

    def list(self) -> list[dict[str, Any]]:
        return summaries(self.assistant.snapshot())

    def get(self, article_id: str) -> dict[str, Any]:
        return self.assistant.article(article_id)

    def add(self, uploads: Sequence[Upload], progress: Progress | None = None) -> AddReport:
        return add_articles(self.settings, uploads, embedder=self.embedder(), progress=progress)

    def remove(self, article_id: str) -> dict[str, Any]:
        return remove_article(self.settings, article_id, embedder=self.embedder())
