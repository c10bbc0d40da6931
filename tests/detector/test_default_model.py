"""The bundled default model: loads with its sha256 checked, and keeps its golden outputs.

Golden scores were written by ``python tests/detector/test_default_model.py --write`` when the model was
shipped; any silent change in decoding, detection, alignment, preprocessing or calibration moves them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from detector.classifier import DEFAULT_MODEL, Classifier
from detector.faces.align import alignment_matrix, transform_points
from detector.faces.extract import FaceConfig, FaceExtractor
from detector.media import Frame

GOLDEN = Path(__file__).with_name("golden_default_model.json")


def golden_inputs(astronaut: np.ndarray, cameraman: np.ndarray, classifier: Classifier) -> dict[str, np.ndarray]:
    from training.synth.sbi import self_blend

    spec = classifier.align
    extractor = FaceExtractor(FaceConfig(align=spec))
    crops = {}
    for name, image in (("astronaut", astronaut), ("cameraman", cameraman)):
        [face] = extractor.extract_frames([Frame(0, 0.0, image)])
        crops[name] = face.crop
        if name == "astronaut":
            lm = transform_points(np.asarray(face.landmarks), alignment_matrix(np.asarray(face.landmarks), spec))
            crops["astronaut-self-blended"] = self_blend(face.crop, lm, 0)[0]
    return crops


def test_default_model_loads_with_its_card():
    clf = Classifier.default()
    assert clf.card.sha256 and clf.card.input_size == clf.align.size
    assert "non-commercial" in clf.card.licence
    assert clf.card.calibration.temperature > 0


def test_golden_outputs(astronaut, cameraman):
    pytest.importorskip("albumentations")  # self_blend lives in training
    clf = Classifier.default()
    expected = json.loads(GOLDEN.read_text())
    assert expected["sha256"] == clf.card.sha256, "model changed: regenerate the golden scores"
    crops = golden_inputs(astronaut, cameraman, clf)
    got = dict(zip(crops, clf.predict(np.stack(list(crops.values())))))
    for name, p in expected["probabilities"].items():
        assert got[name] == pytest.approx(p, abs=1e-4), name


if __name__ == "__main__" and "--write" in sys.argv:
    from detector.demo import load_photo

    clf = Classifier.default()
    crops = golden_inputs(load_photo("astronaut.png"), load_photo("camera.png"), clf)
    probs = clf.predict(np.stack(list(crops.values())))
    GOLDEN.write_text(json.dumps({"sha256": clf.card.sha256, "model": str(DEFAULT_MODEL.name),
                                  "probabilities": {k: float(v) for k, v in zip(crops, probs)}}, indent=2) + "\n")
    print(GOLDEN.read_text())
