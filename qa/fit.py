"""`qa fit`: fit the extractive answerer on labelled questions, measured on articles it did not see.

Every SQuAD 2.0 file (`--squad`) is indexed alone in a scratch data directory, as `qa eval
--squad` does; gold-schema files (`--gold`) are asked against the configured corpus. For
every question the passages are retrieved and read exactly as when answering, and each
candidate span is labelled with its SQuAD F1 against the gold answers. Two models are
fitted: a ranker of each question's spans (LightGBM's LambdaRank), and a logistic regression
deciding whether the best span should be given at all. Folds are grouped by article: each
article is scored by models fitted on the others, and the abstention threshold of each fold
is chosen on its fitting articles alone (their own out-of-fold predictions). The final
models are then fitted on everything; the file records the inputs' SHA-256, the seed, the
feature names and the cross-validated figures.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from eval.metrics import contains
from eval.squad import SquadQuestion, best_scores, read_squad
from index.settings import Settings
from index.store import IndexSnapshot
from qa.answerers.extractive.compose import lead_span, pick, sentence_led
from qa.answerers.extractive.features import Features, question_features
from qa.answerers.extractive.model import AnswererModel, Linear, Ranker, SpanModel
from qa.answerers.extractive.pipeline import Reader, Reading
from qa.retrieve import Hit

# The span ranker's hyperparameters are chosen by F1 on held-out articles from this grid:
# the leaves of each tree and the number of trees.
GRID_LEAVES = (7, 15)
GRID_ROUNDS = (150, 300)
ANSWERABLE_C = 1.0
# A span's relevance for the ranker: 2 when it is a gold answer (F1 1), 1 when it overlaps
# one by half, else 0; questions with no span of relevance 1 teach no ranking.
RELEVANT_F1 = (0.5, 1.0)
# Rows a leaf needs (a twentieth of them in a smaller fit); a feature seen in fewer rows can
# split nothing, so it is left out.
MIN_DATA_IN_LEAF = 50


@dataclass(frozen=True)
class Hyper:
    leaves: int = 15
    rounds: int = 300


@dataclass
class Example:
    id: str
    group: str  # the article it is about: folds never split one
    source: str  # the file it came from
    answers: tuple[str, ...]
    reading: Reading
    texts: list[str]  # each candidate's text
    f1: np.ndarray  # each candidate's F1 against the gold answers
    articles: list[str]  # each candidate's article
    sentence_f1: np.ndarray  # the F1 of each candidate's sentence, as a reply's lead
    sentence_has: np.ndarray  # whether each candidate's sentence holds a gold answer
    several: bool = False  # a list or conflict question: every answer is wanted
    # An answerable question read without the sentences that hold its answer: what a
    # question about something the articles do not say looks like. It has no answers.
    removed: bool = False


def extract(
    settings: Settings,
    questions: Sequence[SquadQuestion],
    source: str,
    progress: Callable[[int, int], None] | None = None,
    several: bool = False,
) -> list[Example]:
    """Retrieve and read every question against the index in `settings`."""
    from qa.assistant import Assistant

    assistant = Assistant(settings)
    snap = assistant.snapshot()
    reader = Reader(settings.extractive_sentences)
    out = []
    for n, q in enumerate(questions):
        hits, _ = assistant.retrieve(q.question, settings.extractive_passages)
        # Read as the answerer reads it: without the words that point at an article.
        query = assistant.references().without(q.question)
        parsed = reader.question(query)
        qvec = assistant.embedder().embed_query(" ".join(query.split()))
        reading = reader.read(snap, parsed, qvec, hits)
        out.append(_example(snap, hits, q, reading, source, several))
        if q.answers and not several:
            gone = _answer_removed(reader, snap, hits, q, reading, source)
            if gone is not None:
                out.append(gone)
        if progress:
            progress(n + 1, len(questions))
    return out


# A question is read without its answer only when that leaves most of what was read: an
# answer said in most of the sentences ("the city" in an article about it) is not a fact
# the passages could lack.
MAX_REMOVED_SHARE = 0.5


def _example(
    snap: IndexSnapshot,
    hits: Sequence[Hit],
    q: SquadQuestion,
    reading: Reading,
    source: str,
    several: bool = False,
    removed: bool = False,
) -> Example:
    """A question's reading with each candidate labelled by its F1 against the answers."""

    def said(start: int, end: int, hit: int) -> str:
        return str(snap.articles[hits[hit].article_id]["text"][start:end])

    texts = [said(c.start, c.end, s.hit) for s, c in reading.spans]
    sentences = [said(s.start, s.end, s.hit) for s, _ in reading.spans]
    return Example(
        q.id,
        q.article,
        source,
        q.answers,
        reading,
        texts,
        np.array([best_scores(q.answers, t)[1] if q.answers else 0.0 for t in texts]),
        [hits[s.hit].article_id for s, _ in reading.spans],
        np.array([best_scores(q.answers, t)[1] if q.answers else 0.0 for t in sentences]),
        np.array([any(contains(t, a) for a in q.answers) for t in sentences], dtype=bool),
        several,
        removed,
    )


