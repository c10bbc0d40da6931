"""Measure how far the golden-output pipeline moves across onnxruntime releases (not a test module).

The golden test (``test_default_model.py``) must pass on any onnxruntime that computes the same model and
fail when the model or the preprocessing really changes. This script prints, for the onnxruntime it runs
on, every quantity that test compares, as JSON:

- ``landmarks``: MTCNN's 5 points on the astronaut and cameraman photos (px);
- ``crop_diff``: the aligned crops against those stored in ``golden_crops.npz`` (grey levels, max and mean);
- ``logits_own_crops``: the classifier's calibrated logits on crops this runtime's MTCNN produced;
- ``logits_fixed_crops``: the classifier's logits on the crops stored in ``golden_crops.npz`` (so the
  classifier's own drift is seen apart from the detector's).

Run it under each release to compare (each in a ``--target`` directory put first on ``sys.path``)::

    uv pip install --target /tmp/ort/1.31.0 --no-deps onnxruntime==1.31.0
    PYTHONPATH=/tmp/ort/1.31.0 .venv/bin/python tests/detector/golden_drift.py > drift-1.31.0.json

The figures this produced on 2026-12-01 are quoted in ``test_default_model.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from detector.classifier import Classifier
from detector.faces.extract import FaceConfig, FaceExtractor
from detector.media import Frame
from detector.outputs.demo import load_photo

CROPS = Path(__file__).with_name("golden_crops.npz")


def measure() -> dict[str, object]:
    import onnxruntime

    clf = Classifier.default()
    extractor = FaceExtractor(FaceConfig(align=clf.align))
    landmarks, crops = {}, {}
    for name, photo in (("astronaut", "astronaut.png"), ("cameraman", "camera.png")):
        [face] = extractor.extract_frames([Frame(0, 0.0, load_photo(photo))])
        landmarks[name] = np.asarray(face.landmarks).tolist()
        crops[name] = face.crop
    own = clf.logits(np.stack(list(crops.values())))
    stored = np.load(CROPS)
    crop_diff = {name: {"max": int(np.abs(crop.astype(int) - stored[name]).max()),
                        "mean": float(np.abs(crop.astype(int) - stored[name]).mean())}
                 for name, crop in crops.items()}
    fixed = clf.logits(np.stack([stored[k] for k in stored.files]))
    return {"onnxruntime": onnxruntime.__version__, "landmarks": landmarks, "crop_diff": crop_diff,
            "logits_own_crops": dict(zip(crops, map(float, own))),
            "logits_fixed_crops": dict(zip(stored.files, map(float, fixed)))}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=1))
