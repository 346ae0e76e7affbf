"""The fitted models, read from a JSON file: two logistic regressions over named features
(which span answers; whether to answer at all) and the abstention threshold. `qa fit`
writes the file; it records the data it was fitted on, the seed and the cross-validated
figures beside the weights."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from index.errors import NewsQAError

FORMAT = "newsqa-learned-answerer/1"


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

    def to_json(self) -> dict[str, Any]:
        return {"bias": self.bias, "weights": dict(sorted(self.weights.items()))}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Linear:
        return cls({str(k): float(v) for k, v in data["weights"].items()}, float(data["bias"]))


@dataclass(frozen=True)
class AnswererModel:
    span: Linear
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
        if data.get("format") != FORMAT:
            raise NewsQAError(f"Not a newsqa answerer model (format {data.get('format')!r}).")
        parts = {"format", "span", "answerable", "set_margin", "sentence_types"}
        info = {k: v for k, v in data.items() if k not in parts}
        margin = data.get("set_margin")
        return cls(
            Linear.from_json(data["span"]),
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
            text = resources.files("qa.answerers.learned").joinpath("model.json").read_text()
        else:
            text = Path(path).read_text(encoding="utf-8")
        return AnswererModel.from_json(json.loads(text))
    except (OSError, ValueError, KeyError) as exc:
        where = path or "the packaged model.json"
        raise NewsQAError(
            f"Cannot read the answerer model {where} ({exc}). Refit it with `qa fit`."
        ) from exc
