"""What the default answerer does with the questions a user asks: scoped to one article,
lists of people, typed figures, follow-ups, a long article that is not news, and questions
the articles do not answer.

The default answerer is learned (`qa fit`), not written for these questions. Where it does
not yet do what a user expects, the test says so with a strict xfail naming what it answers
instead: it fails the run once the answerer does better, so the mark cannot outlive the fault.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from index.settings import Settings
from qa.assistant import Assistant
from qa.scope import ArticleRefs


@pytest.fixture(scope="module")
def assistant(seed_settings: Settings) -> Assistant:
    return Assistant(seed_settings)


def _cited_ids(answer: object) -> set[str]:
    return {c.article_id for c in answer.citations}  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="abstains: an open 'what does the article say about X' question is not one SQuAD "
    "teaches the gate",
)
def test_scoped_question_cites_only_that_article(assistant: Assistant) -> None:
    answer = assistant.ask("What does the ICARO Media Group article say about uniforms?")
    assert not answer.abstained
    assert _cited_ids(answer) == {"000_7f6ec0fcc98417b5.txt"}
    assert {p["article_id"] for p in answer.trace.passages} == {"000_7f6ec0fcc98417b5.txt"}


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="abstains on a question asking for several people")
def test_people_questions_list_several_cited_people(assistant: Assistant) -> None:
    answer = assistant.ask("Who are the experts quoted in the ICARO Media Group article?")
    assert not answer.abstained
    names = [part.strip() for part in re.split(r"\s*\[\d+\][;.]?\s*", answer.text) if part]
    assert len(names) >= 2, answer.text
    text = {a: assistant.article(a)["text"] for a in _cited_ids(answer)}
    for name in names:  # every name is in the passage it cites
        assert any(name.split()[-1] in c.quote for c in answer.citations), name
    for c in answer.citations:
        assert text[c.article_id][c.start : c.end] == c.quote


@pytest.mark.slow
def test_size_figures_leave_out_money(assistant: Assistant) -> None:
    answer = assistant.ask("How large is the army of North Korea?")
    assert not answer.abstained
    assert "$" not in answer.text
    assert re.search(r"million", answer.text), answer.text


@pytest.mark.slow
def test_a_follow_up_about_a_numbered_unit_finds_that_unit(assistant: Assistant) -> None:
    history = [
        {"role": "user", "content": "Which North Korean unit is said to be elite?"},
        {"role": "assistant", "content": "The 11th Corps."},
    ]
    answer = assistant.ask("What are its soldiers trained in?", history)
    assert not answer.abstained
    assert "11th Corps" in answer.citations[0].quote, answer.text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # the organisation is the name built on the asked noun, not the first capitalised word
        ("Which university is Edward Howell from?", "University of Oxford"),
        # of two figures in one sentence, the one next to what is asked
        ("How many Russian soldiers are killed or wounded every day?", "1,000"),
        ("How many soldiers is Russia recruiting every month?", "20,000"),
    ],
)
def test_typed_answers_come_first(assistant: Assistant, question: str, expected: str) -> None:
    answer = assistant.ask(question)
    assert not answer.abstained
    head = answer.text.split("[1]")[0]
    assert expected in head, answer.text
    assert expected.split()[-1] in answer.citations[0].quote


@pytest.mark.slow
def test_a_question_of_names_only_is_answered(assistant: Assistant) -> None:
    answer = assistant.ask("What did Kim Hong-ki do?")
    assert not answer.abstained
    assert "Kim Hong-ki" in answer.citations[0].quote


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "How much money does Pyongyang get for every soldier?",
        "How much per soldier?",  # figures of money, not the head counts beside them
    ],
)
def test_money_questions_get_money(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert not answer.abstained
    assert answer.text.startswith("$"), answer.text


@pytest.mark.slow
def test_who_is_a_name_describes_that_person(assistant: Assistant) -> None:
    answer = assistant.ask("Who is Mark Cancian?")
    assert not answer.abstained
    assert "Mark Cancian" in answer.citations[0].quote


DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def railway(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Assistant:
    """A user's own article that is not news: encyclopedic, Markdown, 19th-century dates."""
    from index.build import build_index

    root = tmp_path_factory.mktemp("railway")
    settings = Settings(data_dir=root / "data", corpus=[DATA / "trans_siberian.md"])
    build_index(settings, embedder=embedder)
    return Assistant(settings)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        pytest.param(
            "How long is the Trans-Siberian Railway?",
            "9,289 kilometres",  # a length, with unit
            marks=pytest.mark.xfail(
                strict=True, reason="abstains: 'how long' is mostly a duration in SQuAD"
            ),
        ),
        ("When did construction of the railway begin?", "1891"),  # "began" is "begin"
        pytest.param(
            "Which company owns the line?",
            "Russian Railways",  # a name opening its sentence
            marks=pytest.mark.xfail(
                strict=True,
                reason="leads with 'State company', the apposition holding the asked noun",
            ),
        ),
        ("How many settlers did the railway bring east?", "five million"),  # spelled out
        # "leaves at Ulan-Ude and runs through Ulaanbaatar to Beijing": where it goes
        pytest.param(
            "Where does the Trans-Mongolian line go?",
            "Beijing",
            marks=pytest.mark.xfail(
                strict=True, reason="leads with 'Ulan-Ude', where the line leaves"
            ),
        ),
    ],
)
def test_a_long_article_that_is_not_news(railway: Assistant, question: str, expected: str) -> None:
    answer = railway.ask(question)
    assert not answer.abstained, answer.text
    assert expected in answer.text.split("[1]")[0], answer.text
    assert expected.split()[-1] in answer.citations[0].quote


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "How many passengers use the railway each year?",
        "What is the ticket price from Moscow to Vladivostok?",
        pytest.param(
            "When did Sergei Witte die?",
            marks=pytest.mark.xfail(
                strict=True, reason="answers '1892 to 1903', the years he served as minister"
            ),
        ),
    ],
)
def test_a_long_article_that_is_not_news_abstains(railway: Assistant, question: str) -> None:
    answer = railway.ask(question)
    assert answer.abstained and not answer.citations, answer.text


