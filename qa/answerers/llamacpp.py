"""The `llamacpp` backend: a local GGUF model in-process, through LangChain's ChatLlamaCpp.

A model is loaded once per process on first use (keyed by path, context and threads) and
shared by every Assistant and thread. A llama.cpp context is not re-entrant, so each call
holds the model's lock for its whole generation.
"""

from __future__ import annotations

import atexit
import dataclasses
import re
import threading
from typing import TYPE_CHECKING

from index.errors import BackendError
from index.settings import Settings
from qa.answerers.generative import Chat

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

INSTALL = "pip install 'newsqa[llamacpp]'"
BATCH = 512  # prompt tokens evaluated per step; ChatLlamaCpp's default of 8 is very slow

# ChatLlamaCpp wraps llama.cpp's error in a pydantic ValidationError; keep only the reason.
_LOAD_ERROR = re.compile(r"Received error (.+?)(?: \[type=|$)", re.M)

_loaded: dict[tuple[str, int, int], Chat] = {}
_loading = threading.Lock()


def load_chat(settings: Settings) -> Chat:
    path = settings.llamacpp_model
    if path is None:
        raise BackendError(
            "no GGUF model is configured: run `qa models fetch` and set QA_LLAMACPP_MODEL "
            "to the path it prints"
        )
    if not path.is_file():
        raise BackendError(
            f"the GGUF model {path} does not exist: check QA_LLAMACPP_MODEL or run "
            "`qa models fetch`"
        )
    key = (str(path.resolve()), settings.llamacpp_ctx, settings.llamacpp_threads)
    with _loading:
        chat = _loaded.get(key)
        if chat is None:
            chat = Chat(_build(settings, key[0]), threading.Lock())
            _loaded[key] = chat
    if settings.llamacpp_reuse_prompt:
        return chat
    # llama.cpp evaluates only the part of a prompt that differs from the previous one; the
    # floating-point path then differs too, and greedy decoding can follow it elsewhere.
    return dataclasses.replace(chat, reset=chat.model.client.reset)  # type: ignore[attr-defined]


def _build(settings: Settings, path: str) -> BaseChatModel:
    try:
        import llama_cpp  # noqa: F401  (checked first: langchain-community alone is not enough)
        from langchain_community.chat_models.llamacpp import ChatLlamaCpp
    except ImportError as exc:
        raise BackendError(
            f"the llamacpp answerer needs llama-cpp-python and langchain-community: {INSTALL}"
        ) from exc
    threads = settings.llamacpp_threads
    try:
        return ChatLlamaCpp(
            model_path=path,
            n_ctx=settings.llamacpp_ctx,
            n_threads=threads,
            n_batch=BATCH,
            max_tokens=settings.max_tokens,
            temperature=0.0,
            # A repeat penalty punishes copying names and figures from the passages.
            repeat_penalty=1.0,
            seed=0,
            streaming=True,
            verbose=False,
            model_kwargs={"n_threads_batch": threads},
        )
    except Exception as exc:  # llama.cpp reports a bad file as ValueError inside pydantic's
        found = _LOAD_ERROR.search(str(exc))
        reason = found.group(1) if found else (str(exc).strip().splitlines() or ["?"])[0]
        raise BackendError(f"could not load the GGUF model {path}: {reason}") from exc


def _close_all() -> None:
    """Frees the loaded models before interpreter shutdown tears down llama_cpp's bindings
    (freeing them later prints 'Exception ignored in Llama.__del__')."""
    with _loading:
        for chat in _loaded.values():
            close = getattr(getattr(chat.model, "client", None), "close", None)
            if close is not None:
                close()
        _loaded.clear()


atexit.register(_close_all)
