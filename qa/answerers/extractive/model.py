"""The fitted models, read from a JSON file: a ranker of candidate spans (gradient-boosted
trees, LightGBM's LambdaRank, kept in LightGBM's own text format), a logistic regression
deciding whether to answer at all, and its threshold. Both read named features. `qa fit`
writes the file; it records the data it was fitted on, the seed and the cross-validated
figures beside the models."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import lightgbm

from index.errors import NewsQAError
from index.optional import hidden

FORMAT = "newsqa-learned-answerer/2"
# Format 1 held a logistic regression as the span model; it still reads.
READS = frozenset({FORMAT, "newsqa-learned-answerer/1"})


class SpanModel(Protocol):
    def scores(self, rows: Sequence[dict[str, float]]) -> list[float]: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Linear:
    weights: dict[str, float]
    bias: float

    def logit(self, features: dict[str, float]) -> float:
        w = self.weights
        return self.bias + sum(w.get(k, 0.0) * v for k, v in features.items())

    def probability(self, features: dict[str, float]) -> float:
        z = self.logit(features)
        return 1 / (1 + math.exp(-z)) if z > -50 else 0.0

    def scores(self, rows: Sequence[dict[str, float]]) -> list[float]:
        return [self.logit(f) for f in rows]

    def to_json(self) -> dict[str, Any]:
        return {"bias": self.bias, "weights": dict(sorted(self.weights.items()))}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Linear:
        return cls({str(k): float(v) for k, v in data["weights"].items()}, float(data["bias"]))


@dataclass(frozen=True)
class Ranker:
    """Trees over the named features `features` (column i of the booster is features[i]);
    a higher score ranks a span higher among one question's candidates. The scores are
    not probabilities: they only order, and the gate reads the best and its gap."""

    features: tuple[str, ...]
    booster: str  # LightGBM's text model format (not pickle)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @cached_property
    def _columns(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.features)}

    @cached_property
    def _model(self) -> lightgbm.Booster:
        with hidden("sklearn", "pandas"):  # optional to it: see index.optional
            import lightgbm

        return lightgbm.Booster(model_str=self.booster)

    def scores(self, rows: Sequence[dict[str, float]]) -> list[float]:
        if not rows:
            return []
        from scipy.sparse import csr_matrix

        cols = self._columns
        data, ri, ci = [], [], []
        for r, f in enumerate(rows):
            for k, v in f.items():
                j = cols.get(k)
                if j is not None and v:
                    data.append(v)
                    ri.append(r)
                    ci.append(j)
        x = csr_matrix((data, (ri, ci)), shape=(len(rows), len(self.features)), dtype="float64")
        with self._lock:  # one booster shared by the server's threads
            got = self._model.predict(x, num_threads=1)
        return [float(v) for v in got]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "lightgbm", "features": list(self.features), "booster": self.booster}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ranker:
        return cls(tuple(str(n) for n in data["features"]), str(data["booster"]))


def span_from_json(data: dict[str, Any]) -> SpanModel:
    return Ranker.from_json(data) if data.get("kind") == "lightgbm" else Linear.from_json(data)


@dataclass(frozen=True)
class AnswererModel:
    span: SpanModel
    answerable: Linear
    threshold: float  # answer when the answerable probability reaches this
    info: dict[str, Any]
    # Further answers a reply may list: spans scoring within this much (logit) of the best.
    # None: one answer only (a model fitted without list or conflict questions).
    set_margin: float | None = None
    # Question types whose reply is led by the sentence, not a span ("why", "how").
    sentence_types: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            **self.info,
            "span": self.span.to_json(),
            "answerable": {**self.answerable.to_json(), "threshold": self.threshold},
            "set_margin": self.set_margin,
            "sentence_types": list(self.sentence_types),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnswererModel:
        if data.get("format") not in READS:
            raise NewsQAError(f"Not a newsqa answerer model (format {data.get('format')!r}).")
        parts = {"format", "span", "answerable", "set_margin", "sentence_types"}
        info = {k: v for k, v in data.items() if k not in parts}
        margin = data.get("set_margin")
        return cls(
            span_from_json(data["span"]),
            Linear.from_json(data["answerable"]),
            float(data["answerable"]["threshold"]),
            info,
            None if margin is None else float(margin),
            tuple(str(t) for t in data.get("sentence_types", ())),
        )


def load_model(path: Path | None) -> AnswererModel:
    """The model at `path`, or the one shipped with the package."""
    try:
        if path is None:
            text = resources.files("qa.answerers.extractive").joinpath("model.json").read_text()
        else:
            text = Path(path).read_text(encoding="utf-8")
        return AnswererModel.from_json(json.loads(text))
    except (OSError, ValueError, KeyError) as exc:
        where = path or "the packaged model.json"
        raise NewsQAError(
            f"Cannot read the answerer model {where} ({exc}). Refit it with `qa fit`."
        ) from exc
