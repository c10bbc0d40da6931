"""The ``facenet`` backend: facenet-pytorch's own ``MTCNN`` behind the same interface.

For users who already run torch (GPU boxes, training). Needs the ``train`` extra; torch is imported only
when this backend is created, never by ``import detector``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import MissingExtraError
from .detections import Detections


class FacenetMTCNN:
    """Wraps ``facenet_pytorch.MTCNN.detect`` and turns its object arrays / ``None``s into ``Detections``."""

    name = "facenet"

    def __init__(self, *, min_face_size: float = 20.0, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
                 factor: float = 0.709, device: str | None = None) -> None:
        try:
            import torch
            from facenet_pytorch import MTCNN
        except ImportError as exc:
            raise MissingExtraError("facenet-pytorch", extra="train", hint="needed by the 'facenet' backend") from exc
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self._torch = torch
        self._mtcnn = MTCNN(min_face_size=min_face_size, thresholds=list(thresholds), factor=factor,
                            select_largest=True, keep_all=True, device=device)

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        if len(images) == 0:
            return []
        batch = np.stack([np.asarray(image, np.uint8) for image in images])
        with self._torch.inference_mode():
            boxes, probs, points = self._mtcnn.detect(batch, landmarks=True)
        results = []
        for b, p, lm in zip(boxes, probs, points):
            # With numpy 2, facenet-pytorch returns object arrays, and None where no face was found.
            if b is None or len(b) == 0:
                results.append(Detections.empty())
                continue
            results.append(Detections(np.asarray(b, np.float32).reshape(-1, 4),
                                      np.asarray(p, np.float32).reshape(-1),
                                      np.asarray(lm, np.float32).reshape(-1, 5, 2)))
        return results


def facenet_backend(*, min_face_size: float = 20.0, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
                     factor: float = 0.709, device: str | None = None, providers: Sequence[str] | None = None,
                     intra_op_threads: int | None = None) -> FacenetMTCNN:
    """``providers`` and ``intra_op_threads`` are the ONNX backend's options, accepted (and not used: torch
    picks its device from ``device`` and its threads process-wide) so that one set of options serves either
    backend; any other name is a ``TypeError``, not silently dropped."""
    del providers, intra_op_threads
    return FacenetMTCNN(min_face_size=min_face_size, thresholds=tuple(thresholds), factor=factor, device=device)
