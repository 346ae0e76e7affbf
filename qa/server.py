"""`qa serve`: one uvicorn process with the chat UI at `/` and the JSON API under `/v1`."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from index.settings import Settings
    from qa.assistant import Assistant


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the chat UI (/) and the HTTP API (/v1, docs at /docs)",
        description="Serve the chat UI at / and the JSON API under /v1 in one process. "
        "Indexes the corpus first when there is no index.",
    )
    p.add_argument("--host", default=None, help="address to bind (default QA_HOST=127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default QA_PORT=7860; 0: any)")
    p.set_defaults(func=run)


def build_app(settings: Settings) -> tuple[FastAPI, Assistant]:
    """The one Assistant of this process, the API bound to it, and the UI mounted at `/`."""
    from qa.assistant import Assistant
    from qa.ui import mount_ui
    from qa.web import create_api

    assistant = Assistant(settings)
    app = create_api(assistant, settings)
    mount_ui(app, assistant, settings)
    return app, assistant


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from index.settings import Settings
    from index.store import current_generation

    overrides = {"host": args.host, "port": args.port}
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    if current_generation(settings) is None:
        from index.build import build_index

        print(f"No index in {settings.data_dir}: indexing the corpus first ...", flush=True)
        print(build_index(settings).summary(), flush=True)

    app, assistant = build_app(settings)
    # Load the embedding model, the index and the default answerer's models now, so the first
    # question is not the slow one.
    assistant.search("warm up", k=1)
    assistant.answerer().warm()
    if settings.verify:
        _probe_verifier(assistant)

    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    return asyncio.run(_serve(server, settings.host))


def _probe_verifier(assistant: Assistant) -> None:
    """Careful mode is on for every question: load and probe its verifier now, so a backend
    without log-probabilities is reported at start-up. The server still starts; answers then
    carry a notice that they were not checked."""
    from index.errors import NewsQAError

    try:
        assistant.careful_cut()
        verifier = assistant.verifier()
    except NewsQAError as exc:
        print(
            f"qa serve: careful mode (QA_VERIFY) cannot check answers: {exc}. Answers are "
            "given unchecked, with a notice, until that is fixed.",
            flush=True,
        )
        return
    print(f"careful mode: answers are checked by {verifier.where}", flush=True)


async def _serve(server: Any, host: str) -> int:
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if server.started:
        port = server.servers[0].sockets[0].getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        print(f"newsqa is ready: http://{shown}:{port}/  (API: /v1, docs: /docs)", flush=True)
    await task
    return 0 if server.started else 1
