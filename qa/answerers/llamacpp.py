"""The `llamacpp` backend: a local GGUF model served by llama.cpp's own server inside this
process (xllamacpp, a prebuilt wheel) on a loopback port, and driven through ChatOpenAI
exactly as the `openai` backend drives a remote one.

One server per (model, context, threads) starts on first use and is shared by every
Assistant and thread. It has one slot, so concurrent requests queue inside it and an
answer never depends on what ran alongside. It accepts only a random key held by this
process, so other local users cannot borrow the model through its port.
"""

from __future__ import annotations

import atexit
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import BackendError
from index.settings import Settings
from qa.answerers.generative import Chat
from qa.answerers.openai_compat import chat_openai

INSTALL = "pip install 'newsqa[llamacpp]'"
ALIAS = "local"  # the model name the server answers to


@dataclass(frozen=True)
class LocalServer:
    server: Any  # xllamacpp.Server; stops when the last reference goes
    url: str  # http://127.0.0.1:PORT/v1
    key: str


_servers: dict[tuple[str, int, int], LocalServer] = {}
_starting = threading.Lock()


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
    local = serve(path, settings)
    # llama.cpp evaluates only the part of a prompt that differs from the slot's previous
    # one; the floating-point path then differs too, and greedy decoding can follow it
    # elsewhere. `cache_prompt: false` makes each answer independent of what came before.
    model = chat_openai(
        settings,
        base_url=local.url,
        model=ALIAS,
        api_key=local.key,
        extra_body={"cache_prompt": settings.llamacpp_reuse_prompt},
        install=INSTALL,
    )
    return Chat(model)


def serve(path: Path, settings: Settings) -> LocalServer:
    """The running server for this model, context and thread count; started if need be."""
    key = (str(path.resolve()), settings.llamacpp_ctx, settings.llamacpp_threads)
    with _starting:
        local = _servers.get(key)
        if local is None:
            local = _start(path, settings)
            _servers[key] = local
    return local


def _start(path: Path, settings: Settings) -> LocalServer:
    try:
        import xllamacpp
    except ImportError as exc:
        raise BackendError(f"the llamacpp answerer needs xllamacpp: {INSTALL}") from exc
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise BackendError(
                f"could not load the GGUF model {path}: it is not a GGUF file; run "
                "`qa models fetch` for a verified one"
            )
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.offline = True  # a local file only: llama.cpp never reaches for a model hub
    params.model_alias = {ALIAS}
    params.n_ctx = settings.llamacpp_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = settings.llamacpp_threads
    params.cpuparams_batch.n_threads = settings.llamacpp_threads
    params.cache_ram_mib = 0  # no prompt cache beyond the slot's own prefix
    # Greedy, and no repeat penalty: it punishes copying names and figures from the passages.
    params.sampling.temp = 0.0
    params.sampling.seed = 0
    params.sampling.penalty_repeat = 1.0
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # any free port; the server reports the one it took
    key = secrets.token_urlsafe(24)
    params.api_keys = [key]
    params.verbosity = -1  # llama.cpp's own log would flood stderr
    try:
        server = xllamacpp.Server(params)
    except RuntimeError as exc:
        raise BackendError(
            f"could not load the GGUF model {path}: llama.cpp refused it (truncated, or an "
            "architecture this llama.cpp does not know); run `qa models fetch` for a "
            "verified one"
        ) from exc
    return LocalServer(server, f"{server.listening_address}/v1", key)


def _stop_all() -> None:
    """Stops the servers (each joins its llama.cpp loop) before the interpreter tears down."""
    with _starting:
        _servers.clear()


atexit.register(_stop_all)
