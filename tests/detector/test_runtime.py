from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from detector import runtime
from detector.errors import MissingExtraError, ModelIntegrityError
from detector.faces.mtcnn import MODEL_DIR, MTCNN


def test_import_detector_never_imports_torch():
    code = ("import sys, detector, detector.faces.extract, detector.media, detector.outputs.demo; "
            "from detector.faces.extract import FaceExtractor; FaceExtractor(); "
            "bad = [m for m in ('torch', 'facenet_pytorch', 'torchvision', 'timm') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_missing_onnxruntime_names_the_extras(monkeypatch):
    runtime.onnxruntime.cache_clear()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    try:
        with pytest.raises(MissingExtraError) as err:
            runtime.onnxruntime()
        assert err.value.code == "missing_extra"
        assert "deepfake-detector[cpu]" in str(err.value) and "[gpu]" in str(err.value)
    finally:
        runtime.onnxruntime.cache_clear()


def test_both_runtimes_installed_is_refused(monkeypatch):
    runtime.onnxruntime.cache_clear()
    monkeypatch.setattr(runtime, "_installed_distributions", lambda: ["onnxruntime", "onnxruntime-gpu"])
    try:
        with pytest.raises(MissingExtraError, match="break each other"):
            runtime.onnxruntime()
    finally:
        runtime.onnxruntime.cache_clear()


def test_shipped_mtcnn_files_match_their_manifest():
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    for entry in manifest["nets"].values():
        assert runtime.sha256_file(MODEL_DIR / entry["file"]) == entry["sha256"]


def test_corrupt_model_is_refused_at_load(tmp_path):
    bad = tmp_path / "mtcnn"
    shutil.copytree(MODEL_DIR, bad)
    data = bytearray((bad / "rnet.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "rnet.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch"):
        MTCNN(model_dir=bad)


def test_missing_manifest_is_a_model_error(tmp_path):
    with pytest.raises(ModelIntegrityError):
        MTCNN(model_dir=tmp_path)


def test_unknown_provider_is_rejected():
    with pytest.raises(ValueError, match="not available"):
        runtime.resolve_providers(["NoSuchExecutionProvider"])
    assert runtime.resolve_providers()[-1] == "CPUExecutionProvider"


def test_public_api_surface():
    import detector

    assert len(set(detector.__all__)) == len(detector.__all__)
    for name in detector.__all__:
        assert hasattr(detector, name), name
    assert {"Detector", "MediaResult", "ScanConfig", "FaceExtractor", "open_media", "Classifier"} <= set(detector.__all__)
