"""Stage 5b: where an index lives, and the one function that opens it for reading.

An index is a *generation*: a folder `DATA/index/gen-NNNNNN/` holding the manifest, the
articles' text, the chunk table, the BM25 index and (embedded mode) the Chroma files; in
server mode the vectors live in the Chroma collection `<collection>-gen-NNNNNN` instead.
`DATA/index/CURRENT` names the live generation and is replaced atomically, so readers
only ever see a complete index, and a build killed half-way leaves the old one in place.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from index.clean import normalize
from index.errors import (
    IndexCorruptError,
    IndexMissingError,
    ModelMismatchError,
    StoreUnavailableError,
)
from index.settings import Settings

MANIFEST = "manifest.json"
ARTICLES = "articles.json"
CHUNKS = "chunks.json"
STOPWORDS = "stopwords.json"  # beside the BM25 files: the words its tokenizer dropped
SCHEMA_VERSION = 1


def index_root(settings: Settings) -> Path:
    return settings.data_dir / "index"


def current_generation(settings: Settings) -> Path | None:
    pointer = index_root(settings) / "CURRENT"
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    return index_root(settings) / name if name else None


def write_current(settings: Settings, gen_dir: Path) -> None:
    pointer = index_root(settings) / "CURRENT"
    tmp = pointer.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        fh.write(gen_dir.name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, pointer)


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def collection_name(settings: Settings, gen_dir: Path) -> str:
    return f"{settings.collection}-{gen_dir.name}" if settings.chroma_url else settings.collection


# The vector index's configuration. A search explores `ef_search` neighbours: Chroma's default
# (100) missed members of the top 48 a retrieval asks for (4-7 of 19,200 on eight SQuAD
# articles, 592 chunks) and, as the graph differs from build to build, different ones each
# time, so the same articles could give different answers and `qa fit` different models. At
# 200 both builds returned the exact top 48 for all 400 questions tried.
EF_SEARCH = 200
HNSW = {"space": "cosine", "ef_search": EF_SEARCH}
# Even at 200, two builds of the same 592 chunks (HNSW graphs differ from build to build)
# returned different top-48 sets for 5 of 3,297 SQuAD questions, so `qa fit` gave different
# models from the same inputs. Searching at least as wide as the collection made them agree on
# all 3,297. A collection this small is searched that wide: in practice exactly, for the cost
# of comparing a query with every chunk. Larger ones keep `ef_search`.
EXHAUSTIVE_UP_TO = 1000


def hnsw_for(chunks: int) -> dict[str, Any]:
    """The HNSW configuration of a new collection of `chunks` chunks."""
    ef = EF_SEARCH
    if chunks <= EXHAUSTIVE_UP_TO:
        ef = max(ef, chunks)
    return {**HNSW, "ef_search": ef}


def chroma_client(settings: Settings, gen_dir: Path) -> Any:
    """A Chroma client for one generation: embedded files, or the configured server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if not settings.chroma_url:
        return chromadb.PersistentClient(path=str(gen_dir / "chroma"), settings=chroma_settings)
    url = urlparse(settings.chroma_url)
    try:
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    except Exception as exc:
        raise store_unavailable(settings, exc) from exc


def store_unavailable(settings: Settings, exc: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"Cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}). "
        "Start it (`chroma run --path DIR --port PORT`) or unset QA_CHROMA_URL for embedded mode."
    )


@dataclass(frozen=True)
class ChunkRecord:
    id: str
    article_id: str
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]
    position: int


