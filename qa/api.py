"""The JSON API: `/v1/*` and `/healthz`, a thin FastAPI layer over one `Assistant`.

Every route validates its input (limits come from `Settings` and show in `/docs`), calls the
Assistant and maps its named errors to JSON: `{"error": {"message", "type", "param", "code"}}`
(the shape OpenAI clients already parse). When `api_key` is set, every `/v1` route needs
`Authorization: Bearer <key>`.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures at runtime,
# and the request models are local to create_api.
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from index.errors import BadInputError, NewsQAError
from index.settings import Settings
from qa.answer import Answer, Retrieved
from qa.answerers import ANSWERERS

if TYPE_CHECKING:
    from qa.assistant import Assistant

log = logging.getLogger("newsqa.api")

MAX_BODY_BYTES = 256 * 1024
"""Largest accepted `/v1` request body; bigger ones get 413 before any parsing."""

MODEL = "newsqa"
# C0/C1 control characters other than tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _known_answerer(value: str | None) -> str | None:
    if value is not None and value not in ANSWERERS:
        raise ValueError(f"unknown answerer {value!r}; choose one of {', '.join(ANSWERERS)}")
    return value


# -- response shapes (documentation; extra keys pass through) ---------------------------
class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class CitationOut(_Open):
    n: int
    article_id: str
    title: str
    quote: str = Field(description="Exactly the article text from `start` to `end`.")
    start: int
    end: int
    score: float


class AnswerOut(_Open):
    question: str
    answer: str = Field(description="The answer text with [n] markers.")
    abstained: bool = Field(description="True when the articles do not answer the question.")
    conflict: bool = Field(description="True when the sources disagree.")
    citations: list[CitationOut]
    answerer: str
    notice: str | None
    uncited: bool
    timings_ms: dict[str, float]
    trace: dict[str, Any] = Field(description="The search query used and passages retrieved.")


class HitOut(_Open):
    chunk_id: str
    article_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    dense_score: float | None
    bm25_score: float | None


class ArticleOut(BaseModel):
    article_id: str
    title: str
    text: str


class HealthOut(_Open):
    status: Literal["ok"]
    articles: int
    chunks: int
    embedding_model: str | None


class ErrorBody(BaseModel):
    message: str = Field(description="What went wrong and what to do next.")
    type: str
    param: str | None = Field(description="The request field at fault, when there is one.")
    code: int


class ErrorOut(BaseModel):
    error: ErrorBody


def _error(status: int, message: str, kind: str, param: str | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": param, "code": status}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _error_type(exc: Exception) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__.removesuffix("Error")).lower()


def _sse(data: Any, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _text_of(content: str | list[Any] | None, where: str) -> str:
    """OpenAI message content: a string or a list of {"type": "text", "text": ...} parts."""
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "text":
            raise BadInputError(f"{where}: only text content parts are supported.")
        texts.append(str(part.get("text", "")))
    return "".join(texts)


def create_api(assistant: "Assistant", settings: Settings) -> FastAPI:
    """The FastAPI app with `/v1` routes, `/healthz` and `/docs`, bound to one Assistant."""
    max_q = settings.max_question_chars
    max_turns = settings.max_history_turns
    max_k = settings.max_k

    # Models are built here so that the limits in /docs are the configured ones.
    class Turn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        role: Literal["user", "assistant"]
        content: str

    class AskRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        question: Annotated[str, AfterValidator(_text)] = Field(
            max_length=max_q, description=f"At most {max_q} characters."
        )
        history: list[Turn] = Field(
            default_factory=list,
            max_length=max_turns,
            description=f"Earlier turns, oldest first; at most {max_turns}.",
        )
        answerer: Annotated[str | None, AfterValidator(_known_answerer)] = Field(
            default=None,
            description=f"One of {', '.join(ANSWERERS)}; default {settings.answerer}.",
            json_schema_extra={"enum": [*ANSWERERS, None]},
        )
        k: int | None = Field(
            default=None, ge=1, le=max_k, description=f"Passages to retrieve, 1 to {max_k}."
        )

    class SearchRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        query: Annotated[str, AfterValidator(_text)] = Field(
            max_length=max_q, description=f"At most {max_q} characters."
        )
        k: int | None = Field(
            default=None, ge=1, le=max_k, description=f"Passages to return, 1 to {max_k}."
        )

    class ChatMessage(BaseModel):
        model_config = ConfigDict(extra="ignore")
        role: Literal["system", "developer", "user", "assistant", "tool"]
        content: str | list[dict[str, Any]] | None = None

    class ChatRequest(BaseModel):
        # OpenAI clients send many optional fields (temperature, user, ...): ignored.
        model_config = ConfigDict(extra="ignore")
        model: str = Field(
            default=MODEL,
            description=f"{MODEL!r} (default answerer) or 'newsqa/<answerer>' "
            f"with <answerer> one of {', '.join(ANSWERERS)}.",
        )
        messages: list[ChatMessage] = Field(
            min_length=1,
            max_length=max_turns + 2,
            description="The conversation; the last message is the user's question. "
            f"At most {max_turns + 2} messages; system messages are ignored.",
        )
        stream: bool = False

        @field_validator("model")
        @classmethod
        def _model(cls, value: str) -> str:
            name = value.removeprefix(f"{MODEL}/")
            if value != MODEL and name not in ANSWERERS:
                choices = ", ".join([MODEL, *(f"{MODEL}/{a}" for a in ANSWERERS)])
                raise ValueError(f"unknown model {value!r}; choose one of {choices}")
            return value

    bearer = HTTPBearer(auto_error=False, description="The server's QA_API_KEY.")
    expected = settings.api_key.encode() if settings.api_key else None

    def require_key(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if expected is None:
            return
        # Starlette decodes header bytes as latin-1: this recovers what the client sent.
        given = credentials.credentials.encode("latin-1") if credentials else b""
        if not hmac.compare_digest(given, expected):
            raise HTTPException(
                401,
                "Missing or wrong API key: send the header 'Authorization: Bearer <key>' "
                "with the key the server was started with (QA_API_KEY).",
            )

    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut} for code in (401, 404, 413, 422, 502, 503)
    }
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], max_body_size=MAX_BODY_BYTES)

    @v1.post("/ask", response_model=AnswerOut, responses=errors, tags=["answers"])
    def ask(req: AskRequest) -> Any:
        """Answer a question with numbered citations into the articles."""
        answer = assistant.ask(
            req.question,
            [t.model_dump() for t in req.history],
            answerer=req.answerer,
            k=req.k,
        )
        return answer.to_dict()

    @v1.post(
        "/ask/stream",
        responses={**errors, 200: {"content": {"text/event-stream": {}}}},
        tags=["answers"],
    )
    def ask_stream(req: AskRequest) -> StreamingResponse:
        """Server-sent events: `retrieved` (query and passages, before any text), `delta`
        ({"text"}) events, then one `answer` event with the full answer JSON. A failure
        after the stream started arrives as an `error` event."""
        events = assistant.stream(
            req.question,
            [t.model_dump() for t in req.history],
            answerer=req.answerer,
            k=req.k,
        )
        # Pull the first event here so bad input and a missing index get a proper status.
        first = next(events)

        def sse() -> Iterator[str]:
            try:
                for event in _chain(first, events):
                    if isinstance(event, Retrieved):
                        hits = [h.to_dict() for h in event.hits]
                        yield _sse({"query": event.query, "passages": hits}, "retrieved")
                    elif isinstance(event, Answer):
                        yield _sse(event.to_dict(), "answer")
                    else:
                        yield _sse({"text": event}, "delta")
            except Exception as exc:  # the status line is sent: report in the stream
                yield _sse(_error_payload(exc), "error")

        return _event_stream(sse())

    @v1.post("/search", response_model=list[HitOut], responses=errors, tags=["search"])
    def search(req: SearchRequest) -> Any:
        """The passages retrieved for a query (as `qa search --json`)."""
        return [h.to_dict() for h in assistant.search(req.query, k=req.k)]

    @v1.get(
        "/articles/{article_id:path}",
        response_model=ArticleOut,
        responses=errors,
        tags=["search"],
    )
    def article(article_id: Annotated[str, Path(max_length=500)]) -> Any:
        """One indexed article by id (its file name); unknown ids get 404."""
        return assistant.article(article_id)

    @v1.get("/models", tags=["openai"])
    def models() -> dict[str, Any]:
        """The model names `/v1/chat/completions` accepts."""
        names = [MODEL, *(f"{MODEL}/{a}" for a in ANSWERERS)]
        return {
            "object": "list",
            "data": [{"id": n, "object": "model", "created": 0, "owned_by": MODEL} for n in names],
        }

    @v1.post(
        "/chat/completions",
        responses={**errors, 200: {"content": {"text/event-stream": {}}}},
        tags=["openai"],
    )
    def chat_completions(req: ChatRequest) -> Any:
        """OpenAI-compatible chat completions. The last user message is the question, earlier
        user/assistant messages the history. The cited answer is `choices[0].message.content`;
        the structured citations ride in a top-level `citations` field (with `stream`, in the
        final chunk)."""
        question, history = _conversation(req.messages)
        answerer = None if req.model == MODEL else req.model.removeprefix(f"{MODEL}/")
        cid = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if not req.stream:
            answer = assistant.ask(question, history, answerer=answerer)
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": req.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer.text},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                **_extras(answer),
            }
        events = assistant.stream(question, history, answerer=answerer)
        first = next(events)

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            body = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": req.model,
                "choices": [choice],
                **extra,
            }
            return _sse(body)

        def sse() -> Iterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            try:
                for event in _chain(first, events):
                    if isinstance(event, str):
                        yield chunk({"content": event})
                    elif isinstance(event, Answer):
                        yield chunk({}, "stop", **_extras(event))
            except Exception as exc:  # the status line is sent: report in the stream
                yield _sse(_error_payload(exc))
            yield "data: [DONE]\n\n"

        return _event_stream(sse())

    @v1.api_route(
        "/{path:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    def unknown(path: str, request: Request) -> JSONResponse:
        return _error(
            404,
            f"No route {request.method} /v1/{path}; the API is described at /docs.",
            "not_found",
        )

    def _conversation(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
        last = messages[-1]
        if last.role != "user":
            raise BadInputError("messages: the last message must be the user's question.")
        question = _text_of(last.content, f"messages[{len(messages) - 1}].content")
        history = [
            {"role": m.role, "content": _text_of(m.content, f"messages[{i}].content")}
            for i, m in enumerate(messages[:-1])
            if m.role in ("user", "assistant")
        ]
        if len(question) > max_q:
            raise BadInputError(
                f"messages[{len(messages) - 1}].content: the question is {len(question)} "
                f"characters long; the limit is {max_q}."
            )
        if _CONTROL.search(question):
            raise BadInputError("messages: the question must not contain control characters.")
        return question, history

    app = FastAPI(
        title="newsqa",
        version="0.1.0",
        description="Cited question answering over news articles. Errors are "
        '`{"error": {"message", "type", "param", "code"}}`. '
        f"Request bodies are limited to {MAX_BODY_BYTES} bytes."
        + (" Every /v1 route needs `Authorization: Bearer <key>`." if expected else ""),
    )

    @app.get("/healthz", response_model=HealthOut, responses=errors, tags=["status"])
    def healthz() -> Any:
        """Index status: articles, chunks, embedding model. 503 when there is no index."""
        return {"status": "ok", **assistant.status()}

    app.include_router(v1)
    app.add_middleware(_DeclaredSizeLimit, limit=MAX_BODY_BYTES)
    _install_error_handlers(app)
    return app


class _DeclaredSizeLimit:
    """413 in the API's error shape when a /v1 request declares too large a body.

    (Bodies without a Content-Length are counted by the router's `max_body_size`.)
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.limit:
                await _too_large()(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _too_large() -> JSONResponse:
    return _error(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.", "too_large")


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def _event_stream(body: Iterator[str]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _error_payload(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, NewsQAError):
        message, kind, code = str(exc), _error_type(exc), exc.http_status
    else:
        log.error("stream failed", exc_info=exc)
        message, kind, code = "Internal error; the details are in the server log.", "internal", 500
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _extras(answer: Answer) -> dict[str, Any]:
    return {
        "citations": [c.to_dict() for c in answer.citations],
        "abstained": answer.abstained,
        "conflict": answer.conflict,
        "notice": answer.notice,
    }


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "path", "query") else []
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NewsQAError)
    async def newsqa_error(request: Request, exc: NewsQAError) -> JSONResponse:
        return _error(exc.http_status, str(exc), _error_type(exc))

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
        return _error(422, "; ".join(problems) + ".", "bad_input", first_field)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 413:
            return _too_large()
        kind = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
        return _error(exc.status_code, str(exc.detail), kind.get(exc.status_code, "http_error"))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "Internal error; the details are in the server log.", "internal")
