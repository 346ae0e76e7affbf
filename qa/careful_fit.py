"""The fit of careful mode's decision (qa/careful.json) from a sample's checked rows: `qa fit
--careful RESULTS` (rows written by `python -m eval.careful_sample`, each with the verifier's
p_no for the fast answer's candidate, the fast answerer's gate probability for it, and the
p_no of its next-best candidates).

Every figure is out of fold, one fold per article: each article's questions are decided by a
decision fitted on the other articles. The decision is a logistic regression of "unanswerable"
on p_no, cut where it gives 0.5; two additions are fitted beside it and used only when their
out-of-fold gain in overall F1 is above the sample's noise (a seeded paired bootstrap's 95%
interval above 0): the gate's probability as a second feature (JOINT), next-best
candidates checked after a turn-down (REPLACING), and before them the model's own reading of
the passage, checked like a candidate (READING). Behind whatever of these is used, checking the
candidates the fast answerer's gate withheld is kept only when it beats leaving the gate's
abstentions as they are by the same rule (LEAVING is careful mode without it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from qa.answerers.extractive.compose import MAX_ALTERNATIVES

FAST, CAREFUL, GATED = "fast", "careful", "the gate, then the check"
REPLACING = "careful, then the next-best candidates"
JOINT = "careful, p_no with the gate's probability"
READING = "careful, then the model's reading, then the next-best candidates"
LEAVING = "careful as fitted, the gate's abstentions left as they are"
BOOTSTRAP = 1000  # resamples of the 95% intervals


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """The probability that a random positive scores above a random negative (ties half)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def bootstrap_auc(labels: Sequence[bool], scores: Sequence[float], seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    y, s = np.asarray(labels), np.asarray(scores)
    values = []
    for _ in range(BOOTSTRAP):
        i = rng.integers(0, len(y), len(y))
        if y[i].all() or not y[i].any():
            continue
        values.append(auc(list(y[i]), list(s[i])))
    return [round(float(np.percentile(values, q)), 3) for q in (2.5, 97.5)]


def p50_p95(values: Sequence[float]) -> dict[str, float | None]:
    from qa.benchmarks.stats import percentile

    if not values:
        return {"p50": None, "p95": None}
    return {"p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3)}


def _logistic(
    x: Sequence[Sequence[float]], unanswerable: Sequence[bool]
) -> tuple[list[float], float]:
    """A logistic regression of unanswerable on the columns of `x`: (weights, bias)."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression().fit(np.array(x), np.array(unanswerable))
    return [float(w) for w in fit.coef_[0]], float(fit.intercept_[0])


def logistic_cut(p_no: Sequence[float], unanswerable: Sequence[bool]) -> float:
    """The p_no at which a logistic regression of unanswerable on p_no gives 0.5."""
    (w,), b = _logistic([[p] for p in p_no], unanswerable)
    # A model that cannot tell them apart decides nothing: never abstain on p_no.
    return min(1.0, max(0.0, -b / w)) if w > 0 else 1.0


def decide(row: dict[str, Any], variant: str, cut: float) -> dict[str, Any]:
    """One question's outcome under a variant and cut: abstained, EM, F1."""
    if variant == FAST:
        abstain, em, f1 = row["fast_abstained"], row["fast_em"], row["fast_f1"]
    elif variant == GATED:
        abstain = row["fast_abstained"] or row["p_no"] > cut
        em, f1 = row["fast_em"], row["fast_f1"]
    else:
        p = row["committed_p_no"]
        abstain = p is None or p > cut
        em, f1 = row["committed_em"], row["committed_f1"]
    if abstain:  # an abstention scores 1 on an unanswerable question, 0 on an answerable one
        em = f1 = 0.0 if row["answerable"] else 1.0
    return {"answerable": row["answerable"], "abstained": bool(abstain), "em": em, "f1": f1}


@dataclass(frozen=True)
class Replacing:
    """Careful mode with next-best candidates: the first candidate's cut, how many next-best
    ones to try when it is turned down, and their cut."""

    cut: float
    alternatives: int
    alternative_cut: float
    read_cut: float | None = None  # None: the model is not asked to read the passage
    # The candidates the fast answerer's gate withheld are checked too (and given when borne
    # out); False: a fast abstention stays as it is, unchecked.
    withheld: bool = True


def decide_replacing(row: dict[str, Any], fit: Replacing) -> dict[str, Any]:
    """One question under careful mode with the model's reading (when fitted) and next-best
    candidates; `tried` counts the extra checks it would send, `read` whether it asked the
    model to read."""
    p = None if row["fast_abstained"] and not fit.withheld else row["committed_p_no"]
    chosen: dict[str, Any] | None = None
    key, tried, read = ("committed_em", "committed_f1"), 0, False
    if p is not None and fit.read_cut is not None and row.get("read"):
        # The model reads after the first check, whatever it found; a reading borne out
        # comes first.
        read = True
        if row["read"]["found"] and row["read"]["p_no"] <= fit.read_cut:
            chosen, key = row["read"], ("em", "f1")
    if p is not None and chosen is None and p <= fit.cut:
        chosen = row
    if p is not None and chosen is None:
        for alt in row.get("alternatives", [])[: fit.alternatives]:
            tried += 1
            if alt["p_no"] <= fit.alternative_cut:
                chosen, key = alt, ("em", "f1")
                break
    if chosen is None:
        em = f1 = 0.0 if row["answerable"] else 1.0
    else:
        em, f1 = chosen[key[0]], chosen[key[1]]
    return {
        "answerable": row["answerable"],
        "abstained": chosen is None,
        "em": em,
        "f1": f1,
        "tried": tried,
        "read": read,
        "replaced": chosen is not None and chosen is not row,
    }


def fit_replacing(
    rows: Sequence[dict[str, Any]],
    read: bool = False,
    withheld: bool = True,
    alternatives: bool = True,
) -> Replacing:
    """The first cut as careful mode's (cut_on); with `read`, then the cut on the check of
    the model's reading (read after the first check, whatever it found, and given first when
    borne out) that scores the highest overall F1 on `rows` (none when no cut beats not
    reading); then (with `alternatives`) the number of next-best candidates (0 to
    MAX_ALTERNATIVES) and their cut that score the highest, every p_no of theirs a candidate
    cut; ties go to not reading, fewer candidates, then the lower cut. Without `withheld`,
    all of it is fitted on the questions the fast answerer's gate answered: the others stay
    abstentions."""
    if not withheld:
        rows = [r for r in rows if not r["fast_abstained"]]
        return dataclasses.replace(fit_replacing(rows, read, True, alternatives), withheld=False)
    cut = cut_on(rows, CAREFUL)
    turned_down = [r for r in rows if r["committed_p_no"] is not None and r["committed_p_no"] > cut]
    values = sorted({a["p_no"] for r in turned_down for a in r.get("alternatives", [])})
    best = Replacing(cut, 0, 0.0)

    def total(fit: Replacing) -> float:
        return sum(decide_replacing(r, fit)["f1"] for r in rows)

    top = total(best)
    if read:
        checked = [r for r in rows if r["committed_p_no"] is not None]
        readings = sorted(
            {r["read"]["p_no"] for r in checked if (r.get("read") or {}).get("found")}
        )
        for value in readings:
            fit = Replacing(cut, 0, 0.0, value)
            score = total(fit)
            if score > top + 1e-9:
                best, top = fit, score
    for n in range(1, MAX_ALTERNATIVES + 1 if alternatives else 1):
        for value in values:
            fit = Replacing(cut, n, value, best.read_cut)
            score = total(fit)
            if score > top + 1e-9:
                best, top = fit, score
    return best


def fit_rows(rows: Sequence[dict[str, Any]], variant: str) -> list[dict[str, Any]]:
    """The rows a variant's cut is fitted on: the questions its check decides."""
    if variant == GATED:
        return [r for r in rows if not r["fast_abstained"]]
    return [r for r in rows if r["committed_p_no"] is not None]


def cut_on(rows: Sequence[dict[str, Any]], variant: str) -> float:
    chosen = fit_rows(rows, variant)
    key = "p_no" if variant == GATED else "committed_p_no"
    return logistic_cut([r[key] for r in chosen], [not r["answerable"] for r in chosen])


def out_of_fold(
    rows: Sequence[dict[str, Any]], variant: str
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Each article's questions decided by a cut fitted on the other articles."""
    decided: list[dict[str, Any]] = [{} for _ in rows]
    cuts = {}
    for article in sorted({r["article"] for r in rows}):
        cut = cut_on([r for r in rows if r["article"] != article], variant)
        cuts[article] = round(cut, 4)
        for i, r in enumerate(rows):
            if r["article"] == article:
                decided[i] = decide(r, variant, cut)
    return decided, cuts


def out_of_fold_replacing(
    rows: Sequence[dict[str, Any]],
    read: bool = False,
    withheld: bool = True,
    alternatives: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Each article's questions decided by the cuts and count fitted on the other articles."""
    decided: list[dict[str, Any]] = [{} for _ in rows]
    fits: dict[str, dict[str, Any]] = {}
    for article in sorted({r["article"] for r in rows}):
        others = [r for r in rows if r["article"] != article]
        fit = fit_replacing(others, read, withheld, alternatives)
        fits[article] = {
            "cut": round(fit.cut, 4),
            "alternatives": fit.alternatives,
            "alternative_cut": round(fit.alternative_cut, 4),
        }
        if read:
            fits[article]["read_cut"] = None if fit.read_cut is None else round(fit.read_cut, 4)
        for i, r in enumerate(rows):
            if r["article"] == article:
                decided[i] = decide_replacing(r, fit)
    return decided, fits


def scores(decided: Sequence[dict[str, Any]]) -> dict[str, Any]:
    has = [d for d in decided if d["answerable"]]
    no = [d for d in decided if not d["answerable"]]
    answered = [d for d in decided if not d["abstained"]]

    def mean(xs: Sequence[float]) -> float | None:
        return round(sum(xs) / len(xs), 4) if xs else None

    return {
        "HasAns_f1": mean([d["f1"] for d in has]),
        "NoAns": mean([float(d["abstained"]) for d in no]),
        "f1": mean([d["f1"] for d in decided]),
        "exact": mean([d["em"] for d in decided]),
        "abstention_rate": mean([float(d["abstained"]) for d in decided]),
        "false_abstention": mean([float(d["abstained"]) for d in has]),
        "coverage": mean([1.0 for _ in answered] + [0.0] * (len(decided) - len(answered))),
        "answered_precision": mean([d["f1"] for d in answered]),
    }


def curve(rows: Sequence[dict[str, Any]], variant: str) -> list[dict[str, float]]:
    """Answered precision (mean F1 of the answers given) against coverage, over every cut."""
    key = "p_no" if variant == GATED else "committed_p_no"
    values = sorted({float(r[key]) for r in rows if r[key] is not None} | {0.0, 1.0})
    points = []
    for cut in values:
        s = scores([decide(r, variant, cut) for r in rows])
        if s["answered_precision"] is not None:
            points.append(
                {"cut": cut, "coverage": s["coverage"], "precision": s["answered_precision"]}
            )
    return points


@dataclass(frozen=True)
class Joint:
    """A logistic regression of unanswerable on p_no and the fast answerer's gate probability
    (`confidence`), as a cut on p_no that moves with it: abstain when p_no is above
    `cut + slope * confidence` (where the regression gives 0.5)."""

    cut: float
    slope: float

    def at(self, confidence: float) -> float:
        from qa.careful import moving_cut

        return moving_cut(self.cut, self.slope, confidence)


def fit_joint(rows: Sequence[dict[str, Any]]) -> Joint:
    chosen = fit_rows(rows, CAREFUL)
    x = [[r["committed_p_no"], r["committed_confidence"]] for r in chosen]
    (w_p, w_c), b = _logistic(x, [not r["answerable"] for r in chosen])
    # A model that cannot tell them apart by p_no decides nothing: never abstain on p_no.
    return Joint(-b / w_p, -w_c / w_p) if w_p > 0 else Joint(1.0, 0.0)


def decide_joint(row: dict[str, Any], fit: Joint) -> dict[str, Any]:
    # No confidence only where there is no candidate, which abstains whatever the cut.
    return decide(row, CAREFUL, fit.at(float(row.get("committed_confidence") or 0.0)))


def analyse_joint(rows: Sequence[dict[str, Any]], seed: int) -> dict[str, Any]:
    """The decision on p_no and the gate's probability, out of fold; the fit on all rows; and
    whether it is used: only when its out-of-fold gain in overall F1 over p_no alone is above
    the sample's noise (the lower end of a seeded paired bootstrap's 95% interval above 0)."""
    if any(r.get("committed_confidence") is None for r in fit_rows(rows, CAREFUL)):
        return {"scores": None, "used": False, "fit": None}  # rows from before it was kept
    decided: list[dict[str, Any]] = [{} for _ in rows]
    fits = {}
    for article in sorted({r["article"] for r in rows}):
        fit = fit_joint([r for r in rows if r["article"] != article])
        fits[article] = {"cut": round(fit.cut, 4), "slope": round(fit.slope, 4)}
        for i, r in enumerate(rows):
            if r["article"] == article:
                decided[i] = decide_joint(r, fit)
    plain, _ = out_of_fold(rows, CAREFUL)
    gain, gain_95 = paired_gain(decided, plain, seed)
    fit = fit_joint(rows)
    return {
        "scores": {**scores(decided), "fit_per_fold": fits},
        "fit": {"cut": round(fit.cut, 4), "slope": round(fit.slope, 4)},
        "used": gain_95[0] > 0,
        "gain": gain,
        "gain_95": gain_95,
    }


def paired_gain(
    decided: Sequence[dict[str, Any]], plain: Sequence[dict[str, Any]], seed: int
) -> tuple[float, list[float]]:
    """The mean gain in F1 of `decided` over `plain`, question by question, and its seeded
    paired bootstrap 95% interval."""
    gain = np.array([d["f1"] - p["f1"] for d, p in zip(decided, plain, strict=True)])
    rng = np.random.default_rng(seed)
    means = [gain[rng.integers(0, len(gain), len(gain))].mean() for _ in range(BOOTSTRAP)]
    return round(float(gain.mean()), 4), [
        round(float(np.percentile(means, q)), 4) for q in (2.5, 97.5)
    ]


def analyse(results: dict[str, Any]) -> dict[str, Any]:
    rows = results["rows"]
    out: dict[str, Any] = {}
    for variant in (FAST, CAREFUL, GATED):
        cuts: dict[str, float] = {}
        if variant == FAST:
            decided = [decide(r, FAST, 1.0) for r in rows]
        else:
            decided, cuts = out_of_fold(rows, variant)
        out[variant] = {**scores(decided), "cut_per_fold": cuts}
    checked = fit_rows(rows, CAREFUL)
    labels = [not r["answerable"] for r in checked]
    p_no = [float(r["committed_p_no"]) for r in checked]
    gated = fit_rows(rows, GATED)

    def seconds(key: str) -> dict[str, float | None]:
        return p50_p95([float(r[key]) for r in rows])

    careful_decided, _ = out_of_fold(rows, CAREFUL)
    changed = sum(
        d["abstained"] != r["fast_abstained"] for d, r in zip(careful_decided, rows, strict=True)
    )
    replacing = analyse_replacing(rows, results["meta"]["seed"])
    out[REPLACING] = replacing["scores"]
    joint = analyse_joint(rows, results["meta"]["seed"])
    out[JOINT] = joint["scores"]
    reading = analyse_reading(rows, results["meta"]["seed"])
    out[READING] = reading["scores"]
    # Whether to check what the gate withheld is decided behind the rest of careful mode as
    # cut_file uses it (the joint cut, when used, decides every candidate alone).
    read = bool(reading["used"]) and not joint["used"]
    tries = (bool(replacing["used"]) or read) and not joint["used"]
    withheld = analyse_withheld(rows, results["meta"]["seed"], read, tries)
    out[LEAVING] = withheld["scores"]
    return {
        "withheld": {k: v for k, v in withheld.items() if k != "scores"},
        "joint": {k: v for k, v in joint.items() if k != "scores"},
        "reading": {k: v for k, v in reading.items() if k != "scores"},
        "variants": out,
        "replacing": {k: v for k, v in replacing.items() if k != "scores"},
        "chosen": CAREFUL if out[CAREFUL]["f1"] >= out[GATED]["f1"] else GATED,
        "cut": round(cut_on(rows, CAREFUL), 4),
        "cut_gated": round(cut_on(rows, GATED), 4),
        "checked": len(checked),
        "auc_checked": round(auc(labels, p_no), 4),
        "auc_checked_95": bootstrap_auc(labels, p_no, results["meta"]["seed"]),
        "auc_gated": round(
            auc([not r["answerable"] for r in gated], [float(r["p_no"]) for r in gated]), 4
        ),
        "changed_out_of_fold": changed,
        "seconds": {
            FAST: seconds("fast_seconds"),
            CAREFUL: seconds("careful_seconds"),
            "check": seconds("check_seconds"),
        },
        "curves": {CAREFUL: curve(rows, CAREFUL), GATED: curve(rows, GATED)},
    }


def analyse_replacing(rows: Sequence[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Careful mode with next-best candidates, out of fold; the fit on all rows; and whether
    it is used: only when its out-of-fold gain in overall F1 over careful mode without them
    is above the sample's noise (the lower end of a seeded paired bootstrap's 95% interval
    above 0), since every extra candidate is one more call to the model."""
    if not all("alternatives" in r for r in rows):  # results from before they were checked
        return {"scores": None, "used": False, "fit": asdict(Replacing(0.0, 0, 0.0))}
    decided, fits = out_of_fold_replacing(rows)
    plain, _ = out_of_fold(rows, CAREFUL)
    fit = fit_replacing(rows)
    seconds = [
        float(r["careful_seconds"]) + sum(a["seconds"] for a in r["alternatives"][: d["tried"]])
        for r, d in zip(rows, decided, strict=True)
    ]
    gain, gain_95 = paired_gain(decided, plain, seed)
    used = gain_95[0] > 0 and fit.alternatives > 0
    return {
        "scores": {**scores(decided), "fit_per_fold": fits},
        "fit": asdict(fit),
        "used": used,
        "gain": gain,
        "gain_95": gain_95,
        "replaced_out_of_fold": sum(d["replaced"] for d in decided),
        "replaced_right": sum(d["replaced"] and d["f1"] >= 0.5 for d in decided),
        "replaced_unanswerable": sum(d["replaced"] and not d["answerable"] for d in decided),
        "extra_checks": sum(d["tried"] for d in decided),
        "seconds": p50_p95(seconds),
    }


def analyse_reading(rows: Sequence[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Careful mode that, after the first check, asks the model to read the passage and checks
    its span, given first when borne out: out of fold, the fit on all rows, and whether it is
    used: only when its out-of-fold gain in overall F1 over careful mode with next-best
    candidates alone is above the sample's noise (the lower end of a seeded paired
    bootstrap's 95% interval above 0), since a reading is two more calls to the model."""
    checked = [r for r in rows if r["committed_p_no"] is not None]
    if not checked or not all("read" in r for r in checked):  # rows from before readings
        return {"scores": None, "used": False, "fit": asdict(Replacing(0.0, 0, 0.0))}
    decided, fits = out_of_fold_replacing(rows, read=True)
    plain, _ = out_of_fold_replacing(rows)
    fit = fit_replacing(rows, read=True)
    seconds = [
        float(r["careful_seconds"])
        + (float(r["read"]["seconds"]) if d["read"] else 0.0)
        + sum(a["seconds"] for a in r.get("alternatives", [])[: d["tried"]])
        for r, d in zip(rows, decided, strict=True)
    ]
    gain, gain_95 = paired_gain(decided, plain, seed)
    by_reading = [d for d, r in zip(decided, rows, strict=True) if d["replaced"] and d["read"]]
    return {
        "scores": {**scores(decided), "fit_per_fold": fits},
        "fit": asdict(fit),
        "used": gain_95[0] > 0 and fit.read_cut is not None,
        "gain": gain,
        "gain_95": gain_95,
        "found": sum(bool((r.get("read") or {}).get("found")) for r in checked),
        "asked": len(checked),
        "read_out_of_fold": sum(d["read"] for d in decided),
        "given_out_of_fold": len(by_reading),
        "given_right": sum(d["f1"] >= 0.5 and d["answerable"] for d in by_reading),
        "given_unanswerable": sum(not d["answerable"] for d in by_reading),
        "seconds": p50_p95(seconds),
    }


def analyse_withheld(
    rows: Sequence[dict[str, Any]], seed: int, read: bool, alternatives: bool
) -> dict[str, Any]:
    """Careful mode that leaves the fast answerer's abstentions as they are (its cuts fitted
    on the questions the gate answered), out of fold, against careful mode as fitted
    (`read`, `alternatives`), which also checks the candidates the gate withheld and gives
    those borne out. Checking them is used only when its out-of-fold gain in overall F1 over
    leaving them is above the sample's noise (the lower end of a seeded paired bootstrap's 95%
    interval above 0): each is one more call to the model, and a gate's abstention overruled
    wrongly is an answer the articles do not give."""
    checking, _ = out_of_fold_replacing(rows, read, alternatives=alternatives)
    leaving, fits = out_of_fold_replacing(rows, read, False, alternatives)
    gain, gain_95 = paired_gain(checking, leaving, seed)
    given = [
        d for d, r in zip(checking, rows, strict=True) if r["fast_abstained"] and not d["abstained"]
    ]
    seconds = [
        float(r["fast_seconds"])
        if r["fast_abstained"]
        else float(r["careful_seconds"])
        + (float(r["read"]["seconds"]) if d["read"] else 0.0)
        + sum(a["seconds"] for a in r.get("alternatives", [])[: d["tried"]])
        for r, d in zip(rows, leaving, strict=True)
    ]
    return {
        "scores": {**scores(leaving), "fit_per_fold": fits},
        "fit": asdict(fit_replacing(rows, read, False, alternatives)),
        "used": gain_95[0] > 0,
        "gain": gain,
        "gain_95": gain_95,
        "withheld": sum(bool(r["fast_abstained"]) for r in rows),
        "given_out_of_fold": len(given),
        "given_right": sum(d["answerable"] and d["f1"] >= 0.5 for d in given),
        "given_unanswerable": sum(not d["answerable"] for d in given),
        "seconds": p50_p95(seconds),
    }


def cut_file(
    results: dict[str, Any], analysis: dict[str, Any], command: str = "qa fit --careful"
) -> dict[str, Any]:
    """The cut file (qa/careful.json) fitted on every row of `results`, with its provenance."""
    from qa.careful import FORMAT

    oof = analysis["variants"][CAREFUL]
    joint = analysis.get("joint") or {"used": False}
    # The next-best candidates were fitted behind the cut on p_no alone: not with the joint.
    replacing = {
        **analysis["replacing"],
        "used": analysis["replacing"]["used"] and not joint["used"],
    }
    # The reading was fitted behind the cut on p_no alone too, and replaces the fit of the
    # next-best candidates (they are fitted again behind it).
    reading = analysis.get("reading") or {"used": False}
    reading = {**reading, "used": reading["used"] and not joint["used"]}
    fit = replacing["fit"] if replacing["used"] else asdict(Replacing(0.0, 0, 0.0))
    if replacing["used"]:
        oof = analysis["variants"][REPLACING]
    if reading["used"]:
        fit, oof = reading["fit"], analysis["variants"][READING]
    if joint["used"]:
        oof = analysis["variants"][JOINT]
    # Rows from before the choice was analysed: the gate's abstentions are checked.
    withheld = analysis.get("withheld") or {"used": True}
    leave = not withheld["used"] and not joint["used"]
    cut = analysis["cut"]
    if leave:
        fit, oof = withheld["fit"], analysis["variants"][LEAVING]
        cut = round(fit["cut"], 4)
    moving = (
        {"confidence_cut": joint["fit"]["cut"], "confidence_slope": joint["fit"]["slope"]}
        if joint["used"]
        else {}
    )
    return {
        "format": FORMAT,
        "cut": cut,
        "answerer": "extractive",
        "alternatives": fit["alternatives"],
        "alternative_cut": round(fit["alternative_cut"], 4),
        "read": bool(reading["used"]),
        "read_cut": round(fit["read_cut"], 4) if reading["used"] else 0.0,
        "withheld": not leave,
        **moving,
        "rule": "abstain when the verifier's p_no for the fast answer's candidate (the answer "
        "it gives, or the one its gate withheld), proposed with the passages it cites, is above "
        "the cut, and answer otherwise: where a logistic regression of unanswerable on p_no, "
        "fitted on the sample questions with a candidate, gives 0.5. When it is above, try "
        "the next `alternatives` candidates in turn and give the first whose p_no is at most "
        "`alternative_cut` (both chosen for the highest overall F1 on the sample; 0 unless "
        "their out-of-fold gain is above the sample's noise: a paired bootstrap's 95% "
        "interval above 0). With `confidence_cut` (fitted the same way, on p_no and the fast "
        "answerer's gate probability c, and used only when its out-of-fold gain is above that "
        "noise), the cut is confidence_cut + confidence_slope * c for an answer with c. With "
        "`read` (fitted the same way, before the next-best candidates, and used only when its "
        "out-of-fold gain over them is above that noise), the first check is followed by the "
        "model's own reading of the passages, whatever it found: the span it copies, when found "
        "in them word for word and its p_no is at most `read_cut`, is given first. With `withheld` "
        "false (used unless checking the candidates the fast answerer's gate withheld gains "
        "above that noise out of fold), a fast abstention stays as it is, unchecked, and every "
        "cut is fitted on the questions the gate answered",
        "sample": {
            k: results["meta"][k] for k in ("gold", "gold_sha256", "n", "seed", "ids_sha256")
        },
        "model": results["meta"]["model"],
        "verifier": results["meta"]["verifier"],
        "extractive_model": results["meta"]["extractive_model"],
        "auc": analysis["auc_checked"],
        "auc_95": analysis["auc_checked_95"],
        "fitted_on": analysis["checked"],
        "cut_per_fold": analysis["variants"][CAREFUL]["cut_per_fold"],
        **(
            {"fit_per_fold": oof["fit_per_fold"]}
            if replacing["used"] or joint["used"] or reading["used"] or leave
            else {}
        ),
        "out_of_fold": {k: oof[k] for k in ("HasAns_f1", "NoAns", "f1", "abstention_rate")},
        "measured": results["meta"]["created"],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
    }
