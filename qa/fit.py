"""`qa fit`: fit the learned answerer on labelled questions, measured on articles it did not see.

Every SQuAD 2.0 file (`--squad`) is indexed alone in a scratch data directory, as `qa eval
--squad` does; gold-schema files (`--gold`) are asked against the configured corpus. For
every question the passages are retrieved and read exactly as when answering, and each
candidate span is labelled with its SQuAD F1 against the gold answers. Two logistic
regressions are fitted: which span answers, and whether the best span should be given at
all. Folds are grouped by article: each article is scored by models fitted on the others,
and the abstention threshold of each fold is chosen on its fitting articles alone (their
own out-of-fold predictions). The final models are then fitted on everything; the file
records the inputs' SHA-256, the seed, the feature names and the cross-validated figures.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.squad import SquadQuestion, best_scores, read_squad
from index.settings import Settings
from qa.answerers.learned.features import Features, question_features
from qa.answerers.learned.model import AnswererModel, Linear
from qa.answerers.learned.pipeline import Reader, Reading

# The span model's hyperparameters are chosen by leave-one-article-out F1 from this grid:
# the regularisation strength, and how closely a span must match the gold answer (its F1)
# to count as a positive example.
GRID_C = (0.1, 1.0)
GRID_LABEL_F1 = (0.5, 0.8, 1.0)
ANSWERABLE_C = 1.0


@dataclass(frozen=True)
class Hyper:
    c: float = 0.1
    label_f1: float = 0.8


@dataclass
class Example:
    id: str
    group: str  # the article it is about: folds never split one
    source: str  # the file it came from
    answers: tuple[str, ...]
    reading: Reading
    texts: list[str]  # each candidate's text
    f1: np.ndarray  # each candidate's F1 against the gold answers


def extract(
    settings: Settings,
    questions: Sequence[SquadQuestion],
    source: str,
    progress: Callable[[int, int], None] | None = None,
) -> list[Example]:
    """Retrieve and read every question against the index in `settings`."""
    from qa.assistant import Assistant

    assistant = Assistant(settings)
    snap = assistant.snapshot()
    reader = Reader(settings.learned_sentences)
    out = []
    for n, q in enumerate(questions):
        hits, _ = assistant.retrieve(q.question, settings.learned_passages)
        parsed = reader.question(q.question)
        qvec = assistant.embedder().embed_query(" ".join(q.question.split()))
        reading = reader.read(snap, parsed, qvec, hits)
        texts = [
            str(snap.articles[hits[s.hit].article_id]["text"][c.start : c.end])
            for s, c in reading.spans
        ]
        f1 = np.array([best_scores(q.answers, t)[1] if q.answers else 0.0 for t in texts])
        out.append(Example(q.id, q.article, source, q.answers, reading, texts, f1))
        if progress:
            progress(n + 1, len(questions))
    return out


# -- models ------------------------------------------------------------------------------
def _fit_linear(rows: Sequence[Features], y: Sequence[int], seed: int, c: float) -> Linear:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    if len(set(y)) < 2:  # too little data to tell anything apart: a constant model
        share = (sum(y) + 0.5) / (len(y) + 1.0)
        return Linear({}, round(float(np.log(share / (1 - share))), 4))
    vec = DictVectorizer(sparse=True, sort=True)
    x = vec.fit_transform(rows)
    lr = LogisticRegression(C=c, max_iter=3000, random_state=seed)
    lr.fit(x, np.asarray(y))
    names = vec.get_feature_names_out()
    # Weights this small change no decision; leaving them out keeps the file small.
    weights = {
        str(n): round(float(w), 4)
        for n, w in zip(names, lr.coef_[0], strict=True)
        if abs(w) >= 1e-3
    }
    return Linear(weights, round(float(lr.intercept_[0]), 6))


def fit_span(examples: Sequence[Example], seed: int, hyper: Hyper) -> Linear:
    rows: list[Features] = []
    y: list[int] = []
    for ex in examples:
        if not ex.answers or not len(ex.f1) or ex.f1.max() < hyper.label_f1 - 1e-9:
            continue  # nothing to learn about ranking from a question no span answers
        rows.extend(ex.reading.features)
        y.extend(int(v >= hyper.label_f1 - 1e-9) for v in ex.f1)
    return _fit_linear(rows, y, seed, hyper.c)


INNER_FOLDS = 4  # folds of articles for choices made inside the fitting data


def folds(examples: Sequence[Example], n: int | None = None) -> list[set[str]]:
    """Groups of articles held out together: one article each (n None), or n folds of
    articles, as even in questions as can be, assigned in a fixed order."""
    sizes: dict[str, int] = {}
    for ex in examples:
        sizes[ex.group] = sizes.get(ex.group, 0) + 1
    names = sorted(sizes)
    if n is None or n >= len(names):
        return [{g} for g in names]
    out: list[set[str]] = [set() for _ in range(n)]
    load = [0] * n
    for g in sorted(names, key=lambda g: (-sizes[g], g)):
        i = load.index(min(load))
        out[i].add(g)
        load[i] += sizes[g]
    return out


def span_f1_by_article(examples: Sequence[Example], seed: int, hyper: Hyper) -> float:
    """Mean F1 of the best span on answerable questions, each fold of articles scored by a
    span model fitted on the others (no abstention)."""
    got: list[float] = []
    for held in folds(examples, INNER_FOLDS):
        span = fit_span([ex for ex in examples if ex.group not in held], seed, hyper)
        for ex in examples:
            if ex.group in held and ex.answers:
                i, _ = best_span(span, ex)
                got.append(float(ex.f1[i]) if i >= 0 else 0.0)
    return float(np.mean(got)) if got else 0.0


def select_hyper(
    examples: Sequence[Example], seed: int, log: Callable[[str], None]
) -> tuple[Hyper, dict[str, float]]:
    tried = {}
    for c in GRID_C:
        for label in GRID_LABEL_F1:
            h = Hyper(c, label)
            tried[f"C={c} label_f1={label}"] = round(span_f1_by_article(examples, seed, h), 4)
            log(f"span model C={c} label_f1={label}: {tried[f'C={c} label_f1={label}']}")
    best = max(tried, key=lambda k: tried[k])
    c_part, label_part = best.split()
    return Hyper(float(c_part[2:]), float(label_part[9:])), tried


def best_span(model: Linear, ex: Example) -> tuple[int, list[float]]:
    scores = [model.logit(f) for f in ex.reading.features]
    return (int(np.argmax(scores)) if scores else -1), scores


def question_row(ex: Example, span: Linear) -> tuple[Features, float]:
    """The abstention model's features, and the best span's F1 (0 when none)."""
    i, scores = best_span(span, ex)
    best = ex.reading.spans[i][0] if i >= 0 else None
    f = question_features(
        ex.reading.question, scores, best, ex.reading.sentences, ex.reading.weights
    )
    return f, float(ex.f1[i]) if i >= 0 else 0.0


def fit_answerable(rows: Sequence[Features], f1: Any, seed: int) -> Linear:
    """Answer when the best span is right: positive when it overlaps the gold by half (F1)."""
    return _fit_linear(rows, [int(v >= 0.5) for v in f1], seed, ANSWERABLE_C)


# -- thresholds and scores ---------------------------------------------------------------
def scores_at(p: np.ndarray, f1: np.ndarray, answerable: np.ndarray, t: float) -> dict[str, float]:
    answer = p >= t
    has, no = answerable, ~answerable
    has_f1 = float(np.where(answer, f1, 0.0)[has].mean()) if has.any() else 0.0
    no_acc = float((~answer)[no].mean()) if no.any() else 0.0
    overall = float(np.where(answer, np.where(answerable, f1, 0.0), ~answerable).mean())
    return {
        "threshold": float(t),
        "HasAns_f1": has_f1,
        "NoAns": no_acc,
        "f1": overall,
        "answered": float(answer.mean()),
        "false_abstention": float((~answer)[has].mean()) if has.any() else 0.0,
    }


def choose_threshold(
    p: np.ndarray, f1: np.ndarray, answerable: np.ndarray, max_false_abstention: float
) -> float:
    """The threshold with the best overall F1 among those that leave at most
    `max_false_abstention` of the answerable questions unanswered."""
    best_t, best = 0.0, -1.0
    for t in np.unique(np.concatenate([[0.0], p])):
        s = scores_at(p, f1, answerable, float(t))
        if s["false_abstention"] <= max_false_abstention and s["f1"] > best:
            best_t, best = float(t), s["f1"]
    return best_t


def _oof_rows(
    examples: Sequence[Example], seed: int, hyper: Hyper
) -> tuple[list[Features], np.ndarray]:
    """Question rows whose span scores come from span models fitted on other articles."""
    rows: list[Features] = [{} for _ in examples]
    f1 = np.zeros(len(examples))
    for held in folds(examples, INNER_FOLDS):
        span = fit_span([ex for ex in examples if ex.group not in held], seed, hyper)
        for i, ex in enumerate(examples):
            if ex.group in held:
                rows[i], f1[i] = question_row(ex, span)
    return rows, f1


def cross_validate(
    examples: Sequence[Example],
    seed: int,
    hyper: Hyper,
    max_false_abstention: float,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Leave one article out: each article's questions scored by models fitted on the rest."""
    groups = sorted({ex.group for ex in examples})
    answerable = np.array([bool(ex.answers) for ex in examples])
    p = np.zeros(len(examples))
    f1 = np.zeros(len(examples))
    thresholds: dict[str, float] = {}
    for g in groups:
        train = [ex for ex in examples if ex.group != g]
        test_idx = [i for i, ex in enumerate(examples) if ex.group == g]
        span = fit_span(train, seed, hyper)
        inner_rows, inner_f1 = _oof_rows(train, seed, hyper)
        gate = fit_answerable(inner_rows, inner_f1, seed)
        inner_p = np.array([gate.probability(r) for r in inner_rows])
        inner_ans = np.array([bool(ex.answers) for ex in train])
        thresholds[g] = choose_threshold(inner_p, inner_f1, inner_ans, max_false_abstention)
        for i in test_idx:
            row, f1[i] = question_row(examples[i], span)
            p[i] = gate.probability(row)
        log(f"fold {g}: threshold {thresholds[g]:.3f}")
    answer = np.array([p[i] >= thresholds[ex.group] for i, ex in enumerate(examples)])
    per_article = {}
    for g in groups:
        idx = np.array([ex.group == g for ex in examples])
        per_article[g] = _figures(answer[idx], f1[idx], answerable[idx])
    per_source = {}
    for src in sorted({ex.source for ex in examples}):
        idx = np.array([ex.source == src for ex in examples])
        per_source[src] = _figures(answer[idx], f1[idx], answerable[idx])
    curve = _curve(p, f1, answerable)
    return {
        "folds": "leave one article out",
        "thresholds": thresholds,
        "overall": _figures(answer, f1, answerable),
        "never_abstaining": _figures(np.ones_like(answer), f1, answerable),
        "per_article": per_article,
        "per_source": per_source,
        "curve": curve,
        "predictions": [
            {
                "id": ex.id,
                "p": round(float(p[i]), 4),
                "f1": round(float(f1[i]), 4),
                "answered": bool(answer[i]),
                "answerable": bool(answerable[i]),
            }
            for i, ex in enumerate(examples)
        ],
    }


