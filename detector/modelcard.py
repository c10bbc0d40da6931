"""Model cards: the contract a classifier's weights carry (like torchvision's ``Weights`` or timm's
``PretrainedCfg``). Export writes ``<model>.json`` beside ``<model>.onnx``; the runtime reads it, checks the
ONNX file's sha256, and builds preprocessing, calibration and aggregation from it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .config import reject_unknown_keys
from .errors import ModelIntegrityError
from .faces.align import ALIGNMENT_VERSION, AlignSpec


@dataclass(frozen=True)
class Calibration:
    """Maps the network's logit to a calibrated probability: ``sigmoid(logit / temperature + bias)``.

    Temperature scaling (Guo et al. 2017) with an optional bias term (Platt scaling when both are fitted).
    """

    method: str = "temperature"
    temperature: float = 1.0
    bias: float = 0.0

    def __post_init__(self) -> None:
        if not (self.temperature > 0 and math.isfinite(self.temperature)):
            raise ValueError(f"temperature must be positive and finite, got {self.temperature}")

    def apply(self, logits: Any) -> Any:
        import numpy as np

        z = np.asarray(logits, np.float64) / self.temperature + self.bias
        return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class ModelCard:
    """Everything needed to run and judge a classifier.

    Attributes:
        name, version: identify the model in results.
        sha256: digest of the ``.onnx`` file; checked at load.
        arch: backbone name (timm).
        input_size: square input side in pixels (equals the alignment crop size).
        mean, std: input normalisation (see :func:`detector.preprocess.to_input`).
        align: the crop definition (:class:`AlignSpec` fields plus ``version``).
        calibration: logit -> probability mapping.
        threshold: calibrated probability at and above which a face/video is called fake.
        aggregation: how face scores become track and video scores (strategy name and parameters).
        training_data: summary of what the model saw (counts per source, licences).
        licence: the weights' terms (research / non-commercial when the data is).
        metrics: evaluation results quoted with their data set.
        recipe: the command and config that produced the file.
    """

    name: str
    version: str
    sha256: str
    arch: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    align: dict[str, Any]
    calibration: Calibration = field(default_factory=Calibration)
    threshold: float = 0.5
    aggregation: dict[str, Any] = field(default_factory=lambda: {"strategy": "mean"})
    training_data: dict[str, Any] = field(default_factory=dict)
    licence: str = "unspecified"
    metrics: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)

    def align_spec(self) -> AlignSpec:
        spec = AlignSpec(size=int(self.align["size"]), margin=float(self.align["margin"]))
        if self.align.get("version") not in (None, spec.version):
            raise ModelIntegrityError(
                f"model {self.name} was trained on crops {self.align.get('version')}, but this library makes "
                f"{spec.version} (alignment v{ALIGNMENT_VERSION}); retrain or use a matching version")
        return spec

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        reject_unknown_keys(cls, data, what="model card", error=ModelIntegrityError)
        missing = sorted(f.name for f in fields(cls)
                         if f.name not in data and f.default is MISSING and f.default_factory is MISSING)
        if missing:
            raise ModelIntegrityError(f"model card lacks required fields {missing}")
        try:
            kwargs = dict(data)
            if "calibration" in kwargs:
                kwargs["calibration"] = Calibration(**kwargs["calibration"])
            kwargs["mean"] = tuple(float(v) for v in kwargs["mean"])
            kwargs["std"] = tuple(float(v) for v in kwargs["std"])
            return cls(**kwargs)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelIntegrityError(f"invalid model card: {exc}") from exc

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ModelCard:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ModelIntegrityError(f"cannot read model card {path}: {exc}", path=str(path)) from exc
        if not isinstance(data, dict):
            raise ModelIntegrityError(f"model card {path} is not a JSON object", path=str(path))
        return cls.from_dict(data)
