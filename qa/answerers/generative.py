"""Generative answerers (llamacpp, openai): not wired yet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from index.errors import BackendError

if TYPE_CHECKING:
    from qa.answerers import Answerer
    from qa.assistant import Assistant


def make_generative(name: str, assistant: Assistant) -> Answerer:
    raise BackendError(f"The {name} answerer is not available in this build.")
