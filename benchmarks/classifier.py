"""Per-face classifier cost on ONNX Runtime, against the face stage's cost per frame in the same run.

The classifier runs once per face; the face stage (MTCNN on the 640 px detection copy, alignment) once per
sampled frame. Their ratio says how much of a scan the classifier is: a one-face 1080p clip spends
``classifier ms/face / face stage ms/frame`` of its face work classifying.

    .venv/bin/python benchmarks/classifier.py [--model M.onnx] [--batch 32] [--repeats 5]

Prints ms per face at batch 1 and at ``--batch``, and ms per 1080p frame for the face stage: 8 frames
through ``FaceExtractor.extract_frames`` as a scan runs them (a full MTCNN pass on the first, the refine
path on the other 7, alignment on all), divided by 8. Then the whole scan of one 1024 px portrait
(``Detector.scan_image``) with and without test-time mirroring of image faces (the card's
``classify.mirror_images``, on in the bundled model since v1.2.2): what mirroring adds to a photo's scan.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: session initialisation and first-run allocations
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    from dataclasses import replace

    from detector.api import Detector
    from detector.classifier import Classifier
    from detector.faces.extract import FaceConfig, FaceExtractor
    from detector.media import Frame
    from detector.outputs.demo import load_photo
    from detector.recipe import ClassifySpec

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a model .onnx (default: the bundled one)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    clf = Classifier.load(args.model) if args.model else Classifier.default()
    frame = cv2.resize(load_photo("astronaut.png"), (1920, 1080), interpolation=cv2.INTER_LINEAR)
    extractor = FaceExtractor(FaceConfig(align=clf.align))
    [face] = extractor.extract_frames([Frame(0, 0.0, frame)])
    crops = np.stack([face.crop] * args.batch)

    one = _median_seconds(lambda: clf.logits(crops[:1]), args.repeats)
    batched = _median_seconds(lambda: clf.logits(crops), args.repeats) / args.batch
    frames = [Frame(i, i / 25, frame) for i in range(8)]
    per_frame = _median_seconds(lambda: extractor.extract_frames(frames), args.repeats) / len(frames)
    card = clf.card
    photo = cv2.resize(load_photo("astronaut.png"), (1024, 1024), interpolation=cv2.INTER_LINEAR)
    photo_ms = {}
    for mirror in (False, True):
        recipe = replace(card.scan, classify=ClassifySpec(mirror_images=mirror))
        det = Detector(Classifier(clf.path, replace(card, scan=recipe)))
        photo_ms[mirror] = _median_seconds(lambda det=det: det.scan_image(photo), args.repeats) * 1e3
    print(f"model {card.name} {card.version} ({card.arch}, {card.input_size} px), providers {clf.providers}")
    print(f"classifier: {one * 1e3:.1f} ms/face at batch 1, {batched * 1e3:.1f} ms/face at batch {args.batch}")
    print(f"face stage: {per_frame * 1e3:.1f} ms per 1080p frame (1 full MTCNN pass + 7 refined, aligned)")
    print(f"classifier / face stage: {batched / per_frame:.2f}x per one-face frame")
    print(f"one 1024 px portrait, whole scan: {photo_ms[False]:.1f} ms plain, {photo_ms[True]:.1f} ms with its face "
          f"mirrored too ({photo_ms[True] / photo_ms[False]:.2f}x; the card says mirror_images="
          f"{card.scan.classify.mirror_images})")


if __name__ == "__main__":
    main()
