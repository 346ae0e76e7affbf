"""The embedded default answerer: no LLM, deterministic, tens of milliseconds.

It scores every sentence of the retrieved passages against the question (cosine similarity
of sentence and question embeddings, plus IDF-weighted keyword coverage), then composes an
answer-first reply shaped by the question type, quoting the supporting sentence with its
citation. When the best sentence is too weak, or the question names something the corpus
never mentions, it abstains. When passages from different articles give different figures
for the same thing, it lists each claim with its source.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.answer import Draft, Evidence
from qa.answerers import Turn, spans, word_deltas
from qa.answerers import question as q
from qa.citations import MARKER
from qa.followup import standalone_query
from qa.retrieve import Hit

if TYPE_CHECKING:
    from qa.assistant import Assistant

# Calibrated on eval/gold.jsonl (see eval/README.md for the trade-off table).
MIN_COSINE = 0.30
MIN_SCORE = 0.42
LEXICAL_WEIGHT = 0.45
CONFLICT_MARGIN = 0.12

_ATTRIBUTION = re.compile(
    r"\b(?:according to|reported by|estimated by)\s+((?:the\s+)?[A-Z][\w’'\-. ]{1,60}?)"
    r"(?=[,.;]|\s+(?:is|are|has|have|was|were|say|said|that)\b)"
    r"|((?:[A-Z][\w’'\-.]*\s?){1,6}?)\s+(?:\([A-Z]+\)\s+)?(?:said|says|reported|estimated|"
    r"disclosed|claimed|stated|confirmed|suggested|believes|claims|estimates|reports)\b"
)


_COUNTED = re.compile(
    r"how (?:many|much)\s+([\w\- ]+?)\s+(?:are|is|were|was|has|have|had|did|do|does|will|"
    r"would|could|in|of|to)\b",
    re.I,
)


_COUNTED = re.compile(
    r"how (?:many|much)\s+([\w\- ]+?)\s+(?:are|is|were|was|has|have|had|did|do|does|will|"
    r"would|could|in|of|to)\b",
    re.I,
)


@dataclass(frozen=True)
class _Sentence:
    hit: int  # index into passages
    start: int
    end: int
    text: str
    cosine: float
    lexical: float
    score: float


class _VectorCache:
    """Sentence vectors per chunk, so repeated passages are not re-encoded."""

    def __init__(self, size: int = 4096) -> None:
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            v = self._data.get(key)
            if v is not None:
                self._data.move_to_end(key)
            return v

    def put(self, key: str, value: np.ndarray) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, assistant: Assistant) -> None:
        self._assistant = assistant
        self._vectors = _VectorCache()
        self._idf: tuple[Any, dict[str, float]] | None = None

    # -- corpus statistics -------------------------------------------------------------
    def _idf_table(self) -> dict[str, float]:
        snap = self._assistant.snapshot()
        if self._idf is None or self._idf[0] is not snap:
            bm25 = snap.bm25()
            indptr = np.asarray(bm25.scores["indptr"])
            df = np.diff(indptr)
            n = max(int(bm25.scores["num_docs"]), 1)
            table = {}
            for token, i in bm25.vocab_dict.items():
                d = int(df[i]) if i < len(df) else 0
                table[token] = math.log(1 + (n - d + 0.5) / (d + 0.5))
            self._idf = (snap, table)
        return self._idf[1]

    # -- scoring ---------------------------------------------------------------------
    def _sentence_vectors(self, hit: Hit) -> np.ndarray:
        cached = self._vectors.get(hit.chunk_id)
        if cached is None:
            texts = [hit.text[s - hit.start : e - hit.start] for s, e in hit.sentences]
            cached = self._assistant.embedder().embed_many(texts)
            self._vectors.put(hit.chunk_id, cached)
        return cached

    def _score(self, query: str, question: q.Question, passages: Sequence[Hit]) -> list[_Sentence]:
        qvec = self._assistant.embedder().embed_query(query)
        idf = self._idf_table()
        weights = {k: idf.get(k, idf.get(k + "s", 0.0)) for k in question.keywords}
        total = sum(weights.values()) or 1.0
        out = []
        for h_i, hit in enumerate(passages):
            vectors = self._sentence_vectors(hit)
            cosines = vectors @ qvec
            for (s, e), cos in zip(hit.sentences, cosines, strict=True):
                text = hit.text[s - hit.start : e - hit.start]
                words = {q.stem(w) for w in q._WORD.findall(text)}
                lexical = sum(w for k, w in weights.items() if k in words) / total
                score = float(cos) + LEXICAL_WEIGHT * lexical
                out.append(_Sentence(h_i, s, e, text, float(cos), lexical, score))
        out.sort(key=lambda x: (-x.score, x.hit, x.start))
        return out

    def _unknown_names(self, question: q.Question) -> list[str]:
        idf = self._idf_table()
        missing = []
        for name in question.names:
            parts = [q.stem(p) for p in re.split(r"[\s\-’']+", name) if len(p) > 1]
            if parts and not any(p in idf or p + "s" in idf for p in parts):
                missing.append(name)
        return missing

    # -- composing -------------------------------------------------------------------
    def answer(self, question: str, passages: Sequence[Hit], history: Sequence[Turn]) -> Draft:
        query = standalone_query(question, history)
        parsed = q.analyze(query)
        own = q.analyze(question)
        unknown = self._unknown_names(own)
        if unknown:
            return _abstain(f"The articles don't mention {', '.join(unknown)}.")
        if not passages:
            return _abstain("The articles don't say.")
        ranked = self._score(query, parsed, passages)
        if not ranked:
            return _abstain("The articles don't say.")
        best = ranked[0]
        if best.cosine < MIN_COSINE or best.score < MIN_SCORE:
            return _abstain("The articles don't say.")
        evidence: list[Evidence] = []

        def cite(s: _Sentence) -> str:
            ev = Evidence(passages[s.hit].article_id, s.start, s.end, round(s.score, 4))
            if ev not in evidence:
                evidence.append(ev)
            return f"[{evidence.index(ev) + 1}]"

        if parsed.qtype == q.NUMBER:
            conflict = self._conflict(parsed, ranked, passages, cite)
            if conflict:
                return Draft(conflict, False, tuple(evidence), conflict=True)
        short = _short_answer(parsed, best.text, own)
        support = _quote(best.text)
        if short:
            text = f"{short} {cite(best)}. {support} {cite(best)}"
        else:
            text = f"{support} {cite(best)}"
        extra = self._more(parsed, ranked, best)
        for s in extra:
            text += f" {_quote(s.text)} {cite(s)}"
        return Draft(text, False, tuple(evidence))

    def _more(
        self, parsed: q.Question, ranked: list[_Sentence], best: _Sentence
    ) -> list[_Sentence]:
        """A second supporting sentence for list, reason and general questions."""
        if parsed.qtype not in {q.LIST, q.REASON, q.GENERAL}:
            return []
        limit = 2 if parsed.qtype == q.LIST else 1
        out: list[_Sentence] = []
        for s in ranked[1:]:
            if len(out) >= limit or s.score < best.score - 0.15:
                break
            if s.text != best.text:
                out.append(s)
        return out

    def _conflict(
        self,
        parsed: q.Question,
        ranked: list[_Sentence],
        passages: Sequence[Hit],
        cite: Any,
    ) -> str | None:
        """Different figures for the same thing from different articles -> list each claim."""
        best = ranked[0]
        claims: list[tuple[str, _Sentence, str]] = []
        seen_values: set[str] = set()
        articles: set[str] = set()
        for s in ranked[:8]:
            if s.score < best.score - CONFLICT_MARGIN:
                break
            if not _mentions_counted_thing(s.text, parsed):
                continue
            nums = spans.numbers(s.text)
            if not nums:
                continue
            value = nums[0].group(0)
            key = _number_key(value)
            if key in seen_values:
                continue
            seen_values.add(key)
            articles.add(passages[s.hit].article_id)
            claims.append((value, s, _claimant(s.text) or passages[s.hit].title))
        if len(claims) < 2 or len(articles) < 2:
            return None
        parts = [f"{who}: {value} {cite(s)}" for value, s, who in claims[:5]]
        return "The sources give different figures. " + "; ".join(parts) + "."

    def stream(
        self, question: str, passages: Sequence[Hit], history: Sequence[Turn]
    ) -> Iterator[str | Draft]:
        draft = self.answer(question, passages, history)
        yield from word_deltas(draft.text)
        yield draft


def _abstain(text: str) -> Draft:
    return Draft(text, True, ())


def _quote(sentence: str) -> str:
    # Source text may contain bracketed digits; they must not read as our citation markers.
    text = MARKER.sub(lambda m: f"({m.group(1)})", " ".join(sentence.split()))
    return text


def _number_key(value: str) -> str:
    digits = re.sub(r"[^\d.]", "", value)
    scale = 1
    if "million" in value.lower():
        scale = 1_000_000
    elif "thousand" in value.lower():
        scale = 1000
    try:
        return str(round(float(digits) * scale)) if digits else value.lower()
    except ValueError:
        return value.lower()


def _mentions_counted_thing(sentence: str, parsed: q.Question) -> bool:
    """The figure must be about what the question counts (e.g. troops/soldiers)."""
    m = _COUNTED.search(parsed.text)
    if not m:
        return True
    target = {q.stem(w) for w in m.group(1).split() if w.lower() not in q.STOPWORDS}
    synonyms = {
        "troop": {"soldier", "troop", "force", "fighter", "personnel"},
        "soldier": {"soldier", "troop", "force", "fighter", "personnel"},
    }
    wanted = set().union(*(synonyms.get(t, {t}) for t in target)) if target else set()
    words = {q.stem(w) for w in q._WORD.findall(sentence)}
    return not wanted or bool(wanted & words)


def _claimant(sentence: str) -> str | None:
    m = _ATTRIBUTION.search(sentence)
    if not m:
        return None
    who = (m.group(1) or m.group(2) or "").strip(" ,.")
    who = re.sub(r"^(?:The|the)\s+", "", who)
    return who if 1 <= len(who.split()) <= 8 else None


def _short_answer(parsed: q.Question, sentence: str, own: q.Question) -> str | None:
    asked = {n.lower() for n in own.names} | {k for k in own.keywords}

    def fresh(candidates: list[str]) -> str | None:
        for c in candidates:
            if not any(part.lower() in asked for part in c.split()):
                return c
        return None

    if parsed.qtype == q.NUMBER:
        nums = spans.numbers(sentence)
        return nums[0].group(0)[0].upper() + nums[0].group(0)[1:] if nums else None
    if parsed.qtype == q.DATE:
        dates = [m.group(0) for m in spans.DATE.finditer(sentence)]
        return dates[0][0].upper() + dates[0][1:] if dates else None
    if parsed.qtype == q.DURATION:
        d = spans.DURATION.search(sentence)
        return d.group(0)[0].upper() + d.group(0)[1:] if d else None
    if parsed.qtype == q.PERSON:
        return fresh(spans.people(sentence))
    if parsed.qtype == q.PLACE:
        return fresh(spans.places(sentence))
    return None
