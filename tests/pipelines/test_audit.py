"""``deepfake audit`` end to end on a tiny archive, in this process (``--workers 0``) unless the pool is the point."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest

from detector.classifier import DEFAULT_MODEL
from detector.recipe import ScanConfig
from pipelines.audit.cli import EXIT_INPUT_ERRORS, EXIT_OK, EXIT_SETUP, EXIT_USAGE, main
from pipelines.audit.ledger import Ledger
from pipelines.audit.work import FileScanner, ScannerSpec, WorkItem

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "detector" / "schemas" /
                     "media_result.schema.json").read_text())
FAST = ["--frames", "2", "--workers", "0", "--no-progress"]
EXPECTED_ERRORS = {"bad/empty.mp4": "empty_file", "bad/text.mp4": "unsupported_media",
                   "bad/truncated.mp4": "corrupt_media"}


def audit(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


def statuses(db: Path, root: Path, *, model_prefix: str = "") -> dict[str, tuple]:
    """Per-file (status, verdict, error code, content) for the latest run's analysis, straight from SQL."""
    con = sqlite3.connect(db)
    try:
        (run, aid) = con.execute("SELECT r.id, r.analysis_id FROM runs r JOIN analyses a ON a.id = r.analysis_id "
                                 "WHERE a.model_sha256 LIKE ? ORDER BY r.id DESC LIMIT 1",
                                 (model_prefix + "%",)).fetchone()
        rows = con.execute("SELECT path, status, verdict, error_code, content_sha256 FROM file_status "
                           "WHERE analysis_id = ? AND last_seen_run >= ?", (aid, run)).fetchall()
    finally:
        con.close()
    return {os.path.relpath(p, root): tuple(rest) for p, *rest in rows}


def last_run(db: Path) -> dict:
    with Ledger.open(db) as ledger:
        (run,) = ledger.conn.execute("SELECT MAX(id) FROM runs").fetchone()
        return ledger.run(run)


def test_every_file_recorded_once_each_content_scanned_once(archive, archive_files, tmp_path):
    db = tmp_path / "audit.sqlite"
    code, out = audit(str(archive), "--db", str(db), *FAST)
    assert code == EXIT_INPUT_ERRORS  # three bad files; the rest still ran
    assert "10 files (6 done, 3 error, 1 skipped, 0 pending)" in out
    got = statuses(db, archive)
    assert sorted(got) == sorted(archive_files)
    for rel, (status, verdict, code, content) in got.items():
        if rel in EXPECTED_ERRORS:
            assert (status, verdict, code) == ("error", "error", EXPECTED_ERRORS[rel])
        elif rel == "docs/notes.txt":
            assert (status, verdict, content) == ("skipped", None, None)
        else:
            assert status == "done" and verdict in ("fake", "real", "uncertain", "no_face")
    # Files with equal bytes share a content hash; unequal ones do not.
    by_label: dict[str, set] = {}
    for rel, label in archive_files.items():
        by_label.setdefault(label, set()).add(got[rel][3])
    assert all(len(c) == 1 for c in by_label.values())
    media_contents = {got[r][3] for r in archive_files if r != "docs/notes.txt"}
    assert len(media_contents) == 7 and last_run(db)["scanned"] == 7  # talk.mp4 and its copy: one scan
    con = sqlite3.connect(db)
    for (result,) in con.execute("SELECT result FROM scans"):
        jsonschema.validate(json.loads(result), SCHEMA)
    con.close()
    with Ledger.open(db) as ledger:
        assert ledger.check().ok


def test_second_run_does_no_work(archive, tmp_path):
    db = tmp_path / "audit.sqlite"
    audit(str(archive), "--db", str(db), *FAST)
    before = sqlite3.connect(db).execute("SELECT content_sha256, finished_at, result FROM scans").fetchall()
    code, out = audit(str(archive), "--db", str(db), *FAST)
    assert code == EXIT_INPUT_ERRORS and "nothing new to scan" in out and "(0 hashed)" in out
    run = last_run(db)
    assert (run["scanned"], run["status"], run["files_seen"]) == (0, "finished", 10)
    assert sqlite3.connect(db).execute("SELECT content_sha256, finished_at, result FROM scans").fetchall() == before


