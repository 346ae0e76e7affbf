"""`/v1/articles`: list, read, upload and remove articles while the app serves.

Uploads and removals go through `qa.library.Library`, the code path of `qa articles` and
the UI: each is one new index generation under the index lock (409 while another runs).
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures at runtime.
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, UploadFile
from starlette.concurrency import run_in_threadpool

from index.articles import Upload
from index.settings import Settings
from qa.library import Library
from qa.web.errors import RESPONSES
from qa.web.schemas import (
    AddedOut,
    ArticleOut,
    ArticleSummaryOut,
    RemovedOut,
    upload_body_limit,
    upload_limits,
)

ArticleId = Annotated[str, Path(max_length=500, description="The article id (its file name).")]


def router(library: Library, settings: Settings) -> APIRouter:
    r = APIRouter(prefix="/articles", tags=["articles"])
    limits = upload_limits(settings)

    @r.get("", response_model=list[ArticleSummaryOut], responses=RESPONSES)
    def list_articles() -> Any:
        """Every indexed article: corpus articles and uploads, with their metadata."""
        return library.list()

    @r.post(
        "",
        status_code=201,
        response_model=AddedOut,
        responses=RESPONSES,
        max_body_size=upload_body_limit(settings),
        description="Upload one or several article files (multipart field `files`). "
        "News HTML is reduced to its main text (title, author, date and site kept); PDF "
        "text keeps its page numbers; .md and .txt are indexed as they are. " + limits + " "
        "201 lists what was indexed and what was skipped and why; 422 when nothing could "
        "be indexed (the index is unchanged); 409 while another upload, removal or "
        "`qa index` runs. The article is answerable as soon as this returns.",
    )
    async def add_articles(
        files: Annotated[list[UploadFile], File(description="The article files.")],
    ) -> Any:
        uploads = [Upload(f.filename or "", await f.read()) for f in files]
        report = await run_in_threadpool(library.add, uploads)
        return report.to_dict()

    @r.get("/{article_id:path}", response_model=ArticleOut, responses=RESPONSES)
    def get_article(article_id: ArticleId) -> Any:
        """One indexed article by id (its file name); unknown ids get 404."""
        return library.get(article_id)

    @r.delete("/{article_id:path}", response_model=RemovedOut, responses=RESPONSES)
    def delete_article(article_id: ArticleId) -> Any:
        """Remove an uploaded article (404 if unknown, 409 for corpus articles, which are
        removed from QA_CORPUS with `qa index`). Gone from answers when this returns."""
        return library.remove(article_id)

    return r
