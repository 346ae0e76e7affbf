"""newsqa's hybrid retrieval as a LangChain retriever, for use in any LangChain chain."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from index.settings import Settings


class NewsRetriever(BaseRetriever):
    """Dense + BM25 retrieval fused by reciprocal rank, de-duplicated, diversified.

    `NewsRetriever(k=3).invoke("fake IDs")` returns 3 `Document`s whose metadata hold the
    article id, title, character offsets and scores.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    k: int = Field(default=5, ge=1, description="Number of passages to return.")
    settings: Settings | None = Field(default=None, description="Defaults to QA_* settings.")
    article_ids: list[str] | None = Field(default=None, description="Only these articles.")
    _assistant: Any = PrivateAttr(default=None)

    def _get_assistant(self) -> Any:
        if self._assistant is None:
            from qa.assistant import Assistant

            self._assistant = Assistant(self.settings or Settings())
        return self._assistant

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = int(kwargs.get("k", self.k))
        hits = self._get_assistant().search(query, k=k, article_ids=self.article_ids)
        return [
            Document(
                id=h.chunk_id,
                page_content=h.text,
                metadata={
                    "article_id": h.article_id,
                    "title": h.title,
                    "start": h.start,
                    "end": h.end,
                    "score": h.score,
                },
            )
            for h in hits
        ]