def test_renamed_and_new_files(archive, astronaut, tmp_path):
    db = tmp_path / "audit.sqlite"
    audit(str(archive), "--db", str(db), *FAST)
    (archive / "moved").mkdir()
    os.rename(archive / "clips" / "talk.mp4", archive / "moved" / "renamed.mov")
    cv2.imwrite(str(archive / "images" / "new.png"), cv2.cvtColor(astronaut[::2, ::2], cv2.COLOR_RGB2BGR))
    code, out = audit(str(archive), "--db", str(db), *FAST)
    assert last_run(db)["scanned"] == 1  # only the new image: the renamed clip's content is known
    got = statuses(db, archive)
    assert got["moved/renamed.mov"][0] == "done" and got["images/new.png"][0] == "done"
    assert "clips/talk.mp4" not in got  # the report scope is what the latest walk saw
    code, out = audit("report", "--db", str(db), "--format", "jsonl", "--all")
    assert code == EXIT_OK
    paths = [json.loads(line)["path"] for line in out.splitlines()[1:]]
    assert str(archive / "clips" / "talk.mp4") in paths  # still in the ledger


def second_model(tmp_path: Path) -> Path:
    """The bundled model with a doc string appended: same weights, new sha256, so a new model to the ledger.

    ONNX files are protobuf ``ModelProto`` messages, and appending a field to a message is valid protobuf:
    field 6 is ``doc_string`` (tag 0x32 = field 6, length-delimited).
    """
    onnx = tmp_path / "model-b.onnx"
    onnx.write_bytes(DEFAULT_MODEL.read_bytes() + b"\x32\x06test-b")
    card = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    card.update(version=card["version"] + "-b", sha256=hashlib.sha256(onnx.read_bytes()).hexdigest())
    onnx.with_suffix(".json").write_text(json.dumps(card))
    return onnx


def test_new_model_or_settings_rescan_only_what_they_must(archive, astronaut, tmp_path):
    db = tmp_path / "audit.sqlite"
    audit(str(archive), "--db", str(db), *FAST)
    model_b = second_model(tmp_path)
    audit(str(archive), "--db", str(db), *FAST, "--model", str(model_b))
    assert last_run(db)["scanned"] == 7  # a new model has no results yet
    cv2.imwrite(str(archive / "images" / "new.jpg"), cv2.cvtColor(astronaut[50:450, 50:450], cv2.COLOR_RGB2BGR))
    audit(str(archive), "--db", str(db), *FAST)  # back to the default model: only the new file
    assert last_run(db)["scanned"] == 1
    audit(str(archive), "--db", str(db), *FAST, "--model", str(model_b))
    assert last_run(db)["scanned"] == 1
    # Same weights and settings, so the same verdicts: the model identity, not the result, decided what was
    # re-scanned.
    sha_b = json.loads(model_b.with_suffix(".json").read_text())["sha256"]
    sha_default = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())["sha256"]
    assert sha_default != sha_b
    assert statuses(db, archive, model_prefix=sha_b) == statuses(db, archive, model_prefix=sha_default)
    audit(str(archive), "--db", str(db), "--frames", "3", "--workers", "0")  # other settings: another analysis
    assert last_run(db)["scanned"] == 8
    code, out = audit("report", "--db", str(db), "--model", sha_b[:10])
    assert code == EXIT_OK
    summary = json.loads(out.splitlines()[0])
    assert summary["analysis"]["model"]["sha256"] == sha_b and summary["analysis"]["settings"]["frames"] == 2


def test_a_card_re_released_over_the_same_graph_is_a_new_analysis(archive, tmp_path):
    """v1.2.4 is v1.2.3's graph (same sha256) with persons combined by their odds: results stored under the old
    card are not the new card's, so an audit scans again; the same card again scans nothing."""
    db = tmp_path / "audit.sqlite"
    old = tmp_path / "old.onnx"
    old.write_bytes(DEFAULT_MODEL.read_bytes())
    card = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    bundled_version, card["version"] = card["version"], "1.2.3-like"
    card["scan"]["verdict"]["combine_persons"] = "max"
    old.with_suffix(".json").write_text(json.dumps(card))
    audit(str(archive), "--db", str(db), *FAST, "--model", str(old))
    assert last_run(db)["scanned"] == 7
    audit(str(archive), "--db", str(db), *FAST)  # the bundled card: same sha256, other scan recipe
    assert last_run(db)["scanned"] == 7
    audit(str(archive), "--db", str(db), *FAST)
    assert last_run(db)["scanned"] == 0
    with Ledger.open(db) as ledger:
        versions = [v for (v,) in ledger.conn.execute("SELECT model_version FROM analyses ORDER BY id")]
    assert versions == ["1.2.3-like", bundled_version]


