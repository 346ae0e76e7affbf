"""The extractive answerer: spans of the retrieved sentences, ranked by a model
fitted on labelled questions, and a fitted decision to abstain.

It reads what `qa index` stored for every chunk (tokens, entities, noun chunks, sentence
vectors), so a question costs its own parse and encoding plus arithmetic over the
passages' candidates. `qa fit` makes the model file; `model.json` beside this module is the
packaged one, and `QA_EXTRACTIVE_MODEL` points at another. Nothing in it is written for
any corpus: which spans answer which questions, and when to abstain, is what the fit learns.
A question about the article itself (who wrote it, which outlet published it) is answered
from the metadata `qa index` lifted (byline.py); "Who is X?" and "What does X stand for?",
which the fitting data hardly asks, from what the parse of a sentence says (define.py,
acronym.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from qa.answer import Draft, Evidence
from qa.answerers import Resources, Turn, streamed
from qa.followup import standalone_query
from qa.retrieve import Hit

if TYPE_CHECKING:
    from qa.answerers.extractive.model import AnswererModel
    from qa.answerers.extractive.pipeline import Reader


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, resources: Resources) -> None:
        self._resources = resources
        self._reader: Reader | None = None
        self._model: AnswererModel | None = None
        self._lock = threading.Lock()

    @property
    def min_passages(self) -> int:
        return self._resources.settings.extractive_passages

    def _parts(self) -> tuple[Reader, AnswererModel]:
        if self._reader is None or self._model is None:
            with self._lock:
                from qa.answerers.extractive.model import load_model
                from qa.answerers.extractive.pipeline import Reader

                settings = self._resources.settings
                self._model = self._model or load_model(settings.extractive_model)
                self._reader = self._reader or Reader(settings.extractive_sentences)
        return self._reader, self._model

    def warm(self) -> None:
        """The fitted model and the spaCy pipeline (about 2 s in a fresh process)."""
        from index.annotate import nlp

        self._parts()
        nlp()

    def answer(self, question: str, passages: Sequence[Hit], history: Sequence[Turn]) -> Draft:
        from qa.answerers.extractive.byline import asked_about, byline_reply
        from qa.answerers.extractive.compose import compose

        reader, model = self._parts()
        # The words that point at an article say where to look, not what is asked.
        query = self._resources.references().without(standalone_query(question, history))
        snap = self._resources.snapshot()
        parsed = reader.question(query)
        asked = asked_about(parsed)
        if asked is not None:
            # About the article the question names (its passages come first), not the news.
            ids = [p.article_id for p in passages]
            return byline_reply(asked, parsed, ids, snap.articles)
        qvec = self._resources.embedder().embed_query(query)
        reading = reader.read(snap, parsed, qvec, passages)
        return compose(reading, model, passages)

    def stream(
        self, question: str, passages: Sequence[Hit], history: Sequence[Turn]
    ) -> Iterator[str | Draft]:
        return streamed(self.answer(question, passages, history))


__all__ = ["Draft", "Evidence", "ExtractiveAnswerer"]
