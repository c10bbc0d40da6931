"""The Ray engine's per-batch functions, called in this process (fast tier; no Ray instance needed).

Ray Data hands ``map_batches`` functions a dict of columns; these tests feed the same dicts directly and
compare with the local engine's ``FileScanner``. ``test_audit_ray.py`` (slow tier) runs them on a real
local Ray instance.
"""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from detector.recipe import ScanConfig
from pipelines.audit import ray_engine
from pipelines.audit.work import FileScanner, ScannerSpec, WorkItem

SPEC = ScannerSpec(settings=ScanConfig(frames=2))
FILES = ("clips/talk.mp4", "images/camera.png", "bad/truncated.mp4", "bad/text.mp4", "bad/empty.mp4",
         "images/generated.png", "bad/cut_generated.png")


@pytest.fixture
def items(archive) -> list[WorkItem]:
    # A generated image (AUTOMATIC1111's parameters in its text) and a truncated copy whose pixels fail after the
    # text was read: the split path must read provenance from the file as the local scan does.
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a wall\nSteps: 20, Sampler: Euler a, CFG scale: 7")
    Image.fromarray(np.full((96, 96, 3), 200, np.uint8)).save(archive / "images" / "generated.png", pnginfo=info)
    data = (archive / "images" / "generated.png").read_bytes()
    (archive / "bad" / "cut_generated.png").write_bytes(data[:len(data) // 2])
    out = []
    for name in FILES:
        path = archive / name
        st = path.stat()
        out.append(WorkItem(hashlib.sha256(path.read_bytes()).hexdigest(), str(path), st.st_size, st.st_mtime_ns))
    return out


@pytest.fixture
def no_pinning(monkeypatch):
    """Actors pin themselves to a core; in the test process that would pin pytest itself."""
    monkeypatch.setattr(ray_engine, "_claim_core", lambda: None)


def _same(got, want) -> None:
    assert (got.status, got.verdict, got.fake_probability, got.error_code) == (
        want.status, want.verdict, want.fake_probability, want.error_code)
    assert (got.thumbnail is None) == (want.thumbnail is None)
    assert (got.result["reasons"], got.result["provenance"]) == (want.result["reasons"], want.result["provenance"])


def test_scan_actor_batches_equal_local_scans(items, no_pinning):
    actor = ray_engine._ScanActor(SPEC)
    scanner = FileScanner.load(SPEC)
    out = actor({"item": [pickle.dumps(i, protocol=5) for i in items]})
    got = [pickle.loads(b) for b in out["outcome"]]
    assert [o.content_sha256 for o in got] == [i.content_sha256 for i in items]
    for o, item in zip(got, items):
        _same(o, scanner.scan(item))


def test_decode_tasks_then_scan_actors_equal_local_scans(items, no_pinning):
    batch = {"item": [pickle.dumps(i, protocol=5) for i in items]}
    decoded = ray_engine._decode_batch(batch, SPEC.settings)
    assert decoded["item"] == batch["item"] and len(decoded["decoded"]) == len(items)
    got = [pickle.loads(b) for b in ray_engine._ScanDecodedActor(SPEC)(decoded)["outcome"]]
    scanner = FileScanner.load(SPEC)
    for o, item in zip(got, items):
        _same(o, scanner.scan(item))
        assert o.result["media"] == scanner.scan(item).result["media"]
    states = {item.path.rsplit("/", 2)[-2] + "/" + item.path.rsplit("/", 1)[-1]: o.provenance
              for item, o in zip(items, got)}
    assert states == {"clips/talk.mp4": "none", "images/camera.png": "none", "bad/truncated.mp4": "none",
                      "bad/text.mp4": "none", "bad/empty.mp4": None,  # an empty file: nothing to read
                      "images/generated.png": "generator_metadata", "bad/cut_generated.png": "generator_metadata"}
    assert [o.status for o in got][-2:] == ["done", "error"]  # the cut copy failed on its pixels, kept its text
