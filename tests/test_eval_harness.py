"""The evaluation harness: the packaged gold set, gold-file checks, bars, comparison, and
real runs (the Python function and `qa eval`) against the seed index."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eval import cli, harness
from eval.metrics import KINDS, METRICS, SET_KINDS, contains
from index.errors import BadInputError
from index.settings import Settings
from tests.conftest import ROOT, SEEDS

WRONG_ID = "t-wrong"  # its expected answer is in no article, so no answerer can state it
SMALL_GOLD = [
    {
        "id": "t-money",
        "question": "How much does South Korean intelligence estimate Pyongyang gets per soldier "
        "each month?",
        "answers": ["$2,000", "2000"],
        "sources": ["004_5f3e8aa817441a8f.txt"],
        "kind": "factoid",
    },
    {
        "id": "t-arms",
        "question": "What weapons and munitions has North Korea supplied to Russia?",
        "answers": ["artillery", "missiles", "conventional arms"],
        "sources": ["001_a098e6d6fb83daf6.txt"],
        "kind": "list",
    },
    {
        "id": "t-none",
        "question": "What is Lloyd Austin's age?",
        "answers": [],
        "sources": [],
        "kind": "unanswerable",
    },
    {
        "id": "t-follow",
        "question": "What did he warn the North Korean troops might end up as?",
        "answers": ["cannon fodder"],
        "sources": ["000_7f6ec0fcc98417b5.txt"],
        "kind": "followup",
        "history": [
            {"role": "user", "content": "Who is Edward Howell?"},
            {"role": "assistant", "content": "A North Korea expert at the University of Oxford."},
        ],
    },
    {
        "id": WRONG_ID,
        "question": "Who is the U.S. defense secretary?",
        "answers": ["Napoleon Bonaparte"],
        "sources": ["001_a098e6d6fb83daf6.txt"],
        "kind": "factoid",
    },
]


def write_gold(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


# -- the packaged gold set ------------------------------------------------------------------
def test_packaged_gold_set_covers_every_kind_and_article() -> None:
    items = harness.load_gold(ROOT / "eval" / "gold.jsonl")
    assert len(items) >= 60
    assert {i.kind for i in items} == set(KINDS)
    articles = {p.name for p in SEEDS.glob("*.txt")}
    assert {s for i in items for s in i.sources} == articles
    assert all(i.history for i in items if i.kind == "followup")


def test_packaged_gold_answers_are_in_their_source_articles() -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    for item in harness.load_gold(ROOT / "eval" / "gold.jsonl"):
        if not item.answerable:
            continue
        union = " ".join(texts[s] for s in item.sources)
        stated = [a for a in item.answers if contains(union, a)]
        if item.kind in SET_KINDS:  # every item of a list or conflict must be in the sources
            assert stated == list(item.answers), item.id
        else:  # at least one alias must be
            assert stated, item.id


# -- reading gold files ---------------------------------------------------------------------
GOOD = {"id": "x", "question": "q?", "answers": ["a"], "sources": ["s.txt"], "kind": "factoid"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "gold.jsonl:2"),
        ("[1, 2]", "JSON object"),
        (json.dumps({**GOOD, "id": "y", "answers": "a"}), "answers must be a list"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "sources"}), "sources"),
        (json.dumps({**GOOD, "id": "y", "kind": "unanswerable"}), "empty exactly when"),
        (json.dumps({**GOOD, "id": "y", "answers": []}), "empty exactly when"),
        (json.dumps({**GOOD, "id": "y", "history": [{"role": "bot"}]}), "history"),
        (json.dumps(GOOD), "duplicate id 'x'"),
    ],
)
def test_bad_gold_lines_are_reported_with_their_line(
    tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"gold\.jsonl:2") as info:
        harness.load_gold(path)
    assert message in str(info.value)


def test_empty_or_missing_gold_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no items"):
        harness.load_gold(write_gold(tmp_path / "empty.jsonl", []))
    with pytest.raises(BadInputError, match="Cannot read"):
        harness.load_gold(tmp_path / "missing.jsonl")


# -- bars and comparison on hand-made results -----------------------------------------------
def test_the_cli_offers_exactly_the_harness_bars() -> None:
    assert set(cli._BAR_HELP) == set(harness.BARS)


def test_check_bars() -> None:
    summary = {"accuracy": 0.7, "abstention": None, "false_abstention": 0.2}
    assert harness.check_bars(summary, {"min_accuracy": 0.7, "max_false_abstention": 0.2}) == []
    failures = harness.check_bars(
        summary, {"min_accuracy": 0.71, "max_false_abstention": 0.1, "min_abstention": 0.5}
    )
    assert len(failures) == 3
    assert failures[0].startswith("--min-accuracy 0.71: accuracy is 0.700")
    assert failures[1].startswith("--max-false-abstention 0.1: false_abstention is 0.200")
    assert "could not be measured" in failures[2]


def results(correct: dict[str, bool], accuracy: float) -> dict[str, Any]:
    summary = {name: None for name in METRICS} | {"accuracy": accuracy, "answerer": "x", "n": 2}
    items = [{"id": i, "question": f"question {i}", "correct": c} for i, c in correct.items()]
    return {"summary": summary, "per_kind": {"factoid": {"accuracy": accuracy}}, "items": items}


def test_compare_prints_deltas_and_flipped_items() -> None:
    before = results({"a": True, "b": False, "c": True}, 0.75)
    after = results({"a": False, "b": True, "d": True}, 0.5)
    text = harness.compare(after, before)
    assert re.search(r"^accuracy +0\.750 +0\.500 +-0\.250$", text, re.MULTILINE)
    assert "factoid: accuracy" in text
    assert "Flipped right -> wrong (1):\n  a  question a" in text
    assert "Flipped wrong -> right (1):\n  b  question b" in text
    assert "2 items are in only one of the two runs" in text


# -- real runs ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_run(
    seed_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, dict[str, Any]]:
    from qa.assistant import Assistant

    folder = tmp_path_factory.mktemp("eval")
    gold = write_gold(folder / "small.jsonl", SMALL_GOLD)
    out = harness.evaluate(
        Assistant(seed_settings), harness.load_gold(gold), gold_name=str(gold), progress=False
    )
    harness.write(out, folder / "run1")
    return gold, folder, out


@pytest.mark.slow
def test_evaluate_scores_every_item(small_run: tuple[Path, Path, dict[str, Any]]) -> None:
    _, _, out = small_run
    assert set(out) == {"summary", "per_kind", "items"}
    assert [r["id"] for r in out["items"]] == [i["id"] for i in SMALL_GOLD]
    assert set(out["per_kind"]) == {"factoid", "list", "unanswerable", "followup"}
    assert out["per_kind"]["factoid"]["n"] == 2
    summary = out["summary"]
    assert (summary["n"], summary["answerer"], summary["k"]) == (5, "extractive", 5)
    assert (summary["fallbacks"], summary["withheld"]) == (0, 0)
    for name in METRICS:
        assert summary[name] is None or 0.0 <= summary[name] <= 1.0, name
    assert summary["latency_p95_ms"] >= summary["latency_p50_ms"] > 0
    for row in out["items"]:
        assert {"question", "answer", "abstained", "citations", "metrics", "correct"} <= set(row)
        assert set(row["metrics"]) == set(METRICS) - {"correct"}
        assert 1 <= len(row["passages"]) <= 5
        if not row["abstained"]:
            assert row["metrics"]["citation_validity"] is not None
    by_id = {r["id"]: r for r in out["items"]}
    assert by_id[WRONG_ID]["correct"] is False and by_id[WRONG_ID]["metrics"]["accuracy"] == 0
    assert by_id["t-none"]["metrics"]["abstention"] is not None
    assert by_id["t-none"]["metrics"]["exact_match"] is None
    follow = by_id["t-follow"]
    assert follow["history"] == SMALL_GOLD[3]["history"]
    assert "Howell" in follow["query"]  # the history reached the assistant


def test_withheld_replies_are_counted_from_the_answers(
    seed_settings: Settings, tmp_path: Path
) -> None:
    """`withheld` comes from each Answer, not from the wording of its notice: a generative
    reply no passage supports is withheld, and is not a fallback."""
    import itertools

    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from qa.answerers.generative import Chat, GenerativeAnswerer
    from qa.assistant import Assistant

    assistant = Assistant(seed_settings)
    unsupported = itertools.repeat(AIMessage(content="The weather in Lisbon was sunny."))
    chat = Chat(GenericFakeChatModel(messages=unsupported))
    assistant._answerers["openai"] = GenerativeAnswerer("openai", assistant, lambda: chat)
    items = harness.load_gold(write_gold(tmp_path / "two.jsonl", SMALL_GOLD[:2]))
    out = harness.evaluate(assistant, items, answerer="openai", gold_name="two", progress=False)
    assert [r["withheld"] for r in out["items"]] == [True, True]
    assert all(r["notice"] and "withheld" in r["notice"] for r in out["items"])
    assert (out["summary"]["withheld"], out["summary"]["fallbacks"]) == (2, 0)


@pytest.mark.slow
def test_written_report_and_charts(small_run: tuple[Path, Path, dict[str, Any]]) -> None:
    _, folder, out = small_run
    run1 = folder / "run1"
    saved = json.loads((run1 / "results.json").read_text(encoding="utf-8"))
    assert saved["summary"]["accuracy"] == out["summary"]["accuracy"]
    report = (run1 / "report.md").read_text(encoding="utf-8")
    wrong = [r for r in out["items"] if not r["correct"]]
    assert f"## Wrong answers ({len(wrong)})" in report
    assert f"### {WRONG_ID} · factoid" in report
    assert '**expected:** "Napoleon Bonaparte"' in report
    assert "| unanswerable | 1 |" in report
    for chart in (harness.ACCURACY_CHART, harness.LATENCY_CHART):
        assert (run1 / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_qa_eval_compares_and_fails_under_a_bar(
    small_run: tuple[Path, Path, dict[str, Any]], seed_settings: Settings
) -> None:
    gold, folder, out = small_run
    previous = copy.deepcopy(out)
    for row in previous["items"]:
        if row["id"] == WRONG_ID:
            row["correct"] = True  # pretend it used to be right
    previous["summary"]["accuracy"] = 1.0
    (folder / "previous.json").write_text(json.dumps(previous), encoding="utf-8")
    env = {**os.environ, "QA_DATA_DIR": str(seed_settings.data_dir)}
    argv = ["eval", "--gold", str(gold), "--out", str(folder / "run2"), "--no-progress"]
    argv += ["--compare", str(folder / "previous.json")]
    argv += ["--min-accuracy", "1.01", "--min-citation-validity", "0"]
    proc = subprocess.run(
        [sys.executable, "-m", "qa.cli", *argv],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stderr
    assert "bar not met: --min-accuracy 1.01: accuracy is" in proc.stderr
    assert "--min-citation-validity" not in proc.stderr  # that bar holds
    accuracy = out["summary"]["accuracy"]
    assert re.search(rf"^accuracy +1\.000 +{accuracy:.3f} ", proc.stdout, re.MULTILINE)
    assert f"Flipped right -> wrong (1):\n  {WRONG_ID}  " in proc.stdout
    run2 = json.loads((folder / "run2" / "results.json").read_text(encoding="utf-8"))
    assert [r["correct"] for r in run2["items"]] == [r["correct"] for r in out["items"]]
    assert (folder / "run2" / harness.ACCURACY_CHART).exists()


@pytest.mark.slow
def test_qa_eval_without_an_index_says_to_run_qa_index(tmp_path: Path) -> None:
    gold = write_gold(tmp_path / "g.jsonl", SMALL_GOLD[:1])
    env = {**os.environ, "QA_DATA_DIR": str(tmp_path / "empty")}
    proc = subprocess.run(
        [sys.executable, "-m", "qa.cli", "eval", "--gold", str(gold), "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 3
    assert "qa index" in proc.stderr
    assert not (tmp_path / "results.json").exists()
