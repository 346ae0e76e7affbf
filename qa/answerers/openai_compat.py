"""The `openai` backend: any OpenAI-compatible chat endpoint (hosted, vLLM, Ollama,
llama.cpp's server), through LangChain's ChatOpenAI. The HTTP client is thread-safe."""

from __future__ import annotations

from typing import Any

from index.errors import BackendError
from index.settings import Settings
from qa.answerers.generative import Chat

INSTALL = "pip install 'newsqa[openai]'"


def load_chat(settings: Settings) -> Chat:
    try:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr
    except ImportError as exc:
        raise BackendError(f"the openai answerer needs langchain-openai: {INSTALL}") from exc
    if not settings.openai_base_url and not settings.openai_api_key:
        raise BackendError(
            "no endpoint is configured: set QA_OPENAI_BASE_URL (an OpenAI-compatible /v1 URL) "
            "or QA_OPENAI_API_KEY for OpenAI itself"
        )
    # `max_tokens` is an alias ChatOpenAI's signature does not show; passed by name it would
    # need a type: ignore that only holds where langchain-openai is installed.
    limits: dict[str, Any] = {"max_tokens": settings.max_tokens}
    model = ChatOpenAI(
        model=settings.openai_model,
        base_url=settings.openai_base_url,
        # Local servers accept any key; the SDK insists on one.
        api_key=SecretStr(settings.openai_api_key or "unused"),
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=0.0,
        **limits,
    )
    return Chat(model, None)
