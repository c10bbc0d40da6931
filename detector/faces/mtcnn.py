"""MTCNN face detection on ONNX Runtime, with the cascade glue re-done in numpy.

The three nets are facenet-pytorch's (exported by ``python -m training.mtcnn_export``); everything
around them follows ``facenet_pytorch.models.utils.detect_face`` step for step, so results match
facenet-pytorch (tested: same faces, IoU >= 0.9, landmarks within 2 px, probabilities within 1e-3):

1. image pyramid from ``min_face_size`` with ``factor``; PNet on every level (all frames at once),
   candidate boxes where P(face) >= threshold[0], NMS 0.5 per level and 0.7 per image;
2. square crops resized to 24 px, RNet, threshold[1], NMS 0.7, box regression;
3. 48 px crops, ONet, threshold[2], landmarks, box regression, NMS 0.7 ("Min" overlap).

Resizing is torch's ``interpolate(mode="area")`` (= adaptive average pooling), done exactly with an
integral image computed once per frame: every pyramid level and every crop is four gathers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from ..errors import ModelIntegrityError
from ..runtime import create_session
from .detections import Detections

MODEL_DIR = Path(str(resources.files("detector") / "models" / "mtcnn"))


@dataclass(frozen=True)
class MTCNNConfig:
    """Detector settings; defaults are facenet-pytorch's ``MTCNN()`` defaults.

    Attributes:
        min_face_size: smallest face searched for, in pixels of the image given to ``detect``.
        thresholds: P(face) cut-offs of PNet, RNet, ONet.
        factor: scale step of the image pyramid.
    """

    min_face_size: float = 20.0
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    factor: float = 0.709


def _load_manifest(model_dir: Path) -> dict:
    path = model_dir / "manifest.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelIntegrityError(f"cannot read MTCNN manifest {path}: {exc}", path=str(path)) from exc


# -- resizing: adaptive average pooling through an integral image ------------------------------------


def integral_image(image: np.ndarray) -> np.ndarray:
    """``(H+1, W+1, C)`` int32 summed-area table of a uint8 image.

    int32 wraps around for very large images, but every window sum we take is far below 2**31, and
    modular subtraction gives it exactly. OpenCV's ``integral`` wraps the same way (tested) and is ~30x
    faster than two numpy cumsums (0.12 vs 4.5 ms for a 340 x 300 region, 3.3 vs 101 ms for 1080p).
    """
    h, w, c = image.shape
    return cv2.integral(image, sdepth=cv2.CV_32S).reshape(h + 1, w + 1, c)


def _pool_bounds(offset: np.ndarray, length: np.ndarray, out: int) -> tuple[np.ndarray, np.ndarray]:
    """Start/end indices of adaptive pooling windows: floor(i*L/out), ceil((i+1)*L/out)."""
    i = np.arange(out)
    length = np.asarray(length)[..., None]
    start = (i * length) // out
    end = -((-(i + 1) * length) // out)
    offset = np.asarray(offset)[..., None]
    return offset + start, offset + end


def area_resize(table: np.ndarray, top: np.ndarray, left: np.ndarray, height: np.ndarray, width: np.ndarray,
                out_h: int, out_w: int) -> np.ndarray:
    """Resize regions of an image (given by its integral ``table``) like ``interpolate(mode="area")``.

    Regions are arrays (one entry per region); returns ``(n, out_h, out_w, C)`` float32.
    """
    y0, y1 = _pool_bounds(top, height, out_h)  # (n, out_h)
    x0, x1 = _pool_bounds(left, width, out_w)  # (n, out_w)
    ya, yb = y0[:, :, None], y1[:, :, None]
    xa, xb = x0[:, None, :], x1[:, None, :]
    sums = table[yb, xb] - table[ya, xb] - table[yb, xa] + table[ya, xa]
    counts = ((yb - ya) * (xb - xa)).astype(np.float32)
    return sums.astype(np.float32) / counts[..., None]


def area_resize_full(table: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """``area_resize`` of a whole image: separable row then column gathers (4x fewer random reads)."""
    h, w = table.shape[0] - 1, table.shape[1] - 1
    y0, y1 = _pool_bounds(0, h, out_h)
    x0, x1 = _pool_bounds(0, w, out_w)
    rows = table.take(y1, axis=0) - table.take(y0, axis=0)  # (out_h, W+1, C)
    sums = rows.take(x1, axis=1) - rows.take(x0, axis=1)  # (out_h, out_w, C)
    counts = ((y1 - y0)[:, None] * (x1 - x0)[None, :]).astype(np.float32)
    return sums.astype(np.float32) / counts[..., None]


def _normalize(batch_nhwc: np.ndarray) -> np.ndarray:
    """facenet-pytorch's input scaling, (x - 127.5) / 128, to NCHW."""
    return np.ascontiguousarray(((batch_nhwc - np.float32(127.5)) * np.float32(0.0078125)).transpose(0, 3, 1, 2))


