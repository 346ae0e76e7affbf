"""`/v1/models` and `/v1/chat/completions`: the answers for any OpenAI client."""

# No `from __future__ import annotations`: FastAPI reads the route signatures at runtime.
import time
import uuid
from collections.abc import AsyncIterator
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from fastapi import APIRouter

from index.errors import BadInputError
from index.settings import Settings
from qa.answer import Answer
from qa.answerers import ANSWERERS, word_deltas
from qa.web.answers import chain, event_stream, sse
from qa.web.errors import RESPONSES, error_payload
from qa.web.schemas import CONTROL, MODEL, ChatBody, RequestModels
from qa.web.workers import Workers

if TYPE_CHECKING:
    from qa.assistant import Assistant


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


def _extras(answer: Answer) -> dict[str, Any]:
    return {
        "citations": [c.to_dict() for c in answer.citations],
        "abstained": answer.abstained,
        "conflict": answer.conflict,
        "notice": answer.notice,
        "check": answer.check.to_dict() if answer.check else None,
    }


def _conversation(messages: list[Any], max_q: int) -> tuple[str, list[dict[str, str]]]:
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
    if CONTROL.search(question):
        raise BadInputError("messages: the question must not contain control characters.")
    return question, history


def router(
    assistant: "Assistant", settings: Settings, models: RequestModels, workers: Workers
) -> APIRouter:
    ChatRequest = models.ChatRequest
    r = APIRouter(tags=["openai"])

    @r.get("/models")
    def list_models() -> dict[str, Any]:
        """The model names `/v1/chat/completions` accepts."""
        names = [MODEL, *(f"{MODEL}/{a}" for a in ANSWERERS)]
        return {
            "object": "list",
            "data": [{"id": n, "object": "model", "created": 0, "owned_by": MODEL} for n in names],
        }

    @r.post(
        "/chat/completions",
        responses={**RESPONSES, 200: {"content": {"text/event-stream": {}}}},
    )
    async def chat_completions(body: ChatRequest) -> Any:  # type: ignore[valid-type]
        """OpenAI-compatible chat completions. The last user message is the question, earlier
        user/assistant messages the history. The cited answer is `choices[0].message.content`;
        the structured citations ride in a top-level `citations` field (with `stream`, in the
        final chunk), careful mode's `check` beside them."""
        req = cast(ChatBody, body)
        question, history = _conversation(req.messages, settings.max_question_chars)
        answerer = None if req.model == MODEL else req.model.removeprefix(f"{MODEL}/")
        cid = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        verify = settings.verify if req.verify is None else req.verify
        if not req.stream:
            answer = await workers.run(
                partial(assistant.ask, question, history, answerer=answerer, verify=verify)
            )
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
        events = assistant.stream(question, history, answerer=answerer, verify=verify)
        first = await workers.run(partial(next, events))

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
            return sse(body)

        async def stream() -> AsyncIterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            try:
                async for event in workers.each(chain(first, events)):
                    # Careful mode: OpenAI clients join the deltas into the message, so the
                    # content waits for the check and is the final answer's.
                    if isinstance(event, str) and not verify:
                        yield chunk({"content": event})
                    elif isinstance(event, Answer):
                        if verify:
                            for delta in word_deltas(event.text):
                                yield chunk({"content": delta})
                        yield chunk({}, "stop", **_extras(event))
            except Exception as exc:  # the status line is sent: report in the stream
                yield sse(error_payload(exc))
            yield "data: [DONE]\n\n"

        return event_stream(stream())

    return r
