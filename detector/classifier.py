"""The face classifier on ONNX Runtime: aligned crops in, calibrated fake probabilities out.

Everything the model needs comes from its card (``<model>.json`` beside ``<model>.onnx``): the file's
sha256 (checked at load), input size and normalisation (``detector.preprocess``), the alignment version
(must match this library's), and the calibration.

Besides the fake ``logit`` a model may have two optional outputs, read in the same ONNX run: ``kind_logits``
(N, K), the kind of fake (read only when the card names its ``kinds``, and then required), and ``novelty`` (N,),
how far the face's features lie from what the model was trained and calibrated on (read whenever present;
required when the card's verdict rules abstain on it, ``max_novelty``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelIntegrityError
from .faces.align import AlignSpec
from .modelcard import ModelCard
from .preprocess import to_input
from .runtime import create_session

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default" / "model.onnx"

KIND_OUTPUT = "kind_logits"
NOVELTY_OUTPUT = "novelty"


@dataclass(frozen=True, eq=False)
class CropScores:
    """What the classifier says of each crop (one row per crop, mirror averaging applied).

    Attributes:
        logits: (N,) raw fake logits.
        probabilities: (N,) calibrated P(fake) (the card's calibration of ``logits``).
        kind_probs: (N, K) P(kind | fake) in the order of the card's ``kinds`` (softmax of ``kind_logits``), or
            ``None`` for a model without a kind head.
        novelty: (N,) the model's ``novelty`` output, or ``None`` for a model without one.
    """

    logits: np.ndarray
    probabilities: np.ndarray
    kind_probs: np.ndarray | None = None
    novelty: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.logits)

    def __getitem__(self, index: slice) -> CropScores:
        """The scores of a slice of the crops (one file's faces of a shared batch)."""
        return CropScores(self.logits[index], self.probabilities[index],
                          None if self.kind_probs is None else self.kind_probs[index],
                          None if self.novelty is None else self.novelty[index])


class Classifier:
    """Example:
        >>> clf = Classifier.load("model.onnx")  # doctest: +SKIP
        >>> probs = clf.predict(crops)  # (N, S, S, 3) uint8 aligned crops -> (N,) calibrated P(fake)
    """

    def __init__(self, onnx_path: str | os.PathLike[str], card: ModelCard, *,
                 providers: Sequence[str] | None = None, batch_size: int = 32) -> None:
        self.path = Path(onnx_path)
        self.card = card
        self.align: AlignSpec = card.scan.align
        self.batch_size = batch_size
        self._session = create_session(self.path, expected_sha256=card.sha256, providers=providers)
        found = {o.name: o for o in self._session.get_outputs()}
        outputs = list(found)
        if "logit" not in outputs:
            raise ModelIntegrityError(f"{self.path.name} has no 'logit' output (outputs: {outputs})", path=str(self.path))
        if card.kinds:
            if KIND_OUTPUT not in found:
                raise ModelIntegrityError(f"the card of {self.path.name} names the kinds {list(card.kinds)} but the "
                                          f"model has no {KIND_OUTPUT!r} output (outputs: {outputs})", path=str(self.path))
            width = (found[KIND_OUTPUT].shape or [None, None])[-1]
            if isinstance(width, int) and width != len(card.kinds):
                raise ModelIntegrityError(f"{self.path.name} gives {width} kind logits but its card names "
                                          f"{len(card.kinds)} kinds", path=str(self.path))
        if card.scan.verdict.max_novelty is not None and NOVELTY_OUTPUT not in found:
            raise ModelIntegrityError(f"the card of {self.path.name} abstains above max_novelty "
                                      f"{card.scan.verdict.max_novelty} but the model has no {NOVELTY_OUTPUT!r} output "
                                      f"(outputs: {outputs})", path=str(self.path))
        self.has_kinds = bool(card.kinds)
        self.has_novelty = NOVELTY_OUTPUT in found
        # All outputs in one run per batch: the kind and novelty heads share the backbone's pass.
        self._outputs = ["logit"] + [KIND_OUTPUT] * self.has_kinds + [NOVELTY_OUTPUT] * self.has_novelty

    @classmethod
    def load(cls, onnx_path: str | os.PathLike[str], card_path: str | os.PathLike[str] | None = None, *,
             providers: Sequence[str] | None = None, batch_size: int = 32) -> Classifier:
        onnx_path = Path(onnx_path)
        if not onnx_path.is_file():
            # Checked before the card: the card is looked up beside the model, so a mistyped model path
            # would otherwise be reported as a missing .json.
            raise ModelIntegrityError(f"model file not found: {onnx_path}", path=str(onnx_path))
        card = ModelCard.load(card_path or onnx_path.with_suffix(".json"))
        return cls(onnx_path, card, providers=providers, batch_size=batch_size)

    @classmethod
    def default(cls, *, providers: Sequence[str] | None = None, batch_size: int = 32) -> Classifier:
        """The bundled default model (``detector/models/default``), sha256-checked against its card."""
        if not DEFAULT_MODEL.is_file():
            raise ModelIntegrityError(f"the bundled default model is missing: {DEFAULT_MODEL}", path=str(DEFAULT_MODEL))
        return cls.load(DEFAULT_MODEL, providers=providers, batch_size=batch_size)

    @property
    def providers(self) -> list[str]:
        return list(self._session.get_providers())

    def score(self, crops: np.ndarray | Sequence[np.ndarray], *,
              mirror: bool | Sequence[bool] | np.ndarray = False) -> CropScores:
        """Everything the model says of aligned uint8 crops, batched, in one ONNX run per batch.

        ``mirror`` (one flag, or one per crop): such a crop's values are the means of its own and its horizontal
        mirror image's (the scan recipe's ``classify.mirror_images``, :class:`detector.recipe.ClassifySpec`): the
        mean logit, the mean novelty, and the mean of the two kind *probabilities* (each view's softmax).

        Example:
            >>> s = clf.score(crops, mirror=True)  # doctest: +SKIP
            >>> s.probabilities, s.kind_probs, s.novelty  # doctest: +SKIP
        """
        n = len(crops)
        mirrored = np.flatnonzero(np.broadcast_to(np.asarray(mirror, bool), (n,)))
        if not len(mirrored):
            return self.scores(self.outputs(crops))
        # One pass over the crops and the mirror images together: the mirrors ride in the same batches.
        both = self.outputs([*crops, *(mirror_image(crops[i]) for i in mirrored)])
        own = {name: values[:n].copy() for name, values in both.items()}
        views = average_views({name: values[mirrored] for name, values in own.items()},
                              {name: values[n:] for name, values in both.items()})
        for name, values in own.items():
            values[mirrored] = views[name]
        return self.scores(own)

    def scores(self, outputs: dict[str, np.ndarray]) -> CropScores:
        """The scores of crops from their :meth:`outputs` (mirror views already averaged): the card's calibration
        applied to the logits."""
        logits = outputs["logit"]
        return CropScores(logits, self.card.calibration.apply(logits).astype(np.float64),
                          outputs.get(KIND_OUTPUT), outputs.get(NOVELTY_OUTPUT))

    def logits(self, crops: np.ndarray | Sequence[np.ndarray], *,
               mirror: bool | Sequence[bool] | np.ndarray = False) -> np.ndarray:
        """Raw logits for aligned uint8 crops, batched (``mirror``: see :meth:`score`)."""
        return self.score(crops, mirror=mirror).logits

    def outputs(self, crops: np.ndarray | Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Each output per crop as it is (no mirror view, no calibration), in batches of ``batch_size`` from the
        first crop: ``logit`` (N,) float32, ``kind_logits`` as probabilities (N, K) float64 (softmax, so that mirror
        views average as probabilities), ``novelty`` (N,) float64. :meth:`score` is this, :func:`average_views` and
        :meth:`scores`; a caller that feeds crops as they come (:class:`detector.batching.FaceBatcher`) uses the parts."""
        n = len(crops)
        k = len(self.card.kinds)
        out = {"logit": np.zeros((n,), np.float32)}
        if self.has_kinds:
            out[KIND_OUTPUT] = np.zeros((n, k), np.float64)
        if self.has_novelty:
            out[NOVELTY_OUTPUT] = np.zeros((n,), np.float64)
        for i in range(0, n, self.batch_size):
            x = to_input(crops[i:i + self.batch_size], size=self.card.input_size, mean=self.card.mean,
                         std=self.card.std)
            values = dict(zip(self._outputs, self._session.run(self._outputs, {"input": x})))
            out["logit"][i:i + len(x)] = values["logit"].reshape(-1)
            if self.has_kinds:
                z = np.asarray(values[KIND_OUTPUT], np.float64)
                if z.shape != (len(x), k):
                    raise ModelIntegrityError(f"{self.path.name}: {KIND_OUTPUT} has shape {z.shape}, expected "
                                              f"({len(x)}, {k})", path=str(self.path))
                z = np.exp(z - z.max(axis=1, keepdims=True))
                out[KIND_OUTPUT][i:i + len(x)] = z / z.sum(axis=1, keepdims=True)
            if self.has_novelty:
                v = np.asarray(values[NOVELTY_OUTPUT], np.float64).reshape(-1)
                if v.shape != (len(x),):
                    raise ModelIntegrityError(f"{self.path.name}: {NOVELTY_OUTPUT} has {v.size} values for "
                                              f"{len(x)} crops", path=str(self.path))
                out[NOVELTY_OUTPUT][i:i + len(x)] = v
        return out

    def predict(self, crops: np.ndarray | Sequence[np.ndarray], *,
                mirror: bool | Sequence[bool] | np.ndarray = False) -> np.ndarray:
        """Calibrated P(fake) per crop (``mirror``: see :meth:`score`)."""
        return self.score(crops, mirror=mirror).probabilities


def mirror_image(crop: np.ndarray) -> np.ndarray:
    """The horizontal mirror image of an aligned crop, the second view of a mirrored face."""
    return np.ascontiguousarray(np.asarray(crop)[:, ::-1])


def average_views(own: dict[str, np.ndarray], mirrored: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The outputs of mirrored faces: the mean of each output over a face's own view and its mirror image's (rows
    in the same order in both)."""
    return {name: (values + mirrored[name]) / 2 for name, values in own.items()}
