"""The embedded default answerer: no LLM, deterministic, tens of milliseconds.

It scores every sentence of the retrieved passages against the question (cosine similarity
of sentence and question embeddings plus IDF-weighted keyword coverage), then composes an
answer-first reply shaped by the question type (a figure, a date, a person, a place ...)
and quotes the supporting sentence with its citation. It abstains when the best sentence
is weak, when the question names something the corpus never mentions, or when a typed
question (how many, when, where, what is the name) finds no such span in the evidence.
When passages from different articles give different figures for the same thing, it lists
each claim with its source.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index import terms
from index.errors import IndexMissingError
from index.store import Annotations, IndexSnapshot
from qa.answer import Draft, Evidence
from qa.answerers import Resources, Turn, spans, streamed
from qa.answerers import question as q
from qa.citations import MARKER
from qa.followup import standalone_query
from qa.retrieve import Hit

LEXICAL_WEIGHT = 0.45
TYPED_MARGIN = 0.15  # how far below the best sentence a typed answer may be found
CONFLICT_MARGIN = 0.30
EXTRA_MARGIN = 0.12
SURE_COSINE = 0.6
CONTEXT_WEIGHT = 0.6
PEOPLE_MARGIN = 0.3
FOCUS_IDF = 1.0  # a name in fewer than about a third of the chunks

_TYPED = {q.NUMBER, q.DATE, q.DURATION, q.PLACE, q.NAME, q.ORG, q.PERSON, q.ACRONYM}
_COUNTED = re.compile(
    r"how (?:many|much)\s+([\w\- ]+?)\s+(?:are|is|were|was|has|have|had|did|do|does|will|"
    r"would|could|in|of|to)\b",
    re.I,
)
# Without a verb the regex above knows ("how many passengers use ..."): the next word.
_COUNTED_WORD = re.compile(r"how many\s+([\w\-]+)", re.I)
_GROUPS = {"troop", "soldier", "forc", "fighter", "personnel", "men", "unit"}
_ATTRIBUTION = re.compile(
    r"\b(?i:according to|reported by|estimated by)\s+((?:the\s+)?[A-Z][\w’'\-. ()]{1,60}?)"
    r"(?=[,.;]|\s+(?:is|are|has|have|was|were|say|said|that)\b)"
    r"|((?:[A-Z][\w’'\-.()]*\s?){1,7}?)\s+(?:\([A-Z]+\)\s+)?(?:also\s+)?(?:said|says|reported|"
    r"estimated|disclosed|claimed|stated|confirmed|suggested|believes|claims|estimates|"
    r"reports|released)\b"
)
# Words that say what kind of answer is wanted, or light verbs: no sign of a topic the
# articles lack when the corpus happens not to use them.
_GENERIC = {
    terms.lemma_stem(w)
    for w in (
        "money amount number figure date place name size total get gets "
        "got give gave make made take took go went become became happen happened"
    ).split()
}
_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:an|ian|ese|ish|i)$")
_TERMINAL = re.compile(r"[.!?。”\"')\]]\s*$")


@dataclass(frozen=True)
class _Sentence:
    hit: int  # index into passages
    start: int
    end: int
    text: str
    cosine: float
    lexical: float
    score: float
    heading: bool


class _VectorCache:
    """Sentence vectors per chunk, so passages seen before are not encoded again."""

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
    min_passages = 12  # sentence scoring is cheap; a wider pool finds more claims

    def __init__(self, resources: Resources) -> None:
        self._resources = resources
        self._vectors = _VectorCache()
        self._idf_cache: tuple[Any, dict[str, float]] | None = None
        self._notes: tuple[IndexSnapshot, Annotations | None] | None = None
        self._article_words: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()

    # -- corpus statistics -------------------------------------------------------------
    def _idf(self) -> dict[str, float]:
        snap = self._resources.snapshot()
        cached = self._idf_cache
        if cached is not None and cached[0] is snap:
            return cached[1]
        with self._lock:
            bm25 = snap.bm25()
            df = np.diff(np.asarray(bm25.scores["indptr"]))
            n = max(int(bm25.scores["num_docs"]), 1)
            # Keyed by lemma stems, as the question's keywords are ("began" counts as "begin").
            table: dict[str, float] = {}
            for token, i in bm25.vocab_dict.items():
                d = int(df[i]) if i < len(df) else 0
                weight = math.log(1 + (n - d + 0.5) / (d + 0.5))
                for key in {token, terms.lemma_stem(token)}:
                    table[key] = min(table.get(key, weight), weight)
            self._idf_cache = (snap, table)
        return table

    # -- scoring ---------------------------------------------------------------------
    def _stored(self) -> Annotations | None:
        """The live index's sentence vectors, or None for an index built before them."""
        snap = self._resources.snapshot()
        cached = self._notes
        if cached is None or cached[0] is not snap:
            try:
                notes: Annotations | None = snap.annotations()
            except IndexMissingError:
                notes = None
            cached = (snap, notes)
            self._notes = cached
        return cached[1]

    def _sentence_vectors(self, hit: Hit) -> np.ndarray:
        """Read from what `qa index` stored; encoded (and kept) only for a passage without."""
        snap = self._resources.snapshot()
        i = snap.by_id.get(hit.chunk_id)
        notes = self._stored() if i is not None else None
        if notes is not None and i is not None and snap.chunks[i].sentences == hit.sentences:
            return np.asarray(notes.sentence_vectors(i))
        cached = self._vectors.get(hit.chunk_id)
        if cached is None:
            texts = [hit.text[s - hit.start : e - hit.start] for s, e in hit.sentences]
            cached = self._resources.embedder().embed_many(texts)
            self._vectors.put(hit.chunk_id, cached)
        return cached

    def _rank(
        self,
        queries: Sequence[str],
        keywords: Sequence[str],
        passages: Sequence[Hit],
        context: Sequence[str] = (),
    ) -> list[_Sentence]:
        """Sentences by score. `context` keywords (carried over from earlier turns) count
        for less than the question's own: they say what it is about, not what it asks."""
        embed = self._resources.embedder().embed_query
        qvecs = np.stack([embed(text) for text in dict.fromkeys(queries)])
        idf = self._idf()
        weights = {k: CONTEXT_WEIGHT * idf.get(k, 0.0) for k in context}
        weights.update({k: idf.get(k, 0.0) for k in keywords})
        total = sum(weights.values()) or 1.0
        out = []
        for h_i, hit in enumerate(passages):
            cosines = (self._sentence_vectors(hit) @ qvecs.T).max(axis=1)
            for (s, e), cos in zip(hit.sentences, cosines, strict=True):
                text = hit.text[s - hit.start : e - hit.start]
                words = set(terms.lemma_terms(text))
                lexical = sum(w for k, w in weights.items() if k in words) / total
                heading = not _TERMINAL.search(text) and len(text.split()) < 16
                score = float(cos) + LEXICAL_WEIGHT * lexical - (0.2 if heading else 0.0)
                out.append(_Sentence(h_i, s, e, text, float(cos), lexical, score, heading))
        out.sort(key=lambda x: (-x.score, x.hit, x.start))
        return out

    def _unknown_names(self, names: Sequence[str]) -> list[str]:
        """Proper names in the question that occur nowhere in the corpus."""
        idf = self._idf()
        missing = []
        for name in names:
            word = name.strip("’'.")
            if len(word) < 3 or not word.isalpha() or re.search(r"(an|ian|ese|ish|i)$", word):
                continue  # demonyms and initials: too loosely worded to judge
            if terms.lemma_stem(word) not in idf:
                missing.append(name)
        return missing

    def _article_terms(self, article_id: str) -> set[str]:
        snap = self._resources.snapshot()
        key = (str(snap.gen_dir), article_id)
        found = self._article_words.get(key)
        if found is None:
            art = snap.articles.get(article_id, {})
            found = set(terms.lemma_terms(f"{art.get('title', '')} {art.get('text', '')}"))
            with self._lock:
                if len(self._article_words) > 4096:
                    self._article_words.clear()
                self._article_words[key] = found
        return found

    def _focus_names(self, parsed: q.Question) -> set[str]:
        """The question's names that are not everywhere in the corpus (as "Russia" is in a
        corpus about Russia), as lemma stems: what the question is specifically about."""
        idf = self._idf()
        out = set()
        for name in parsed.names:
            word = name.strip("’'.")
            if len(word) < 3 or _DEMONYM.match(word):
                continue
            key = terms.lemma_stem(word)
            if idf.get(key, 0.0) >= FOCUS_IDF:
                out.add(key)
        return out

    # -- composing -------------------------------------------------------------------
    def answer(self, question: str, passages: Sequence[Hit], history: Sequence[Turn]) -> Draft:
        query = standalone_query(question, history)
        own = q.analyze(question)
        unknown = self._unknown_names(own.names)
        if unknown:
            return _abstain(f"The articles don't mention {', '.join(unknown)}.")
        if not passages:
            return _abstain("The articles don't say.")
        if own.qtype == q.AUTHOR:
            return self._author(passages)
        if own.qtype == q.PUBLISHER:
            return self._publisher(passages)
        if own.qtype in {q.NUMBER, q.DATE, q.DURATION, q.PLACE, q.PERSON}:
            # What is asked about is mostly words the corpus never uses: not covered.
            predicate = _predicate(own) - _GENERIC
            absent = [k for k in predicate if k not in self._idf()]
            if predicate and len(absent) * 2 > len(predicate):
                return _abstain(_missing_message(own.qtype))
        # Words that point at one article ("in the Daily Courier article") chose the
        # passages; they are not what the question asks about.
        refs = self._resources.references()
        asked = q.analyze(refs.without(question))
        about = q.analyze(refs.without(query))
        ranked = self._rank([asked.text, about.text], asked.keywords, passages, about.keywords)
        settings = self._resources.settings
        # "Who is quoted in the X article?" asks for the people of one article, however
        # little the rest of the question resembles any sentence.
        scoped_people = own.qtype == q.PEOPLE and asked.text != question
        # "Who is Mark Cancian?": a question of names only is answered by a sentence that
        # holds them all, however unlike the question it reads.
        names_only = bool(own.names) and not _predicate(own) and own.qtype == q.GENERAL
        if not ranked or (
            not scoped_people
            and not (names_only and ranked[0].lexical >= 0.99)
            and (ranked[0].cosine < settings.min_cosine or ranked[0].score < settings.min_score)
        ):
            return _abstain("The articles don't say.")

        evidence: list[Evidence] = []

        def cite(s: _Sentence) -> str:
            ev = Evidence(passages[s.hit].article_id, s.start, s.end, round(s.score, 4))
            if ev not in evidence:
                evidence.append(ev)
            return f"[{evidence.index(ev) + 1}]"

        best = ranked[0]
        if own.qtype == q.PEOPLE:
            # Everyone an article names answers "who is quoted in the X article?".
            people = _people(own, ranked, math.inf if scoped_people else PEOPLE_MARGIN)
            if people:
                text = "; ".join(f"{name} {cite(s)}" for name, s in people) + "."
                return Draft(text, False, tuple(evidence))
            if scoped_people:
                return _abstain("The articles don't name anyone for that.")
        if own.qtype == q.NUMBER:
            listing = self._conflict(own, ranked, passages, cite)
            if listing:
                return Draft(listing, False, tuple(evidence), conflict=True)
        if own.qtype in _TYPED:
            found = _typed_answer(own, ranked, best, self._key_term(own), self._idf())
            if found is None:
                if own.qtype in {q.PERSON, q.PLACE} and best.lexical >= 0.5:
                    return Draft(f"{_quote(best.text)} {cite(best)}", False, tuple(evidence))
                return _abstain(_missing_message(own.qtype))
            short, sentence = found
            if own.qtype == q.DATE and spans.PLACEHOLDER.fullmatch(short.strip()):
                text = (
                    f"The articles don't give the date: the source has only a placeholder "
                    f"({short}) {cite(sentence)}."
                )
                return Draft(text, True, tuple(evidence))
            if own.qtype == q.NUMBER:
                short = spans.with_unit(sentence.text, short[0].lower() + short[1:])
                short = short[0].upper() + short[1:]
            text = f"{short} {cite(sentence)}. {_quote(sentence.text)} {cite(sentence)}"
            return Draft(text, False, tuple(evidence))
        if best.cosine < SURE_COSINE and not _shares_content(best, own):
            return _abstain("The articles don't say.")
        focus = self._focus_names(own)
        if focus and not focus & self._article_terms(passages[best.hit].article_id):
            # "What was China's reaction ...?" answered from an article that never names China
            # would be about someone else.
            return _abstain("The articles don't say.")
        text = f"{_quote(best.text)} {cite(best)}"
        for s in _more(own, ranked, best):
            text += f" {_quote(s.text)} {cite(s)}"
        return Draft(text, False, tuple(evidence))

    def _key_term(self, parsed: q.Question) -> str | None:
        """The question's rarest corpus word that is neither a name nor the counted noun."""
        idf = self._idf()
        known = [k for k in _predicate(parsed) if k in idf]
        return max(known, key=lambda k: (idf[k], k)) if known else None

    def _author(self, passages: Sequence[Hit]) -> Draft:
        snap = self._resources.snapshot()
        for hit in passages:
            art = snap.articles.get(hit.article_id, {})
            span = art.get("author_span")
            if art.get("author") and span:
                ev = Evidence(hit.article_id, span[0], span[1], hit.score)
                text = f"{art['author']} [1], according to the byline of “{art['title']}”."
                return Draft(text, False, (ev,))
        return _abstain("The articles don't say who wrote them.")

    def _publisher(self, passages: Sequence[Hit]) -> Draft:
        snap = self._resources.snapshot()
        for hit in passages:
            art = snap.articles.get(hit.article_id, {})
            outlet = art.get("outlet")
            at = str(art.get("text", "")).find(outlet) if outlet else -1
            if outlet and at >= 0:
                ev = Evidence(hit.article_id, at, at + len(outlet), hit.score)
                return Draft(f"{outlet} [1] published “{art['title']}”.", False, (ev,))
        return _abstain("The articles don't say which outlet published them.")

    def _conflict(
        self,
        parsed: q.Question,
        ranked: list[_Sentence],
        passages: Sequence[Hit],
        cite: Callable[[_Sentence], str],
    ) -> str | None:
        """Different figures for the same thing from different articles: list each claim."""
        best = ranked[0]
        predicate = _predicate(parsed)
        claims: list[tuple[str, _Sentence, str]] = []
        seen: set[str] = set()
        articles: set[str] = set()
        for s in ranked[:20]:
            if s.score < best.score - CONFLICT_MARGIN:
                break
            if s.heading or not _about(s.text, parsed, predicate):
                continue
            for value in _figures(s.text, parsed, predicate)[:2]:
                key = _number_key(value)
                if key in seen:
                    continue
                seen.add(key)
                articles.add(passages[s.hit].article_id)
                who = _claimant(s.text) or _short_title(passages[s.hit].title)
                claims.append((value, s, who))
        if re.search(r"\bhow much\b", parsed.text, re.I) and any(
            _CURRENCY.search(value) for value, _, _ in claims
        ):
            # "How much per soldier?": sums of money, not head counts.
            claims = [c for c in claims if _CURRENCY.search(c[0])]
            articles = {passages[s.hit].article_id for _, s, _ in claims}
        if len(claims) < 2 or len(articles) < 2:
            return None
        parts = [f"{who}: {value} {cite(s)}" for value, s, who in claims[:6]]
        return "The sources give different figures. " + "; ".join(parts) + "."

    def stream(
        self, question: str, passages: Sequence[Hit], history: Sequence[Turn]
    ) -> Iterator[str | Draft]:
        return streamed(self.answer(question, passages, history))


