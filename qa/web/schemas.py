"""What the API accepts and returns: every validation rule of a JSON request lives here.

Request models are built from `Settings` (`request_models`) so that the limits `/docs` shows
are the configured ones. Response models document the output; extra keys pass through.
"""

# No `from __future__ import annotations`: pydantic and FastAPI read these annotations at
# runtime, including those of the classes built inside request_models.
import re
from typing import Annotated, Any, Literal, NamedTuple, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from index.settings import Settings
from qa.answerers import ANSWERERS

MODEL = "newsqa"
VERIFY_HELP = (
    "Careful mode: after the fast answer, the local model checks the passage it cites (or, "
    "when the fast answer abstained, the passage of the answer it withheld); the answer is "
    'kept, given, or becomes "The articles don\'t say" with the reason (`check`). With no '
    "answerer named it uses the extractive answerer. Default QA_VERIFY ({})."
)
# C0/C1 control characters other than tab, newline and carriage return.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    if CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _known_answerer(value: str | None) -> str | None:
    if value is not None and value not in ANSWERERS:
        raise ValueError(f"unknown answerer {value!r}; choose one of {', '.join(ANSWERERS)}")
    return value


# -- responses ----------------------------------------------------------------------------
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
    page: int | None = Field(
        default=None, description="The PDF page the quote starts on; null for other articles."
    )


class CheckOut(_Open):
    outcome: Literal["kept", "answered", "replaced", "abstained", "fallback", "skipped"] = Field(
        description="kept: the model judged that the cited passage answers; answered: the fast "
        "answer abstained, but the model judged that the passage of the answer its gate "
        "withheld answers, so that answer is given; replaced: it judged that the passage does "
        "not bear the answer out, but bears out one of the answerer's next-best candidates, "
        "or the span the model read from the passage itself (`read`), which is given instead; "
        "abstained: it judged that the passage does "
        "not answer (p_no above the fitted cut), so the answer says the articles don't; "
        "fallback: the check could not run and the fast answer is shown with a notice; "
        "skipped: nothing to check (no candidate answer)."
    )
    reason: str = Field(description="What the check found, or why it did not run.")
    p_no: float | None = Field(
        description="The model's probability that the passage does not answer."
    )
    cut: float | None = Field(description="The fitted cut p_no was compared with.")
    seconds: float
    article_id: str | None = Field(description="The passage checked: its article and offsets.")
    start: int | None
    end: int | None
    unchecked: str | None = Field(
        description="The answer the check replaced: the fast answer, or the candidate it "
        "turned down."
    )
    changed: bool = Field(default=False, description="The final answer differs from the fast one.")
    tried: int = Field(
        default=0, description="Next-best candidates checked after the first was turned down."
    )
    alternative: int | None = Field(
        default=None, description="replaced: which next-best candidate is given (0: the second)."
    )
    read: str | None = Field(
        default=None,
        description="The span the model read from the passage itself after the turn-down, as "
        "it wrote it (null when it was not asked, or replied unanswerable); with `replaced` and "
        "no `alternative`, the answer gives it as the article spells it.",
    )
    asked: str | None = Field(
        default=None,
        description="A follow-up as the model rewrote it to stand alone, and was asked about; "
        "null when the question was asked as it stands.",
    )
    dropped: list[str] = Field(
        default_factory=list,
        description="A list's items the model judged not borne out, each checked alone; the "
        "answer lists the others.",
    )


class AnswerOut(_Open):
    question: str
    answer: str = Field(description="The answer text with [n] markers.")
    abstained: bool = Field(description="True when the articles do not answer the question.")
    conflict: bool = Field(description="True when the sources disagree.")
    citations: list[CitationOut]
    answerer: str
    notice: str | None
    uncited: bool
    confidence: float | None = Field(
        default=None,
        description="The answerer's fitted probability that its best candidate answers the "
        "question (the extractive answerer abstains below its threshold); null for answerers "
        "without one.",
    )
    check: CheckOut | None = Field(
        default=None, description="Careful mode's check (`verify`); null when not asked for."
    )
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


class ArticleOut(_Open):
    article_id: str
    title: str
    text: str = Field(description="The indexed text; citations' offsets point into it.")


class ArticleSummaryOut(_Open):
    article_id: str = Field(description="The file name (uploads: as sent, unsafe characters _).")
    title: str
    outlet: str | None
    author: str | None
    date: str | None = Field(description="Publication date, when the page states one.")
    kind: Literal["text", "html", "pdf"]
    source: Literal["corpus", "upload"] = Field(
        description="corpus: from QA_CORPUS (read-only here); upload: added through "
        "POST /v1/articles, `qa articles add` or the UI."
    )
    chunks: int
    characters: int
    pages: int | None = Field(description="Pages of a PDF; null for other articles.")
    added: str | None = Field(description="When an upload was indexed (ISO 8601, UTC).")


class SkippedOut(BaseModel):
    name: str = Field(description="The file name as sent.")
    reason: str = Field(description="Why it was not indexed, and what to do.")


class AddedOut(BaseModel):
    indexed: list[ArticleSummaryOut]
    skipped: list[SkippedOut]
    generation: str = Field(description="The index generation now live.")
    seconds: float


class RemovedOut(_Open):
    article_id: str
    removed: Literal[True]
    generation: str


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


# -- requests -----------------------------------------------------------------------------
class AskBody(Protocol):
    """What the routes read from an AskRequest (the class is built by request_models)."""

    question: str
    history: list[Any]
    answerer: str | None
    k: int | None
    verify: bool | None


class SearchBody(Protocol):
    query: str
    k: int | None


class ChatBody(Protocol):
    model: str
    messages: list[Any]
    stream: bool
    verify: bool | None


class RequestModels(NamedTuple):
    Turn: type[BaseModel]
    AskRequest: type[BaseModel]
    SearchRequest: type[BaseModel]
    ChatMessage: type[BaseModel]
    ChatRequest: type[BaseModel]


def request_models(settings: Settings) -> RequestModels:
    """The request bodies, with the configured limits."""
    max_q = settings.max_question_chars
    max_turns = settings.max_history_turns
    max_k = settings.max_k

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
        verify: bool | None = Field(default=None, description=VERIFY_HELP.format(settings.verify))

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
        verify: bool | None = Field(
            default=None,
            description=VERIFY_HELP.format(settings.verify)
            + " Not an OpenAI field: send it in the body (`extra_body` in OpenAI's SDKs). With "
            "`stream`, the content is sent once the check is done, so it is the final answer.",
        )

        @field_validator("model")
        @classmethod
        def _model(cls, value: str) -> str:
            name = value.removeprefix(f"{MODEL}/")
            if value != MODEL and name not in ANSWERERS:
                choices = ", ".join([MODEL, *(f"{MODEL}/{a}" for a in ANSWERERS)])
                raise ValueError(f"unknown model {value!r}; choose one of {choices}")
            return value

    return RequestModels(Turn, AskRequest, SearchRequest, ChatMessage, ChatRequest)


def upload_limits(settings: Settings) -> str:
    """The upload limits, as /docs and error messages state them."""
    return (
        f"At most {settings.max_upload_files} files of at most {settings.max_upload_mb:g} MB "
        f"each (QA_MAX_UPLOAD_FILES, QA_MAX_UPLOAD_MB), of type "
        f"{', '.join(settings.upload_types)} (QA_UPLOAD_TYPES)."
    )


def upload_body_limit(settings: Settings) -> int:
    """Largest POST /v1/articles body: every file at its limit, plus the multipart framing."""
    return int(settings.max_upload_files * settings.max_upload_mb * 1e6) + 64 * 1024