def test_limit_since_and_rescan_errors(archive, tmp_path):
    db = tmp_path / "audit.sqlite"
    code, out = audit(str(archive), "--db", str(db), *FAST, "--limit", "2")
    assert last_run(db)["scanned"] == 2 and "7 pending" in out  # 5 contents, 7 files
    audit(str(archive), "--db", str(db), *FAST)
    assert last_run(db)["scanned"] == 5
    for dirpath, _, names in os.walk(archive):
        for name in names:
            os.utime(os.path.join(dirpath, name), ns=(1_600_000_000 * 10**9,) * 2, follow_symlinks=False)
    os.utime(archive / "bad" / "text.mp4", ns=(1_700_000_000 * 10**9,) * 2)
    code, out = audit(str(archive), "--db", str(db), *FAST, "--since", "2022-01-01", "--rescan-errors")
    assert code == EXIT_INPUT_ERRORS and out.startswith(f"run {last_run(db)['id']}: 1 files")
    run = last_run(db)
    assert (run["files_seen"], run["requeued"], run["scanned"]) == (1, 1, 1)  # only that file's error again
    got = statuses(db, archive)
    assert list(got) == ["bad/text.mp4"] and got["bad/text.mp4"][:3] == ("error", "error", "unsupported_media")
    with Ledger.open(db) as ledger:
        assert ledger.check().ok  # the re-scan is counted as new work, not as a double count


