"""`/v1/ask`, `/v1/ask/stream` and `/v1/search`: answers and passages from one Assistant."""

# No `from __future__ import annotations`: FastAPI reads the route signatures at runtime.
import json
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from qa.answer import Answer, Check, Checking, Retrieved
from qa.web.errors import RESPONSES, error_payload
from qa.web.schemas import AnswerOut, AskBody, HitOut, RequestModels, SearchBody
from qa.web.workers import Workers

if TYPE_CHECKING:
    from qa.assistant import Assistant


def sse(data: Any, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def event_stream(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def router(assistant: "Assistant", models: RequestModels, workers: Workers) -> APIRouter:
    AskRequest, SearchRequest = models.AskRequest, models.SearchRequest
    r = APIRouter()

    @r.post("/ask", response_model=AnswerOut, responses=RESPONSES, tags=["answers"])
    async def ask(body: AskRequest) -> Any:  # type: ignore[valid-type]
        """Answer a question with numbered citations into the articles."""
        req = cast(AskBody, body)
        answer = await workers.run(
            partial(
                assistant.ask,
                req.question,
                [t.model_dump() for t in req.history],
                answerer=req.answerer,
                k=req.k,
                verify=req.verify,
            )
        )
        return answer.to_dict()

    @r.post(
        "/ask/stream",
        responses={**RESPONSES, 200: {"content": {"text/event-stream": {}}}},
        tags=["answers"],
    )
    async def ask_stream(body: AskRequest) -> StreamingResponse:  # type: ignore[valid-type]
        """Server-sent events: `retrieved` (query and passages, before any text), `delta`
        ({"text"}) events, then one `answer` event with the full answer JSON. In careful mode
        (`verify`) the deltas are the fast answer's; then come `checking` ({"answer": the
        fast answer}) while the model checks, `check` (what it found), and the final `answer`.
        A failure after the stream started arrives as an `error` event. Each step is
        computed on the server's workers, as `/v1/ask` is."""
        req = cast(AskBody, body)
        events = assistant.stream(
            req.question,
            [t.model_dump() for t in req.history],
            answerer=req.answerer,
            k=req.k,
            verify=req.verify,
        )
        # Pull the first event here so bad input and a missing index get a proper status.
        first = await workers.run(partial(next, events))

        async def stream() -> AsyncIterator[str]:
            try:
                async for event in workers.each(chain(first, events)):
                    if isinstance(event, Retrieved):
                        hits = [h.to_dict() for h in event.hits]
                        yield sse({"query": event.query, "passages": hits}, "retrieved")
                    elif isinstance(event, Answer):
                        yield sse(event.to_dict(), "answer")
                    elif isinstance(event, Checking):
                        yield sse({"answer": event.answer.to_dict()}, "checking")
                    elif isinstance(event, Check):
                        yield sse(event.to_dict(), "check")
                    else:
                        yield sse({"text": event}, "delta")
            except Exception as exc:  # the status line is sent: report in the stream
                yield sse(error_payload(exc), "error")

        return event_stream(stream())

    @r.post("/search", response_model=list[HitOut], responses=RESPONSES, tags=["search"])
    def search(body: SearchRequest) -> Any:  # type: ignore[valid-type]
        """The passages retrieved for a query (as `qa search --json`)."""
        req = cast(SearchBody, body)
        return [h.to_dict() for h in assistant.search(req.query, k=req.k)]

    return r