@dataclass
class IndexSnapshot:
    """A read-only view of one complete generation; shared across threads."""

    settings: Settings
    gen_dir: Path
    manifest: dict[str, Any]
    articles: dict[str, dict[str, Any]]
    chunks: list[ChunkRecord]
    by_id: dict[str, int]
    _collection: Any = None
    _bm25: Any = None
    _annotations: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def text(self, chunk: ChunkRecord) -> str:
        return str(self.articles[chunk.article_id]["text"][chunk.start : chunk.end])

    def title(self, article_id: str) -> str:
        return str(self.articles[article_id]["title"])

    def store_error(self, exc: BaseException) -> Exception:
        """The named error for a failed Chroma call: server down, or unreadable files."""
        if self.settings.chroma_url:
            with self._lock:
                self._collection = None  # reconnect on the next call
            return store_unavailable(self.settings, exc)
        return IndexCorruptError(
            f"The Chroma files in {self.gen_dir} cannot be read ({exc}); run `qa index --rebuild`."
        )

    def collection(self) -> Any:
        if self._collection is None:
            with self._lock:
                if self._collection is None:
                    try:
                        client = chroma_client(self.settings, self.gen_dir)
                        self._collection = client.get_collection(
                            collection_name(self.settings, self.gen_dir)
                        )
                    except StoreUnavailableError:
                        raise
                    except Exception as exc:
                        if self.settings.chroma_url:
                            raise store_unavailable(self.settings, exc) from exc
                        raise IndexCorruptError(
                            f"The Chroma files in {self.gen_dir} cannot be opened ({exc}); "
                            "run `qa index --rebuild`."
                        ) from exc
        return self._collection

    def annotations(self) -> Annotations:
        """Each chunk's tags and sentence vectors (see `index.annotate`), read on first use."""
        if self._annotations is None:
            with self._lock:
                if self._annotations is None:
                    self._annotations = Annotations.load(self.gen_dir, self.chunks)
        return self._annotations

    def bm25(self) -> Bm25Index:
        if self._bm25 is None:
            with self._lock:
                if self._bm25 is None:
                    self._bm25 = Bm25Index.load(self.gen_dir / "bm25")
        return self._bm25


class Annotations:
    """Index-time annotations by chunk position, and each chunk's rows of sentence vectors.

    The vectors are memory-mapped, and so are the tags: each chunk's are parsed when it is
    first read, so a question pays for the passages it reads, not for the index (at 100,000
    chunks the tags are some hundreds of megabytes of JSON)."""

    def __init__(self, gen_dir: Path, vectors: Any, offsets: list[int]) -> None:
        self.gen_dir = gen_dir
        self.vectors = vectors
        self.offsets = offsets
        self._chunks: Any = None
        self._counts: tuple[int, dict[str, int]] | None = None
        self._lock = threading.Lock()

    @property
    def chunks(self) -> Any:
        """One `index.annotate.ChunkAnnotation` per chunk, in chunk order (a sequence that
        parses each on first use)."""
        if self._chunks is None:
            with self._lock:
                if self._chunks is None:
                    self._chunks = self._read(self._open_tags)
        return self._chunks

    def lemma_counts(self) -> tuple[int, dict[str, int]]:
        """The number of chunks and in how many each lemma occurs (counted at index time)."""
        if self._counts is None:
            with self._lock:
                if self._counts is None:
                    from index.annotate import load_lemma_counts

                    self._counts = self._read(lambda: load_lemma_counts(self.gen_dir))
        return self._counts

    def _open_tags(self) -> Any:
        from index.annotate import TagFile

        tags = TagFile(self.gen_dir)
        if len(tags) != len(self.offsets) - 1:
            raise ValueError(f"{len(tags)} annotated chunks for {len(self.offsets) - 1} chunks")
        return tags

    def _read(self, load: Any) -> Any:
        try:
            return load()
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(
                f"The annotations in {self.gen_dir} are unreadable or do not match its "
                f"chunks ({exc}). Run `qa index --rebuild`."
            ) from exc

    def sentence_vectors(self, chunk: int) -> Any:
        """The chunk's rows, one per sentence, as float32 (stored as float16)."""
        import numpy as np

        return np.asarray(self.vectors[self.offsets[chunk] : self.offsets[chunk + 1]], np.float32)

    @classmethod
    def load(cls, gen_dir: Path, chunks: list[ChunkRecord]) -> Annotations:
        import numpy as np

        from index.annotate import ANNOTATIONS, load_sentence_vectors

        try:
            vectors = load_sentence_vectors(gen_dir)
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(
                f"The annotations in {gen_dir} are unreadable ({exc}). Run `qa index --rebuild`."
            ) from exc
        if vectors is None or not (gen_dir / ANNOTATIONS).exists():
            raise IndexMissingError(
                f"The index in {gen_dir} has no annotations of this version's format. "
                "Run `qa index --rebuild`."
            )
        offsets = [0, *np.cumsum([len(c.sentences) for c in chunks]).tolist()]
        if offsets[-1] != len(vectors):
            raise IndexCorruptError(
                f"The annotations in {gen_dir} do not match its chunks. Run `qa index --rebuild`."
            )
        # Left memory-mapped: at 100,000 chunks a float32 copy would be half a gigabyte.
        return cls(gen_dir, vectors, offsets)


