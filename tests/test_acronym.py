"""'What does X stand for?' is answered with the name the text spells the abbreviation out as,
beside it in brackets; when no passage does, with "The articles don't say", not a guess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from index import annotate
from index.build import build_index
from index.settings import Settings
from qa.answerers.extractive.acronym import expand_in
from qa.answerers.extractive.reading import Sentence, parse_question
from qa.assistant import Assistant
from qa.citations import MARKER


@pytest.mark.parametrize(
    ("question", "expands"),
    [
        ("What does the VMI stand for?", "VMI"),
        ("What is VMI short for?", "VMI"),
        ("What does the abbreviation VMI mean?", "VMI"),
        ("What is the full name of the VMI?", "VMI"),
        ("What does VMI refer to?", "VMI"),
        ("What did the VMI say about the harbour?", ""),  # about it, not its name
        ("Who founded the VMI?", ""),
        ("What does the VMI stand to gain from the study?", ""),  # "stand to gain"
        ("What does the VMI report mean for the harbour?", ""),
        ("What does the VMI stand for, and the CHM?", ""),  # which one is meant
    ],
)
def test_a_question_asking_to_spell_an_abbreviation_out_is_told(
    question: str, expands: str
) -> None:
    assert parse_question(annotate.nlp()(question)).expands == expands


def _sentence(text: str) -> tuple[Sentence, Any]:
    note = annotate.from_doc(annotate.nlp()(text), 0)
    sentence = Sentence(0, 0, len(text), note.tokens, note.entities, note.noun_chunks, 0.0, 0.0)

    def word(s: Sentence, i: int) -> str:
        return text[s.tokens[i][0] : s.tokens[i][1]]

    return sentence, word


@pytest.mark.parametrize(
    ("text", "acronym", "name"),
    [
        (
            "Ines Calder of the Velmar Maritime Institute (VMI) spoke.",
            "VMI",
            "Velmar Maritime Institute",
        ),
        ("The VMI (Velmar Maritime Institute) spoke first.", "VMI", "Velmar Maritime Institute"),
        (
            "The Council of Harbour Masters (CHM) met on Monday.",
            "CHM",
            "Council of Harbour Masters",
        ),
        ("The Dunmore Pilots’ Association (DPA) agreed.", "DPA", "Dunmore Pilots’ Association"),
        ("It joined the Front Islamique de Salut (FIS) early.", "FIS", "Front Islamique de Salut"),
        (
            "Its rival was the FIS or Front Islamique de Salut in Algeria.",
            "FIS",
            "Front Islamique de Salut",
        ),
        ("The Velmar Maritime Institute, or VMI, spoke.", "VMI", "Velmar Maritime Institute"),
        ("The VMI or the harbour team said so.", "VMI", None),
        ("The VMI said so on Monday.", "VMI", None),  # never spelled out
        ("The harbour team (VMI) said so.", "VMI", None),  # words that do not spell it
    ],
)
def test_the_name_beside_the_brackets_is_the_one_whose_initials_spell_it(
    text: str, acronym: str, name: str | None
) -> None:
    sentence, word = _sentence(text)
    found = expand_in(sentence, acronym, word)
    if name is None:
        assert found is None
    else:
        assert found is not None
        first, last = found
        assert text[sentence.tokens[first][0] : sentence.tokens[last][1]] == name


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Assistant:
    root: Path = tmp_path_factory.mktemp("acronym")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "harbour.txt").write_text(
        "Harbour study finds silt rising\n"
        "Researchers at the Velmar Maritime Institute (VMI) found that silt in the harbour "
        "rose by a third in ten years. The HCA will dredge the channel in May.\n",
        encoding="utf-8",
    )
    settings = Settings(data_dir=root / "data", corpus=[corpus])
    build_index(settings, embedder=embedder)
    return Assistant(settings)


@pytest.mark.slow
def test_an_abbreviation_is_answered_with_its_name_cited_to_its_sentence(
    assistant: Assistant,
) -> None:
    answer = assistant.ask("What does VMI stand for?")
    assert MARKER.split(answer.text, maxsplit=1)[0].strip() == "Velmar Maritime Institute"
    assert "(VMI)" in answer.citations[0].quote


@pytest.mark.slow
def test_an_abbreviation_the_text_never_spells_out_is_not_guessed(assistant: Assistant) -> None:
    answer = assistant.ask("What does HCA stand for?")
    assert answer.abstained, answer.text