def _abstain(text: str) -> Draft:
    return Draft(text, True, ())


def _missing_message(qtype: str) -> str:
    what = {
        q.NUMBER: "that figure",
        q.DATE: "when",
        q.DURATION: "how long",
        q.PLACE: "where",
        q.NAME: "that name",
        q.ORG: "which organisation",
    }.get(qtype, "that")
    return f"The articles don't say {what}."


def _quote(sentence: str) -> str:
    # Source text may contain bracketed digits; they must not read as citation markers.
    return MARKER.sub(lambda m: f"({m.group(1)})", " ".join(sentence.split()))


def _shares_content(sentence: _Sentence, parsed: q.Question) -> bool:
    """The sentence uses at least one of the question's words that is not a name; or, for
    a question of names only ("What did Kim Hong-ki do?"), all of its words."""
    predicate = _predicate(parsed)
    if not predicate:
        return sentence.lexical >= 0.99
    return bool(predicate & set(terms.lemma_terms(sentence.text)))


def _predicate(parsed: q.Question) -> set[str]:
    """Question words that say what is counted or done, minus names and the counted noun."""
    names = {terms.lemma_stem(p) for n in parsed.names for p in re.split(r"[\s\-’']+", n) if p}
    names |= {q.stem(n) for n in parsed.names}  # "Hong-ki" is one keyword
    counted = _counted(parsed)
    return {k for k in parsed.keywords if k not in names and k not in counted and len(k) > 2}


