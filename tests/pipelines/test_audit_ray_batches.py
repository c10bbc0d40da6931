"""The Ray engine's per-batch functions, called in this process (fast tier; no Ray instance needed).

Ray Data hands ``map_batches`` functions a dict of columns; these tests feed the same dicts directly and
compare with the local engine's ``FileScanner``. ``test_audit_ray.py`` (slow tier) runs them on a real
local Ray instance.
"""

from __future__ import annotations

import hashlib
import pickle

import pytest

from detector.recipe import ScanConfig
from pipelines.audit import ray_engine
from pipelines.audit.work import FileScanner, ScannerSpec, WorkItem

SPEC = ScannerSpec(settings=ScanConfig(frames=2))
FILES = ("clips/talk.mp4", "images/camera.png", "bad/truncated.mp4", "bad/text.mp4")


@pytest.fixture
def items(archive) -> list[WorkItem]:
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
