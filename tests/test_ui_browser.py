"""The chat UI in a real headless Chromium (Debian's `chromium`, driven by Playwright).

One `qa serve` runs for this module on an index of the seed articles plus one article full
of markup (`<script>`, an `onerror` image, an `onmouseover` tag) that must show as text.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from index.settings import Settings
from qa.ui import EXAMPLES
from tests.conftest import SEEDS
from tests.test_api import QUESTION, Server, start_server, stop_servers, wait_ready
from tests.test_careful import QUESTION as CAREFUL_QUESTION
from tests.test_careful_api import GatedStub

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
EVIL_ID = "900_markup.txt"
EVIL = """Widget Maker Recalls Heaters After Fires
Staff reporter
Acme Widgets said on Monday that it would recall 40,000 space heaters \
<script>window.__pwned = "script"</script> after reports of fires in three homes. \
<img src="x" onerror="window.__pwned = 'img'"> The recall covers heaters sold since March.
The company said customers should stop using the heaters at once and return them for a \
refund. <b onmouseover="window.__pwned = 'hover'">Regulators</b> said no injuries were reported.
"""
EVIL_QUESTION = "How many space heaters will Acme Widgets recall?"
BOT = "#nq-chat [data-testid='bot']"
# Limits for waiting on an event: generous, so a busy machine is slow, never red.
WAIT_S = 180
WAIT_MS = WAIT_S * 1000
SOURCES = "#nq-sources"


@pytest.fixture(scope="module")
def ui_settings(
    tmp_path_factory: pytest.TempPathFactory, seed_settings: Settings, embedder: Any
) -> Settings:
    """A copy of the seed index, updated with the markup article (only it is embedded)."""
    from index.build import build_index

    root = tmp_path_factory.mktemp("ui")
    corpus = root / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / EVIL_ID).write_text(EVIL)
    shutil.copytree(seed_settings.data_dir, root / "data")
    settings = Settings(data_dir=root / "data", corpus=[corpus])
    report = build_index(settings, embedder=embedder)
    assert report.summary().startswith("Indexed 6 articles"), report.summary()
    return settings


@pytest.fixture(scope="module")
def verifier_stub() -> Iterator[GatedStub]:
    """Careful mode's verifier: an OpenAI-compatible stub on loopback that says "Yes"."""
    stub = GatedStub([("Yes", -0.05), ("No", -3.0)])
    yield stub
    stub.gate.set()
    stub.close()


