"""The `openai` backend: any OpenAI-compatible chat endpoint (hosted, vLLM, Ollama, a
llama.cpp server), through LangChain's ChatOpenAI. The HTTP client is thread-safe.

`chat_openai` is also how the `llamacpp` backend talks to its in-process llama.cpp server:
both answerers take one generative code path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from index.errors import BackendError
from index.settings import Settings
from qa.answerers.generative import Chat

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

INSTALL = "pip install 'newsqa[openai]'"


def load_chat(settings: Settings) -> Chat:
    if not settings.openai_base_url and not settings.openai_api_key:
        raise BackendError(
            "no endpoint is configured: set QA_OPENAI_BASE_URL (an OpenAI-compatible /v1 URL) "
            "or QA_OPENAI_API_KEY for OpenAI itself"
        )
    model = chat_openai(
        settings,
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        # Local servers accept any key; the SDK insists on one.
        api_key=settings.openai_api_key or "unused",
    )
    return Chat(model)


def chat_openai(
    settings: Settings,
    *,
    base_url: str | None,
    model: str,
    api_key: str,
    extra_body: dict[str, Any] | None = None,
    install: str = INSTALL,
) -> BaseChatModel:
    """A greedy ChatOpenAI with the settings' budget; `timeout` bounds every read, so a
    server that stops answering (or a long prompt) ends in BackendError via the fallback."""
    try:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr
    except ImportError as exc:
        raise BackendError(f"this answerer needs langchain-openai: {install}") from exc
    # `max_tokens` is an alias ChatOpenAI's signature does not show; passed by name it would
    # need a type: ignore that only holds where langchain-openai is installed.
    limits: dict[str, Any] = {"max_tokens": settings.max_tokens}
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=SecretStr(api_key),
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=0.0,
        extra_body=extra_body,
        **limits,
    )
