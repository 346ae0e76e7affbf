"""Article files for the upload tests: the ones in tests/data/ and the ones made here."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
NEWS_PAGE = DATA / "news_page.html"  # a saved news page: navigation, ads, comments
MARKUP_PAGE = DATA / "markup_page.html"  # a <script>, and markup written in its text
BINARY_PDF = DATA / "binary.pdf"  # a PNG's bytes under a .pdf name
EMPTY = DATA / "empty.txt"
MARKDOWN = DATA / "trans_siberian.md"

NEWS_QUESTION = "Who designed the Saltwind turbine?"
NEWS_ANSWER = "Odile Ferrand"
PDF_PAGES = [
    "Orchard Cooperative Annual Report\n"
    "The Orchard Cooperative of the Lesser Brenn valley has 214 member farms. Membership "
    "grew by nine farms this year, most of them young families.",
    "Cold storage\n"
    "The cooperative's new cold store in Brenlow was opened by the agriculture minister "
    "Ruth Okonjo in September. The cold store in Brenlow holds 3,600 tonnes of apples.",
    "Plans for next year\n"
    "Next year the cooperative plans to plant pear orchards on 40 hectares of land "
    "bought from the county.",
]
PDF_QUESTION = "Who opened the cold store in Brenlow?"
PDF_ANSWER_PAGE = 2


def make_pdf(path: Path, pages: list[str] = PDF_PAGES, title: str | None = None) -> Path:
    """A real multi-page PDF with a text layer (fpdf2), one string per page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    if title:
        pdf.set_title(title)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    path.write_bytes(bytes(pdf.output()))
    return path


def make_long_article(path: Path, paragraphs: int) -> Path:
    """A plain-text article of `paragraphs` distinct paragraphs (to make indexing take time)."""
    lines = ["Ledger of the Quarry Towns"]
    for i in range(paragraphs):
        lines.append(
            f"In quarry town number {i + 1}, the stone cutters guild counted {1000 + 7 * i} "
            f"blocks of granite in season {i % 13 + 1}, and the foreman of shift {i % 7 + 1} "
            f"reported {i % 5 + 2} broken saws to the mayor of district {i % 11 + 1}."
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