def _counted(parsed: q.Question) -> set[str]:
    m = _COUNTED.search(parsed.text) or _COUNTED_WORD.search(parsed.text)
    if not m:
        return set()
    words = []
    for w in m.group(1).split():
        if len(w) > 3 and w.lower().endswith("ed"):
            break  # "how many troops died in ...": the verb is not what is counted
        words.append(w)
    counted = {terms.lemma_stem(w) for w in words if w.lower() not in q.STOPWORDS}
    return counted - _GENERIC  # "how much money ...": any sum of money


def _about(sentence: str, parsed: q.Question, predicate: set[str]) -> bool:
    """Whether a sentence's figure can answer the question: it mentions the counted thing
    and, if the question says what happened to it, that too."""
    words = set(terms.lemma_terms(sentence))
    counted = _counted(parsed)
    if counted:
        wanted = set(counted)
        if counted & _GROUPS:
            wanted |= _GROUPS
        if not wanted & words:
            return False
        # "How many North Korean soldiers ...": a figure of Russian soldiers is not one.
        named = counted & {terms.lemma_stem(n) for n in parsed.names}
        if named and not named & words:
            return False
    return True


_MONEY_Q = re.compile(
    r"\b(?:how much|money|pay|paid|cost|price|dollars?|earn|receive|fund|salary|worth)", re.I
)
# Questions that can only be answered by an amount of money.
_MONEY_ONLY = re.compile(
    r"\b(?:money|salary|dollars?|funding|price|wages?)\b"
    r"|\bhow much\b.*\b(?:pay|paid|cost|costs|spend|spent|earn|earns|earned|charge|worth)\b",
    re.I,
)
_CURRENCY = re.compile(r"[$€£¥₩]|\b(?:dollars?|won|rubles?|roubles?|euros?|pounds?|yuan)\b", re.I)
_PERCENT_Q = re.compile(r"\b(?:percent|percentage|share|proportion|rate)\b", re.I)
_QUANTITY = {terms.lemma_stem(w) for w in ("number", "figure", "size", "strength")}
_FIGURE_WORD = re.compile(r"[\w’'\-]+")