def _figures(answer: np.ndarray, f1: np.ndarray, answerable: np.ndarray) -> dict[str, float | None]:
    has, no = answerable, ~answerable
    got = np.where(answer, np.where(answerable, f1, 0.0), ~answerable)
    return {
        "questions": len(answer),
        "HasAns_f1": round(float(got[has].mean()), 4) if has.any() else None,
        "NoAns": round(float(got[no].mean()), 4) if no.any() else None,
        "f1": round(float(got.mean()), 4),
        "abstention_rate": round(float((~answer).mean()), 4),
        "false_abstention": round(float((~answer)[has].mean()), 4) if has.any() else 0.0,
    }


def _curve(p: np.ndarray, f1: np.ndarray, answerable: np.ndarray) -> list[dict[str, float]]:
    """Answered precision (mean F1 of the answers given, an unanswerable question counting 0)
    against coverage (share of questions answered), as the threshold moves."""
    order = np.argsort(-p)
    gain = np.where(answerable, f1, 0.0)[order]
    out = []
    for n in range(1, len(order) + 1, max(1, len(order) // 100)):
        out.append(
            {
                "coverage": round(n / len(order), 4),
                "precision": round(float(gain[:n].mean()), 4),
                "threshold": round(float(p[order][n - 1]), 4),
            }
        )
    return out


# -- the command -------------------------------------------------------------------------
def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def examples_from_squad(
    settings: Settings, path: Path, workdir: Path, log: Callable[[str], None]
) -> list[Example]:
    from index.build import build_index

    articles, questions = read_squad(path)
    folder = workdir / f"{path.stem}-articles"
    folder.mkdir(parents=True, exist_ok=True)
    for aid, text in articles.items():
        (folder / aid).write_text(text, encoding="utf-8")
    scratch = settings.model_copy(
        update={"data_dir": workdir / f"{path.stem}-data", "corpus": [folder]}
    )
    report = build_index(scratch)
    log(report.summary())
    t = time.perf_counter()
    out = extract(scratch, questions, path.name)
    log(f"read {len(out)} questions of {path.name} in {time.perf_counter() - t:.0f}s")
    return out


def examples_from_gold(
    settings: Settings, path: Path, workdir: Path, log: Callable[[str], None]
) -> list[Example]:
    """Factoid and unanswerable items of a gold file, asked against the configured corpus
    (indexed in a scratch folder). Lists, conflicts and follow-ups are left out: their
    answers are several items, or need the conversation."""
    from index.build import build_index

    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    questions = [
        SquadQuestion(
            r["id"],
            r["question"],
            tuple(r.get("answers", ())) if r["kind"] == "factoid" else (),
            str(r.get("article") or (r.get("sources") or [path.name])[0]),
        )
        for r in rows
        if r.get("kind") in {"factoid", "unanswerable"} and not r.get("history")
    ]
    scratch = settings.model_copy(update={"data_dir": workdir / f"{path.stem}-data"})
    log(build_index(scratch).summary())
    return extract(scratch, questions, path.name)


def fit(
    settings: Settings,
    squad: Sequence[Path],
    gold: Sequence[Path],
    *,
    seed: int = 0,
    max_false_abstention: float = 0.15,
    log: Callable[[str], None] = print,
    workdir: Path | None = None,
) -> AnswererModel:
    with tempfile.TemporaryDirectory(prefix="qa-fit-") as tmp:
        work = workdir or Path(tmp)
        examples: list[Example] = []
        for path in squad:
            examples += examples_from_squad(settings, Path(path), work, log)
        for path in gold:
            examples += examples_from_gold(settings, Path(path), work, log)
    return fit_examples(
        examples, [*squad, *gold], seed=seed, max_false_abstention=max_false_abstention, log=log
    )


def fit_examples(
    examples: Sequence[Example],
    inputs: Sequence[Path],
    *,
    seed: int,
    max_false_abstention: float,
    log: Callable[[str], None] = print,
) -> AnswererModel:
    hyper, tried = select_hyper(examples, seed, log)
    cv = cross_validate(examples, seed, hyper, max_false_abstention, log)
    span = fit_span(examples, seed, hyper)
    rows, f1 = _oof_rows(examples, seed, hyper)
    gate = fit_answerable(rows, f1, seed)
    p = np.array([gate.probability(r) for r in rows])
    answerable = np.array([bool(ex.answers) for ex in examples])
    threshold = choose_threshold(p, f1, answerable, max_false_abstention)
    info = {
        "data": [{"file": Path(p_).name, "sha256": sha256(Path(p_))} for p_ in inputs],
        "seed": seed,
        "span_model": {"C": hyper.c, "label_f1": hyper.label_f1, "grid": tried},
        "answerable_model": {"C": ANSWERABLE_C, "label_f1": 0.5},
        "max_false_abstention": max_false_abstention,
        "questions": len(examples),
        "features": {
            "span": sorted(span.weights),
            "answerable": sorted(gate.weights),
        },
        "cross_validated": {k: v for k, v in cv.items() if k not in {"predictions"}},
    }
    return AnswererModel(span, gate, round(threshold, 6), info)