def _answer_removed(
    reader: Reader,
    snap: IndexSnapshot,
    hits: Sequence[Hit],
    q: SquadQuestion,
    reading: Reading,
    source: str,
) -> Example | None:
    """The question read again without every sentence that holds one of its answers (None
    when no sentence does, or most do): the same words matched in the same passages, the
    fact asked for gone, as when a question asks what the articles do not say."""
    kept = [
        s
        for s in reading.sentences
        if not any(
            contains(str(snap.articles[hits[s.hit].article_id]["text"][s.start : s.end]), a)
            for a in q.answers
        )
    ]
    dropped = len(reading.sentences) - len(kept)
    if not dropped or dropped > MAX_REMOVED_SHARE * len(reading.sentences):
        return None
    again = reader.reread(reading.question, kept, reading.weights)
    unanswerable = replace(q, id=f"{q.id}/removed", answers=())
    return _example(snap, hits, unanswerable, again, source, removed=True)


# -- models ------------------------------------------------------------------------------
def _fit_linear(
    rows: Sequence[Features],
    y: Sequence[int],
    seed: int,
    c: float,
    sample_weight: Sequence[float] | None = None,
) -> Linear:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    if len(set(y)) < 2:  # too little data to tell anything apart: a constant model
        share = (sum(y) + 0.5) / (len(y) + 1.0)
        return Linear({}, round(float(np.log(share / (1 - share))), 4))
    vec = DictVectorizer(sparse=True, sort=True)
    x = vec.fit_transform(rows)
    lr = LogisticRegression(C=c, max_iter=3000, random_state=seed)
    lr.fit(x, np.asarray(y), sample_weight=sample_weight)
    names = vec.get_feature_names_out()
    # Weights this small change no decision; leaving them out keeps the file small.
    weights = {
        str(n): round(float(w), 4)
        for n, w in zip(names, lr.coef_[0], strict=True)
        if abs(w) >= 1e-3
    }
    return Linear(weights, round(float(lr.intercept_[0]), 6))


def relevance(f1: float) -> int:
    return sum(int(f1 >= t - 1e-9) for t in RELEVANT_F1)


