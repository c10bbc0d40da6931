"""Audit building blocks without a detector: the walk, sniffing and hashing, the ledger's schema and invariants."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from detector.errors import ConfigError
from detector.results import ModelInfo
from pipelines.audit.identify import CHUNK_BYTES, identify
from pipelines.audit.ledger import BACKFILL_KIND, BACKFILL_PROVENANCE, MIGRATIONS, IndexedFile, Ledger, LedgerError
from pipelines.audit.walk import FoundFile, WalkOptions, walk
from pipelines.audit.work import Outcome, WorkItem

MODEL = ModelInfo("m", "1", "a" * 64)
REPO = Path(__file__).resolve().parents[2]


def rel_paths(root: Path, options: WalkOptions | None = None) -> list[str]:
    found = [os.path.relpath(f.path, root) for f in walk([root], options or WalkOptions())]
    assert len(found) == len(set(found)), "a file was listed twice"
    return sorted(found)


# -- walk ---------------------------------------------------------------------------------------------


def test_walk_skips_hidden_files_and_cuts_symlink_loops(archive, archive_files):
    assert rel_paths(archive) == sorted(archive_files)  # docs/loop -> .. is entered zero times, not forever


def test_walk_hidden_files_on_request(archive, archive_files):
    assert rel_paths(archive, WalkOptions(hidden=True)) == sorted([*archive_files, "docs/.cache/thumb.png",
                                                                   "docs/.hidden.jpg"])


def test_walk_enters_a_directory_once_even_through_a_second_link(archive, archive_files):
    os.symlink("images", archive / "zz_images")  # not a loop, but the same folder twice
    assert rel_paths(archive) == sorted(archive_files)


def test_walk_include_and_exclude_globs(archive):
    assert rel_paths(archive, WalkOptions(include=("*.jpg", "*.png"))) == [
        "images/astronaut.jpg", "images/camera.png", "images/link.jpg"]
    assert rel_paths(archive, WalkOptions(include=("clips/*",), exclude=("*.dat",))) == [
        "clips/copy_of_talk.mp4", "clips/talk.mp4"]
    assert not any(p.startswith("bad/") for p in rel_paths(archive, WalkOptions(exclude=("bad",))))


def test_walk_without_following_symlinks(archive, archive_files):
    assert rel_paths(archive, WalkOptions(follow_symlinks=False)) == sorted(set(archive_files) - {"images/link.jpg"})


def test_walk_since(archive):
    for f in walk([archive]):
        os.utime(f.path, ns=(1_600_000_000 * 10**9, 1_600_000_000 * 10**9), follow_symlinks=False)
    os.utime(archive / "images" / "camera.png", ns=(1_700_000_000 * 10**9, 1_700_000_000 * 10**9))
    assert rel_paths(archive, WalkOptions(since_ns=1_650_000_000 * 10**9)) == ["images/camera.png"]


def test_walk_reports_broken_links_and_refuses_missing_roots(tmp_path):
    os.symlink("gone.mp4", tmp_path / "dangling.mp4")
    [found] = walk([tmp_path])
    assert found.error == ("not_found", "broken symbolic link")
    with pytest.raises(ConfigError, match="cannot audit"):
        list(walk([tmp_path / "nope"]))


# -- identify -----------------------------------------------------------------------------------------


def found(path: Path) -> FoundFile:
    st = path.stat()
    return FoundFile(str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def test_media_is_recognised_by_content_not_name(archive):
    video = identify(found(archive / "clips" / "renamed_video.dat"))
    assert video.container == "mp4/mov" and video.content_sha256 is not None
    assert identify(found(archive / "docs" / "notes.txt")).skip_reason == "not_media"
    # Named like media but not media: still a candidate, so the detector records unsupported_media.
    text = identify(found(archive / "bad" / "text.mp4"))
    assert text.container is None and text.content_sha256 is not None


def test_streaming_hash_equals_whole_file_digest(tmp_path):
    data = os.urandom(2 * CHUNK_BYTES + 12345)
    path = tmp_path / "big.mp4"
    path.write_bytes(data)
    assert identify(found(path)).content_sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "locked.mp4"
    path.write_bytes(b"\x00" * 100)
    path.chmod(0)
    try:
        assert identify(found(path)).error[0] == "permission_denied"
    finally:
        path.chmod(0o644)


# -- ledger: schema ---------------------------------------------------------------------------------


def test_new_ledger_is_wal_and_versioned(tmp_path):
    with Ledger.open(tmp_path / "a.sqlite") as ledger:
        assert ledger.version == len(MIGRATIONS)
        assert ledger.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        ledger.analysis_id(MODEL, "{}")
    with Ledger.open(tmp_path / "a.sqlite") as ledger:  # reopening migrates nothing and keeps the data
        assert ledger.version == len(MIGRATIONS)
        assert ledger.conn.execute("SELECT COUNT(*) FROM analyses").fetchone()[0] == 1


def test_a_transaction_an_interrupt_left_open_is_rolled_back_not_fatal(tmp_path):
    """A second Ctrl-C between ``BEGIN`` and the ``try`` of ``Ledger.transaction`` leaves it open; the run's
    closing write must still work (it failed with "cannot start a transaction within a transaction", exit 1),
    and the cut-short transaction's writes must not land."""
    with Ledger.open(tmp_path / "a.sqlite") as ledger:
        analysis = ledger.analysis_id(MODEL, "{}")
        run_id = ledger.start_run(analysis, argv=("audit",), engine="local", workers=1)
        ledger.conn.execute("BEGIN IMMEDIATE")  # as if interrupted right after BEGIN
        ledger.conn.execute("UPDATE runs SET files_seen = 99 WHERE id = ?", (run_id,))
        ledger.finish_run(run_id, "interrupted", scan_seconds=1.0)
        run = ledger.run(run_id)
        assert run["status"] == "interrupted" and run["files_seen"] != 99
        assert not ledger.conn.in_transaction