def _figures(sentence: str, parsed: q.Question, predicate: set[str]) -> list[str]:
    """The figures in a sentence that are about what the question asks, best first: words of
    the question's predicate ("killed", "daily") near the figure count double, words of the
    counted thing ("soldiers") once. Money and shares only when the question asks for them."""
    counted = _counted(parsed) | _QUANTITY
    if (counted | predicate) & _GROUPS:
        counted |= _GROUPS
    scored = []
    for i, m in enumerate(spans.numbers(sentence)):
        value = m.group(0)
        if "$" in value and not _MONEY_Q.search(parsed.text):
            continue
        if _MONEY_ONLY.search(parsed.text) and not (
            _CURRENCY.search(value) or _CURRENCY.match(sentence[m.end() : m.end() + 10].strip())
        ):
            continue
        if re.search(r"%|percent", value, re.I) and not _PERCENT_Q.search(parsed.text):
            continue
        before = _FIGURE_WORD.findall(sentence[max(0, m.start() - 80) : m.start()])[-6:]
        after = _FIGURE_WORD.findall(sentence[m.end() : m.end() + 100])[:8]
        near = {terms.lemma_stem(w) for w in before + after[:5]}
        near |= {terms.lemma_stem(p) for w in after[:1] for p in w.split("-")}
        wide = near | {terms.lemma_stem(w) for w in after}
        if not near & (counted | predicate):
            continue
        score = 2 * len(wide & predicate) + len(near & counted)
        scored.append((-score, i, value))
    return [value for _, _, value in sorted(scored)]


