"""Questions about an article itself (who wrote it, which outlet published it) are answered
from the byline and outlet the index lifted, cited to the line that gives them; a question
about the news that names a writer or an outlet is not one of them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from index.build import build_index
from index.settings import Settings
from qa.answerers.extractive.byline import asked_about
from qa.answerers.extractive.reading import parse_question
from qa.assistant import Assistant
from qa.citations import MARKER


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ("Who wrote the article about the harbour fees?", "author"),
        ("Who is the author of the piece on the new pier?", "author"),
        ("What is the name of the reporter who wrote the story?", "author"),
        ("By whom was the article written?", "author"),
        ("Which outlet published the article about the harbour fees?", "outlet"),
        ("In which publication did the story appear?", "outlet"),
        ("Who wrote the treaty?", None),  # names no text: a question about the news
        ("Which journalist does the article quote?", None),  # quoted, not writing it
        ("Which newspaper did the article cite?", None),
        ("Which experts are quoted in the article?", None),
    ],
)
def test_questions_about_an_article_are_told_from_questions_about_the_news(
    question: str, field: str | None
) -> None:
    from index.annotate import nlp

    assert asked_about(parse_question(nlp()(question))) == field


HARBOUR = (
    "Harbour fees rise for the first time in a decade\n"
    "Dunmore Tidings\n"
    "By Ilse Varga\n"
    "The harbour commission raised berth fees by 12 percent on Monday. Commissioner Oren "
    "Pike said the money would pay for a new pier on the north quay.\n"
)
BRIDGE = (
    "New bridge opens across the river\n"
    "The bridge across the Lanner river opened on Friday after four years of work. It "
    "carries two lanes of traffic and a cycle path, and cost 40 million euros.\n"
)


FERRY = (
    "Island ferry adds a second daily sailing\n"
    "The island ferry will sail twice a day from May. Tickets go on sale in April at the "
    "harbour office.\n"
    "Written by: Tomas Reyne\n"
)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Assistant:
    root = tmp_path_factory.mktemp("byline")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    (corpus / "bridge.txt").write_text(BRIDGE, encoding="utf-8")
    (corpus / "ferry.txt").write_text(FERRY, encoding="utf-8")
    (corpus / "catalog.json").write_text(
        json.dumps({"harbour.txt": {"outlet": "Dunmore Tidings"}}), encoding="utf-8"
    )
    settings = Settings(data_dir=root / "data", corpus=[corpus])
    build_index(settings, embedder=embedder)
    return Assistant(settings)


def _lead(text: str) -> str:
    return MARKER.split(text, maxsplit=1)[0].strip()


@pytest.mark.slow
def test_who_wrote_an_article_is_its_byline_cited_to_that_line(assistant: Assistant) -> None:
    answer = assistant.ask("Who wrote the article about the harbour fees?")
    assert not answer.abstained
    assert _lead(answer.text) == "Ilse Varga"
    assert [c.quote for c in answer.citations] == ["By Ilse Varga"]
    assert answer.citations[0].article_id == "harbour.txt"


@pytest.mark.slow
def test_the_outlet_is_cited_where_the_article_names_it(assistant: Assistant) -> None:
    answer = assistant.ask("Which outlet published the piece about the harbour fees?")
    assert _lead(answer.text) == "Dunmore Tidings"
    assert [c.quote for c in answer.citations] == ["Dunmore Tidings"]


@pytest.mark.slow
def test_an_article_without_a_byline_does_not_say_who_wrote_it(assistant: Assistant) -> None:
    # The article names no writer; the names in other articles are not its author.
    answer = assistant.ask("Who wrote the article about the bridge across the Lanner river?")
    assert answer.abstained, answer.text
    outlet = assistant.ask("Which outlet published the story about the new bridge?")
    assert outlet.abstained, outlet.text


@pytest.mark.slow
def test_a_question_about_the_news_is_answered_from_the_text(assistant: Assistant) -> None:
    answer = assistant.ask("Who said the money would pay for a new pier?")
    assert not answer.abstained
    assert "Pike" in _lead(answer.text), answer.text
    assert "Ilse Varga" not in answer.text


@pytest.mark.slow
def test_a_question_naming_no_article_gets_each_articles_byline_with_its_title(
    assistant: Assistant,
) -> None:
    answer = assistant.ask("Who is the author?")
    assert not answer.abstained
    assert "Ilse Varga [" in answer.text and "(Harbour fees rise" in answer.text
    assert "Tomas Reyne [" in answer.text and "(Island ferry adds" in answer.text
    quotes = {c.quote for c in answer.citations}
    assert quotes == {"By Ilse Varga", "Written by: Tomas Reyne"}
