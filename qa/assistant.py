"""The one object every front end uses: search, ask, stream.

Building an Assistant is cheap. The embedding model and the index open on first use and
are shared by all threads; a rebuilt index (a new generation) is picked up on the next call.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from index.errors import BadInputError
from index.settings import Settings
from index.store import IndexSnapshot, current_generation, open_index
from qa.answer import Answer, Check, Checking, Draft, Evidence, Retrieved, Trace
from qa.answerers import ANSWERERS, Answerer, Turn
from qa.citations import finalize
from qa.followup import standalone_query
from qa.retrieve import Hit, bm25_search, dense_search, fuse

if TYPE_CHECKING:
    from qa.careful import Checker, Cut
    from qa.scope import ArticleRefs


class Assistant:
    def __init__(
        self, settings: Settings | None = None, *, verifier: Checker | None = None
    ) -> None:
        """`verifier`: careful mode's checker (default: `qa.verify.load_verifier` on the
        QA_VERIFIER backend, loaded on first use)."""
        self.settings = settings or Settings()
        self._lock = threading.RLock()
        self._snapshot: IndexSnapshot | None = None
        self._embedder: Any = None
        self._answerers: dict[str, Answerer] = {}
        self._refs: tuple[IndexSnapshot, ArticleRefs] | None = None
        self._verifier: Checker | None = verifier
        # Its own lock: loading it can take seconds (a model, a probe up to its timeout), and
        # answers that do not ask for a check must not wait behind that.
        self._verifier_lock = threading.Lock()
        self._cut: Cut | None = None

    # -- resources -------------------------------------------------------------------
    def embedder(self) -> Any:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from qa.query_embed import QueryEmbedder

                    self._embedder = QueryEmbedder(
                        self.settings.model_dir(), self.settings.data_dir
                    )
        return self._embedder

    def snapshot(self) -> IndexSnapshot:
        """The live index generation, reopened when `qa index` published a new one."""
        snap = self._snapshot
        gen = current_generation(self.settings)
        if snap is None or gen != snap.gen_dir:
            with self._lock:
                snap = self._snapshot
                if snap is None or gen != snap.gen_dir:
                    snap = open_index(self.settings, self.embedder().model_id)
                    self._snapshot = snap
        return snap

    def answerer(self, name: str | None = None) -> Answerer:
        name = name or self.settings.answerer
        if name not in ANSWERERS:
            raise BadInputError(f"Unknown answerer {name!r}; choose one of {', '.join(ANSWERERS)}.")
        with self._lock:
            if name not in self._answerers:
                self._answerers[name] = self._make_answerer(name)
            return self._answerers[name]

    def _make_answerer(self, name: str) -> Answerer:
        if name == "extractive":
            from qa.answerers.extractive import ExtractiveAnswerer

            return ExtractiveAnswerer(self)
        from qa.answerers.generative import make_generative

        return make_generative(name, self)

    def verifier(self) -> Checker:
        """Careful mode's verifier, loaded and probed on first use (BackendError if it cannot
        serve; the next call tries again, so a backend started later is picked up)."""
        if self._verifier is None:
            with self._verifier_lock:
                if self._verifier is None:
                    from qa.verify import load_verifier

                    timeout = {"llm_timeout_s": self.settings.verify_timeout_s}
                    self._verifier = load_verifier(self.settings.model_copy(update=timeout))
        return self._verifier

    def careful_cut(self) -> Cut:
        """Careful mode's fitted cut (QA_VERIFY_CUT or the packaged qa/careful.json)."""
        if self._cut is None:
            from qa.careful import load_cut

            self._cut = load_cut(self.settings.verify_cut)
        return self._cut

    def _careful(self, verify: bool | None, answerer: str | None) -> tuple[bool, str | None]:
        """Whether to check, and the answerer: careful mode with none named uses the one its
        cut was fitted for."""
        verify = self.settings.verify if verify is None else verify
        if not isinstance(verify, bool):
            raise BadInputError("verify must be true or false.")
        if verify and answerer is None:
            answerer = self.careful_cut().answerer
        return verify, answerer

    def _check(self, fast: Answer, t0: float, turns: Sequence[Turn]) -> tuple[Check, Answer]:
        from qa.careful import apply_check, check_answer

        t = time.perf_counter()
        check = check_answer(fast, self.verifier, self.careful_cut(), turns)
        timings = {**fast.timings_ms, "check_ms": (time.perf_counter() - t) * 1000}
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        final = apply_check(fast, check)
        final.timings_ms = timings
        final.trace = dataclasses.replace(fast.trace, timings_ms=timings)
        return check, final

    # -- retrieval -------------------------------------------------------------------
    def _check_k(self, k: int | None) -> int:
        k = self.settings.k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.settings.max_k:
            raise BadInputError(f"k must be a whole number from 1 to {self.settings.max_k}.")
        return k

    def retrieve(
        self, query: str, k: int | None = None, article_ids: Collection[str] | None = None
    ) -> tuple[list[Hit], dict[str, float]]:
        k = self._check_k(k)
        query = " ".join(query.split()) if isinstance(query, str) else ""
        if not query:
            raise BadInputError("The query is empty: type a question or some words to search for.")
        snap = self.snapshot()
        timings: dict[str, float] = {}
        t = time.perf_counter()
        vector = self.embedder().embed_query(query)
        timings["embed_ms"] = (time.perf_counter() - t) * 1000
        n = min(len(snap.chunks), max(4 * k, 20))
        if n == 0:
            return [], timings
        t = time.perf_counter()
        dense = dense_search(snap, vector, n, article_ids)
        timings["dense_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        lexical = bm25_search(snap, query, n, article_ids)
        timings["bm25_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        hits = fuse(snap, dense, lexical, k)
        timings["fuse_ms"] = (time.perf_counter() - t) * 1000
        return hits, timings

    def _pool(self, k: int | None, backend: Answerer) -> int:
        """Passages handed to the answerer: k, or more if the answerer asks for a wider pool."""
        k = self._check_k(k)
        return max(k, min(int(getattr(backend, "min_passages", 0)), self.settings.max_k))

    def references(self) -> ArticleRefs:
        """Outlets, authors and titles of the live index, for questions that name an article."""
        snap = self.snapshot()
        cached = self._refs
        if cached is None or cached[0] is not snap:
            from qa.scope import ArticleRefs

            cached = (snap, ArticleRefs(snap.articles))
            self._refs = cached
        return cached[1]

    def _scope(self, question: str, article_ids: Collection[str] | None) -> Collection[str] | None:
        """The caller's filter, or the one article the question itself points at."""
        if article_ids:
            return article_ids
        ref = self.references().find(question)
        return [ref.article_id] if ref else None

    def search(
        self, query: str, k: int | None = None, article_ids: Collection[str] | None = None
    ) -> list[Hit]:
        return self.retrieve(query, k, article_ids)[0]

    # -- answering -------------------------------------------------------------------
    def _validate(self, question: str, history: Sequence[Turn] | None) -> tuple[str, list[Turn]]:
        if not isinstance(question, str) or not question.strip():
            raise BadInputError("The question is empty: type a question about the articles.")
        if len(question) > self.settings.max_question_chars:
            raise BadInputError(
                f"The question is {len(question)} characters long; the limit is "
                f"{self.settings.max_question_chars} (QA_MAX_QUESTION_CHARS)."
            )
        turns: list[Turn] = []
        for i, turn in enumerate(history or []):
            if not isinstance(turn, dict) or turn.get("role") not in {"user", "assistant"}:
                raise BadInputError(
                    f"history[{i}] must be an object with role 'user' or 'assistant' and content."
                )
            content = turn.get("content")
            if not isinstance(content, str):
                raise BadInputError(f"history[{i}].content must be a string.")
            turns.append({"role": turn["role"], "content": content})
        if len(turns) > self.settings.max_history_turns:
            turns = turns[-self.settings.max_history_turns :]
        return " ".join(question.split()), turns

    def stream(
        self,
        question: str,
        history: Sequence[Turn] | None = None,
        *,
        answerer: str | None = None,
        k: int | None = None,
        article_ids: Collection[str] | None = None,
        verify: bool | None = None,
    ) -> Iterator[Retrieved | str | Checking | Check | Answer]:
        """Yields `Retrieved` (passages), then text deltas, then the final `Answer`. In careful
        mode (`verify`, default QA_VERIFY) the fast answer's deltas are followed by `Checking`
        (the fast answer), then the `Check`, then the final `Answer`."""
        t0 = time.perf_counter()
        question, turns = self._validate(question, history)
        verify, answerer = self._careful(verify, answerer)
        backend = self.answerer(answerer)
        query = standalone_query(question, turns, backend)
        article_ids = self._scope(question, article_ids)
        hits, timings = self.retrieve(query, self._pool(k, backend), article_ids)
        timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000
        yield Retrieved(query, tuple(hits))
        t = time.perf_counter()
        draft: Draft | None = None
        for event in backend.stream(question, hits, turns):
            if isinstance(event, Draft):
                draft = event
            else:
                yield event
        assert draft is not None, f"answerer {backend.name} ended without a draft"
        timings["answer_ms"] = (time.perf_counter() - t) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        fast = self._finish(question, query, hits, draft, backend.name, timings, self._check_k(k))
        if not verify:
            yield fast
            return
        yield Checking(fast)
        check, final = self._check(fast, t0, turns)
        yield check
        yield final

    def ask(
        self,
        question: str,
        history: Sequence[Turn] | None = None,
        *,
        answerer: str | None = None,
        k: int | None = None,
        article_ids: Collection[str] | None = None,
        verify: bool | None = None,
    ) -> Answer:
        """The answer; in careful mode (`verify`, default QA_VERIFY) after its check."""
        t0 = time.perf_counter()
        question, turns = self._validate(question, history)
        verify, answerer = self._careful(verify, answerer)
        backend = self.answerer(answerer)
        query = standalone_query(question, turns, backend)
        article_ids = self._scope(question, article_ids)
        hits, timings = self.retrieve(query, self._pool(k, backend), article_ids)
        timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000
        t = time.perf_counter()
        draft = backend.answer(question, hits, turns)
        timings["answer_ms"] = (time.perf_counter() - t) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        fast = self._finish(question, query, hits, draft, backend.name, timings, self._check_k(k))
        return self._check(fast, t0, turns)[1] if verify else fast

    def _finish(
        self,
        question: str,
        query: str,
        hits: list[Hit],
        draft: Draft,
        name: str,
        timings: dict[str, float],
        k: int,
    ) -> Answer:
        snap = self.snapshot()
        text, citations, uncited = finalize(draft, snap)
        return Answer(
            question=question,
            text=text,
            abstained=draft.abstained,
            citations=citations,
            answerer=name,
            timings_ms=timings,
            trace=Trace(query=query, passages=[h.to_dict() for h in hits], timings_ms=timings, k=k),
            conflict=draft.conflict,
            notice=draft.notice,
            uncited=uncited and not draft.abstained,
            withheld=draft.withheld,
            short=draft.short,
            confidence=draft.confidence,
            unabstained=None
            if draft.unabstained is None
            else self._finish(question, query, hits, draft.unabstained, name, timings, k),
            alternatives=cache(
                lambda: tuple(
                    self._finish(question, query, hits, alt, name, timings, k)
                    for alt in draft.alternatives()
                )
            ),
            ground=lambda span, passages: self._grounded(
                span, passages, lambda d: self._finish(question, query, hits, d, name, timings, k)
            ),
        )

    def _grounded(self, span: str, passages: list[dict[str, Any]], finish: Any) -> Answer | None:
        """The reply that leads with `span` where it is in `passages` (careful mode's
        reading), cited to the sentence of the index holding it; a span listing several items
        ("Arles, Nîmes, Uzès") that are each there, as a list of them; "A; B" (a list
        careful mode keeps part of) splits at its semicolons first. None when it is not
        there."""
        from qa.careful import items, locate

        splits = [[span], span.split("; "), items(span)]
        located: list[tuple[dict[str, Any], int, int]] | None = None
        for parts in filter(None, splits):
            found = [locate(part, passages) for part in parts]
            if all(f is not None for f in found):
                located = [f for f in found if f is not None]
                break
        if located is None:
            return None
        snap = self.snapshot()
        leads: dict[str, tuple[str, int]] = {}  # item -> as the article spells it, its marker
        evidence: dict[tuple[str, int, int], int] = {}  # sentence -> its marker
        scores: dict[tuple[str, int, int], float] = {}
        for passage, start, end in located:
            article = str(passage["article_id"])
            text = str(snap.articles[article]["text"])
            chunk = snap.by_id.get(str(passage.get("chunk_id")))
            sentences = snap.chunks[chunk].sentences if chunk is not None else ()
            lo, hi = next(
                ((s, e) for s, e in sentences if s <= start and end <= e),
                (int(passage["start"]), int(passage["end"])),
            )
            n = evidence.setdefault((article, lo, hi), len(evidence) + 1)
            scores.setdefault((article, lo, hi), float(passage.get("score", 0.0)))
            leads.setdefault(text[start:end].casefold(), (text[start:end], n))
        quoted = " ".join(
            f"{str(snap.articles[a]['text'])[lo:hi].strip()} [{n}]"
            for (a, lo, hi), n in evidence.items()
        )
        short = "; ".join(item for item, _ in leads.values())
        lead = "; ".join(f"{item} [{n}]" for item, n in leads.values())
        draft = Draft(
            f"{lead[:1].upper()}{lead[1:]}. {quoted}",  # a reply starts with a capital
            False,
            tuple(Evidence(*key, scores[key]) for key in evidence),
            short=short,
        )
        answer: Answer = finish(draft)
        return answer

    def article(self, article_id: str) -> dict[str, Any]:
        from index.errors import NotFoundError

        snap = self.snapshot()
        art = snap.articles.get(article_id) if isinstance(article_id, str) else None
        if art is None:
            raise NotFoundError(f"No article with id {article_id!r} in the index.")
        return {"article_id": article_id, "title": art["title"], "text": art["text"]}

    def status(self) -> dict[str, Any]:
        snap = self.snapshot()
        return {
            "articles": len(snap.articles),
            "chunks": len(snap.chunks),
            "embedding_model": snap.manifest.get("embedding_model"),
            "generation": snap.gen_dir.name,
            "store": snap.manifest.get("chroma"),
        }