def test_reports_match_the_ledger(archive, tmp_path):
    db = tmp_path / "audit.sqlite"
    audit(str(archive), "--db", str(db), *FAST)
    got = statuses(db, archive)
    outputs = {}
    for fmt in ("csv", "jsonl", "html"):
        code, _ = audit("report", "--db", str(db), "--format", fmt, "--out", str(tmp_path / f"r.{fmt}"))
        assert code == EXIT_OK
        outputs[fmt] = (tmp_path / f"r.{fmt}").read_text()
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    assert {os.path.relpath(r["path"], archive): (r["status"], r["verdict"] or None, r["error_code"] or None)
            for r in rows} == {k: v[:3] for k, v in got.items()}
    lines = [json.loads(line) for line in outputs["jsonl"].splitlines()]
    summary, files = lines[0], lines[1:]
    assert summary["type"] == "summary" and summary["files"] == len(files) == len(got)
    assert summary["by_status"] == {"done": 6, "error": 3, "skipped": 1}
    assert summary["errors_by_code"] == {"corrupt_media": 1, "empty_file": 1, "unsupported_media": 1}
    assert summary["unique_contents"] == 7 and summary["duplicates"] == 2
    assert summary["throughput"]["scanned"] == 7 and summary["integrity"]["ok"]
    for f in files:
        if f["result"] is not None:
            jsonschema.validate(f["result"], SCHEMA)
            assert f["result"]["path"] == f["path"]  # duplicates get their own path, not the scanned one
    scored = sorted((f for f in files if f["fake_probability"] is not None and f["duplicate_of"] is None),
                    key=lambda f: -f["fake_probability"])
    assert [t["path"] for t in summary["top_suspicious"]] == [f["path"] for f in scored]
    page = outputs["html"]
    assert page.count("data:image/jpeg;base64,") == len(scored)  # every scored file here shows a face
    import base64
    import re

    first = re.search(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", page).group(1)
    thumb = cv2.imdecode(np.frombuffer(base64.b64decode(first), np.uint8), cv2.IMREAD_COLOR)
    assert thumb.shape == (96, 96, 3)
    assert "unsupported_media" in page and "<script" not in page


def test_report_escapes_file_names(tmp_path, archive):
    shutil.copy(archive / "images" / "camera.png", archive / "images" / "<i>x&y.png")
    db = tmp_path / "audit.sqlite"
    audit(str(archive), "--db", str(db), *FAST, "--include", "images/*")
    code, page = audit("report", "--db", str(db), "--format", "html")
    assert code == EXIT_OK
    assert "<i>x" not in page and "&lt;i&gt;x&amp;y.png" in page


def test_worker_pool_matches_inline_scans(archive, tmp_path):
    inline, pool = tmp_path / "inline.sqlite", tmp_path / "pool.sqlite"
    audit(str(archive), "--db", str(inline), *FAST)
    code, out = audit(str(archive), "--db", str(pool), "--frames", "2", "--workers", "2", "--no-progress")
    assert code == EXIT_INPUT_ERRORS and "scanned 7" in out
    query = "SELECT content_sha256, status, verdict, fake_probability, error_code FROM scans ORDER BY 1"
    assert sqlite3.connect(pool).execute(query).fetchall() == sqlite3.connect(inline).execute(query).fetchall()
    assert last_run(pool)["workers"] == 2


def test_a_file_changed_while_scanned_is_not_stored(tmp_path, archive):
    path = archive / "images" / "camera.png"
    st = path.stat()
    scanner = FileScanner.load(ScannerSpec(settings=ScanConfig(frames=2)))
    assert scanner.scan(WorkItem("x", str(path), st.st_size, st.st_mtime_ns)).status == "done"
    assert scanner.scan(WorkItem("x", str(path), st.st_size, st.st_mtime_ns - 1)).status == "changed"


def test_registered_in_the_deepfake_command(archive, tmp_path):
    from pipelines.cli import main as deepfake

    assert deepfake(["audit", "--help"]) == 0
    assert deepfake(["audit", str(archive), "--db", str(tmp_path / "a.sqlite"), *FAST]) == EXIT_INPUT_ERRORS
    assert deepfake(["audit", "check", "--db", str(tmp_path / "a.sqlite")]) == EXIT_OK


@pytest.mark.parametrize("argv", [["x", "--db", "a.sqlite", "--frames", "0"], ["x"], ["x", "--db", "a", "--limit", "0"],
                                  ["x", "--db", "a", "--address", "auto"], ["x", "--db", "a", "--since", "yesterday"],
                                  ["x", "--db", "a", "--max-novelty", "off!"],
                                  ["report", "--db", "a", "--format", "pdf"], ["nowhere", "--db", "a.sqlite"]])
def test_usage_errors_exit_2(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert audit(*argv)[0] == EXIT_USAGE


def test_setup_errors_exit_4(archive, tmp_path):
    assert audit("report", "--db", str(tmp_path / "missing.sqlite"))[0] == EXIT_SETUP
    db = tmp_path / "a.sqlite"
    with Ledger.open(db) as other, other.exclusive():  # another audit holds the ledger
        assert audit(str(archive), "--db", str(db), *FAST)[0] == EXIT_SETUP
    assert audit(str(archive), "--db", str(db), *FAST, "--model", str(tmp_path / "none.onnx"))[0] == EXIT_SETUP


def test_a_db_that_is_not_a_ledger_is_a_setup_error_and_left_untouched(archive, tmp_path, caplog):
    """``--db`` naming another application's database or a directory: exit 4 with ``ledger_error`` and a sentence,
    no traceback, and nothing written (no tables added, no -wal, -shm or .lock beside it)."""
    app = tmp_path / "app" / "app.db"
    app.parent.mkdir()
    con = sqlite3.connect(app)
    con.execute("CREATE TABLE users (name TEXT)")
    con.commit()
    con.close()
    before = app.read_bytes()
    for argv in ([str(archive), "--db", str(app), *FAST], ["report", "--db", str(app)], ["check", "--db", str(app)]):
        caplog.clear()
        assert audit(*argv)[0] == EXIT_SETUP
        assert "ledger_error: " in caplog.text and "not an audit ledger" in caplog.text
    assert app.read_bytes() == before and [p.name for p in app.parent.iterdir()] == ["app.db"]
    caplog.clear()
    assert audit(str(archive), "--db", str(tmp_path), *FAST)[0] == EXIT_SETUP
    assert f"ledger_error: {tmp_path} is a directory" in caplog.text and "Traceback" not in caplog.text


def test_a_dead_worker_costs_only_its_file(archive):
    """SIGKILL one pool worker mid-run: its file is ``worker_crashed`` (if it had started one), the rest finish."""
    import multiprocessing
    import signal

    from pipelines.audit.local import LocalEngine

    items = []
    for rel in ("clips/talk.mp4", "clips/renamed_video.dat", "images/astronaut.jpg", "images/camera.png",
                "bad/truncated.mp4", "bad/text.mp4", "bad/empty.mp4"):
        st = (archive / rel).stat()
        items.append(WorkItem(rel, str(archive / rel), st.st_size, st.st_mtime_ns))
    got = []

    def record(outcomes):
        if not got:  # after the first result: kill a worker, most likely in the middle of its next file
            os.kill(multiprocessing.active_children()[0].pid, signal.SIGKILL)
        got.extend(outcomes)

    LocalEngine(ScannerSpec(settings=ScanConfig(frames=2)), workers=2).run(items, on_outcomes=record,
                                                                              should_stop=lambda: False)
    assert sorted(o.content_sha256 for o in got) == sorted(i.content_sha256 for i in items)  # each exactly once
    crashed = [o for o in got if o.error_code == "worker_crashed"]
    assert len(crashed) <= 1
    for o in got:
        if o not in crashed:
            assert o.error_code == EXPECTED_ERRORS.get(o.content_sha256), o.content_sha256
    assert not multiprocessing.active_children()  # the replacement worker was shut down too


def test_leaving_frames_to_the_card_is_the_same_analysis_as_naming_them(tiny_model):
    from pipelines.audit.work import ScannerSpec, card_key, resolved

    spec = ScannerSpec(model=str(tiny_model))
    frames = spec.card().scan.sampling.frames
    # Ledgers keyed when the default was written into the audit (frames=32) keep their results.
    assert spec.settings_key() == ScannerSpec(model=str(tiny_model), settings=ScanConfig(frames=frames)).settings_key()
    assert spec.settings_key() != ScannerSpec(model=str(tiny_model), settings=ScanConfig(frames=frames + 1)
                                              ).settings_key()
    assert resolved(ScanConfig(fps=2.0), spec.card()) == ScanConfig(fps=2.0)
    # The key's spelling is the ledger's (the same string as ledgers written before the override type was shared),
    # with the card's own part beside it.
    card = card_key(spec.card())
    assert spec.settings_key() == json.dumps({"card": card, "fps": None, "frames": frames, "threshold": None})
    assert json.loads(ScannerSpec(settings=ScanConfig(frames=4, min_faces=2)).settings_key()) == {
        "fps": None, "frames": 4, "threshold": None, "min_faces": 2, "card": card_key(ScannerSpec().card())}


def test_the_kind_of_fake_is_a_ledger_column_the_report_counts_and_filters_by(archive, tmp_path, tiny_model_builder):
    """A model with a kind head (every face fake, leaning to synthetic): each scored file's kind is in the ledger's
    column and its JSON, the reports carry it, and ``report --kind`` keeps only the files of that kind."""
    model = tiny_model_builder(tmp_path / "kinded", bias=6.0, kinds=True, kind_bias=(0.0, 0.0, 9.0))
    db = tmp_path / "audit.sqlite"
    audit(str(archive), "--db", str(db), *FAST, "--model", str(model))
    with Ledger.open(db) as ledger:
        rows = ledger.conn.execute("SELECT verdict, kind, result FROM scans WHERE status = 'done'").fetchall()
        assert ledger.check().ok
    assert rows and all(json.loads(result)["kind"] == kind for _, kind, result in rows)
    assert {kind for verdict, kind, _ in rows if verdict in ("fake", "uncertain")} == {"synthetic"}
    assert all(kind is None for verdict, kind, _ in rows if verdict not in ("fake", "uncertain"))
    named = {os.path.relpath(p, archive) for p, in sqlite3.connect(db).execute(
        "SELECT path FROM file_status WHERE kind = 'synthetic'")}
    assert named  # the clips and photos were called fake (or uncertain) with a kind

    code, out = audit("report", "--db", str(db), "--kind", "synthetic")
    assert code == EXIT_OK
    summary, *files = (json.loads(line) for line in out.splitlines())
    assert summary["filter"] == {"kind": "synthetic", "provenance": None}
    assert summary["by_kind"] == {"synthetic": len(named)}
    assert {os.path.relpath(f["path"], archive) for f in files} == named
    assert all(f["kind"] == "synthetic" and f["result"]["kind"] == "synthetic" for f in files)
    assert all(t["kind"] == "synthetic" for t in summary["top_suspicious"])
    code, out = audit("report", "--db", str(db), "--kind", "swap")
    assert code == EXIT_OK and json.loads(out.splitlines()[0])["files"] == 0 and len(out.splitlines()) == 1
    assert audit("report", "--db", str(db), "--kind", "morph")[0] == EXIT_USAGE

    code, out = audit("report", "--db", str(db), "--format", "csv")
    assert code == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {os.path.relpath(r["path"], archive) for r in rows if r["kind"] == "synthetic"} == named
    code, page = audit("report", "--db", str(db), "--format", "html", "--kind", "synthetic")
    assert code == EXIT_OK and "only files of the kind <b>synthetic</b>" in page and "by kind of fake" in page
    assert re.search(r'<span class="kind"[^>]*>synthetic · \d\.\d\d</span>', page)


def test_reports_of_a_model_without_kinds_name_none(archive, tmp_path, tiny_model_builder):
    """A model without a kind head (v1.2.3 and older; every face fake here): no file is given a kind."""
    model = tiny_model_builder(tmp_path / "plain", bias=6.0)
    db = tmp_path / "audit.sqlite"
    audit(str(archive), "--db", str(db), *FAST, "--model", str(model))
    code, out = audit("report", "--db", str(db))
    summary, *files = (json.loads(line) for line in out.splitlines())
    assert summary["by_kind"] == {} and summary["filter"] == {"kind": None, "provenance": None}
    assert all(f["kind"] is None for f in files)
    code, page = audit("report", "--db", str(db), "--format", "html")
    assert code == EXIT_OK and "by kind of fake" not in page and 'class="kind"' not in page


def test_the_provenance_state_is_a_ledger_column_the_report_counts_and_filters_by(archive, tmp_path):
    """A generated image (AUTOMATIC1111's parameters, a hostile sampler name) among the archive: each scanned file's
    provenance state is in the ledger's column and its JSON, a truncated one keeps what it declared, ``report
    --provenance`` keeps only the files in that state, and the html lists the declared file though it has no face."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a wall\nSteps: 20, Sampler: <b>Euler</b>, CFG scale: 7")
    Image.fromarray(np.full((96, 96, 3), 200, np.uint8)).save(archive / "images" / "generated.png", pnginfo=info)
    data = (archive / "images" / "generated.png").read_bytes()
    (archive / "bad" / "cut_generated.png").write_bytes(data[:len(data) // 2])  # text chunks first: still readable
    db = tmp_path / "audit.sqlite"
    audit(str(archive), "--db", str(db), *FAST)
    with Ledger.open(db) as ledger:
        rows = ledger.conn.execute("SELECT provenance, result FROM scans WHERE status != 'pending'").fetchall()
        assert ledger.check().ok
    assert all((json.loads(result)["provenance"] or {}).get("state") == state for state, result in rows)
    states = {os.path.relpath(p, archive): (status, state) for p, status, state in sqlite3.connect(db).execute(
        "SELECT path, status, provenance FROM file_status")}
    assert states["images/generated.png"] == ("done", "generator_metadata")
    assert states["bad/cut_generated.png"] == ("error", "generator_metadata")  # the pixels failed, not the text
    assert states["images/astronaut.jpg"][1] == states["clips/talk.mp4"][1] == "none"
    assert states["bad/empty.mp4"] == ("error", None) and states["docs/notes.txt"] == ("skipped", None)  # nothing read

    code, out = audit("report", "--db", str(db), "--provenance", "generator_metadata")
    assert code == EXIT_OK
    summary, *files = (json.loads(line) for line in out.splitlines())
    assert summary["filter"] == {"kind": None, "provenance": "generator_metadata"}
    assert summary["by_provenance"] == {"generator_metadata": 2}
    assert sorted(os.path.relpath(f["path"], archive) for f in files) == ["bad/cut_generated.png",
                                                                          "images/generated.png"]
    generated = next(f for f in files if f["status"] == "done")
    assert (generated["verdict"], generated["fake_probability"]) == ("fake", None)  # declared; no face to score
    assert generated["result"]["reasons"][0] == "generator_metadata" and generated["provenance"] == "generator_metadata"
    code, out = audit("report", "--db", str(db))
    counts = json.loads(out.splitlines()[0])["by_provenance"]
    assert counts["generator_metadata"] == 2 and counts["none"] >= 5 and set(counts) <= {"generator_metadata", "none",
                                                                                      "unreadable"}
    assert audit("report", "--db", str(db), "--provenance", "forged")[0] == EXIT_USAGE

    code, out = audit("report", "--db", str(db), "--format", "csv")
    rows = {os.path.relpath(r["path"], archive): r for r in csv.DictReader(io.StringIO(out))}
    assert rows["images/generated.png"]["provenance"] == "generator_metadata" and rows["bad/empty.mp4"]["provenance"] == ""
    code, page = audit("report", "--db", str(db), "--format", "html", "--provenance", "generator_metadata")
    assert code == EXIT_OK and "only files whose provenance is <b>generator_metadata</b>" in page
    assert "Files by provenance" in page and "Files that declare generative AI" in page
    declared = page.split("Files that declare generative AI")[1].split("</table>")[0]
    assert "AUTOMATIC1111" in declared and "images/generated.png" in declared and "cut_generated.png" in declared
    assert "<b>Euler</b>" not in page  # file-controlled text never reaches the page as markup
