"""The extractive answerer's parts: index-time annotation, SQuAD scoring, `qa fit` and
`qa eval --squad` on a small SQuAD file the tests write, and the replies it composes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from eval.squad import best_scores, compute_exact, compute_f1, lead, read_squad
from index import annotate
from index.build import build_index
from index.settings import Settings
from index.store import open_index
from qa.answerers.extractive.reading import Sentence
from qa.assistant import Assistant

# A small SQuAD 2.0 file: three made-up articles, answerable and unanswerable questions.
SAMPLE = {
    "version": "v2.0",
    "data": [
        {
            "title": "Lake_Orvan",
            "paragraphs": [
                {
                    "context": "Lake Orvan is a freshwater lake in the northern hills. The lake "
                    "was dammed in 1911 by the engineer Marta Sollen. It covers 42 square "
                    "kilometres and feeds the river Kell.",
                    "qas": [
                        {
                            "id": "o1",
                            "question": "Who dammed Lake Orvan?",
                            "answers": [{"text": "Marta Sollen", "answer_start": 96}],
                            "is_impossible": False,
                        },
                        {
                            "id": "o2",
                            "question": "In what year was Lake Orvan dammed?",
                            "answers": [{"text": "1911", "answer_start": 75}],
                            "is_impossible": False,
                        },
                        {
                            "id": "o3",
                            "question": "Who drained Lake Orvan in 1911?",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        },
        {
            "title": "Brasswick_Mill",
            "paragraphs": [
                {
                    "context": "Brasswick Mill was a cotton mill opened in 1820. At its peak "
                    "it employed 600 workers. The mill closed in 1958 after a fire.",
                    "qas": [
                        {
                            "id": "b1",
                            "question": "How many workers did Brasswick Mill employ at its peak?",
                            "answers": [{"text": "600", "answer_start": 79}],
                            "is_impossible": False,
                        },
                        {
                            "id": "b2",
                            "question": "Why did Brasswick Mill open in 1958?",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        },
        {
            "title": "Tessel_Bridge",
            "paragraphs": [
                {
                    "context": "The Tessel Bridge crosses the river Kell at Dunmore. It was "
                    "designed by Iris Haldane and opened to traffic in 1934.",
                    "qas": [
                        {
                            "id": "t1",
                            "question": "Who designed the Tessel Bridge?",
                            "answers": [{"text": "Iris Haldane", "answer_start": 76}],
                            "is_impossible": False,
                        },
                        {
                            "id": "t2",
                            "question": "Which river does the Tessel Bridge cross?",
                            "answers": [{"text": "the river Kell", "answer_start": 26}],
                            "is_impossible": False,
                        },
                    ],
                }
            ],
        },
    ],
}


# -- SQuAD's normalisation and the reply's lead ------------------------------------------
@pytest.mark.parametrize(
    ("gold", "pred", "em", "f1"),
    [
        ("The Cat", "cat", 1, 1.0),
        ("the binary alphabet", "binary alphabet.", 1, 1.0),
        ("a single output", "single output per input", 0, 2 * (2 / 4 * 1) / (2 / 4 + 1)),
        ("1911", "in 1911", 0, 2 * 0.5 / 1.5),
        ("", "", 1, 1.0),  # unanswerable, abstained
        ("", "1911", 0, 0.0),  # unanswerable, answered
    ],
)
def test_squad_scores_follow_the_official_normalisation(
    gold: str, pred: str, em: int, f1: float
) -> None:
    assert compute_exact(gold, pred) == em
    assert compute_f1(gold, pred) == pytest.approx(f1)


def test_the_lead_is_the_text_before_the_first_marker() -> None:
    assert lead("Marta Sollen [1]. The lake was dammed in 1911 by ... [1]", False) == "Marta Sollen"
    assert lead("The articles don't say.", True) == ""
    assert best_scores((), lead("The articles don't say.", True)) == (1.0, 1.0)
    assert best_scores(("Marta Sollen",), "Sollen") == (0.0, pytest.approx(2 / 3))


def test_read_squad_keeps_articles_and_unanswerable_questions(tmp_path: Path) -> None:
    path = tmp_path / "sample.json"
    path.write_text(json.dumps(SAMPLE))
    articles, questions = read_squad(path)
    assert sorted(articles) == ["brasswick_mill.txt", "lake_orvan.txt", "tessel_bridge.txt"]
    assert articles["lake_orvan.txt"].startswith("Lake Orvan\n\n")
    assert [q.id for q in questions if not q.answers] == ["o3", "b2"]
    assert next(q for q in questions if q.id == "o1").article == "lake_orvan.txt"


# -- annotation at index time ------------------------------------------------------------
@pytest.mark.slow
def test_annotations_cover_every_chunk_with_exact_offsets(seed_settings: Settings) -> None:
    snap = open_index(seed_settings)
    notes = snap.annotations()
    assert len(notes.chunks) == len(snap.chunks)
    labels = set()
    for chunk, note in zip(snap.chunks, notes.chunks, strict=True):
        text = snap.articles[chunk.article_id]["text"]
        assert note.tokens, chunk.id
        for start, end, *_ in note.tokens:
            assert chunk.start <= start < end <= chunk.end
            assert text[start:end].strip() == text[start:end]
        for start, end, label in note.entities:
            assert chunk.start <= start < end <= chunk.end and text[start:end].strip()
            labels.add(label)
        for start, end in note.noun_chunks:
            assert chunk.start <= start < end <= chunk.end
        vectors = notes.sentence_vectors(snap.by_id[chunk.id])
        assert vectors.shape == (len(chunk.sentences), 384)
    assert {"PERSON", "GPE", "DATE"} <= labels


@pytest.mark.slow
def test_a_rebuild_parses_only_the_chunks_that_changed(
    corpus: Path, tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "data", corpus=[corpus])
    build_index(settings, embedder=embedder)
    parsed: list[str] = []
    real = annotate.annotate

    def spy(chunks, previous):  # type: ignore[no-untyped-def]
        parsed.extend(c.id for c in chunks if c.id not in previous)
        return real(chunks, previous)

    monkeypatch.setattr(annotate, "annotate", spy)
    (corpus / "extra.txt").write_text("Extra news\n\nThe ferry to Ostby sailed at dawn.\n")
    report = build_index(settings, embedder=embedder)
    assert "annotating" in report.summary()
    snap = open_index(settings)
    new = [c.id for c in snap.chunks if c.article_id == "extra.txt"]
    assert new and parsed == new
    ents = {
        snap.articles["extra.txt"]["text"][s:e]
        for s, e, _ in snap.annotations().chunks[snap.by_id[new[0]]].entities
    }
    assert "Ostby" in ents


@pytest.mark.slow
def test_a_question_parses_only_the_tags_of_the_passages_it_reads(
    seed_settings: Settings,
) -> None:
    from qa.answer import Retrieved

    assistant = Assistant(seed_settings)
    snap = assistant.snapshot()
    tags = snap.annotations().chunks
    assert len(tags) == len(snap.chunks) and not tags._parsed  # nothing parsed yet
    events = list(assistant.stream("Who is the spokesperson?", answerer="extractive"))
    hits = next(e for e in events if isinstance(e, Retrieved)).hits
    read = {snap.by_id[h.chunk_id] for h in hits}
    assert tags._parsed and set(tags._parsed) <= read
    # The lemma counts stored at index time are those of the tags.
    chunks, df = snap.annotations().lemma_counts()
    assert chunks == len(tags)
    assert df == annotate.lemma_counts([tags[i] for i in range(len(tags))])


@pytest.mark.slow
def test_a_damaged_annotation_line_says_to_rebuild(corpus: Path, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from index.errors import IndexCorruptError

    settings = Settings(data_dir=tmp_path / "data", corpus=[corpus])
    build_index(settings, embedder=embedder)
    snap = open_index(settings)
    path = snap.gen_dir / annotate.ANNOTATIONS
    data = bytearray(path.read_bytes())
    data[1] = ord("#")  # the first line is no longer JSON; its length is unchanged
    path.write_bytes(bytes(data))
    tags = open_index(settings).annotations().chunks
    assert tags[1].tokens  # the other chunks still read
    with pytest.raises(IndexCorruptError, match="qa index --rebuild"):
        tags[0]
    path.write_bytes(bytes(data[:-5]))  # truncated: the line index no longer matches
    with pytest.raises(IndexCorruptError, match="qa index --rebuild"):
        _ = open_index(settings).annotations().chunks


# -- qa fit and qa eval --squad on the sample --------------------------------------------
@pytest.fixture(scope="module")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("squad") / "sample.json"
    path.write_text(json.dumps(SAMPLE))
    return path


@pytest.mark.slow
def test_fit_is_reproducible_and_records_its_inputs(
    sample_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.cli import main

    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "unused"))
    outs = [tmp_path / "one" / "model.json", tmp_path / "two" / "model.json"]
    for out in outs:
        assert main(["fit", "--squad", str(sample_file), "--out", str(out)]) == 0
    first, second = (p.read_bytes() for p in outs)
    assert first == second
    model = json.loads(first)
    assert model["seed"] == 0
    assert model["data"][0]["file"] == "sample.json" and len(model["data"][0]["sha256"]) == 64
    assert model["features"]["span"] and model["features"]["answerable"]
    cv = model["cross_validated"]
    assert set(cv["per_article"]) == {"lake_orvan.txt", "brasswick_mill.txt", "tessel_bridge.txt"}
    assert 0 <= cv["overall"]["f1"] <= 1
    assert (outs[0].with_suffix(".report") / "curve.png").stat().st_size > 0

    from qa.answerers.extractive.model import load_model

    assert load_model(outs[0]).threshold == model["answerable"]["threshold"]


@pytest.mark.slow
def test_fit_also_reads_each_answerable_question_without_its_answer(
    sample_file: Path, tmp_path: Path
) -> None:
    from eval.metrics import contains
    from qa.fit import examples_from_squad

    settings = Settings(data_dir=tmp_path / "unused")
    examples = examples_from_squad(settings, sample_file, tmp_path, log=lambda _: None)
    asked = {ex.id: ex for ex in examples if not ex.removed}
    gone = [ex for ex in examples if ex.removed]
    assert len(asked) == 7 and gone
    for ex in gone:
        original = asked[ex.id.removesuffix("/removed")]
        assert original.answers and not ex.answers and ex.group == original.group
        assert len(ex.reading.sentences) < len(original.reading.sentences)
        # Every sentence left is one of the original's, and none says the answer.
        assert {(s.hit, s.start) for s in ex.reading.sentences} < {
            (s.hit, s.start) for s in original.reading.sentences
        }
        assert not any(contains(t, a) for t in ex.texts for a in original.answers)
        assert len(ex.texts) == len(ex.reading.features) == len(ex.f1)


@pytest.mark.slow
def test_fit_reports_abstention_without_the_answer_and_can_fit_on_it(
    sample_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.cli import main

    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "unused"))
    models = {}
    for weight in ("0", "1"):
        out = tmp_path / weight / "model.json"
        args = ["fit", "--squad", str(sample_file), "--out", str(out), "--absent-weight", weight]
        assert main(args) == 0
        models[weight] = json.loads(out.read_text())
        absent = models[weight]["cross_validated"]["absent"]
        assert absent["questions"] == models[weight]["absent_questions"] > 0
        assert 0 <= absent["abstained"] <= 1
        assert models[weight]["questions"] == 7  # the figures are the questions' own
        assert "read without" in (out.with_suffix(".report") / "report.md").read_text()
    assert (models["0"]["absent_weight"], models["1"]["absent_weight"]) == (0.0, 1.0)
    bad = ["fit", "--squad", str(sample_file), "--out", str(tmp_path / "bad.json")]
    assert main([*bad, "--absent-weight", "-1"]) == 2
    assert not (tmp_path / "bad.json").exists()
    # Fitted on them, the abstention model learns from more unanswerable rows.
    assert models["0"]["answerable"] != models["1"]["answerable"]
    assert models["0"]["span"] == models["1"]["span"]  # the span model never sees them


@pytest.mark.slow
def test_eval_squad_writes_lead_scores_per_article(sample_file: Path, tmp_path: Path) -> None:
    from qa.cli import main

    out = tmp_path / "report"
    assert (
        main(["eval", "--squad", str(sample_file), "--answerer", "extractive", "--out", str(out)])
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    s = results["summary"]
    assert (s["HasAns_total"], s["NoAns_total"]) == (5, 2)
    assert set(results["per_article"]) == {
        "lake_orvan.txt",
        "brasswick_mill.txt",
        "tessel_bridge.txt",
    }
    for row in results["rows"]:
        assert row["lead"] == lead(row["reply"], row["abstained"])
        assert 0 <= row["f1"] <= 1
    assert "HasAns F1" in (out / "report.md").read_text()
    assert (out / "squad.png").stat().st_size > 0


# -- the replies ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def assistant(seed_settings: Settings) -> Assistant:
    return Assistant(seed_settings)


@pytest.mark.slow
def test_a_reply_leads_with_a_cited_span_of_its_sentence(assistant: Assistant) -> None:
    answer = assistant.ask("Which university is Edward Howell from?", answerer="extractive")
    assert not answer.abstained
    short = lead(answer.text, False)
    assert short and answer.text.startswith(short + " [1]")
    cited = answer.citations[0]
    text = assistant.snapshot().articles[cited.article_id]["text"]
    assert cited.quote == text[cited.start : cited.end]
    assert short.lower() in cited.quote.lower()
    # The gate's probability is the answer's confidence: at or above the fitted threshold
    # when it answers, in the API's dict too.
    from qa.answerers.extractive.model import load_model

    threshold = load_model(None).threshold
    assert answer.confidence is not None and threshold <= answer.confidence <= 1.0
    assert answer.to_dict()["confidence"] == answer.confidence


@pytest.mark.slow
def test_the_answerer_reads_an_article_it_was_not_fitted_on(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "trans_siberian.md", corpus)
    settings = Settings(data_dir=tmp_path / "data", corpus=[corpus])
    build_index(settings, embedder=embedder)
    answer = Assistant(settings).ask(
        "Who directed the construction work on the Trans-Siberian Railway?", answerer="extractive"
    )
    assert not answer.abstained
    assert "sergei witte" in lead(answer.text, False).lower()


def _corpus(tmp_path: Path, articles: dict[str, str], embedder, **model: object) -> Settings:  # type: ignore[no-untyped-def]
    """The articles indexed in a scratch folder; `model`: changes to the packaged model file
    (threshold=0.0 to look at a reply's form, not the decision to answer)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in articles.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", corpus=[corpus])
    build_index(settings, embedder=embedder)
    if model:
        settings = settings.model_copy(
            update={"extractive_model": _packaged_with(tmp_path, **model)}
        )
    return settings


@pytest.mark.slow
def test_figures_that_differ_between_articles_are_listed_with_their_sources(
    tmp_path: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    settings = _corpus(
        tmp_path,
        {
            "board.md": "# Water board report on the Orvan dam\n\nThe water board said the "
            "Orvan reservoir holds 40 million cubic metres of water. The dam was finished "
            "in 1911 and is inspected every spring.\n",
            "council.md": "# Council questions the Orvan figures\n\nThe regional council "
            "said the Orvan reservoir holds 55 million cubic metres of water. The council "
            "meets again in May to discuss the dam.\n",
        },
        embedder,
    )
    answer = Assistant(settings).ask(
        "How much water does the Orvan reservoir hold?", answerer="extractive"
    )
    assert not answer.abstained and answer.conflict
    assert "40 million" in answer.text and "55 million" in answer.text
    assert {c.article_id for c in answer.citations} == {"board.md", "council.md"}
    # Its short form (what careful mode proposes to the verifier) names both, without markers.
    assert answer.short and "40 million" in answer.short and "55 million" in answer.short
    assert "[" not in answer.short


@pytest.mark.slow
def test_a_question_asking_for_several_lists_them(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = _corpus(
        tmp_path,
        {
            "bridge.md": "# The Tessel Bridge\n\nThe Tessel Bridge crosses the river Kell at "
            "Dunmore. The engineers Iris Haldane, Tomas Berg and Lena Voss designed it in "
            "1931. It opened to traffic in 1934 and carries a railway line.\n",
        },
        embedder,
    )
    answer = Assistant(settings).ask(
        "Which engineers designed the Tessel Bridge?", answerer="extractive"
    )
    assert not answer.abstained and not answer.conflict
    listed = lead(answer.text, False)
    assert listed  # the first name leads the reply
    names = [
        n for n in ("Iris Haldane", "Tomas Berg", "Lena Voss") if n in answer.text.split(".")[0]
    ]
    assert len(names) >= 2, answer.text
    assert answer.short and all(n in answer.short for n in names)
    assert answer.alternatives() == ()  # a list has no single next-best span


@pytest.mark.slow
def test_a_single_span_reply_carries_its_next_best_candidates(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = _corpus(
        tmp_path,
        {
            "bridge.md": "# The Tessel Bridge\n\nThe Tessel Bridge crosses the river Kell at "
            "Dunmore. Work on it began in 1931 under the engineer Iris Haldane. It opened to "
            "traffic in 1934 and was widened in 1962.\n",
        },
        embedder,
        threshold=0.0,
    )
    answer = Assistant(settings).ask("When did the Tessel Bridge open?", answerer="extractive")
    assert not answer.abstained and answer.short
    assert 1 <= len(answer.alternatives()) <= 2
    said = [answer.short.lower()]
    for alt in answer.alternatives():
        # Each is a reply of its own: a cited span that says something other than the ones
        # before it, not the question's words.
        assert not alt.abstained and alt.citations and alt.short
        # It leads with its span, capitalised as a reply's first word is.
        assert alt.text.casefold().startswith(alt.short.casefold()) and "[1]" in alt.text
        assert all(alt.short.lower() not in s and s not in alt.short.lower() for s in said)
        assert alt.short.lower() not in "when did the tessel bridge open"
        said.append(alt.short.lower())


def test_a_listing_is_scored_on_precision_and_recall() -> None:
    from qa.fit import set_f1

    ex = SimpleNamespace(
        texts=["Iris Haldane", "Dunmore", "Tomas Berg"], answers=("Haldane", "Berg", "Voss")
    )
    assert set_f1(ex, [0, 2]) == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))  # type: ignore[arg-type]
    assert set_f1(ex, [0, 1, 2]) == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3))  # type: ignore[arg-type]
    assert set_f1(ex, [1]) == 0.0  # type: ignore[arg-type]


