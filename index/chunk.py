"""Stage 4: pack kept sentences into chunks that fit the embedding model's window.

Sizes are measured with the model's own tokenizer. A chunk never spans a dropped
sentence or line, so `article.text[start:end]` is exactly its text; a sentence longer than
the window is cut at word-piece boundaries rather than silently truncated by the model.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from index.clean import normalize
from index.dedupe import DedupedArticle, Sentence


@dataclass(frozen=True)
class Chunk:
    id: str
    article_id: str
    title: str
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]  # absolute (start, end) of each sentence
    tokens: int
    position: int  # order within the article


class TokenCounter:
    """Counts word pieces with the embedding model's tokenizer (no torch needed)."""

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tok.no_truncation()
        self._tok.no_padding()
        config = model_dir / "sentence_bert_config.json"
        max_len = json.loads(config.read_text())["max_seq_length"] if config.exists() else 256
        self.limit = int(max_len) - 2  # room for [CLS] and [SEP]

    def counts(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def cut_points(self, text: str, size: int) -> list[int]:
        """Character offsets that split `text` into pieces of at most `size` word pieces."""
        enc = self._tok.encode(text, add_special_tokens=False)
        offsets, words = enc.offsets, enc.word_ids
        cuts: list[int] = []
        i = size
        while i < len(offsets):
            j = i
            while j > i - size + 1 and words[j] == words[j - 1]:  # don't split inside a word
                j -= 1
            cuts.append(offsets[j][0])
            i = j + size
        return cuts


@lru_cache(maxsize=4)
def token_counter(model_dir: Path) -> TokenCounter:
    return TokenCounter(model_dir)


def chunk_id(article_id: str, text: str) -> str:
    return hashlib.sha256(f"{article_id}\0{normalize(text)}".encode()).hexdigest()[:32]


def _split_long(text: str, s: Sentence, counter: TokenCounter) -> list[Sentence]:
    piece = text[s.start : s.end]
    bounds = [0, *counter.cut_points(piece, counter.limit), len(piece)]
    out = []
    for a, b in itertools.pairwise(bounds):
        seg = piece[a:b]
        lead = len(seg) - len(seg.lstrip())
        seg = seg.strip()
        if seg:
            out.append(Sentence(s.start + a + lead, s.start + a + lead + len(seg), s.block))
    return out


def chunk(doc: DedupedArticle, counter: TokenCounter, target: int) -> list[Chunk]:
    art = doc.article
    text = art.text
    target = min(target, counter.limit)
    sents: list[Sentence] = []
    for s, n in zip(
        doc.sentences, counter.counts([text[s.start : s.end] for s in doc.sentences]), strict=True
    ):
        sents.extend(_split_long(text, s, counter) if n > counter.limit else [s])
    sizes = counter.counts([text[s.start : s.end] for s in sents])

    groups: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i, s in enumerate(sents):
        if current:
            prev = sents[current[-1]]
            contiguous = not text[prev.end : s.start].strip()
            too_big = used + sizes[i] + 1 > target
            new_block_full = s.block != prev.block and used >= target // 2
            if not contiguous or too_big or new_block_full:
                groups.append(current)
                current, used = [], 0
        current.append(i)
        used += sizes[i] + (1 if used else 0)
    if current:
        groups.append(current)

    chunks = []
    for pos, g in enumerate(groups):
        start, end = sents[g[0]].start, sents[g[-1]].end
        body = text[start:end]
        chunks.append(
            Chunk(
                id=chunk_id(art.id, body),
                article_id=art.id,
                title=art.title,
                start=start,
                end=end,
                text=body,
                sentences=tuple((sents[i].start, sents[i].end) for i in g),
                tokens=sum(sizes[i] for i in g),
                position=pos,
            )
        )
    # The sum of sentence counts approximates the whole; verify and split any overflow.
    exact = counter.counts([c.text for c in chunks])
    if any(n > counter.limit for n in exact):
        raise AssertionError("chunk exceeds the model window")  # pragma: no cover
    return [c if c.tokens == n else _with_tokens(c, n) for c, n in zip(chunks, exact, strict=True)]


def _with_tokens(c: Chunk, n: int) -> Chunk:
    from dataclasses import replace

    return replace(c, tokens=n)
