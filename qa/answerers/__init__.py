"""The answerer seam: one method, several backends.

An answerer turns a question and numbered passages into a `Draft` whose `[n]` markers
refer to `Draft.evidence[n-1]`. The Assistant validates and renumbers the markers.

Answerers depend on `Resources`, the few things they use besides their arguments; the
Assistant provides them without this package importing it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from index.settings import Settings
from index.store import IndexSnapshot
from qa.answer import Draft
from qa.retrieve import Hit

if TYPE_CHECKING:
    from qa.scope import ArticleRefs

Turn = dict[str, str]


class Answerer(Protocol):
    name: str

    def warm(self) -> None:
        """Load what the first answer needs and takes no question to load (models, parsers),
        so that a server's first answer is not its slow one."""
        ...

    def answer(self, question: str, passages: Sequence[Hit], history: Sequence[Turn]) -> Draft: ...

    def stream(
        self, question: str, passages: Sequence[Hit], history: Sequence[Turn]
    ) -> Iterator[str | Draft]:
        """Text deltas, then the final Draft (whose text is the deltas joined)."""
        ...


class Resources(Protocol):
    """What an answerer may use besides its arguments (the Assistant provides it)."""

    @property
    def settings(self) -> Settings: ...

    def snapshot(self) -> IndexSnapshot:
        """The live index generation."""
        ...

    def embedder(self) -> Any:
        """The query encoder (`embed_query`, `embed_many`)."""
        ...

    def references(self) -> ArticleRefs:
        """Outlets, authors and titles of the live index, for questions that name an article."""
        ...

    def answerer(self, name: str | None = None) -> Answerer:
        """Another answerer by name (a generative one falls back to the extractive)."""
        ...


ANSWERERS = ("extractive", "llamacpp", "openai")


def streamed(draft: Draft) -> Iterator[str | Draft]:
    """A finished draft as a stream: its text in word-sized deltas, then the draft."""
    yield from word_deltas(draft.text)
    yield draft


def word_deltas(text: str) -> Iterator[str]:
    """Split finished text into word-sized deltas for streaming."""
    start = 0
    for i, ch in enumerate(text):
        if ch == " " and i > start:
            yield text[start : i + 1]
            start = i + 1
    if start < len(text):
        yield text[start:]