def _packaged_with(tmp_path: Path, **changes: object) -> Path:
    from dataclasses import replace

    from qa.answerers.extractive.model import load_model

    path = tmp_path / "model.json"
    model = replace(load_model(None), **changes)  # type: ignore[arg-type]
    path.write_text(json.dumps(model.to_json()), encoding="utf-8")
    return path


def test_a_model_file_keeps_its_set_margin_and_sentence_types(tmp_path: Path) -> None:
    from qa.answerers.extractive.model import load_model

    path = _packaged_with(tmp_path, set_margin=1.5, sentence_types=("how", "why"))
    model = load_model(path)
    assert (model.set_margin, model.sentence_types) == (1.5, ("how", "why"))


def test_the_span_ranker_reads_its_own_columns_and_survives_a_round_trip() -> None:
    import lightgbm
    import numpy as np

    from qa.answerers.extractive.model import Ranker, span_from_json

    # Ten questions of four spans each: the one with "good" set is the answer.
    rng = np.random.default_rng(0)
    x = rng.random((40, 2))
    x[::4, 0] += 1.0
    y = np.zeros(40, dtype=int)
    y[::4] = 2
    params = {"objective": "lambdarank", "min_data_in_leaf": 2, "verbose": -1, "num_threads": 1}
    booster = lightgbm.train(params, lightgbm.Dataset(x, y, group=[4] * 10), num_boost_round=20)
    ranker = Ranker(("good", "noise"), booster.model_to_string())
    rows = [{"noise": 0.5, "unknown": 3.0}, {"good": 1.5, "noise": 0.5}]
    scores = ranker.scores(rows)
    assert scores[1] > scores[0]  # a name the model was not fitted on changes nothing
    assert ranker.scores([]) == []
    again = span_from_json(json.loads(json.dumps(ranker.to_json())))
    assert again.scores(rows) == scores


