"""Features of a candidate span and of a question, as named values: plain functions of the
question's parse, the sentence's scores and the span's tags. No word of any corpus appears
here; which names matter, and how much, is what `qa fit` learns."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from qa.answerers.extractive.candidates import Candidate
from qa.answerers.extractive.reading import Question, Sentence, stem

Features = dict[str, float]


@dataclass(frozen=True)
class Ranks:
    """Where a sentence stands among all the sentences read for one question."""

    cos_rank: dict[int, int]
    ov_rank: dict[int, int]
    best_cos: float
    best_ov: float

    @classmethod
    def of(cls, sentences: Sequence[Sentence]) -> Ranks:
        by_cos = sorted(range(len(sentences)), key=lambda i: -sentences[i].cosine)
        by_ov = sorted(range(len(sentences)), key=lambda i: (-sentences[i].overlap, i))
        return cls(
            {i: r for r, i in enumerate(by_cos)},
            {i: r for r, i in enumerate(by_ov)},
            max((s.cosine for s in sentences), default=0.0),
            max((s.overlap for s in sentences), default=0.0),
        )


def candidate_features(
    question: Question,
    sentence: Sentence,
    index: int,
    cand: Candidate,
    ranks: Ranks,
    weights: dict[str, float],
) -> Features:
    toks = sentence.tokens
    total = sum(weights.values()) or 1.0
    inside = toks[cand.first : cand.last + 1]
    root = toks[cand.root]
    at = {t[0]: i for i, t in enumerate(toks)}  # a token's start -> its index
    governor = toks[at[root[5]]] if root[5] in at else None
    lemmas = [t[2] for t in inside]
    alpha = [t for t in inside if t[3] != "PUNCT"]
    names = [str(t[2]) for t in inside if t[3] == "PROPN" and str(t[2])[:1].isalpha()]
    # Its names' initials spell an abbreviation the question writes ("the VMI"): the span says
    # the question's own words in full, unless the question asks for exactly that.
    initials = "".join(n[0] for n in names) if len(names) > 1 else ""
    restates = initials in question.acronyms and initials != question.expands.lower()
    in_q = sum(1 for t in alpha if t[2] in question.lemmas) / max(len(alpha), 1)
    content_in_q = [t for t in alpha if t[3] in {"NOUN", "PROPN", "NUM", "VERB", "ADJ"}]
    stemmed = [stem(str(t[2])) in question.stems for t in content_in_q]
    if restates:
        in_q, stemmed = 1.0, [True] * len(content_in_q)

    def window(size: int) -> float:
        lo, hi = max(0, cand.first - size), min(len(toks), cand.last + 1 + size)
        near = {t[2] for t in toks[lo : cand.first] + toks[cand.last + 1 : hi]}
        return sum(w for k, w in weights.items() if k in near) / total

    matched = [
        i
        for i, t in enumerate(toks)
        if (i < cand.first or i > cand.last) and t[2] in weights and t[3] != "PUNCT"
    ]
    dist = min((min(abs(i - cand.first), abs(i - cand.last)) for i in matched), default=-1)
    wh = question.wh_nouns
    near_lemmas = {t[2] for t in toks[max(0, cand.first - 3) : cand.last + 4]}
    q = question.qtype
    dep = root[4]
    prev = toks[cand.first - 1] if cand.first > 0 else None
    after = toks[cand.last + 1] if cand.last + 1 < len(toks) else None
    before = prev[2] if prev else ""
    tree = _tree_distance(toks, at, cand.root, matched)
    path = _path(toks, at, cand.root, question.wh_gov or question.root)
    f: Features = {
        "s_cos": sentence.cosine,
        "s_cos_gap": ranks.best_cos - sentence.cosine,
        "s_cos_rank": math.log1p(ranks.cos_rank[index]),
        "s_ov": sentence.overlap,
        "s_ov_gap": ranks.best_ov - sentence.overlap,
        "s_ov_rank": math.log1p(ranks.ov_rank[index]),
        "h_rank": math.log1p(sentence.hit),
        # No full stop at the end: a headline, a caption, a list item, rarely an answer.
        "s_open": float(not toks or toks[-1][3] != "PUNCT"),
        "c_len": math.log1p(len(inside)),
        "c_len1": float(len(inside) == 1),
        "c_inq": in_q,
        "c_allq": float(
            restates or (bool(content_in_q) and all(t[2] in question.lemmas for t in content_in_q))
        ),
        "c_stemq": sum(stemmed) / len(stemmed) if stemmed else 0.0,
        "c_allstemq": float(bool(stemmed) and all(stemmed)),
        # The initials of its names spell the abbreviation the question asks to spell out ("what
        # does NATO stand for"); in any other question such a span only restates its words.
        "c_acro": float(bool(initials) and initials == question.expands.lower()),
        # Punctuation on either side (a comma, a bracket, a quotation mark): an apposition, a
        # list item or a quoted name is set off so.
        "c_punct": sum(float(t is not None and t[3] == "PUNCT") for t in (prev, after)),
        "w3": window(3),
        "w8": window(8),
        "w20": window(20),
        "dist": math.log1p(dist) if dist >= 0 else 0.0,
        "nomatch": float(dist < 0),
        "wn_in": float(any(w in lemmas for w in wh)),
        "wn_near": float(any(w in near_lemmas for w in wh)),
        "gov_q": float(governor is not None and governor[2] in weights),
        "gov_root": float(governor is not None and governor[2] == question.root),
        "gov_wh": float(governor is not None and governor[2] == question.wh_gov),
        f"whdep={question.wh_dep}|dep={dep}": 1.0,
        "pos_rel": cand.first / max(len(toks), 1),
        "num": float(any(t[3] == "NUM" for t in inside)),
        "prep_match": float(bool(question.wh_prep) and before == question.wh_prep),
        "tree": math.log1p(tree) if tree >= 0 else 0.0,
        "tree1": float(tree == 1),
        f"q={q}|c_len": math.log1p(len(inside)),
        f"whdep={question.wh_dep}|path={path}": 1.0,
        f"q={q}|path={path}": 1.0,
        f"lab={cand.label}": 1.0,
        f"src={cand.source}": 1.0,
        f"dep={dep}": 1.0,
        f"q={q}|lab={cand.label}": 1.0,
        f"q={q}|src={cand.source}": 1.0,
        f"q={q}|dep={dep}": 1.0,
        f"q={q}|pos={root[3]}": 1.0,
    }
    for w in wh[:1]:
        f[f"wn={w}|lab={cand.label}"] = 1.0
        f[f"wn={w}|pos={root[3]}"] = 1.0
    return f


def _path(toks: list[list[object]], at: dict[object, int], root: int, anchor: str) -> str:
    """The dependency labels from the sentence's word for the question's anchor (the verb
    the wh-phrase hangs on) down to the span's root: "nsubj", "prep>pobj"; "up" when the
    span is not below it, "none" when the sentence lacks the anchor."""
    if not anchor:
        return "none"
    heads = [i for i, t in enumerate(toks) if t[2] == anchor]
    if not heads:
        return "none"
    labels: list[str] = []
    i = root
    for _ in range(3):
        if i in heads:
            return ">".join(reversed(labels)) or "self"
        labels.append(str(toks[i][4]))
        j = at.get(toks[i][5])
        if j is None or j == i:
            break
        i = j
    return ">".join(reversed(labels)) if i in heads else "up"


def _tree_distance(
    toks: list[list[object]], at: dict[object, int], root: int, matched: list[int]
) -> int:
    """Edges between the span's root and the nearest matched question word (-1: none)."""

    def chain(i: int) -> dict[int, int]:
        out = {i: 0}
        for depth in range(1, 12):
            j = at.get(toks[i][5])
            if j is None or j == i:
                break
            out[j] = depth
            i = j
        return out

    mine = chain(root)
    best = -1
    for m in matched:
        for node, d in chain(m).items():
            if node in mine and (best < 0 or d + mine[node] < best):
                best = d + mine[node]
    return best