def _typed_answer(
    parsed: q.Question,
    ranked: list[_Sentence],
    best: _Sentence,
    key_term: str | None,
    known_terms: dict[str, float],
) -> tuple[str, _Sentence] | None:
    """The first well-ranked sentence holding a span of the asked type. For figures, the
    sentence must also use `key_term`: the rarest word saying what is counted."""
    asked = {n.lower().strip("’'.") for n in parsed.names} | set(parsed.keywords)
    predicate = _predicate(parsed)
    role = q.role_noun(parsed.text)
    noun = q.org_noun(parsed.text)
    asked_text = parsed.text.lower()
    if role and terms.lemma_stem(role) not in known_terms:
        role = None  # the corpus never uses that word: any fresh name may be the answer

    def known(part: str) -> bool:
        word = re.sub(r"[’']s$", "", part).lower().strip("’'.")
        stem = terms.lemma_stem(word)
        return any(
            word == a
            or stem == a
            or (len(a) >= 5 and len(stem) >= 5 and (a.startswith(stem) or stem.startswith(a)))
            for a in asked
        )

    def fresh(candidates: list[str]) -> str | None:
        for c in candidates:
            if not any(known(p) for p in re.split(r"[\s\-]+", c) if p):
                return re.sub(r"[’']s$", "", c)
        return None

    def self_key(text: str) -> bool:
        return not key_term or key_term in set(terms.lemma_terms(text))

    for s in ranked[:6]:
        if s.score < best.score - TYPED_MARGIN:
            break
        if s.heading:
            continue
        found: str | None = None
        if parsed.qtype == q.NUMBER:
            if _about(s.text, parsed, predicate) and self_key(s.text):
                near = _figures(s.text, parsed, predicate)
                nums = [] if _MONEY_ONLY.search(parsed.text) else spans.numbers(s.text)
                found = near[0] if near else nums[0].group(0) if nums else None
        elif parsed.qtype == q.DATE:
            dates = [m.group(0) for m in spans.DATE.finditer(s.text)]
            dates += [m.group(0) for m in spans.PLACEHOLDER.finditer(s.text)]
            found = dates[0] if dates else None
        elif parsed.qtype == q.DURATION:
            d = spans.DURATION.search(s.text)
            found = d.group(0) if d else None
        elif parsed.qtype == q.PERSON:
            found = fresh(spans.people(s.text))
        elif parsed.qtype == q.PLACE:
            found = fresh(spans.places(s.text))
        elif parsed.qtype == q.NAME and role:
            found = fresh([c for c in spans.names(s.text) if spans.near(s.text, c, role)])
        elif parsed.qtype in {q.NAME, q.ORG}:
            # "Which university ...": a name built on that noun first, then any fresh name.
            phrases = spans.org_phrases(s.text, noun) if noun else []
            phrases = [p for p in phrases if p.lower() not in asked_text]
            if not phrases and parsed.qtype == q.ORG:
                # A demonym ("Russian") is not an organisation.
                phrases = [n for n in spans.names(s.text) if not _DEMONYM.search(n)]
                found = fresh(phrases)
            else:
                found = phrases[0] if phrases else fresh(spans.names(s.text))
        elif parsed.qtype == q.ACRONYM:
            acronym = re.search(r"\b([A-Z][A-Za-z.]{1,9})\b(?= stand for|\??$)", parsed.text)
            found = spans.expansion(s.text, acronym.group(1)) if acronym else None
        if found:
            return found[0].upper() + found[1:], s
    return None