def test_migrations_step_forward_and_roll_back_on_failure(tmp_path):
    path = tmp_path / "a.sqlite"
    with Ledger.open(path) as ledger:
        ledger.analysis_id(MODEL, "{}")
    with pytest.raises(LedgerError, match=f"cannot migrate .* to schema version {len(MIGRATIONS) + 1}: table files "
                                          "already exists"):
        Ledger.open(path, migrations=(*MIGRATIONS, "CREATE TABLE extra (a); CREATE TABLE files (a)"))
    with Ledger.open(path) as ledger:  # the failed step left nothing behind
        assert ledger.version == len(MIGRATIONS)
        assert not ledger.conn.execute("SELECT name FROM sqlite_master WHERE name = 'extra'").fetchall()
    with Ledger.open(path, migrations=(*MIGRATIONS, "ALTER TABLE runs ADD COLUMN note TEXT")) as ledger:
        assert ledger.version == len(MIGRATIONS) + 1
        assert ledger.conn.execute("SELECT COUNT(*) FROM analyses").fetchone()[0] == 1
    with pytest.raises(LedgerError, match="schema version"):  # written by a newer version: refused
        Ledger.open(path)


def test_not_a_ledger(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("hello " * 1000)
    with pytest.raises(LedgerError, match="not an audit ledger: not a SQLite database"):
        Ledger.open(path)
    assert path.read_text() == "hello " * 1000
    with pytest.raises(LedgerError, match="no audit ledger"):
        Ledger.open(tmp_path / "missing.sqlite", create=False)
    with pytest.raises(LedgerError, match="is a directory"):
        Ledger.open(tmp_path)
    with pytest.raises(LedgerError, match="no directory"):
        Ledger.open(tmp_path / "missing" / "a.sqlite")


def _app_database(path: Path, *, wal: bool = False, user_version: int = 0) -> Path:
    """Another application's SQLite database, closed cleanly (no -wal or -shm beside it)."""
    con = sqlite3.connect(path)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO users (name) VALUES ('ada')")
    con.execute(f"PRAGMA user_version = {user_version}")
    con.commit()
    con.close()
    return path


def _snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    """Every file in ``directory``: content hash and mtime (a -wal, -shm or .lock appearing shows too)."""
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in directory.iterdir()}


@pytest.mark.parametrize("wal, user_version", [(False, 0), (True, 0), (False, 3)],
                         ids=["rollback-journal", "wal", "same-user-version-as-a-ledger"])