_VERBS = frozenset({"VERB", "AUX"})


def _negates(sentence: Sentence | None, question: Question) -> bool:
    """The sentence negates what the question asks about: a negation on the word of the
    question's anchor (the verb its wh-phrase hangs on), or anywhere when the sentence lacks
    that word. A negation elsewhere ("X complies with the law and does not harm Y") is not
    about the question, nor one of a phrase rather than a clause ("not just for X but for Y",
    "not all of them"): only a negation of a verb counts."""
    if sentence is None:
        return False
    toks = sentence.tokens
    at = {t[0]: i for i, t in enumerate(toks)}
    negs = [t for t in toks if t[4] == "neg" and t[5] in at and toks[at[t[5]]][3] in _VERBS]
    anchor = question.wh_gov or question.root
    if not any(t[2] == anchor for t in toks):
        return bool(negs)
    return any(toks[at[t[5]]][2] == anchor for t in negs if t[5] in at)


def question_features(
    question: Question,
    scores: Sequence[float],
    best: Sentence | None,
    sentences: Sequence[Sentence],
    weights: dict[str, float],
) -> Features:
    """What the abstention model sees: how good the best span is, and how much of the
    question the passages cover at all."""
    ordered = sorted(scores, reverse=True)
    total = sum(weights.values()) or 1.0
    seen = {t[2] for s in sentences for t in s.tokens}
    top = {t[2] for s in sentences if s.hit < 3 for t in s.tokens}
    names = question.names
    top_idf = max(weights.values(), default=1.0) or 1.0
    in_sent = {t[2] for t in best.tokens} if best else set()
    in_hit = {t[2] for s in sentences if best and s.hit == best.hit for t in s.tokens}
    miss_sent = [w for k, w in weights.items() if k not in in_sent]
    miss_hit = [w for k, w in weights.items() if k not in in_hit]
    f: Features = {
        "best": ordered[0] if ordered else -10.0,
        "gap": ordered[0] - ordered[1] if len(ordered) > 1 else 5.0,
        "best_cos": max((s.cosine for s in sentences), default=0.0),
        "best_ov": max((s.overlap for s in sentences), default=0.0),
        "cand_cos": best.cosine if best else 0.0,
        "cand_ov": best.overlap if best else 0.0,
        "missing": sum(w for k, w in weights.items() if k not in seen) / total,
        "missing_top": sum(w for k, w in weights.items() if k not in top) / total,
        "names_missing": sum(1 for n in names if n not in top) / len(names) if names else 0.0,
        "n_content": math.log1p(len(question.content)),
        "miss_sent": sum(miss_sent) / total,
        "miss_sent_max": max(miss_sent, default=0.0) / top_idf,
        "miss_hit": sum(miss_hit) / total,
        "miss_hit_max": max(miss_hit, default=0.0) / top_idf,
        "neg_mismatch": float(question.negated != _negates(best, question)),
        "names_miss_hit": sum(1 for n in names if n not in in_hit) / len(names) if names else 0.0,
        f"q={question.qtype}": 1.0,
    }
    return f