# -- box utilities -----------------------------------------------------------------------------------


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, *, mode: str = "iou") -> np.ndarray:
    """Greedy non-maximum suppression; indices kept, highest score first.

    ``mode="iou"`` is torchvision's ``nms`` (areas without +1); ``mode="min"`` is facenet-pytorch's
    ``nms_numpy(..., 'Min')`` (intersection over the smaller area, +1 pixel convention).
    """
    if len(boxes) == 0:
        return np.zeros((0,), np.int64)
    x1, y1, x2, y2 = (boxes[:, k].astype(np.float64) for k in range(4))
    plus = 1.0 if mode == "min" else 0.0
    area = (x2 - x1 + plus) * (y2 - y1 + plus)
    if mode == "min":
        # facenet-pytorch's nms_numpy walks np.argsort(scores) from the end; ONet scores often saturate
        # to exactly 1.0, so the tie order decides which box survives. Copy it.
        order = np.argsort(scores)[::-1]
    else:
        order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + plus)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + plus)
        inter = w * h
        if mode == "min":
            overlap = inter / np.minimum(area[i], area[rest])
        else:
            overlap = inter / (area[i] + area[rest] - inter)
        order = rest[overlap <= threshold]
    return np.asarray(keep, np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, groups: np.ndarray, threshold: float, *,
                mode: str = "iou") -> np.ndarray:
    """NMS within each group (image); kept indices ordered by score, like torchvision's."""
    if len(boxes) == 0:
        return np.zeros((0,), np.int64)
    keep = [np.flatnonzero(groups == g)[nms(boxes[groups == g], scores[groups == g], threshold, mode=mode)]
            for g in np.unique(groups)]
    kept = np.concatenate(keep)
    return kept[np.argsort(-scores[kept], kind="stable")]


