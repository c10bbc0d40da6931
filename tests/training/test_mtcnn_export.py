"""The shipped MTCNN ONNX files come from ``python -m training.mtcnn_export`` and match torch."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("facenet_pytorch")

from detector.faces.mtcnn import MODEL_DIR
from detector.runtime import create_session
from training import mtcnn_export


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("mtcnn")
    assert mtcnn_export.main(["--out", str(out)]) == 0
    return out


SHAPES = {"pnet": [(1, 3, 37, 53), (3, 3, 120, 90)], "rnet": [(1, 3, 24, 24), (7, 3, 24, 24)],
          "onet": [(1, 3, 48, 48), (5, 3, 48, 48)]}


@pytest.mark.parametrize("net", ["pnet", "rnet", "onet"])
def test_export_matches_torch_and_the_shipped_file(exported, net):
    manifest = json.loads((exported / "manifest.json").read_text())
    fresh = create_session(exported / f"{net}.onnx", expected_sha256=manifest["nets"][net]["sha256"])
    shipped = create_session(MODEL_DIR / f"{net}.onnx")
    module = {n: m for n, (m, *_rest) in mtcnn_export._nets().items()}[net].eval()
    rng = np.random.default_rng(0)
    for shape in SHAPES[net]:  # dynamic batch (and spatial size for PNet)
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        with torch.no_grad():
            ref = [t.numpy() for t in module(torch.from_numpy(x))]
        for session in (fresh, shipped):
            outs = session.run(None, {"input": x})
            assert len(outs) == len(ref)
            for o, r in zip(outs, ref):
                np.testing.assert_allclose(o, r, atol=1e-5, rtol=1e-4)


def test_manifest_records_provenance(exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["opset"] == mtcnn_export.OPSET
    assert "facenet" in manifest["source"] and manifest["facenet_pytorch"] == "2.5.3"
    assert set(manifest["nets"]) == {"pnet", "rnet", "onet"}
