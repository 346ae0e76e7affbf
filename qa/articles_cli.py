"""`qa articles list|add|remove`: the articles of the index, by the API's code path
(`qa.library.Library`); safe to run while `qa serve` serves (the server picks up the new
generation on its next request)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "articles",
        help="list, add or remove articles (also while `qa serve` runs)",
        description="List the indexed articles, add article files (HTML, PDF, Markdown, "
        "text) or remove an uploaded one. Each change is one new index generation, taken "
        "under the index lock; the limits are QA_MAX_UPLOAD_FILES, QA_MAX_UPLOAD_MB and "
        "QA_UPLOAD_TYPES.",
    )
    cmds = p.add_subparsers(dest="articles_command", required=True)
    ls = cmds.add_parser("list", help="every indexed article, with its metadata")
    ls.add_argument("--json", action="store_true", help="print the GET /v1/articles JSON")
    ls.set_defaults(func=cmd_list)
    add = cmds.add_parser("add", help="index article files (the originals are kept)")
    add.add_argument("paths", nargs="+", type=Path, help="files, or folders of files")
    add.add_argument("--json", action="store_true", help="print the POST /v1/articles JSON")
    add.set_defaults(func=cmd_add)
    rm = cmds.add_parser("remove", help="remove an uploaded article by id")
    rm.add_argument("article_id", help="the id `qa articles list` shows")
    rm.set_defaults(func=cmd_remove)


def _library() -> Any:
    from index.settings import Settings
    from qa.assistant import Assistant
    from qa.library import Library

    return Library(Assistant(Settings()))


def _about(a: dict[str, Any]) -> str:
    known = [a.get("outlet"), a.get("author"), a.get("date")]
    size = f"{a['pages']} pages, " if a.get("pages") else ""
    extra = " · ".join(str(k) for k in known if k)
    return f"{size}{a['chunks']} chunks" + (f" · {extra}" if extra else "")


def cmd_list(args: argparse.Namespace) -> int:
    rows = _library().list()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for a in rows:
        added = f"added {a['added']}" if a.get("added") else a["source"]
        print(f"{a['article_id']}  [{a['kind']}, {added}]  {a['title']}")
        print(f"    {_about(a)}")
    print(f"{len(rows)} articles")
    return 0


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(f for f in p.iterdir() if f.is_file()) if p.is_dir() else [p])
    return out


def cmd_add(args: argparse.Namespace) -> int:
    from index.articles import Upload
    from index.errors import BadInputError

    uploads = []
    for path in _files(args.paths):
        try:
            uploads.append(Upload(path.name, path.read_bytes()))
        except OSError as exc:
            raise BadInputError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        bar.update(done - bar.n)

    report = _library().add(uploads, progress=progress)
    if bar is not None:
        bar.close()
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return 0
    n = len(report.indexed)
    noun = "article" if n == 1 else "articles"
    print(f"Added {n} {noun} in {report.seconds:.1f}s ({report.generation}):")
    for a in report.indexed:
        print(f"  {a['article_id']}  {a['title']}  ({_about(a)})")
    if report.skipped:
        print(f"Skipped {len(report.skipped)}:")
        for s in report.skipped:
            print(f"  {s.name}: {s.reason}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    gone = _library().remove(args.article_id)
    title = f" ({gone['title']})" if gone.get("title") else ""
    print(f"Removed {gone['article_id']}{title}; {gone['generation']} is live.")
    return 0
