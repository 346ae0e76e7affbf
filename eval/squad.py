"""SQuAD 2.0's own answer normalisation and scores (as its official evaluation script
computes them), applied to a reply's short answer: the text before its first marker."""

from __future__ import annotations

import collections
import json
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_MARKER = re.compile(r"\[\d+\]")


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def get_tokens(s: str) -> list[str]:
    return normalize_answer(s).split() if s else []


def compute_exact(gold: str, pred: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(pred))


def compute_f1(gold: str, pred: str) -> float:
    gold_toks, pred_toks = get_tokens(gold), get_tokens(pred)
    if not gold_toks or not pred_toks:
        # An unanswerable question: 1 if both are empty, else 0.
        return float(gold_toks == pred_toks)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_toks), same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def best_scores(answers: Sequence[str], pred: str) -> tuple[float, float]:
    """(EM, F1) against the best gold answer; an empty list means unanswerable."""
    golds = [a for a in answers if normalize_answer(a)] or [""]
    return (
        float(max(compute_exact(g, pred) for g in golds)),
        max(compute_f1(g, pred) for g in golds),
    )


def lead(reply: str, abstained: bool) -> str:
    """The reply's short answer: the text before its first marker; empty for an abstention."""
    if abstained:
        return ""
    return _MARKER.split(reply, maxsplit=1)[0].strip()


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]  # empty: unanswerable
    article: str  # the file name its article is indexed under


def article_id(title: str) -> str:
    return re.sub(r"[^\w]+", "_", title).strip("_").lower() + ".txt"


def read_squad(path: Path) -> tuple[dict[str, str], list[SquadQuestion]]:
    """The articles (title line, blank line, paragraphs) and questions of a SQuAD 2.0 file."""
    data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    articles: dict[str, str] = {}
    questions: list[SquadQuestion] = []
    for art in data["data"]:
        aid = article_id(art["title"])
        paragraphs = [p["context"].strip() for p in art["paragraphs"]]
        articles[aid] = art["title"].replace("_", " ") + "\n\n" + "\n\n".join(paragraphs) + "\n"
        for p in art["paragraphs"]:
            for qa in p["qas"]:
                answers = (
                    ()
                    if qa.get("is_impossible")
                    else tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                )
                questions.append(SquadQuestion(qa["id"], qa["question"], answers, aid))
    return articles, questions


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """HasAns / NoAns / overall EM and F1, SQuAD 2.0 style, from rows with `answers`, `em`,
    `f1` and `abstained`."""
    has = [r for r in rows if r["answers"]]
    no = [r for r in rows if not r["answers"]]

    def mean(xs: Sequence[float]) -> float | None:
        return round(sum(xs) / len(xs), 4) if xs else None

    return {
        "total": len(rows),
        "HasAns_total": len(has),
        "NoAns_total": len(no),
        "exact": mean([r["em"] for r in rows]),
        "f1": mean([r["f1"] for r in rows]),
        "HasAns_exact": mean([r["em"] for r in has]),
        "HasAns_f1": mean([r["f1"] for r in has]),
        "NoAns_exact": mean([r["em"] for r in no]),
        "abstention_rate": mean([float(r["abstained"]) for r in rows]),
        "false_abstention": mean([float(r["abstained"]) for r in has]),
    }