@pytest.fixture(scope="module")
def server(
    ui_settings: Settings, verifier_stub: GatedStub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    s = start_server(
        ui_settings.data_dir,
        tmp_path_factory.mktemp("ui-server"),
        QA_VERIFIER="openai",
        QA_OPENAI_BASE_URL=verifier_stub.url,
        QA_OPENAI_MODEL="stub",
    )
    try:
        wait_ready(s)
        yield s
    finally:
        stop_servers(s)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser-deps` (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)  # every wait_for_* and expect below
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server.url + "/")
    page.wait_for_selector("#nq-question textarea")
    yield page
    context.close()
    assert dialogs == [], "a dialog opened: some script ran"


def ask(page: Any, question: str) -> str:
    """Type a question, press Enter, wait for the finished answer; return its text."""
    before = page.locator(BOT).count()
    page.fill("#nq-question textarea", question)
    page.keyboard.press("Enter")
    return wait_answer(page, before)


def wait_answer(page: Any, before: int) -> str:
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length > n", arg=[BOT, before]
    )
    # Finished when the box is enabled again (it is locked while the answer streams) and the
    # sources panel has left its "answering …" state: it changes with the final answer, in
    # the same update as the final text. (An example's answer does not lock the box.)
    page.wait_for_selector("#nq-question textarea:not([disabled])")
    expect(page.locator(SOURCES)).not_to_contain_text("answering …")
    return str(page.locator(BOT).last.inner_text())


def test_question_streams_a_cited_answer_and_opens_its_source(
    page: Any, server: Server, tmp_path: Path
) -> None:
    # Record every state of the answer bubble, to see that the text arrived in pieces.
    page.evaluate(
        """() => {
        window.__states = [];
        new MutationObserver(() => {
            const bots = document.querySelectorAll("#nq-chat [data-testid='bot']");
            if (bots.length) window.__states.push(bots[bots.length - 1].innerText);
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
    }"""
    )
    text = ask(page, QUESTION)
    assert "Zakharova" in text and "[1]" in text
    states = [s for s in page.evaluate("window.__states") if s.strip()]
    assert len(set(states)) >= 2, states
    assert states[0] != text

    expected = httpx.post(server.url + "/v1/ask", json={"question": QUESTION}, timeout=60).json()
    first = expected["citations"][0]
    source = page.locator("#nq-source-1")
    summary = source.locator("summary").first
    expect(summary).to_contain_text(first["title"])
    assert summary.inner_text().startswith("[1]")
    mark = source.locator(".nq-excerpt mark.nq-hl")
    expect(mark).to_be_hidden()  # closed until clicked
    summary.click()
    expect(mark).to_be_visible()
    assert " ".join(mark.inner_text().split()) == " ".join(first["quote"].split())
    assert first["article_id"] in source.locator(".nq-meta").inner_text()
    excerpt = source.locator(".nq-excerpt").inner_text()
    assert len(excerpt) > len(first["quote"]) + 100  # the passage sits inside its article

    shot = tmp_path / "chat.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000


def test_follow_up_shows_what_was_searched_for(page: Any) -> None:
    ask(page, QUESTION)
    text = ask(page, "What did she say about the troops?")
    assert "searched for:" in text
    assert "Zakharova" in text.split("searched for:")[1]
    expect(page.locator(f"{SOURCES} .nq-query").first).to_contain_text("Searched for")


def test_conflict_stands_out_and_abstention_reads_as_one(page: Any) -> None:
    text = ask(page, "How many North Korean soldiers are already in Russia?")
    assert "The sources disagree" in text
    expect(page.locator(f"{SOURCES} .nq-conflict")).to_be_visible()
    expect(page.locator(f"{SOURCES} .nq-source").nth(1)).to_be_attached()  # two or more

    text = ask(page, "Who won the 2022 World Cup?")
    assert text.startswith("🤷")
    assert "⚠️" not in text
    expect(page.locator(f"{SOURCES} .nq-abstain")).to_be_visible()
    expect(page.locator(f"{SOURCES} .nq-source")).to_have_count(0)


def test_example_then_thumbs_save_gold_schema_feedback(page: Any, ui_settings: Settings) -> None:
    feedback = ui_settings.data_dir / "feedback.jsonl"
    feedback.unlink(missing_ok=True)
    example = EXAMPLES[2]
    page.get_by_role("button", name=f"Select example 3: {example}").click()
    wait_answer(page, 0)

    expect(page.locator("#nq-source-1")).to_be_attached()  # the final, cited answer

    page.locator("#nq-chat button[aria-label='Like']").last.click()
    expect(page.get_by_text("Thanks: your rating was saved.").first).to_be_visible()
    lines = _wait_lines(feedback, 1)
    page.locator("#nq-chat button[aria-label='Dislike']").last.click()
    lines = _wait_lines(feedback, 2)

    up, down = (json.loads(line) for line in lines)
    seeds = {p.name for p in SEEDS.iterdir()}
    for item in (up, down):
        assert {"id", "question", "answers", "sources", "kind"} <= set(item)
        assert item["question"] == example
        assert item["citations"] and "[1]" in item["answer"]
    assert up["rating"] == "up" and down["rating"] == "down"
    assert "history" not in up
    assert up["sources"] and set(up["sources"]) <= seeds  # the cited articles, by file name
    assert up["answers"][0] and "[1]" not in up["answers"][0]
    assert down["answers"] == [] and down["sources"] == []
    assert up["id"] != down["id"]


def _wait_lines(path: Path, n: int) -> list[str]:
    """The file's lines once it has `n`. The server writes it, so there is no element for
    Playwright to `expect`: it is polled, until the line comes or a generous limit passes
    (the rating waits in Gradio's queue; on a busy machine that took over 15 s)."""
    deadline = time.monotonic() + WAIT_S
    while not (path.exists() and len(lines := path.read_text().splitlines()) >= n):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} has fewer than {n} lines after {WAIT_S} s")
        time.sleep(0.1)
    return lines


def test_markup_in_an_article_is_shown_as_text(page: Any) -> None:
    text = ask(page, EVIL_QUESTION)
    assert "40,000" in text
    assert '<script>window.__pwned = "script"</script>' in text  # shown, not run

    source = page.locator("#nq-source-1")
    source.locator("summary").first.click()
    assert EVIL_ID in source.locator(".nq-meta").inner_text()
    source.locator(".nq-full > summary").click()
    assert "<script>" in source.locator("mark.nq-hl").first.inner_text()
    whole = source.locator(".nq-full .nq-article").inner_text()
    assert '<img src="x" onerror=' in whole and '<b onmouseover="' in whole
    page.get_by_text("Regulators").last.hover()
    # Two animation frames: any handler the hover could fire has run by then.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    assert page.evaluate("window.__pwned") is None
    for sel in ("script", "img", "b[onmouseover]", "[onerror]"):
        assert page.locator(f"{SOURCES} {sel}").count() == 0, sel
        assert page.locator(f"#nq-chat {sel}").count() == 0, sel


def test_errors_are_human_and_the_chat_goes_on(page: Any) -> None:
    text = ask(page, "x" * 2001)
    assert "⚠️" in text and "the limit is 2000" in text
    assert "Traceback" not in page.content()
    text = ask(page, QUESTION)  # the box is usable again, and the failed turn is not history
    assert "Zakharova" in text and "searched for" not in text


def test_answerer_chooser_reaches_the_assistant(page: Any) -> None:
    page.locator("#nq-answerer input").click()
    page.get_by_role("option", name="llamacpp").click()
    text = ask(page, QUESTION)
    # No GGUF model is configured here: the llamacpp backend falls back, and says so.
    assert "llamacpp" in text and "[1]" in text


def test_careful_mode_shows_the_answer_then_its_check(page: Any, verifier_stub: GatedStub) -> None:
    page.locator("#nq-verify input").check()
    # Careful mode picks the answerer its cut was fitted for.
    expect(page.locator("#nq-answerer input")).to_have_value("extractive")
    before = page.locator(BOT).count()
    verifier_stub.gate.clear()  # the check waits until the fast answer has been seen
    try:
        page.fill("#nq-question textarea", CAREFUL_QUESTION)
        page.keyboard.press("Enter")
        expect(page.locator(BOT).last).to_contain_text("Checking the passage this answer cites")
        expect(page.locator(BOT).last).to_contain_text("Lloyd Austin")
        expect(page.locator(SOURCES)).to_contain_text("[1]")
    finally:
        verifier_stub.gate.set()
    wait_answer(page, before)
    last = page.locator(BOT).last
    expect(last).to_contain_text("Checked:")
    expect(last).to_contain_text("bears it out")
    expect(last).not_to_contain_text("Checking the passage")
    assert "Lloyd Austin" in last.inner_text()
