"""The JSON API: `/v1/*` and `/healthz`, a thin FastAPI layer over one `Assistant`.

One module per resource: `answers` (ask, stream, search), `articles` (list, read, upload,
remove), `openai` (chat completions, models); `schemas` holds every request rule and
response shape, `errors` the one error shape, `workers` the threads answers run on. When
`api_key` is set, every `/v1` route needs `Authorization: Bearer <key>`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from index.settings import Settings
from qa.web import answers, articles, errors, openai
from qa.web.auth import key_check
from qa.web.schemas import HealthOut, request_models, upload_body_limit, upload_limits
from qa.web.workers import Workers

if TYPE_CHECKING:
    from qa.assistant import Assistant
    from qa.library import Library

MAX_BODY_BYTES = 256 * 1024
"""Largest accepted `/v1` request body (uploads excepted); bigger ones get 413 unparsed."""


def create_api(assistant: Assistant, settings: Settings, library: Library | None = None) -> FastAPI:
    """The FastAPI app with `/v1` routes, `/healthz` and `/docs`, bound to one Assistant."""
    from qa.library import Library

    library = library or Library(assistant)
    models = request_models(settings)
    require_key, keyed = key_check(settings)
    upload_max = upload_body_limit(settings)

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], max_body_size=MAX_BODY_BYTES)
    # Answers run on at most `serve_workers` threads at once (qa/web/workers.py).
    workers = Workers(settings.serve_workers)
    v1.include_router(answers.router(assistant, models, workers))
    v1.include_router(articles.router(library, settings))
    v1.include_router(openai.router(assistant, settings, models, workers))

    @v1.api_route(
        "/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    def unknown(path: str, request: Request) -> JSONResponse:
        return errors.error(
            404,
            f"No route {request.method} /v1/{path}; the API is described at /docs.",
            "not_found",
        )

    app = FastAPI(
        title="newsqa",
        version="0.1.0",
        description="Cited question answering over news articles. Errors are "
        '`{"error": {"message", "type", "param", "code"}}`. '
        f"Request bodies are limited to {MAX_BODY_BYTES} bytes, except uploads to "
        f"POST /v1/articles: {upload_limits(settings)}"
        + (" Every /v1 route needs `Authorization: Bearer <key>`." if keyed else ""),
    )

    @app.get("/healthz", response_model=HealthOut, responses=errors.RESPONSES, tags=["status"])
    def healthz() -> object:
        """Index status: articles, chunks, embedding model. 503 when there is no index."""
        return {"status": "ok", **assistant.status()}

    app.include_router(v1)

    def limit_for(method: str, path: str) -> int:
        return (
            upload_max
            if (method, path.rstrip("/")) == ("POST", "/v1/articles")
            else (MAX_BODY_BYTES)
        )

    errors.install(app, limit_for)
    return app
