"""LangChain's own standard retriever suite, run against NewsRetriever on the seed index."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from index.settings import Settings
from qa.retriever import NewsRetriever

pytestmark = pytest.mark.slow


class TestNewsRetriever(RetrieversIntegrationTests):
    _settings: Settings | None = None

    @pytest.fixture(autouse=True)
    def _index(self, seed_settings: Settings) -> None:
        type(self)._settings = seed_settings

    @property
    def retriever_constructor(self) -> type[NewsRetriever]:
        return NewsRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"settings": self._settings}

    @property
    def retriever_query_example(self) -> str:
        return "North Korean troops in Russia"


def test_documents_carry_offsets_into_the_article(seed_settings: Settings) -> None:
    docs = NewsRetriever(k=2, settings=seed_settings).invoke("fake IDs")
    assert len(docs) == 2
    for d in docs:
        text = (seed_settings.corpus[0] / d.metadata["article_id"]).read_text()
        assert text[d.metadata["start"] : d.metadata["end"]] == d.page_content
