"""Questions that name an article: which one they name, and what is left of the question."""

from __future__ import annotations

import pytest

from qa.scope import ArticleRefs

ARTICLES = {
    "a.txt": {"title": "Storm floods the coast: council promises funds", "outlet": "Coast Herald"},
    "b.txt": {"title": "Mayor resigns after budget row", "author": "Jane Holt"},
    "c.txt": {"title": "Council approves the new budget", "outlet": None},
}


@pytest.mark.parametrize(
    ("question", "article_id"),
    [
        ("What did the Coast Herald article say about Dover?", "a.txt"),
        ("In the piece by Jane Holt, who replaced the mayor?", "b.txt"),
        ("According to the storm article, how many homes flooded?", "a.txt"),
        ("What does the article about the mayor's resignation say?", "b.txt"),
        ("What does the story on the budget row say about taxes?", "b.txt"),
        ("Which publication is the Herald article from?", "a.txt"),  # a word of its outlet
        ("What does the Holt piece say about taxes?", "b.txt"),  # of its author
        # The words after the noun describe it, not those that lead to it.
        (
            "Who owns the outlet that published the article headlined Storm floods the coast?",
            "a.txt",
        ),
    ],
)
def test_a_question_that_names_one_article_is_scoped_to_it(question: str, article_id: str) -> None:
    refs = ArticleRefs(ARTICLES)
    ref = refs.find(question)
    assert ref is not None and ref.article_id == article_id
    assert ref.phrase in question
    assert ref.phrase not in refs.without(question)


@pytest.mark.parametrize(
    "question",
    [
        "How many homes flooded?",
        "What does the council article say?",  # two titles mention the council
        "What does the report say about Kim?",
        "Which article mentions budgets?",
    ],
)
def test_no_scope_unless_exactly_one_article_fits(question: str) -> None:
    refs = ArticleRefs(ARTICLES)
    assert refs.find(question) is None
    assert refs.without(question) == question


@pytest.mark.parametrize(
    "question",
    [
        "Who published the piece headlined 'Storm floods the coast: council promises funds'?",
        "Who wrote the article titled “Mayor resigns after budget row”?",
    ],
)
def test_a_quoted_title_is_taken_out_whole(question: str) -> None:
    """A title longer than a description's few words is still one reference: nothing of it
    is left in the question that is asked."""
    refs = ArticleRefs(ARTICLES)
    ref = refs.find(question)
    assert ref is not None and ref.article_id == ("a.txt" if "Storm" in question else "b.txt")
    left = refs.without(question)
    assert "funds" not in left and "budget" not in left
    assert left.endswith("the article?")


def test_a_quoted_title_no_article_has_is_not_a_reference() -> None:
    refs = ArticleRefs(ARTICLES)
    question = "Who published the piece headlined 'Storm floods the valley'?"
    assert refs.find(question) is None
