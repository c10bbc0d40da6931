"""The Ray engine on a local Ray instance (2 CPUs): same per-file work, same ledger, same results as local."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from detector.recipe import ScanConfig
from pipelines.audit.ledger import Ledger
from pipelines.audit.run import AuditOptions, run_audit
from pipelines.audit.work import FileScanner, ScannerSpec, WorkItem

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'deepfake-detector[ray]')")
# Ray's own DataContext warns about its deprecated settings when it is copied to the workers.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900), pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")]

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "detector" / "schemas" /
                     "media_result.schema.json").read_text())
SPEC = ScannerSpec(settings=ScanConfig(frames=2))
QUERY = "SELECT content_sha256, status, verdict, fake_probability, error_code FROM scans ORDER BY 1"


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A local Ray instance whose files stay in a temp dir of this test run (yielded), removed afterwards.

    Left to itself Ray keeps its sessions in /tmp/ray and the scanning actors their core locks in
    /tmp/deepfake-audit-cores-UID (``ray_engine._claim_core``, in the actors' temp dir), and neither is ever
    removed. ``_temp_dir`` moves Ray's sessions; TMPDIR, set while Ray starts, is inherited by the raylet and so by
    every worker it spawns. (A short directory name: Ray's socket paths inside it must fit in 107 bytes.)
    """
    tmp = tmp_path_factory.mktemp("ray")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TMPDIR", str(tmp))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=str(tmp / "r"))
    yield tmp
    ray.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)  # pytest prunes its base temp dir anyway, should Ray still write there


def test_ray_engine_fills_the_same_ledger_as_local(local_ray, archive, tmp_path):
    local_db, ray_db = tmp_path / "local.sqlite", tmp_path / "ray.sqlite"
    run_audit(AuditOptions(roots=(str(archive),), db=local_db, spec=SPEC, workers=0), progress=False)
    summary = run_audit(AuditOptions(roots=(str(archive),), db=ray_db, spec=SPEC, engine="ray"), progress=False)
    assert summary.scanned == 7 and not summary.interrupted
    assert summary.status_counts == {"done": 6, "error": 3, "skipped": 1}
    assert sqlite3.connect(ray_db).execute(QUERY).fetchall() == sqlite3.connect(local_db).execute(QUERY).fetchall()
    with Ledger.open(ray_db) as ledger:
        assert ledger.check().ok
        for (result,) in ledger.conn.execute("SELECT result FROM scans"):
            jsonschema.validate(json.loads(result), SCHEMA)
        (engine,) = ledger.conn.execute("SELECT engine FROM runs").fetchone()
    assert engine == "ray"
    again = run_audit(AuditOptions(roots=(str(archive),), db=ray_db, spec=SPEC, engine="ray"), progress=False)
    assert again.scanned == 0  # the second run does no work


def test_decode_tasks_feeding_scan_actors_give_the_same_outcomes(local_ray, archive):
    from pipelines.audit.ray_engine import RayEngine

    paths = [archive / p for p in ("clips/talk.mp4", "clips/renamed_video.dat", "images/camera.png",
                                   "bad/truncated.mp4", "bad/text.mp4")]
    items = []
    for p in paths:
        st = p.stat()
        items.append(WorkItem(hashlib.sha256(p.read_bytes()).hexdigest(), str(p), st.st_size, st.st_mtime_ns))
    got = []
    RayEngine(SPEC, split_decode=True).run(items, on_outcomes=got.extend, should_stop=lambda: False)
    scanner = FileScanner.load(SPEC)
    want = {i.content_sha256: scanner.scan(i) for i in items}
    assert sorted(o.content_sha256 for o in got) == sorted(want)
    for o in got:
        w = want[o.content_sha256]
        assert (o.status, o.verdict, o.fake_probability, o.error_code) == (w.status, w.verdict, w.fake_probability,
                                                                           w.error_code)
        assert o.result["media"] == w.result["media"] and o.result["tracks"] == w.result["tracks"]
        assert o.result["provenance"] == w.result["provenance"]  # read from the file by the decode task
        assert (o.thumbnail is None) == (w.thumbnail is None)


def test_ray_and_the_actors_core_locks_stay_in_the_test_temp_dir(local_ray, archive):
    """What the fixture cleans up is where Ray and the actors wrote: nothing of this run lands in /tmp itself."""
    from pipelines.audit.ray_engine import RayEngine

    items = [WorkItem(hashlib.sha256(p.read_bytes()).hexdigest(), str(p), p.stat().st_size, p.stat().st_mtime_ns)
             for p in (archive / "images" / "camera.png", archive / "images" / "astronaut.jpg")]
    got = []
    RayEngine(SPEC).run(items, on_outcomes=got.extend, should_stop=lambda: False)  # each actor pins itself to a core
    assert [o.status for o in got] == ["done", "done"]
    assert (local_ray / f"deepfake-audit-cores-{os.getuid()}").is_dir()
    assert list((local_ray / "r").glob("session_*"))