def test_another_applications_database_is_refused_untouched(tmp_path, wal, user_version):
    db = _app_database(tmp_path / "app.db", wal=wal, user_version=user_version)
    before = _snapshot(tmp_path)
    for create in (True, False):
        with pytest.raises(LedgerError, match=r"not an audit ledger: a SQLite database of another application "
                                              r"\(tables: users; user_version"):
            Ledger.open(db, create=create)
    assert _snapshot(tmp_path) == before == {"app.db": before["app.db"]}


def test_empty_files_and_ledgers_cut_short_are_still_opened(tmp_path):
    """A 0-byte file, and a ledger killed before SQLite's first checkpoint (its tables only in the -wal), are
    ledgers to open, not foreign files: both happen when an audit is stopped early."""
    (tmp_path / "empty.sqlite").touch()
    with Ledger.open(tmp_path / "empty.sqlite") as ledger:
        assert ledger.version == len(MIGRATIONS)
    script = ("import os, sys; from pipelines.audit.ledger import Ledger; "
              "Ledger.open(sys.argv[1]).analysis_id(__import__('detector.results').results.ModelInfo('m', '1', 'a' * 64),"
              " '{}'); os._exit(9)")
    killed = tmp_path / "killed.sqlite"
    subprocess.run([sys.executable, "-c", script, str(killed)], cwd=REPO, check=False)
    assert Path(f"{killed}-wal").stat().st_size > 0  # the tables are in the WAL, not yet in the main file
    with Ledger.open(killed, create=False) as ledger:
        assert ledger.conn.execute("SELECT COUNT(*) FROM analyses").fetchone()[0] == 1


def test_one_audit_at_a_time(tmp_path):
    with Ledger.open(tmp_path / "a.sqlite") as one, Ledger.open(tmp_path / "a.sqlite") as two:
        with one.exclusive(), pytest.raises(LedgerError, match="another audit"), two.exclusive():
            pass
        with two.exclusive():  # released
            pass


# -- ledger: results and invariants ------------------------------------------------------------------


def indexed(path: str, content: str | None, *, skip: str | None = None) -> IndexedFile:
    from pipelines.audit.identify import Identity

    return IndexedFile(FoundFile(path, 10, 1, 1), Identity(content_sha256=content, skip_reason=skip))


def result_json(path: str, verdict: str = "real", kind: str | None = None) -> dict:
    """A stored result in the JSON schema version 2 shape (``kind``: a fake's kind of fake)."""
    error = {"code": "corrupt_media", "message": "x"} if verdict == "error" else None
    reason = "error" if error else "above_threshold" if verdict == "fake" else "below_threshold"
    return {"path": path, "media": None if error else "image", "verdict": verdict,
            "fake_probability": None if error else 0.9 if verdict == "fake" else 0.2, "threshold": 0.5,
            "reasons": [reason], "model": MODEL.to_dict(), "tracks": [], "timeline": [], "timings": {}, "error": error,
            "kind": kind, "kind_probability": None if kind is None else 0.7}


def v1_result_json(path: str, verdict: str = "real") -> dict:
    """A result as ledgers stored them before the kind of fake (JSON schema version 1: no kind keys)."""
    return {k: v for k, v in result_json(path, verdict).items() if k not in ("kind", "kind_probability")}


@pytest.fixture
def ledger(tmp_path):
    with Ledger.open(tmp_path / "a.sqlite") as ledger:
        yield ledger


def start(ledger: Ledger) -> tuple[int, int]:
    aid = ledger.analysis_id(MODEL, "{}")
    run = ledger.start_run(aid, argv=[], engine="local", workers=0)
    return run, aid


