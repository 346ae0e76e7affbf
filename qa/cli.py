"""The `qa` command: index, search, ask, serve, eval, bench, models, articles.

Each subcommand imports what it needs when it runs, so `qa --help` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from index.errors import NewsQAError


def _settings(**overrides: Any) -> Any:
    from index.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def cmd_index(args: argparse.Namespace) -> int:
    from index.build import build_index

    settings = _settings()
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        bar.update(done - bar.n)

    report = build_index(settings, args.paths or None, rebuild=args.rebuild, progress=progress)
    if bar is not None:
        bar.close()
    print(report.summary())
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from qa.assistant import Assistant

    assistant = Assistant(_settings())
    hits = assistant.search(args.query, k=args.k)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return 0
    for n, h in enumerate(hits, 1):
        print(f"[{n}] {h.score:.3f}  {h.article_id}  {h.title}  ({h.start}-{h.end})")
        print("    " + " ".join(h.text.split())[:400])
    if not hits:
        print("No passages found.")
    return 0


def check_line(check: Any) -> str:
    """Careful mode's check as one line for people."""
    if check.outcome in ("abstained", "replaced"):
        return f"Checked: {check.reason} The unchecked answer was: {check.unchecked}"
    if check.outcome == "fallback":
        return "Not checked: see the note."
    checked = check.outcome in ("kept", "answered")
    return f"{'Checked' if checked else 'Not checked'}: {check.reason}"


def print_answer(answer: Any) -> None:
    print(answer.text)
    if answer.check is not None:
        print(f"\n({check_line(answer.check)})")
    if answer.notice:
        print(f"\n(note: {answer.notice})")
    if answer.citations:
        print("\nSources:")
    for c in answer.citations:
        quote = " ".join(c.quote.split())
        print(f"  [{c.n}] {c.title} — {c.article_id} ({c.start}-{c.end})")
        print(f"      “{quote[:300]}{'…' if len(quote) > 300 else ''}”")


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.assistant import Assistant

    assistant = Assistant(_settings())
    answer = assistant.ask(args.question, answerer=args.answerer, k=args.k, verify=args.verify)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa",
        description="Question answering over news articles, with cited passages. "
        "Settings come from QA_* environment variables (see README).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "index", help="build or update the index from article files (uploads are kept)"
    )
    p.add_argument(
        "paths", nargs="*", type=Path, help="files or folders (default: QA_CORPUS, seeds/)"
    )
    p.add_argument("--rebuild", action="store_true", help="re-embed everything from scratch")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="show the passages retrieved for a query")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=None, help="number of passages (default QA_K=5)")
    p.add_argument("--json", action="store_true", help="print a JSON array of hits")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with numbered sources")
    p.add_argument("question")
    p.add_argument(
        "--answerer",
        default=None,
        help="QA_ANSWERER (extractive) by default; llamacpp or openai; with --verify and none "
        "named, the one careful mode's cut was fitted for (extractive)",
    )
    p.add_argument("--k", type=int, default=None, help="passages retrieved (default QA_K=5)")
    p.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="careful mode: the verifier model (QA_VERIFIER) checks the passage the answer "
        "cites, or that of the answer withheld when the fast answer abstained; the answer is "
        'kept, given, or becomes "The articles don\'t say" with the reason '
        "(default QA_VERIFY, off)",
    )
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")
    p.set_defaults(func=cmd_ask)

    # Subcommands owned by their own modules (each module imports only argparse at this point).
    from eval.cli import register as register_eval
    from qa.articles_cli import register as register_articles
    from qa.bench import register as register_bench
    from qa.fit_cli import register as register_fit
    from qa.models import register as register_models
    from qa.server import register as register_serve

    register_serve(sub)
    register_eval(sub)
    register_bench(sub)
    register_models(sub)
    register_fit(sub)
    register_articles(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except NewsQAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `qa ... | head`: the reader left; not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
