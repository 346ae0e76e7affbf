"""Stage 1: read article files. Bad files are reported by name and skipped."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.extract import SUFFIXES, ExtractError, extract

CATALOG_NAME = "catalog.json"


@dataclass(frozen=True)
class Article:
    id: str  # the file name
    path: Path
    text: str  # what `open(path).read()` returns (HTML, PDF: its extracted text)
    kind: str  # "text", "html" or "pdf"
    meta: dict[str, Any] = field(default_factory=dict)  # see `index.extract.Extracted`


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


@dataclass(frozen=True)
class Loaded:
    articles: tuple[Article, ...]
    skipped: tuple[Skipped, ...]
    catalogs: tuple[Path, ...]


def _walk(root: Path) -> Iterator[Path]:
    # followlinks=False: a symlink loop cannot trap us; symlinked files are still read.
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def _read(path: Path, max_bytes: int) -> Article | Skipped:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Skipped(
                path,
                f"too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB; raise QA_MAX_FILE_MB)",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        return Skipped(path, "disappeared while indexing (or a broken link)")
    except OSError as exc:  # permission denied, a symlink loop, a folder named *.txt
        return Skipped(path, f"cannot be read ({exc.strerror or exc})")
    try:
        found = extract(path.suffix, data)
    except ExtractError as exc:
        return Skipped(path, str(exc))
    return Article(id=path.name, path=path, text=found.text, kind=found.kind, meta=found.meta)


def load(paths: Iterable[Path], max_bytes: int) -> Loaded:
    """Read every supported file under `paths`; unreadable ones become `Skipped`."""
    articles: dict[str, Article] = {}
    skipped: list[Skipped] = []
    catalogs: list[Path] = []
    for root in paths:
        if not root.exists():
            skipped.append(Skipped(root, "no such file or folder"))
            continue
        candidates = list(_walk(root)) if root.is_dir() else [root]
        for path in candidates:
            if path.name == CATALOG_NAME:
                catalogs.append(path)
                continue
            if path.suffix.lower() not in SUFFIXES:
                if not root.is_dir():
                    reason = "unsupported file type (use .txt, .md, .html or .pdf)"
                    skipped.append(Skipped(path, reason))
                continue
            item = _read(path, max_bytes)
            if isinstance(item, Skipped):
                skipped.append(item)
            elif item.id in articles:
                skipped.append(
                    Skipped(
                        path, f"duplicate article id {item.id!r} (also {articles[item.id].path})"
                    )
                )
            else:
                articles[item.id] = item
    ordered = tuple(articles[k] for k in sorted(articles))
    return Loaded(ordered, tuple(skipped), tuple(catalogs))