def test_duplicates_share_one_scan_and_results_count_once(ledger):
    run, aid = start(ledger)
    ledger.record_files([indexed("/a.jpg", "c1"), indexed("/copy.jpg", "c1"), indexed("/b.mp4", "c2"),
                         indexed("/n.txt", None, skip="not_media")], run_id=run, analysis_id=aid)
    items = ledger.pending(run_id=run, analysis_id=aid)
    assert [(i.content_sha256, i.path) for i in items] == [("c1", "/a.jpg"), ("c2", "/b.mp4")]
    ok = Outcome("c1", "/a.jpg", "done", result_json("/a.jpg"))
    assert ledger.record_outcomes([ok], run_id=run, analysis_id=aid, scan_seconds=1.0) == 1
    assert ledger.record_outcomes([ok], run_id=run, analysis_id=aid, scan_seconds=1.0) == 0  # a repeat
    changed = Outcome("c2", "/b.mp4", "changed", None)
    assert ledger.record_outcomes([changed], run_id=run, analysis_id=aid, scan_seconds=1.0) == 0
    assert ledger.run(run)["scanned"] == 1
    statuses = dict(ledger.conn.execute("SELECT path, status FROM file_status"))
    assert statuses == {"/a.jpg": "done", "/copy.jpg": "done", "/b.mp4": "pending", "/n.txt": "skipped"}
    assert ledger.check().ok


def test_requeued_errors_are_accounted_for(ledger):
    run, aid = start(ledger)
    ledger.record_files([indexed("/bad.mp4", "c1")], run_id=run, analysis_id=aid)
    bad = Outcome("c1", "/bad.mp4", "error", result_json("/bad.mp4", "error"))
    ledger.record_outcomes([bad], run_id=run, analysis_id=aid, scan_seconds=1.0)
    run2 = ledger.start_run(aid, argv=[], engine="local", workers=0)
    ledger.record_files([indexed("/bad.mp4", "c1")], run_id=run2, analysis_id=aid)
    assert ledger.requeue_errors(run_id=run2, analysis_id=aid) == 1
    assert [i.path for i in ledger.pending(run_id=run2, analysis_id=aid)] == ["/bad.mp4"]
    ledger.record_outcomes([bad], run_id=run2, analysis_id=aid, scan_seconds=1.0)
    assert ledger.check().ok
    assert ledger.run(run)["status"] == "killed"  # never finished, and a newer run took the lock


def test_check_catches_double_counting_and_tampered_rows(ledger):
    run, aid = start(ledger)
    ledger.record_files([indexed("/a.jpg", "c1")], run_id=run, analysis_id=aid)
    ledger.record_outcomes([Outcome("c1", "/a.jpg", "done", result_json("/a.jpg"))], run_id=run, analysis_id=aid,
                           scan_seconds=1.0)
    ledger.conn.execute("UPDATE runs SET scanned = scanned + 1")
    assert any("counted twice" in p for p in ledger.check().problems)
    ledger.conn.execute("UPDATE runs SET scanned = scanned - 1")
    ledger.conn.execute("UPDATE scans SET verdict = 'fake'")
    assert any("disagree" in p for p in ledger.check().problems)


def test_known_files_keep_their_hash_until_they_change(ledger):
    run, aid = start(ledger)
    ledger.record_files([indexed("/a.jpg", "c1")], run_id=run, analysis_id=aid)
    known = ledger.known("/a.jpg")
    assert (known.size, known.mtime_ns, known.inode, known.identity.content_sha256) == (10, 1, 1, "c1")
    assert ledger.known("/other.jpg") is None
    ledger.record_files([indexed("/a.jpg", "c2")], run_id=run, analysis_id=aid)  # new content, same path
    assert [i.content_sha256 for i in ledger.pending(run_id=run, analysis_id=aid)] == ["c2"]
    assert json.loads(json.dumps(ledger.check().to_dict()))["ok"]


def test_work_item_fields_match_the_pending_query(ledger):
    run, aid = start(ledger)
    ledger.record_files([indexed("/a.jpg", "c1")], run_id=run, analysis_id=aid)
    assert ledger.pending(run_id=run, analysis_id=aid) == [WorkItem("c1", "/a.jpg", 10, 1)]


def test_progress_line_shows_rate_and_eta():
    import io

    from pipelines.audit.progress import AuditProgress

    out = io.StringIO()
    bar = AuditProgress(10, stream=out, enabled=True)
    bar.update(done=10, errors=1)  # the last update is always drawn
    bar.close()
    line = out.getvalue()
    assert line.startswith("\r[########################] 10/10") and "files/s" in line and "eta 00:00" in line
    assert line.rstrip().endswith("errors 1")
    quiet = io.StringIO()
    AuditProgress(10, stream=quiet).update(done=1)  # not a terminal: nothing drawn
    assert quiet.getvalue() == ""


# -- ledger: version 2, the kind of fake -------------------------------------------------------------