@pytest.mark.slow
def test_a_chat_follow_up_leans_on_the_answer_lead_not_its_quotes(assistant: Assistant) -> None:
    first = assistant.ask("Which South Korean official summoned the Russian ambassador?")
    history = [
        {"role": "user", "content": "Which South Korean official summoned the Russian ambassador?"},
        {"role": "assistant", "content": first.text},
    ]
    answer = assistant.ask("What did he urge Russia to do?", history)
    assert "Kim Hong-ki" in answer.trace.query
    assert "withdrawal" in answer.citations[0].quote, answer.text
    # a question that stands alone is searched as asked, whatever came before
    alone = assistant.ask("Where are the North Korean troops training?", history)
    assert alone.trace.query == "Where are the North Korean troops training?"


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "Which experts are quoted about Mariupol?",  # a place the corpus never names
        "Where was Maria Zakharova born?",  # a typed question about an act never mentioned
        "How long did Jim Hoare live in Pyongyang?",
        "Who is the mayor of Vladivostok?",  # a place the articles name, a role they never use
        pytest.param(
            "How many North Korean troops died in Ukraine?",
            marks=pytest.mark.xfail(strict=True, reason="answers with the troop figures"),
        ),
        "How much did Russia pay for the artillery shells?",  # a figure, but not money
        # each name is in the corpus, but not in any article that speaks of the topic
        "What did Kirby say about the satellite images?",
        "What did Ukraine's president say about China?",
    ],
)
def test_questions_the_articles_do_not_answer_abstain(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.abstained and not answer.citations, answer.text


class _CountingEncoder:
    """The real query encoder; counts the sentences encoded for passages."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sentences = 0

    def embed_query(self, text: str) -> Any:
        return self.inner.embed_query(text)

    def embed_many(self, texts: list[str]) -> Any:
        self.sentences += len(texts)
        return self.inner.embed_many(texts)


class _Resources:
    """What an answerer needs (`qa.answerers.Resources`), from a real Assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.encoder = _CountingEncoder(assistant.embedder())

    @property
    def settings(self) -> Settings:
        return self.assistant.settings

    def snapshot(self) -> Any:
        return self.assistant.snapshot()

    def embedder(self) -> _CountingEncoder:
        return self.encoder

    def references(self) -> ArticleRefs:
        return self.assistant.references()

    def answerer(self, name: str | None = None) -> Any:
        return self.assistant.answerer(name)


def _gold_questions(n: int) -> list[str]:
    import json

    gold = Path(__file__).resolve().parent.parent / "eval" / "gold.jsonl"
    rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line]
    return [r["question"] for r in rows if not r.get("history")][:n]


@pytest.mark.slow
def test_passage_sentences_are_read_from_the_index_not_encoded(
    seed_settings: Settings, tmp_path: Path
) -> None:
    import shutil

    from index.annotate import SENTENCE_VECTORS
    from index.errors import IndexMissingError
    from index.store import current_generation
    from qa.answerers.extractive import ExtractiveAnswerer

    stored = _Resources(Assistant(seed_settings))
    for question in _gold_questions(12):
        hits = stored.assistant.search(question, k=12)
        ExtractiveAnswerer(stored).answer(question, hits, [])
    assert stored.encoder.sentences == 0
    # An index built before sentence vectors were stored is refused with what to do.
    shutil.copytree(seed_settings.data_dir, tmp_path / "data")
    older = seed_settings.model_copy(update={"data_dir": tmp_path / "data"})
    gen = current_generation(older)
    assert gen is not None
    (gen / SENTENCE_VECTORS).unlink()
    encoded = _Resources(Assistant(older))
    question = _gold_questions(2)[1]  # the first asks for an outlet: the index's metadata
    with pytest.raises(IndexMissingError, match="qa index --rebuild"):
        ExtractiveAnswerer(encoded).answer(question, encoded.assistant.search(question, k=12), [])