def _rerec(boxes: np.ndarray) -> np.ndarray:
    """Make boxes square around their centre (side = the longer side)."""
    boxes = boxes.copy()
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    side = np.maximum(w, h)
    boxes[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    boxes[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _bbreg(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    boxes = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    boxes[:, 0] += reg[:, 0] * w
    boxes[:, 1] += reg[:, 1] * h
    boxes[:, 2] += reg[:, 2] * w
    boxes[:, 3] += reg[:, 3] * h
    return boxes


def _crop_regions(boxes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    """facenet-pytorch's ``pad``: truncate to int, clamp to the image; 1-based inclusive ends."""
    b = np.trunc(boxes[:, :4]).astype(np.int64)
    x = np.maximum(b[:, 0], 1)
    y = np.maximum(b[:, 1], 1)
    ex = np.minimum(b[:, 2], width)
    ey = np.minimum(b[:, 3], height)
    return y, ey, x, ex


def _candidate_fan(box: np.ndarray) -> np.ndarray:
    """RNet seeds around one known face box: 2 scales x (centre + 4 shifts of a fifth of the side)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0)
    out = []
    for scale in (1.0, 1.25):
        half = side * scale / 2
        for dx, dy in ((0, 0), (-0.2, 0), (0.2, 0), (0, -0.2), (0, 0.2)):
            x, y = cx + dx * side, cy + dy * side
            out.append((x - half, y - half, x + half, y + half))
    return np.asarray(out, np.float32)


def _seeds(prior: np.ndarray) -> np.ndarray:
    """RNet seeds for ``refine``: the candidate fan of every prior box, made square."""
    return _rerec(np.concatenate([_candidate_fan(box) for box in prior]))


def _seed_region(seeds: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """The part of a ``width`` x ``height`` image that ``refine`` reads for these seeds."""
    # The margin (half the largest seed) leaves room for the boxes that RNet's regression moves.
    pad = 0.5 * float((seeds[:, 2] - seeds[:, 0]).max())
    x0 = int(max(0, np.floor(seeds[:, 0].min() - pad)))
    y0 = int(max(0, np.floor(seeds[:, 1].min() - pad)))
    x1 = int(min(width, np.ceil(seeds[:, 2].max() + pad)))
    y1 = int(min(height, np.ceil(seeds[:, 3].max() + pad)))
    return x0, y0, x1, y1


# -- the detector ------------------------------------------------------------------------------------


class MTCNN:
    """MTCNN on ONNX Runtime. ``detect`` takes a batch of equally sized RGB uint8 images.

    Example:
        >>> detector = MTCNN()  # doctest: +SKIP
        >>> [dets] = detector.detect([image])  # doctest: +SKIP
        >>> dets.boxes, dets.scores, dets.landmarks  # doctest: +SKIP
    """

    name = "onnx"

    def __init__(self, config: MTCNNConfig | None = None, *, model_dir: str | Path | None = None,
                 providers: Sequence[str] | None = None, intra_op_threads: int | None = None) -> None:
        self.config = config or MTCNNConfig()
        model_dir = Path(model_dir) if model_dir is not None else MODEL_DIR
        manifest = _load_manifest(model_dir)
        sessions = {}
        for net in ("pnet", "rnet", "onet"):
            entry = manifest["nets"][net]
            sessions[net] = create_session(model_dir / entry["file"], expected_sha256=entry["sha256"],
                                           providers=providers, intra_op_threads=intra_op_threads)
        self._pnet, self._rnet, self._onet = sessions["pnet"], sessions["rnet"], sessions["onet"]

    def _scales(self, height: int, width: int) -> list[float]:
        m = 12.0 / self.config.min_face_size
        minl = min(height, width) * m
        scales = []
        scale = m
        while minl >= 12:
            scales.append(scale)
            scale *= self.config.factor
            minl *= self.config.factor
        return scales

    def detect(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Detect faces in each image (``(H, W, 3)`` uint8 RGB, all the same size)."""
        if len(images) == 0:
            return []
        height, width = images[0].shape[:2]
        for image in images:
            if image.shape != (height, width, 3) or image.dtype != np.uint8:
                raise ValueError(f"images must all be ({height}, {width}, 3) uint8 RGB, got {image.shape} "
                                 f"{image.dtype}")
        tables = [integral_image(image) for image in images]
        t1 = self.config.thresholds[0]

        # Stage 1: PNet over the pyramid, every image of the batch in one run per level.
        found = []
        for scale in self._scales(height, width):
            oh, ow = int(height * scale + 1), int(width * scale + 1)
            level = np.stack([area_resize_full(t, oh, ow) for t in tables])
            reg, prob = self._pnet.run(None, {"input": _normalize(level)})
            found.append(self._generate_boxes(reg, prob[:, 1], scale, t1))
        if not found:  # smaller than the smallest face searched for: not one pyramid level
            return [Detections.empty() for _ in images]
        boxes = np.concatenate([f[0] for f in found])
        image_ids = np.concatenate([f[1] for f in found])
        if len(boxes) == 0:
            return [Detections.empty() for _ in images]
        keep = batched_nms(boxes[:, :4], boxes[:, 4], image_ids, 0.7)
        boxes, image_ids = boxes[keep], image_ids[keep]
        regw = boxes[:, 2] - boxes[:, 0]
        regh = boxes[:, 3] - boxes[:, 1]
        boxes = np.stack([boxes[:, 0] + boxes[:, 5] * regw, boxes[:, 1] + boxes[:, 6] * regh,
                          boxes[:, 2] + boxes[:, 7] * regw, boxes[:, 3] + boxes[:, 8] * regh, boxes[:, 4]], axis=1)
        return self._rnet_onet(tables, _rerec(boxes), image_ids, width, height, len(images))

    def refine(self, images: Sequence[np.ndarray], priors: Sequence[np.ndarray]) -> list[Detections]:
        """Find the faces near known boxes (e.g. last frame's), skipping PNet and the image pyramid.

        Each prior ``(x1, y1, x2, y2)`` seeds RNet with a small fan of candidates (the box and 1.25x it, each
        also shifted by a fifth of its side left/right/up/down) so a face that moved or grew between sampled
        frames is still caught; RNet's and ONet's box regression then re-centre on it, exactly as in
        :meth:`detect`. Faces that are not near a prior are not found: callers run :meth:`detect` now and then.
        About 20x cheaper than :meth:`detect` per frame (PNet and its pyramid are ~3/4 of the cost).
        """
        if len(images) != len(priors):
            raise ValueError(f"{len(images)} images but {len(priors)} prior box arrays")
        if len(images) == 0:
            return []
        return [self._refine_one(image, np.asarray(prior, np.float32).reshape(-1, 4))
                for image, prior in zip(images, priors)]

    @staticmethod
    def refine_region(prior: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
        """The pixels :meth:`refine` reads for these priors in a ``width`` x ``height`` image: ``(x0, y0, x1, y1)``.

        Callers that make the detection image themselves (the face stage downscales each frame) need to
        make only this part of it; ``refine`` on that part, priors shifted, finds the same faces.
        """
        return _seed_region(_seeds(np.asarray(prior, np.float32).reshape(-1, 4)), width, height)

    def _refine_one(self, image: np.ndarray, prior: np.ndarray) -> Detections:
        if len(prior) == 0:
            return Detections.empty()
        height, width = image.shape[:2]
        seeds = _seeds(prior)
        # Work on the region around the seeds only: the integral image of a whole frame costs more than
        # RNet and ONet on a few crops. Outside the frame the crops are clamped to its edge as in ``detect``.
        x0, y0, x1, y1 = _seed_region(seeds, width, height)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return Detections.empty()
        offset = np.array([x0, y0, x0, y0], np.float32)
        boxes = np.concatenate([seeds - offset, np.ones((len(seeds), 1), np.float32)], axis=1)
        [dets] = self._rnet_onet([integral_image(image[y0:y1, x0:x1])], boxes, np.zeros(len(boxes), np.int64),
                                 x1 - x0, y1 - y0, 1)
        return Detections(dets.boxes + offset, dets.scores, dets.landmarks + offset[:2])

    def _rnet_onet(self, tables: list[np.ndarray], boxes: np.ndarray, image_ids: np.ndarray, width: int,
                   height: int, n_images: int) -> list[Detections]:
        """Stages 2 and 3 (RNet on 24 px crops, ONet on 48 px crops with landmarks) from candidate boxes."""
        _, t2, t3 = self.config.thresholds
        boxes, image_ids, crops = self._crops(tables, boxes, image_ids, width, height, 24)
        if len(boxes):
            reg, prob = self._run_batched(self._rnet, crops)
            score = prob[:, 1]
            passed = score > t2
            boxes = np.concatenate([boxes[passed, :4], score[passed, None]], axis=1)
            image_ids, reg = image_ids[passed], reg[passed]
            keep = batched_nms(boxes[:, :4], boxes[:, 4], image_ids, 0.7)
            boxes, image_ids, reg = boxes[keep], image_ids[keep], reg[keep]
            boxes = _rerec(_bbreg(boxes, reg))

        points = np.zeros((0, 5, 2), np.float32)
        if len(boxes):
            boxes, image_ids, crops = self._crops(tables, boxes, image_ids, width, height, 48)
        if len(boxes):
            reg, marks, prob = self._run_batched(self._onet, crops)
            score = prob[:, 1]
            passed = score > t3
            boxes = np.concatenate([boxes[passed, :4], score[passed, None]], axis=1)
            image_ids, reg, marks = image_ids[passed], reg[passed], marks[passed]
            w = boxes[:, 2] - boxes[:, 0] + 1
            h = boxes[:, 3] - boxes[:, 1] + 1
            px = w[:, None] * marks[:, :5] + boxes[:, 0:1] - 1
            py = h[:, None] * marks[:, 5:10] + boxes[:, 1:2] - 1
            points = np.stack([px, py], axis=2)
            boxes = _bbreg(boxes, reg)
            keep = batched_nms(boxes[:, :4], boxes[:, 4], image_ids, 0.7, mode="min")
            boxes, image_ids, points = boxes[keep], image_ids[keep], points[keep]
        else:
            boxes = np.zeros((0, 5), np.float32)

        results = []
        for i in range(n_images):
            sel = image_ids == i
            b, p = boxes[sel], points[sel]
            # Largest face first, like facenet-pytorch's MTCNN(select_largest=True).detect.
            order = np.argsort(-((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])), kind="stable")
            results.append(Detections(b[order, :4].astype(np.float32), b[order, 4].astype(np.float32),
                                      p[order].astype(np.float32)))
        return results

    @staticmethod
    def _generate_boxes(reg: np.ndarray, prob: np.ndarray, scale: float, threshold: float
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Candidate boxes from PNet maps, then NMS 0.5 within this level, per image."""
        stride, cellsize = 2, 12
        ids, ys, xs = np.nonzero(prob >= threshold)
        score = prob[ids, ys, xs]
        offsets = reg[ids, :, ys, xs]
        bb = np.stack([xs, ys], axis=1).astype(np.float32)
        s = np.float32(scale)
        q1 = np.floor((stride * bb + 1) / s)
        q2 = np.floor((stride * bb + cellsize) / s)
        boxes = np.concatenate([q1, q2, score[:, None], offsets], axis=1).astype(np.float32)
        keep = batched_nms(boxes[:, :4], boxes[:, 4], ids, 0.5)
        return boxes[keep], ids[keep]

    @staticmethod
    def _crops(tables: list[np.ndarray], boxes: np.ndarray, image_ids: np.ndarray, width: int, height: int,
               size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y, ey, x, ex = _crop_regions(boxes, width, height)
        valid = (ey > y - 1) & (ex > x - 1)
        boxes, image_ids, y, ey, x, ex = boxes[valid], image_ids[valid], y[valid], ey[valid], x[valid], ex[valid]
        crops = np.zeros((len(boxes), size, size, 3), np.float32)
        for i in np.unique(image_ids):
            sel = image_ids == i
            crops[sel] = area_resize(tables[i], y[sel] - 1, x[sel] - 1, ey[sel] - y[sel] + 1, ex[sel] - x[sel] + 1,
                                     size, size)
        return boxes, image_ids, _normalize(crops)

    @staticmethod
    def _run_batched(session, crops: np.ndarray, batch: int = 512) -> list[np.ndarray]:
        outs = [session.run(None, {"input": crops[i:i + batch]}) for i in range(0, len(crops), batch)]
        return [np.concatenate(parts) for parts in zip(*outs)]


def onnx_backend(*, min_face_size: float = 20.0, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
                  factor: float = 0.709, providers: Sequence[str] | None = None,
                  intra_op_threads: int | None = None) -> MTCNN:
    config = MTCNNConfig(min_face_size=min_face_size, thresholds=tuple(thresholds), factor=factor)
    return MTCNN(config, providers=providers, intra_op_threads=intra_op_threads)

