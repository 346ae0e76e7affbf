"""Every error the API sends, in one JSON shape: `{"error": {"message", "type", "param", "code"}}`
(the shape OpenAI clients already parse). Named errors map to their `http_status`; validation
errors name the field at fault; nothing leaks a stack trace."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from index.errors import NewsQAError
from qa.web.schemas import ErrorOut

log = logging.getLogger("newsqa.api")

RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 404, 409, 413, 422, 502, 503)
}
"""The error responses every /v1 route documents."""


def error(status: int, message: str, kind: str, param: str | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": param, "code": status}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def error_type(exc: Exception) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__.removesuffix("Error")).lower()


def error_payload(exc: Exception) -> dict[str, Any]:
    """An error as it travels inside an event stream, after the status line was sent."""
    if isinstance(exc, NewsQAError):
        message, kind, code = str(exc), error_type(exc), exc.http_status
    else:
        log.error("stream failed", exc_info=exc)
        message, kind, code = "Internal error; the details are in the server log.", "internal", 500
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def too_large(limit: int) -> JSONResponse:
    return error(413, f"The request body is larger than {limit} bytes.", "too_large")


class DeclaredSizeLimit:
    """413 in the API's error shape when a /v1 request declares too large a body.

    `limit_for(method, path)` gives each route its limit. (Bodies without a Content-Length
    are counted by the routes' `max_body_size`.)
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            limit = self.limit_for(scope["method"], scope["path"])
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > limit:
                await too_large(limit)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "path", "query") else []
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out


def install(app: FastAPI, limit_for: Callable[[str, str], int]) -> None:
    """The size limit and the handlers that turn every failure into the JSON shape."""
    app.add_middleware(DeclaredSizeLimit, limit_for=limit_for)

    @app.exception_handler(NewsQAError)
    async def newsqa_error(request: Request, exc: NewsQAError) -> JSONResponse:
        return error(exc.http_status, str(exc), error_type(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        first_field = None
        for err in exc.errors()[:5]:
            field = _field(tuple(err.get("loc", ())))
            if err.get("type") == "json_invalid":
                field = "body"
                detail = (err.get("ctx") or {}).get("error", "invalid JSON")
                problems.append(f"the request body is not valid JSON ({detail})")
                first_field = first_field or field
                continue
            first_field = first_field or field or "body"
            if err.get("type") == "missing":
                problems.append(f"{field}: required")
            else:
                msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
                problems.append(f"{field or 'body'}: {msg}")
        return error(422, "; ".join(problems) + ".", "bad_input", first_field)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 413:
            return too_large(limit_for(request.method, request.url.path))
        kind = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
        return error(exc.status_code, str(exc.detail), kind.get(exc.status_code, "http_error"))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error(500, "Internal error; the details are in the server log.", "internal")