class Bm25Index:
    """The BM25 index `bm25s` saved at build time, read and scored with numpy alone.

    `bm25s` precomputes every (term, chunk) score into a sparse column per term, so a query
    is a sum of columns and a top-k. Importing `bm25s` pulls in scipy (a few hundred ms of
    a cold `qa ask`); this reads its files directly and scores them the same way, in the same
    float32 order, so results are identical. Attributes mirror `bm25s.BM25` (`vocab_dict`,
    `scores`) for code that reads corpus statistics.
    """

    def __init__(
        self, vocab: dict[str, int], scores: dict[str, Any], stopwords: frozenset[str] | None
    ) -> None:
        self.vocab_dict = vocab
        self.scores = scores
        self._stopwords = stopwords

    def tokenize(self, text: str) -> list[str]:
        """Query terms exactly as `bm25s.tokenize` made the index's (lower-cased words of two
        or more characters, stop words dropped, then stemmed)."""
        from index.terms import WORD, bm25_tokenize, stem

        if self._stopwords is None:  # an index from before stopwords.json: ask bm25s
            return list(bm25_tokenize([text])[0])
        words = WORD.findall(normalize(text).lower())
        return [stem(w) for w in words if w not in self._stopwords]

    @classmethod
    def load(cls, folder: Path) -> Bm25Index:
        import numpy as np

        try:
            params = json.loads((folder / "params.index.json").read_text())
            vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
            arrays = {
                k: np.load(folder / f"{k}.csc.index.npy") for k in ("data", "indices", "indptr")
            }
            listed = folder / STOPWORDS
            stopwords = frozenset(json.loads(listed.read_text())) if listed.exists() else None
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(
                f"The BM25 index in {folder} is unreadable ({exc}). Run `qa index --rebuild`."
            ) from exc
        if params.get("method", "lucene") not in {"lucene", "robertson", "atire"}:
            # Variants with a non-occurrence term are not plain column sums.
            raise IndexCorruptError(
                f"Unsupported BM25 variant in {folder}; run `qa index --rebuild`."
            )
        return cls(vocab, {**arrays, "num_docs": int(params["num_docs"])}, stopwords)

    def top(self, tokens: list[str], n: int, mask: Any = None) -> list[tuple[int, float]]:
        """The `n` best (chunk index, score) for query tokens (unknown ones ignored), best first."""
        import numpy as np

        data, indices, indptr = self.scores["data"], self.scores["indices"], self.scores["indptr"]
        scores = np.zeros(self.scores["num_docs"], dtype=data.dtype)
        for token in tokens:
            t = self.vocab_dict.get(token)
            if t is not None:  # rows within one column are distinct: a plain += is exact
                scores[indices[indptr[t] : indptr[t + 1]]] += data[indptr[t] : indptr[t + 1]]
        if mask is not None:
            scores *= mask
        n = min(n, len(scores))
        if n <= 0:
            return []
        # The selection bm25s makes (argpartition, then a flipped argsort), so ties agree.
        part = np.argpartition(scores, -n)[-n:]
        order = part[np.flip(np.argsort(scores[part]))]
        return [(int(d), float(scores[d])) for d in order]


def open_index(settings: Settings, model_id: str | None = None) -> IndexSnapshot:
    """Open the live generation. Raises a named error with the fix when it cannot."""
    gen_dir = current_generation(settings)
    if gen_dir is None:
        raise IndexMissingError(
            f"No index in {settings.data_dir}. Run `qa index` (or `make run`) to build it."
        )
    try:
        manifest = json.loads((gen_dir / MANIFEST).read_text())
        articles = json.loads((gen_dir / ARTICLES).read_text(encoding="utf-8"))
        rows = json.loads((gen_dir / CHUNKS).read_text())
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(
            f"The index in {gen_dir} is unreadable ({exc}). Run `qa index --rebuild`."
        ) from exc
    if manifest.get("schema") != SCHEMA_VERSION:
        raise IndexCorruptError(
            f"The index in {gen_dir} has an unknown format. Run `qa index --rebuild`."
        )
    if model_id is not None and manifest.get("embedding_model") != model_id:
        raise ModelMismatchError(
            f"The index was built with {manifest.get('embedding_model')} but the configured model "
            f"is {model_id}. Run `qa index --rebuild`, or set QA_EMBEDDING_MODEL back."
        )
    chunks = [
        ChunkRecord(r[0], r[1], r[2], r[3], tuple(tuple(s) for s in r[4]), r[5]) for r in rows
    ]
    return IndexSnapshot(
        settings=settings,
        gen_dir=gen_dir,
        manifest=manifest,
        articles=articles,
        chunks=chunks,
        by_id={c.id: i for i, c in enumerate(chunks)},
    )