def test_a_model_file_of_the_first_format_still_reads(tmp_path: Path) -> None:
    from qa.answerers.extractive.model import Linear, load_model

    path = tmp_path / "old.json"
    linear = {"bias": 0.0, "weights": {"c_len": -1.0}}
    old = {"format": "newsqa-learned-answerer/1", "span": linear}
    old["answerable"] = {**linear, "threshold": 0.5}
    path.write_text(json.dumps(old))
    model = load_model(path)
    assert isinstance(model.span, Linear)
    assert model.span.scores([{"c_len": 1.0}, {"c_len": 2.0}]) == [-1.0, -2.0]


@pytest.mark.slow
def test_the_types_the_model_names_are_answered_with_the_sentence(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = _corpus(
        tmp_path,
        {
            "mill.md": "# Brasswick Mill\n\nBrasswick Mill was a cotton mill opened in 1820. "
            "The mill closed in 1958 because a fire destroyed its weaving sheds. Its "
            "chimney still stands.\n",
        },
        embedder,
    )
    question = "Why did Brasswick Mill close in 1958?"
    by_sentence = settings.model_copy(
        update={
            "extractive_model": _packaged_with(tmp_path, sentence_types=("why",), threshold=0.0)
        }
    )
    answer = Assistant(by_sentence).ask(question, answerer="extractive")
    assert not answer.abstained
    quote = answer.citations[0].quote
    assert "fire destroyed" in quote and answer.text == f"{quote} [1]"
    (tmp_path / "other").mkdir()
    by_span = settings.model_copy(
        update={
            "extractive_model": _packaged_with(tmp_path / "other", sentence_types=(), threshold=0.0)
        }
    )
    short = lead(Assistant(by_span).ask(question, answerer="extractive").text, False)
    assert short and len(short) < len(quote)


@pytest.mark.parametrize(
    ("question", "qtype", "asked", "plural"),
    [
        # The small parser makes "Which" the subject here; the noun it determines still counts.
        ("Which outside experts are quoted in the report?", "which", "expert", True),
        ("What weapons did the army send?", "what", "weapon", True),
        ("Which country won the cup?", "which", "country", False),
        ("Are the engineers still working on the bridge?", "yes/no", None, False),
    ],
)
def test_a_question_says_what_it_asks_for(
    question: str, qtype: str, asked: str | None, plural: bool
) -> None:
    from qa.answerers.extractive.reading import parse_question

    parsed = parse_question(annotate.nlp()(question))
    assert parsed.qtype == qtype
    assert (parsed.wh_nouns[0] if parsed.wh_nouns else None) == asked
    assert parsed.plural is plural


@pytest.mark.slow
def test_spans_know_acronyms_and_skip_bracketed_placeholders(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from qa.answerers.extractive.pipeline import Reader, span_text

    settings = _corpus(
        tmp_path,
        {
            "dam.md": "# The Kell dam\n\nThe Kell River Authority (KRA) manages the dam. The "
            "dam reopened on [date to be confirmed] after repairs.\n",
        },
        embedder,
    )
    assistant = Assistant(settings)
    snap = assistant.snapshot()
    reader = Reader(settings.extractive_sentences)

    def features(question: str) -> dict[str, dict[str, float]]:
        hits = assistant.search(question)
        parsed = reader.question(question)
        reading = reader.read(snap, parsed, assistant.embedder().embed_query(question), hits)
        return {
            span_text(snap, hits[s.hit].article_id, c): f
            for (s, c), f in zip(reading.spans, reading.features, strict=True)
        }

    acro = features("What does KRA stand for?")
    assert acro["Kell River Authority"]["c_acro"] == 1.0
    assert not any(f["c_acro"] for text, f in acro.items() if "Authority" not in text)
    # A question that only names the abbreviation: its spelled-out name restates the question.
    named = features("What does the KRA manage?")
    assert named["Kell River Authority"]["c_acro"] == 0.0
    assert named["Kell River Authority"]["c_allq"] == 1.0
    assert named["Kell River Authority"]["c_inq"] == 1.0
    # An editor's placeholder is no candidate: the reply never states "date to be confirmed"
    dated = features("When did the dam reopen?")
    assert dated and not any("confirmed" in text or "[" in text for text in dated), dated


def test_markup_is_trimmed_off_candidate_spans(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from qa.answerers.extractive.pipeline import Reader, span_text

    settings = _corpus(
        tmp_path,
        {"dam.txt": "### Kell Dam Reopens After Repairs\nThe Kell dam reopened in May.\n"},
        embedder,
    )
    assistant = Assistant(settings)
    snap = assistant.snapshot()
    reader = Reader(settings.extractive_sentences)
    question = "Which dam reopened after repairs?"
    hits = assistant.search(question)
    reading = reader.read(
        snap, reader.question(question), assistant.embedder().embed_query(question), hits
    )
    texts = {span_text(snap, hits[s.hit].article_id, c) for s, c in reading.spans}
    assert "Kell Dam" in texts or "Kell Dam Reopens" in texts, texts
    assert not any(t.startswith("#") or t.endswith("#") for t in texts), texts


@pytest.mark.slow
def test_a_yes_no_question_is_answered_with_its_sentence(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = _corpus(
        tmp_path,
        {
            "bridge.md": "# The Tessel Bridge\n\nThe Tessel Bridge crosses the river Kell. "
            "It was closed in March for repairs to its deck. Engineers say it will not "
            "reopen before the autumn.\n",
        },
        embedder,
        threshold=0.0,  # this is about the reply's form, not the decision to answer
    )
    answer = Assistant(settings).ask("Has the Tessel Bridge reopened yet?", answerer="extractive")
    assert not answer.abstained
    quote = answer.citations[0].quote
    assert answer.text == f"{quote} [1]"
    assert quote.endswith(".") and quote[0].isupper()  # a whole sentence of the article
    assert answer.alternatives() == ()  # the sentence is the answer: no next-best span


def _sentence(text: str) -> Sentence:
    """`text` annotated as one sentence of an article that starts with it."""
    note = annotate.from_doc(annotate.nlp()(text), 0)
    return Sentence(0, 0, len(text), note.tokens, note.entities, note.noun_chunks, 0.0, 0.0)


def test_a_span_set_off_by_punctuation_is_marked_so() -> None:
    from qa.answerers.extractive.candidates import candidates
    from qa.answerers.extractive.features import Ranks, candidate_features
    from qa.answerers.extractive.reading import parse_question

    text = "The harbour's new chair, Ilse Varga, opened the lock in May."
    read = _sentence(text)
    question = parse_question(annotate.nlp()("Who opened the lock?"))
    weights = {"open": 1.0, "lock": 1.0}
    punct = {
        text[c.start : c.end]: candidate_features(question, read, 0, c, Ranks.of([read]), weights)[
            "c_punct"
        ]
        for c in candidates(read)
    }
    assert punct["Ilse Varga"] == 2.0  # an apposition, between commas
    assert punct["May"] == 1.0  # before the full stop
    assert punct["lock"] == 0.0


@pytest.mark.parametrize(
    ("question", "sentence", "negates"),
    [
        # A negation elsewhere in the sentence is not about what is asked.
        (
            "What does the cooperation comply with?",
            "The cooperation complies with international law and does not harm anyone.",
            False,
        ),
        (
            "What does the cooperation comply with?",
            "The cooperation does not comply with law.",
            True,
        ),
        # Without the question's anchor in it, any negation in the sentence counts.
        ("Which court argued the case?", "The case was not heard in March.", True),
        ("Which court argued the case?", "The high court argued the case in March.", False),
        # A negation of a phrase, not of a clause, negates nothing asked.
        (
            "Who chairs the harbour board?",
            "Ilse Varga leads it, a post that matters not just for the port but for the town.",
            False,
        ),
        ("Who chairs the harbour board?", "The board was never chaired by Ilse Varga.", True),
    ],
)
def test_a_negation_counts_when_it_is_on_what_the_question_asks(
    question: str, sentence: str, negates: bool
) -> None:
    from qa.answerers.extractive.features import _negates
    from qa.answerers.extractive.reading import parse_question

    read = _sentence(sentence)
    assert _negates(read, parse_question(annotate.nlp()(question))) is negates


@pytest.mark.slow
def test_parsed_tags_are_kept_up_to_a_bound(
    seed_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(annotate.TagFile, "KEEP_PARSED", 3)
    tags = open_index(seed_settings).annotations().chunks
    read = [tags[i] for i in range(5)]
    assert len(tags._parsed) <= 3
    assert [tags[i].tokens for i in range(5)] == [a.tokens for a in read]  # re-parsed the same


@pytest.mark.parametrize(
    ("question", "defined"),
    [
        ("Who is Maria Okafor?", ("maria", "okafor")),
        ("Who was Kim Hong-ki?", ("kim", "hong", "-", "ki")),
        ("What is the Orvan Water Board?", ("orvan", "water", "board")),
        # A role asks for the name of its holder, not for a description.
        ("Who is the President of Egypt?", ()),
        ("Who is the spokesperson?", ()),
        # More than a name after the verb: an ordinary question.
        ("Who was Louis XIV's main rival?", ()),
        ("What was Henry IV known as before taking the throne?", ()),
    ],
)
def test_a_definitional_question_names_what_it_asks_about(
    question: str, defined: tuple[str, ...]
) -> None:
    from qa.answerers.extractive.reading import parse_question

    assert parse_question(annotate.nlp()(question)).defined == defined


@pytest.mark.slow
def test_who_is_a_named_person_is_answered_with_the_text_s_description(
    tmp_path: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    settings = _corpus(
        tmp_path,
        {
            "harbour.md": "# Harbour dredging to resume\n\nDredging of the Velmar harbour "
            "resumes in March. Maria Okafor, a marine biologist at the University of Exeter, "
            "said the silt would be moved offshore. Port Authority chairman Tomas Reyne "
            "approved the budget last week. The harbour was built in 1870 and handles "
            "grain ships. Experts such as Ines Calder from the Velmar Maritime Institute "
            "(VMI) doubt the silt will stay offshore.\n",
            "ferry.md": "# Ferry timetable changes\n\nThe island ferry will sail twice a day "
            "from May. Tickets go on sale in April at the harbour office.\n",
        },
        embedder,
    )
    assistant = Assistant(settings)
    answer = assistant.ask("Who is Maria Okafor?", answerer="extractive")
    assert not answer.abstained
    assert lead(answer.text, False) == "A marine biologist at the University of Exeter"
    cited = answer.citations[0]
    assert cited.article_id == "harbour.md" and "Maria Okafor, a marine" in cited.quote
    # The title words before a name describe it too.
    titled = assistant.ask("Who is Tomas Reyne?", answerer="extractive")
    assert lead(titled.text, False) == "Port Authority chairman"
    # So does where the name is said to be from, with the bracket it opens.
    placed = assistant.ask("Who is Ines Calder?", answerer="extractive")
    assert lead(placed.text, False) == "From the Velmar Maritime Institute (VMI)", placed.text
    # A name the articles never mention is not described from someone else's sentence.
    unknown = assistant.ask("Who is Ingrid Salo?", answerer="extractive")
    assert "marine biologist" not in unknown.text and "chairman" not in unknown.text


@pytest.mark.parametrize(
    ("text", "span", "shown"),
    [
        ("Reportedly over a million soldiers serve.", "million", "a million"),
        ("They sent a thousand troops.", "thousand troops", "a thousand troops"),
        ("The 12,000 troops arrived.", "12,000", "12,000"),  # "the" is the noun's, not the number's
    ],
)
def test_a_number_is_shown_with_the_determiner_that_is_part_of_it(
    text: str, span: str, shown: str
) -> None:
    from qa.answerers.extractive.candidates import candidates
    from qa.answerers.extractive.compose import shown_start

    sentence = _sentence(text)
    (cand,) = [c for c in candidates(sentence) if text[c.start : c.end] == span]
    assert text[shown_start(sentence, cand) : cand.end] == shown


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ("While chairman Oh Se-hoon can divert attention.", "Se-hoon"),
        ("The harbour needs money, while Mayor Park Se-hoon can divert attention.", "Se-hoon"),
    ],
)
def test_a_reply_never_shows_part_of_a_hyphenated_name(text: str, whole: str) -> None:
    from qa.answerers.extractive.candidates import candidates
    from qa.answerers.extractive.compose import shown_end, shown_start

    sentence = _sentence(text)
    found = candidates(sentence)
    at, upto = text.index(whole), text.index(whole) + len(whole)
    # The tagger splits the name at its hyphen, and some candidates stop there.
    assert any(at < c.end < upto or at < c.start < upto for c in found)
    for c in found:
        start, end = shown_start(sentence, c), shown_end(sentence, c)
        assert not (at < end < upto or at < start < upto), text[start:end]


def test_a_hyphenated_word_that_is_not_a_name_is_not_joined() -> None:
    from qa.answerers.extractive.candidates import candidates
    from qa.answerers.extractive.compose import shown_end, shown_start

    text = "The engine has a four-valve head, and Afrikaans-speaking crews ran it."
    sentence = _sentence(text)
    shown = {text[shown_start(sentence, c) : shown_end(sentence, c)] for c in candidates(sentence)}
    assert "four" in shown  # "how many valves": four, not "four-valve"
    assert "Afrikaans" in shown  # "which language": not "Afrikaans-speaking"
