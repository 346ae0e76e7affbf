"""newsqa: ask questions about a collection of news articles, get cited answers.

    from qa import Assistant
    answer = Assistant().ask("How many North Korean troops are in Russia?")

Importing this package is cheap: models and stores load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index.settings import Settings
    from qa.answer import Answer, Citation
    from qa.assistant import Assistant

__all__ = ["Answer", "Assistant", "Citation", "Settings"]


def __getattr__(name: str) -> Any:
    if name == "Assistant":
        from qa.assistant import Assistant

        return Assistant
    if name in {"Answer", "Citation"}:
        from qa import answer

        return getattr(answer, name)
    if name == "Settings":
        from index.settings import Settings

        return Settings
    raise AttributeError(name)