def test_an_old_ledger_gains_the_kind_column_and_keeps_its_results(tmp_path):
    """A ledger written before the kind of fake (version 1, results without ``kind``) opens migrated: the column is
    added (null for its results), its checks pass, and new results fill it."""
    path = tmp_path / "old.sqlite"
    with Ledger.open(path, migrations=MIGRATIONS[:1]) as old:
        assert old.version == 1
        run, aid = start(old)
        old.record_files([indexed("/a.jpg", "c1"), indexed("/b.jpg", "c2"), indexed("/c.jpg", "c3")], run_id=run,
                         analysis_id=aid)
        # Stored as version 1 stored them (its record_outcomes had no kind column).
        for content, p, verdict in (("c1", "/a.jpg", "fake"), ("c2", "/b.jpg", "error")):
            old.conn.execute("UPDATE scans SET status = ?, path = ?, verdict = ?, error_code = ?, result = ? "
                             "WHERE content_sha256 = ?", ("error" if verdict == "error" else "done", p, verdict,
                                                          "corrupt_media" if verdict == "error" else None,
                                                          json.dumps(v1_result_json(p, verdict)), content))
        old.conn.execute("UPDATE runs SET scanned = 2")
        assert "kind" not in {r[1] for r in old.conn.execute("PRAGMA table_info(scans)")}
    with Ledger.open(path) as ledger:
        assert ledger.version == len(MIGRATIONS) == 3
        assert "kind" in {r[1] for r in ledger.conn.execute("PRAGMA table_info(scans)")}
        assert dict(ledger.conn.execute("SELECT path, kind FROM file_status")) == {"/a.jpg": None, "/b.jpg": None,
                                                                                   "/c.jpg": None}
        assert ledger.check().ok
        stored = json.loads(ledger.conn.execute("SELECT result FROM scans WHERE content_sha256 = 'c1'").fetchone()[0])
        assert stored == v1_result_json("/a.jpg", "fake")  # the stored JSON is kept as written
        run, aid = start(ledger)
        ledger.record_outcomes([Outcome("c3", "/c.jpg", "done", result_json("/c.jpg", "fake", kind="swap"))],
                               run_id=run, analysis_id=aid, scan_seconds=1.0)
        assert dict(ledger.conn.execute("SELECT path, kind FROM file_status"))["/c.jpg"] == "swap"
        assert ledger.check().ok


def test_the_kind_column_is_backfilled_from_stored_results_and_checked(ledger):
    run, aid = start(ledger)
    ledger.record_files([indexed("/a.jpg", "c1")], run_id=run, analysis_id=aid)
    ledger.record_outcomes([Outcome("c1", "/a.jpg", "done", result_json("/a.jpg", "fake", kind="synthetic"))],
                           run_id=run, analysis_id=aid, scan_seconds=1.0)
    # Version 2's step reads a kind a result already holds (a ledger that a newer library wrote into before).
    ledger.conn.execute("UPDATE scans SET kind = NULL")
    assert any("disagree" in p for p in ledger.check().problems)  # the row must say what its JSON says
    ledger.conn.execute(BACKFILL_KIND)  # version 2's backfill, alone
    assert ledger.conn.execute("SELECT kind FROM scans").fetchone()[0] == "synthetic" and ledger.check().ok
    assert Outcome("c1", "/a.jpg", "done", v1_result_json("/a.jpg")).kind is None
    ledger.requeue_errors(run_id=run, analysis_id=aid)  # only errors: the kind stays
    assert ledger.conn.execute("SELECT kind FROM scans").fetchone()[0] == "synthetic"


# -- ledger: version 3, the provenance state ---------------------------------------------------------------


def v3_result_json(path: str, verdict: str = "real", provenance: str | None = "none") -> dict:
    """A stored result in the JSON schema version 3 shape (``provenance``: its state; ``None``: no block, as for a
    path that could not be read)."""
    block = None if provenance is None else {
        "state": provenance, "declared_by": "generator" if provenance == "generator_metadata" else None,
        "generator": None, "digital_source_type": None, "manifest": None, "evidence": [], "problems": []}
    result = result_json(path, verdict)
    if provenance == "generator_metadata":
        result["reasons"] = ["generator_metadata", *result["reasons"]]
    return {**result, "provenance": block}


