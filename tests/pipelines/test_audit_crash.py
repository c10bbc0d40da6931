"""Crash safety of ``deepfake audit`` with real processes: SIGKILL at random moments, and Ctrl-C (SIGINT).

The kill moments are random (the seed is printed on failure; set ``AUDIT_KILL_SEED`` to replay one). Half of
them fall anywhere from start-up to the end of the run, half right after the run committed its first
result, so some kills always land in the middle of scanning. Nothing here measures time.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import jsonschema
import pytest

from pipelines.audit.ledger import Ledger

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "detector" / "schemas" /
                     "media_result.schema.json").read_text())
# Enough distinct images that six interrupted runs (each scans for a second or two) leave work for the last.
EXTRA_IMAGES = 120
KILLS = 6


@pytest.fixture
def big_archive(archive: Path, astronaut) -> Path:
    """The tiny archive plus distinct images (crops of the astronaut), so runs can be stopped mid-scan."""
    (archive / "extra").mkdir()
    for i in range(EXTRA_IMAGES):
        x, y, side = 5 * (i % 10), 5 * (i // 10), 300 + i
        crop = astronaut[y:y + side, x:x + side]
        cv2.imwrite(str(archive / "extra" / f"img_{i:02d}.jpg"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    return archive


def start_audit(root: Path, db: Path, log: Path, *, workers: int = 2) -> subprocess.Popen:
    argv = [sys.executable, "-m", "pipelines.cli", "audit", str(root), "--db", str(db), "--frames", "4",
            "--workers", str(workers), "--no-progress"]
    with open(log, "ab") as err:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)


def latest_run(db: Path) -> tuple[int, int]:
    """(run id, results it committed) of the newest run, read-only; (0, 0) before there is one."""
    if not db.exists():
        return 0, 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            row = con.execute("SELECT id, scanned FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        finally:
            con.close()
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0, 0
    return row or (0, 0)


def wait_for_first_result(proc: subprocess.Popen, db: Path, after_run: int) -> None:
    """Until the run started after ``after_run`` has committed a result, or the process has ended."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        run, scanned = latest_run(db)
        if run > after_run and scanned > 0:
            return
        time.sleep(0.02)


def expected_files(root: Path, archive_files: dict[str, str]) -> set[str]:
    return {str(root / rel) for rel in archive_files} | {str(root / "extra" / f"img_{i:02d}.jpg")
                                                         for i in range(EXTRA_IMAGES)}


def assert_ledger_complete(db: Path, root: Path, archive_files: dict[str, str]) -> None:
    """Every file once, each content scanned once and finished, results valid, counters exact."""
    want = expected_files(root, archive_files)
    with Ledger.open(db) as ledger:
        q = ledger.conn.execute
        (aid, run) = q("SELECT analysis_id, id FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        rows = q("SELECT path, status, content_sha256, error_code FROM file_status WHERE analysis_id = ?",
                 (aid,)).fetchall()
        paths = [r[0] for r in rows]
        assert len(paths) == len(set(paths)) and set(paths) == want  # every file, exactly once
        assert q("SELECT COUNT(*) FROM files WHERE last_seen_run != ?", (run,)).fetchone() == (0,)
        assert {r[1] for r in rows} <= {"done", "error", "skipped"}  # nothing left pending
        for path, status, content, code in rows:
            if content is not None:  # the stored hash is the file's
                assert content == hashlib.sha256(Path(path).read_bytes()).hexdigest()
            if status == "error":
                assert code in ("empty_file", "unsupported_media", "corrupt_media"), (path, code)
        contents = {r[2] for r in rows if r[2] is not None}
        scans = q("SELECT content_sha256, status, result FROM scans WHERE analysis_id = ?", (aid,)).fetchall()
        assert sorted(s[0] for s in scans) == sorted(contents)  # one scan per content, none twice
        for _, status, result in scans:
            assert status in ("done", "error")
            jsonschema.validate(json.loads(result), SCHEMA)
        integrity = ledger.check()
        assert integrity.ok, integrity.problems  # includes: results committed == results counted by runs
        (counted,) = q("SELECT SUM(scanned) FROM runs WHERE analysis_id = ?", (aid,)).fetchone()
        assert counted == len(contents)  # across all the killed runs: each content counted exactly once


def test_sigkill_at_random_moments_loses_and_double_counts_nothing(big_archive, archive_files, tmp_path):
    seed = int(os.environ.get("AUDIT_KILL_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    db, log = tmp_path / "audit.sqlite", tmp_path / "stderr.log"
    killed_mid_scan = 0
    for i in range(KILLS):
        before, _ = latest_run(db)
        proc = start_audit(big_archive, db, log)
        if i % 2 == 0:
            time.sleep(rng.uniform(0.0, 3.0))
        else:
            wait_for_first_result(proc, db, before)
            time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        run, scanned = latest_run(db)
        killed_mid_scan += run > before and scanned > 0 and proc.returncode == -signal.SIGKILL
    final = subprocess.run([sys.executable, "-m", "pipelines.cli", "audit", str(big_archive), "--db", str(db),
                            "--frames", "4", "--workers", "2", "--no-progress"], capture_output=True, text=True,
                           check=False)
    assert final.returncode == 3, f"seed {seed}: {final.stderr[-2000:]}"  # 3: the archive's bad files
    assert killed_mid_scan >= 1, f"seed {seed}: no kill landed after a committed result"
    assert_ledger_complete(db, big_archive, archive_files)
    with Ledger.open(db) as ledger:
        statuses = [s for (s,) in ledger.conn.execute("SELECT status FROM runs ORDER BY id")]
    assert statuses[-1] == "finished" and set(statuses[:-1]) <= {"killed", "finished"}, f"seed {seed}"


def test_ctrl_c_finishes_in_flight_files_then_resumes(big_archive, archive_files, tmp_path):
    db, log = tmp_path / "audit.sqlite", tmp_path / "stderr.log"
    # One Ctrl-C: the files in flight are finished and recorded, the rest stay pending.
    proc = start_audit(big_archive, db, log, workers=1)
    wait_for_first_result(proc, db, 0)
    _, at_signal = latest_run(db)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=300) == 130
    assert "finishing" in log.read_text()
    with Ledger.open(db) as ledger:
        run = ledger.run(1)
        (pending,) = ledger.conn.execute("SELECT COUNT(*) FROM scans WHERE status = 'pending'").fetchone()
        assert ledger.check().ok
    assert run["status"] == "interrupted" and run["scanned"] >= at_signal and pending > 0
    # Twice: stop at once; the worker is terminated and its files stay pending.
    proc = start_audit(big_archive, db, log, workers=1)
    wait_for_first_result(proc, db, 1)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=300) == 130
    with Ledger.open(db) as ledger:
        assert ledger.run(2)["status"] == "interrupted" and ledger.check().ok
    # The same command again continues where it stopped and finishes.
    proc = start_audit(big_archive, db, log, workers=1)
    assert proc.wait(timeout=300) == 3
    assert_ledger_complete(db, big_archive, archive_files)
