"""Questions about an article rather than about what it reports: "Who wrote the article
about X?", "Which outlet published the piece headlined Y?". The answer is the byline or the
outlet `qa index` lifted from the article (index/clean.py, the catalog, a page's metadata),
cited where the article's text gives it; no sentence of the article's body states it, so the
span model could never find it there.

The words below are English for writing and publishing a text, not any corpus's words. A
question is taken as one about an article only when it names a text ("article", "piece",
"story") or its author, and asks who wrote it or where it came out: "Who wrote the
treaty?" is a question about the news, answered by the spans.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from qa.answer import Draft, Evidence
from qa.answerers.extractive.compose import ABSTAIN, short_title
from qa.answerers.extractive.reading import Question

Field = Literal["author", "outlet"]

_TEXTS = frozenset({"article", "piece", "story", "post", "column", "editorial", "blog"})
_WRITE = frozenset({"write", "author", "pen"})
_WRITERS = frozenset({"author", "writer", "byline", "reporter", "journalist", "correspondent"})
_BYLINE = frozenset({"author", "byline"})  # a text's, even when the question names no text
_PUBLISH = frozenset({"publish", "run", "carry", "print", "post"})
_OUTLETS = frozenset(
    {"outlet", "publication", "publisher", "newspaper", "paper", "magazine", "website", "site"}
)
# "Who is the author ...", "What outlet is it from", "Which site did it appear on"; not
# "Which journalist does the article quote", a question about the news.
_IS = frozenset({"be", "come", "appear"})


def asked_about(question: Question) -> Field | None:
    """The article's field a question asks for, or None for a question about the news."""
    asked = set(question.wh_nouns)
    if not question.lemmas & _TEXTS and not asked & _BYLINE:
        return None
    verbs = {question.root, question.wh_gov}
    who = question.qtype in {"who", "whom"}
    if (asked & _WRITERS and verbs & (_WRITE | _PUBLISH | _IS)) or (who and verbs & _WRITE):
        return "author"
    if (asked & _OUTLETS and verbs & (_PUBLISH | _IS)) or (
        question.qtype in {"who", "whom", "which", "what", "where"} and verbs & _PUBLISH
    ):
        return "outlet"
    return None


def names_an_article(question: Question) -> bool:
    """The question says which article it means ("the article about the bridge closure"): it
    has words of its own beside those asking for a byline or an outlet."""
    asking = _TEXTS | _WRITE | _WRITERS | _PUBLISH | _OUTLETS | _IS | {"name"}
    return any(w not in asking for w in question.content)


def byline_reply(
    field: Field, question: Question, article_ids: Sequence[str], articles: dict[str, Any]
) -> Draft:
    """The reply naming the author or outlet of the article the question means: the first
    retrieved one when the question names an article or only one was retrieved (a question
    scoped to it), cited to the line of the article that gives it. A question that names none
    ("Who is the author?") gets each retrieved article's, with its title. An abstention when
    the index knows none, or the article's text does not spell it (a field from a page's
    metadata, not its text, cannot be cited)."""
    ids = list(dict.fromkeys(article_ids))
    if not ids:
        return Draft(ABSTAIN, True, ())
    if len(ids) == 1 or names_an_article(question):
        found = given(field, ids[0], articles[ids[0]])
        if found is None:
            return Draft(ABSTAIN, True, ())
        said, ev, line = found
        if said.casefold() == line.casefold():
            return Draft(f"{line} [1]", False, (ev,), short=said)
        return Draft(f"{said} [1]. {line} [1]", False, (ev,), short=said)
    each = [(i, found) for i in ids if (found := given(field, i, articles[i])) is not None]
    if not each:
        return Draft(ABSTAIN, True, ())
    items = [
        f"{said} [{n}] ({short_title(str(articles[i].get('title', i)))})"
        for n, (i, (said, _, _)) in enumerate(each, 1)
    ]
    return Draft(
        "; ".join(items) + ".",
        False,
        tuple(ev for _, (_, ev, _) in each),
        short="; ".join(said for _, (said, _, _) in each),
    )


def given(
    field: Field, article_id: str, article: dict[str, Any]
) -> tuple[str, Evidence, str] | None:
    """The article's author or outlet, the evidence of the line that gives it, and that
    line; None when the index knows none or the text does not spell it."""
    value = article.get(field)
    text = str(article.get("text", ""))
    if not value:
        return None
    span = article.get("author_span") if field == "author" else None
    if span:
        start, end = int(span[0]), int(span[1])
    else:
        found = re.search(re.escape(str(value)), text, re.IGNORECASE)
        if found is None:
            return None
        start = text.rfind("\n", 0, found.start()) + 1
        stop = text.find("\n", found.end())
        end = len(text) if stop < 0 else stop
    line = text[start:end].strip()
    start += text[start:end].index(line[:1]) if line else 0
    return str(value), Evidence(article_id, start, start + len(line), 1.0), line