def _people(
    parsed: q.Question, ranked: list[_Sentence], margin: float
) -> list[tuple[str, _Sentence]]:
    """Distinct people named in the best-ranked sentences that name anyone, in rank order,
    each with the sentence that names them; people the question names are not an answer."""
    asked = {terms.lemma_stem(n) for n in parsed.names}
    named = [(s, spans.people(s.text)) for s in ranked[:80] if not s.heading]
    named = [(s, people) for s, people in named if people]
    if not named:
        return []
    top = named[0][0].score
    out: list[tuple[str, _Sentence]] = []
    seen: set[str] = set()
    for s, people in named:
        if s.score < top - margin or len(out) >= 6:
            break
        for person in people:
            surname = terms.lemma_stem(person.split()[-1].strip("."))
            if surname in seen or surname in asked:
                continue
            seen.add(surname)
            out.append((person, s))
    return out


def _more(parsed: q.Question, ranked: list[_Sentence], best: _Sentence) -> list[_Sentence]:
    """Further supporting sentences for list, reason and open questions."""
    limit = 2 if parsed.qtype == q.LIST else 1
    out: list[_Sentence] = []
    for s in ranked[1:]:
        if len(out) >= limit or s.score < best.score - EXTRA_MARGIN:
            break
        if not s.heading and s.text != best.text:
            out.append(s)
    return out


def _number_key(value: str) -> str:
    low = value.lower()
    digits = re.sub(r"[^\d.]", "", value)
    scale = 1_000_000 if "million" in low else 1000 if "thousand" in low else 1
    try:
        return str(round(float(digits) * scale)) if digits else low
    except ValueError:
        return low


def _claimant(sentence: str) -> str | None:
    m = _ATTRIBUTION.search(sentence)
    if not m:
        return None
    who = (m.group(1) or m.group(2) or "").strip(" ,.")
    who = re.sub(r"^(?:The|the)\s+", "", who)
    return who if 1 <= len(who.split()) <= 9 else None


def _short_title(title: str) -> str:
    words = title.split()
    return "“" + " ".join(words[:7]) + ("…" if len(words) > 7 else "") + "”"