def test_an_old_ledger_gains_the_provenance_column_backfilled_from_its_results(tmp_path):
    """A version 2 ledger (the kind column, no provenance column) holding results of media_result schema v3 (written
    between the two), of schema v2 (no provenance key) and a failed path (a null block) opens migrated: the column is
    filled from each stored result's ``provenance.state``, null where there is none, its checks pass and new results
    fill it."""
    path = tmp_path / "old.sqlite"
    with Ledger.open(path, migrations=MIGRATIONS[:2]) as old:
        assert old.version == 2
        run, aid = start(old)
        old.record_files([indexed(f"/{n}.png", f"c{n}") for n in range(5)], run_id=run, analysis_id=aid)
        stored = {"c0": v3_result_json("/0.png", "fake", "generator_metadata"), "c1": v3_result_json("/1.png"),
                  "c2": result_json("/2.png"), "c3": v3_result_json("/3.png", "error", None)}
        for content, result in stored.items():  # as version 2 stored them (its record_outcomes had no such column)
            old.conn.execute("UPDATE scans SET status = ?, path = ?, verdict = ?, error_code = ?, result = ? "
                             "WHERE content_sha256 = ?", ("error" if result["error"] else "done", result["path"],
                                                          result["verdict"], (result["error"] or {}).get("code"),
                                                          json.dumps(result), content))
        old.conn.execute("UPDATE runs SET scanned = 4")
        assert "provenance" not in {r[1] for r in old.conn.execute("PRAGMA table_info(scans)")}
    with Ledger.open(path) as ledger:
        assert ledger.version == len(MIGRATIONS) == 3
        assert dict(ledger.conn.execute("SELECT path, provenance FROM file_status")) == {
            "/0.png": "generator_metadata", "/1.png": "none", "/2.png": None, "/3.png": None, "/4.png": None}
        assert ledger.check().ok
        assert ledger.conn.execute("EXPLAIN QUERY PLAN SELECT * FROM scans WHERE analysis_id = 1 AND provenance = "
                                   "'declared_synthetic'").fetchall()[0][3].endswith("(analysis_id=? AND provenance=?)")
        run, aid = start(ledger)
        ledger.record_outcomes([Outcome("c4", "/4.png", "done", v3_result_json("/4.png", provenance="signed_capture"))],
                               run_id=run, analysis_id=aid, scan_seconds=1.0)
        assert dict(ledger.conn.execute("SELECT path, provenance FROM file_status"))["/4.png"] == "signed_capture"
        assert ledger.check().ok


def test_the_provenance_column_is_checked_and_cleared_with_a_requeued_error(ledger):
    run, aid = start(ledger)
    ledger.record_files([indexed("/a.png", "c1"), indexed("/b.png", "c2")], run_id=run, analysis_id=aid)
    ledger.record_outcomes([Outcome("c1", "/a.png", "done", v3_result_json("/a.png", "fake", "generator_metadata")),
                            Outcome("c2", "/b.png", "error", v3_result_json("/b.png", "error", "unreadable"))],
                           run_id=run, analysis_id=aid, scan_seconds=1.0)
    assert ledger.check().ok
    ledger.conn.execute("UPDATE scans SET provenance = NULL")
    assert any("disagree" in p for p in ledger.check().problems)  # the row must say what its JSON says
    ledger.conn.execute(BACKFILL_PROVENANCE)  # version 3's backfill, alone
    assert dict(ledger.conn.execute("SELECT path, provenance FROM scans")) == {"/a.png": "generator_metadata",
                                                                               "/b.png": "unreadable"}
    assert ledger.check().ok
    assert Outcome("c1", "/a.png", "done", result_json("/a.png")).provenance is None  # schema v2: none read
    run2 = ledger.start_run(aid, argv=[], engine="local", workers=0)
    ledger.record_files([indexed("/a.png", "c1"), indexed("/b.png", "c2")], run_id=run2, analysis_id=aid)
    assert ledger.requeue_errors(run_id=run2, analysis_id=aid) == 1  # the error's state goes with its result
    assert dict(ledger.conn.execute("SELECT path, provenance FROM file_status")) == {"/a.png": "generator_metadata",
                                                                                     "/b.png": None}
