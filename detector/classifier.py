"""The face classifier on ONNX Runtime: aligned crops in, calibrated fake probabilities out.

Everything the model needs comes from its card (``<model>.json`` beside ``<model>.onnx``): the file's
sha256 (checked at load), input size and normalisation (``detector.preprocess``), the alignment version
(must match this library's), and the calibration.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import ModelIntegrityError
from .faces.align import AlignSpec
from .modelcard import ModelCard
from .preprocess import to_input
from .runtime import create_session

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default" / "model.onnx"


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
        outputs = [o.name for o in self._session.get_outputs()]
        if "logit" not in outputs:
            raise ModelIntegrityError(f"{self.path.name} has no 'logit' output (outputs: {outputs})", path=str(self.path))

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

    def logits(self, crops: np.ndarray | Sequence[np.ndarray], *,
               mirror: bool | Sequence[bool] | np.ndarray = False) -> np.ndarray:
        """Raw logits for aligned uint8 crops, batched.

        ``mirror`` (one flag, or one per crop): such a crop's logit is the mean of its own and its horizontal
        mirror image's (the scan recipe's ``classify.mirror_images``, :class:`detector.recipe.ClassifySpec`).
        """
        n = len(crops)
        mirrored = np.flatnonzero(np.broadcast_to(np.asarray(mirror, bool), (n,)))
        if not len(mirrored):
            return self._raw_logits(crops)
        # One pass over the crops and the mirror images together: the mirrors ride in the same batches.
        both = self._raw_logits([*crops, *(np.ascontiguousarray(np.asarray(crops[i])[:, ::-1]) for i in mirrored)])
        out = both[:n].copy()
        out[mirrored] = (out[mirrored] + both[n:]) / 2
        return out

    def _raw_logits(self, crops: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        n = len(crops)
        out = np.zeros((n,), np.float32)
        for i in range(0, n, self.batch_size):
            x = to_input(crops[i:i + self.batch_size], size=self.card.input_size, mean=self.card.mean,
                         std=self.card.std)
            (logit,) = self._session.run(["logit"], {"input": x})
            out[i:i + len(x)] = logit.reshape(-1)
        return out

    def predict(self, crops: np.ndarray | Sequence[np.ndarray], *,
                mirror: bool | Sequence[bool] | np.ndarray = False) -> np.ndarray:
        """Calibrated P(fake) per crop (``mirror``: see :meth:`logits`)."""
        return self.card.calibration.apply(self.logits(crops, mirror=mirror)).astype(np.float64)