def fit_span(examples: Sequence[Example], seed: int, hyper: Hyper) -> SpanModel:
    """A LambdaRank ranker of each question's candidates (LightGBM, one thread, deterministic),
    fitted on the answerable questions some span answers."""
    import lightgbm
    from sklearn.feature_extraction import DictVectorizer

    rows: list[Features] = []
    y: list[int] = []
    groups: list[int] = []
    for ex in examples:
        if not ex.answers or not len(ex.f1) or ex.f1.max() < RELEVANT_F1[0] - 1e-9:
            continue  # nothing to learn about ranking from a question no span answers
        rows.extend(ex.reading.features)
        y.extend(relevance(float(v)) for v in ex.f1)
        groups.append(len(ex.f1))
    if len(set(y)) < 2:  # too little data to tell spans apart: every span scores the same
        return Linear({}, 0.0)
    vec = DictVectorizer(sparse=True, sort=True)
    x = vec.fit_transform(rows).tocsc()
    seen = np.asarray((x != 0).sum(axis=0)).ravel()
    leaf = max(1, min(MIN_DATA_IN_LEAF, len(rows) // 20))
    keep = np.flatnonzero(seen >= leaf)
    if not len(keep):
        return Linear({}, 0.0)
    names = tuple(str(n) for n in vec.get_feature_names_out()[keep])
    params = {
        "objective": "lambdarank",
        "lambdarank_truncation_level": 10,
        "learning_rate": 0.05,
        "num_leaves": hyper.leaves,
        "min_data_in_leaf": leaf,
        "min_sum_hessian_in_leaf": 1e-3,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "num_threads": 1,
        "deterministic": True,
        "force_row_wise": True,
        "seed": seed,
        "verbose": -1,
    }
    data = lightgbm.Dataset(x[:, keep].tocsr(), np.asarray(y), group=groups, params={"verbose": -1})
    booster = lightgbm.train(params, data, num_boost_round=hyper.rounds)
    return Ranker(names, booster.model_to_string())


INNER_FOLDS = 4  # folds of articles for choices made inside the fitting data


def folds(examples: Sequence[Example], n: int | None = None) -> list[set[str]]:
    """Groups of articles held out together: one article each (n None), or n folds of
    articles, as even in questions as can be, assigned in a fixed order."""
    sizes: dict[str, int] = {}
    for ex in examples:  # a question read without its answer is not one more question
        sizes[ex.group] = sizes.get(ex.group, 0) + int(not ex.removed)
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
    tried: dict[str, float] = {}
    chosen: dict[str, Hyper] = {}
    for leaves in GRID_LEAVES:
        for rounds in GRID_ROUNDS:
            h, key = Hyper(leaves, rounds), f"leaves={leaves} rounds={rounds}"
            tried[key] = round(span_f1_by_article(examples, seed, h), 4)
            chosen[key] = h
            log(f"span ranker {key}: {tried[key]}")
    return chosen[max(tried, key=lambda k: tried[k])], tried


def best_span(model: SpanModel, ex: Example) -> tuple[int, list[float]]:
    scores = model.scores(ex.reading.features)
    return (int(np.argmax(scores)) if scores else -1), scores


@dataclass(frozen=True)
class GateRow:
    features: Features
    value: float  # the reply's lead F1: the best span's, or its sentence's for open questions
    label: int  # 1: the reply answers (its lead overlaps the gold by half, or holds it)


def question_row(ex: Example, span: SpanModel, sentence_types: frozenset[str]) -> GateRow:
    """The abstention model's features, the reply's F1 and whether it answers."""
    i, scores = best_span(span, ex)
    best = ex.reading.spans[i][0] if i >= 0 else None
    f = question_features(
        ex.reading.question, scores, best, ex.reading.sentences, ex.reading.weights
    )
    if i < 0:
        return GateRow(f, 0.0, 0)
    if sentence_led(ex.reading.question.qtype, sentence_types):
        j = lead_span(ex.reading, i)
        value = float(ex.sentence_f1[j])
        return GateRow(f, value, int(value >= 0.5 or bool(ex.sentence_has[j])))
    return GateRow(f, float(ex.f1[i]), int(ex.f1[i] >= 0.5))


def fit_answerable(
    rows: Sequence[GateRow], seed: int, weights: Sequence[float] | None = None
) -> Linear:
    """Answer when the reply is right: its lead overlaps the gold by half (F1), or, led by a
    sentence, holds it. A row of weight 0 is left out."""
    if weights is not None:
        kept = [(r, w) for r, w in zip(rows, weights, strict=True) if w > 0]
        rows, weights = [r for r, _ in kept], [w for _, w in kept]
    return _fit_linear(
        [r.features for r in rows], [r.label for r in rows], seed, ANSWERABLE_C, weights
    )


def gate_weights(examples: Sequence[Example], absent_weight: float) -> list[float]:
    """How much each question's row counts in the abstention model's fit: an answerable
    question read without its answer counts `absent_weight` (0: measured, not fitted on)."""
    return [absent_weight if ex.removed else 1.0 for ex in examples]


# A question type is answered with the sentence when, on the fitting folds, the best span's
# sentence scores a higher F1 than the span itself ("why", "how" do), given this many
# answerable questions of that type to tell.
MIN_TYPE_QUESTIONS = 10


def choose_sentence_types(
    examples: Sequence[Example], spans: Sequence[SpanModel]
) -> frozenset[str]:
    """`spans[i]` is the span model that did not see `examples[i]`."""
    by_type: dict[str, list[tuple[float, float]]] = {}
    for ex, span in zip(examples, spans, strict=True):
        if not ex.answers:
            continue
        i, _ = best_span(span, ex)
        if i >= 0:
            pair = (float(ex.f1[i]), float(ex.sentence_f1[i]))
            by_type.setdefault(ex.reading.question.qtype, []).append(pair)
    return frozenset(
        q
        for q, pairs in by_type.items()
        if len(pairs) >= MIN_TYPE_QUESTIONS
        and np.mean([b for _, b in pairs]) > np.mean([a for a, _ in pairs])
    )


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


def _oof_spans(examples: Sequence[Example], seed: int, hyper: Hyper) -> list[SpanModel]:
    """For each question, a span model fitted on the folds of articles without it."""
    out: list[SpanModel | None] = [None] * len(examples)
    for held in folds(examples, INNER_FOLDS):
        span = fit_span([ex for ex in examples if ex.group not in held], seed, hyper)
        for i, ex in enumerate(examples):
            if ex.group in held:
                out[i] = span
    return [s for s in out if s is not None]


def _oof_rows(
    examples: Sequence[Example], seed: int, hyper: Hyper
) -> tuple[list[GateRow], frozenset[str]]:
    """Question rows whose span scores come from span models fitted on other articles, and
    the question types those models answer better with the sentence."""
    spans = _oof_spans(examples, seed, hyper)
    types = choose_sentence_types(examples, spans)
    return [question_row(ex, s, types) for ex, s in zip(examples, spans, strict=True)], types


def cross_validate(
    examples: Sequence[Example],
    seed: int,
    hyper: Hyper,
    max_false_abstention: float,
    log: Callable[[str], None],
    absent_weight: float = 0.0,
) -> dict[str, Any]:
    """Leave one article out: each article's questions scored by models fitted on the rest.
    The figures are the questions' own; the questions read without their answer are
    reported apart (`absent`: the share of them abstained on)."""
    groups = sorted({ex.group for ex in examples})
    answerable = np.array([bool(ex.answers) for ex in examples])
    removed = np.array([ex.removed for ex in examples])
    p = np.zeros(len(examples))
    f1 = np.zeros(len(examples))
    thresholds: dict[str, float] = {}
    for g in groups:
        train = [ex for ex in examples if ex.group != g]
        test_idx = [i for i, ex in enumerate(examples) if ex.group == g]
        span = fit_span(train, seed, hyper)
        inner_rows, types = _oof_rows(train, seed, hyper)
        gate = fit_answerable(inner_rows, seed, gate_weights(train, absent_weight))
        thresholds[g] = _threshold(gate, train, inner_rows, max_false_abstention)
        for i in test_idx:
            row = question_row(examples[i], span, types)
            f1[i], p[i] = row.value, gate.probability(row.features)
        log(f"fold {g}: threshold {thresholds[g]:.3f}, sentence-led types {sorted(types)}")
    answer = np.array([p[i] >= thresholds[ex.group] for i, ex in enumerate(examples)])
    asked = ~removed
    per_article = {}
    for g in groups:
        idx = np.array([ex.group == g for ex in examples]) & asked
        if idx.any():
            per_article[g] = _figures(answer[idx], f1[idx], answerable[idx])
    per_source = {}
    for src in sorted({ex.source for ex in examples}):
        idx = np.array([ex.source == src for ex in examples]) & asked
        per_source[src] = _figures(answer[idx], f1[idx], answerable[idx])
    curve = _curve(p[asked], f1[asked], answerable[asked])
    return {
        "folds": "leave one article out",
        "thresholds": thresholds,
        "overall": _figures(answer[asked], f1[asked], answerable[asked]),
        "never_abstaining": _figures(np.ones(int(asked.sum()), bool), f1[asked], answerable[asked]),
        "absent": _absent(answer, removed, examples),
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


def _threshold(
    gate: Linear,
    examples: Sequence[Example],
    rows: Sequence[GateRow],
    max_false_abstention: float,
) -> float:
    """The abstention threshold, chosen on the questions themselves (not on those read
    without their answer)."""
    asked = [i for i, ex in enumerate(examples) if not ex.removed]
    p = np.array([gate.probability(rows[i].features) for i in asked])
    values = np.array([rows[i].value for i in asked])
    answerable = np.array([bool(examples[i].answers) for i in asked])
    return choose_threshold(p, values, answerable, max_false_abstention)


def _absent(answer: np.ndarray, removed: np.ndarray, examples: Sequence[Example]) -> dict[str, Any]:
    """How often the answerer abstains on answerable questions read without the sentences
    that answer them, overall and per source file."""
    per_source = {}
    for src in sorted({ex.source for ex in examples}):
        idx = np.array([ex.source == src for ex in examples]) & removed
        if idx.any():
            per_source[src] = round(float((~answer[idx]).mean()), 4)
    return {
        "questions": int(removed.sum()),
        "abstained": round(float((~answer[removed]).mean()), 4) if removed.any() else None,
        "per_source": per_source,
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
    asked = sum(not ex.removed for ex in out)
    log(
        f"read {asked} questions of {path.name} (and {len(out) - asked} without their answer) "
        f"in {time.perf_counter() - t:.0f}s"
    )
    return out


def examples_from_gold(
    settings: Settings, path: Path, workdir: Path, log: Callable[[str], None]
) -> list[Example]:
    """The items of a gold file asked on their own (no conversation), against the configured
    corpus (indexed in a scratch folder). Factoid and unanswerable items fit the span and
    abstention models; list and conflict items (every answer wanted) fit the margin within
    which further spans join the reply."""
    from index.build import build_index

    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    rows = [r for r in rows if not r.get("history")]

    def question(r: dict[str, Any]) -> SquadQuestion:
        answers = tuple(r.get("answers", ())) if r["kind"] != "unanswerable" else ()
        article = str(r.get("article") or (r.get("sources") or [path.name])[0])
        return SquadQuestion(r["id"], r["question"], answers, article)

    single = [question(r) for r in rows if r.get("kind") in {"factoid", "unanswerable"}]
    several = [question(r) for r in rows if r.get("kind") in {"list", "conflict"}]
    scratch = settings.model_copy(update={"data_dir": workdir / f"{path.stem}-data"})
    log(build_index(scratch).summary())
    return extract(scratch, single, path.name) + extract(scratch, several, path.name, several=True)


def fit(
    settings: Settings,
    squad: Sequence[Path],
    gold: Sequence[Path],
    *,
    seed: int = 0,
    max_false_abstention: float = 0.15,
    absent_weight: float = 0.0,
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
        examples,
        [*squad, *gold],
        seed=seed,
        max_false_abstention=max_false_abstention,
        absent_weight=absent_weight,
        log=log,
    )


def fit_examples(
    examples: Sequence[Example],
    inputs: Sequence[Path],
    *,
    seed: int,
    max_false_abstention: float,
    absent_weight: float = 0.0,
    log: Callable[[str], None] = print,
) -> AnswererModel:
    sets = [ex for ex in examples if ex.several]
    examples = [ex for ex in examples if not ex.several]
    hyper, tried = select_hyper(examples, seed, log)
    cv = cross_validate(examples, seed, hyper, max_false_abstention, log, absent_weight)
    span = fit_span(examples, seed, hyper)
    rows, types = _oof_rows(examples, seed, hyper)
    gate = fit_answerable(rows, seed, gate_weights(examples, absent_weight))
    threshold = _threshold(gate, examples, rows, max_false_abstention)
    log(f"sentence-led question types: {sorted(types)}")
    margin, margins = choose_margin(span, sets)
    if sets:
        log(f"set margin {margin} (mean item F1 by margin: {margins})")
    info = {
        "data": [{"file": Path(p_).name, "sha256": sha256(Path(p_))} for p_ in inputs],
        "seed": seed,
        "span_model": {
            "kind": "lightgbm lambdarank" if isinstance(span, Ranker) else "constant",
            "leaves": hyper.leaves,
            "rounds": hyper.rounds,
            "relevant_f1": list(RELEVANT_F1),
            "grid": tried,
        },
        "answerable_model": {"C": ANSWERABLE_C, "label_f1": 0.5},
        "max_false_abstention": max_false_abstention,
        "absent_weight": absent_weight,
        "questions": sum(not ex.removed for ex in examples),
        "absent_questions": sum(ex.removed for ex in examples),
        "set_questions": len(sets),
        "set_margins": margins,
        "features": {
            "span": sorted(
                span.features if isinstance(span, Ranker) else span.to_json()["weights"]
            ),
            "answerable": sorted(gate.weights),
        },
        "cross_validated": {k: v for k, v in cv.items() if k not in {"predictions"}},
    }
    return AnswererModel(span, gate, round(threshold, 6), info, margin, tuple(sorted(types)))


# Logit margins tried for listing further answers; the fit keeps the best on list and
# conflict questions (which the span model is not fitted on).
GRID_MARGIN = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)


def set_f1(ex: Example, chosen: Sequence[int]) -> float:
    """How well the listed spans match the wanted answers: precision is the share of spans
    that hold or are held by an answer, recall the share of answers so given."""
    from eval.metrics import contains

    texts = [ex.texts[i] for i in chosen]
    hit = [t for t in texts if any(contains(t, a) or contains(a, t) for a in ex.answers)]
    found = [a for a in ex.answers if any(contains(t, a) or contains(a, t) for t in texts)]
    if not hit:
        return 0.0
    precision, recall = len(hit) / len(texts), len(found) / len(ex.answers)
    return 2 * precision * recall / (precision + recall)


def choose_margin(
    span: SpanModel, sets: Sequence[Example]
) -> tuple[float | None, dict[str, float]]:
    usable = [ex for ex in sets if len(ex.f1)]
    if not usable:
        return None, {}
    tried: dict[str, float] = {}
    for margin in GRID_MARGIN:
        got = []
        for ex in usable:
            best, scores = best_span(span, ex)
            chosen, _ = pick(ex.reading, scores, best, margin, ex.articles, ex.texts)
            got.append(set_f1(ex, chosen))
        tried[str(margin)] = round(float(np.mean(got)), 4)
    best_margin = max(GRID_MARGIN, key=lambda m: (tried[str(m)], -m))
    return best_margin, tried
