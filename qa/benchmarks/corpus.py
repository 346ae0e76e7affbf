"""Benchmark inputs made from the repo's own data: a generated corpus and a query workload.

The corpus reuses the seed articles' sentences with other names and figures, so it grows to
any size without a download and stays deterministic for a given seed. Names and figures are
varied enough that the index's near-duplicate filter keeps most sentences.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’]))\s+(?=[A-Z“\"])")
# Two or three capitalised words in a row: people, places, agencies ("Oren Pike").
_NAME = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}\b")
_FIGURE = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")

FIRST = (
    "Amara Bruno Chen Dalia Elif Farid Greta Hiro Ines Jonas Kwame Lena Mateo Nadia Oskar "
    "Priya Quentin Rosa Sami Tomas Uma Viktor Wen Ximena Yusuf Zofia Aditi Bjorn Carmen Dmitri"
).split()
LAST = (
    "Abara Brandt Castillo Dimitrov Eriksen Fontaine Gallagher Haddad Ivanova Jansen Kowalski "
    "Larsen Moreau Nakamura Okafor Petrov Quispe Romero Sato Tanaka Ueda Varga Weber Xu Yilmaz "
    "Zhang Almeida Bauer Cruz Duarte"
).split()
PLACES = (
    "Baltic Coast,Northern Province,Danube Valley,Eastern Highlands,Caspian Basin,Pacific Rim,"
    "Southern Steppe,Western Front,Central Plains,Arctic Corridor,Red River Delta,Lake District"
).split(",")


def seed_sentences(paths: Iterable[Path]) -> tuple[list[str], list[str]]:
    """(titles, body sentences) of every .txt article found under `paths`."""
    titles: list[str] = []
    sentences: list[str] = []
    for root in paths:
        files = sorted(root.rglob("*.txt")) if root.is_dir() else [root]
        for path in files:
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
            lines = [ln for ln in lines if ln]
            if not lines:
                continue
            titles.append(lines[0])
            for line in lines[1:]:
                sentences.extend(s for s in _SENTENCE_END.split(line) if len(s.split()) >= 6)
    if not sentences:
        raise ValueError(f"no article sentences found under {', '.join(map(str, paths))}")
    return titles, sentences


Edit = tuple[int, int, str]  # text[start:end] is replaced by the string


def vary_edits(text: str, rng: random.Random) -> tuple[str, list[Edit]]:
    """`text` with other names and figures, and the edits that made it (in text order), so
    index-time annotations of `text` can be carried over to the result."""

    def name() -> str:
        if rng.random() < 0.3:
            return rng.choice(PLACES)
        return f"{rng.choice(FIRST)} {rng.choice(LAST)}"

    def figure(m: re.Match[str]) -> str:
        digits = m.group().replace(",", "")
        value = float(digits) if "." in digits else int(digits)
        if isinstance(value, int) and 1900 <= value <= 2100:  # keep years plausible
            return str(rng.randint(1990, 2030))
        scaled = value * rng.uniform(0.3, 3.0)
        return f"{scaled:,.1f}" if isinstance(value, float) else f"{max(1, round(scaled)):,}"

    # Names first, then figures, as two passes of re.sub would draw them. Names hold no
    # digits and start and end with a letter, so the figures are found at the same places.
    edits = [(m.start(), m.end(), name()) for m in _NAME.finditer(text)]
    edits += [(m.start(), m.end(), figure(m)) for m in _FIGURE.finditer(text)]
    edits.sort()
    parts: list[str] = []
    at = 0
    for start, end, new in edits:
        parts += [text[at:start], new]
        at = end
    parts.append(text[at:])
    return "".join(parts), edits


def vary(text: str, rng: random.Random) -> str:
    return vary_edits(text, rng)[0]


def generate_corpus(seeds: Sequence[Path], out_dir: Path, n: int, seed: int = 0) -> list[Path]:
    """Write `n` news-like articles (title line, then paragraphs) into `out_dir`."""
    titles, sentences = seed_sentences(seeds)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        body = [
            vary(s, rng) for s in rng.sample(sentences, k=min(len(sentences), rng.randint(8, 16)))
        ]
        paragraphs: list[str] = []
        while body:
            take = rng.randint(2, 4)
            paragraphs.append(" ".join(body[:take]))
            body = body[take:]
        title = vary(rng.choice(titles), rng)
        path = out_dir / f"gen_{i:05d}.txt"
        path.write_text("\n".join([title, *paragraphs]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


TEMPLATES = (
    "{q}",
    "According to the articles, {l}",
    "{q} Cite the article.",
    "Question: {q}",
    "From the news coverage: {l}",
    "{q} (short answer please)",
    "I'd like to know: {l}",
    "Based on the reporting, {l}",
    "Quick question, {l}",
    "{q} Which source says so?",
    "Tell me {l}",
    "News check: {q}",
    "In the reports, {l}",
    "{q} Thanks.",
    "Can you find out {l}",
    "Please answer: {q}",
)


def gold_questions(gold: Path) -> list[str]:
    rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line]
    return [str(r["question"]) for r in rows]


def workload(questions: Sequence[str], n: int, offset: int = 0) -> list[str]:
    """`n` distinct query strings: the gold questions, then reworded variants of them.

    Distinct strings keep the query-embedding cache out of the measurement; `offset` picks
    a different slice of variants, so two workloads of the same size share no string.
    """
    out: list[str] = []
    for j in range(offset, offset + n):
        template = TEMPLATES[(j // len(questions)) % len(TEMPLATES)]
        q = questions[j % len(questions)]
        round_ = j // (len(questions) * len(TEMPLATES))
        text = template.format(q=q, l=q[:1].lower() + q[1:])
        out.append(text if round_ == 0 else f"{text} (#{round_})")
    return out
