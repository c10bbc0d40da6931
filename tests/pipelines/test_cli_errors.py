"""The error contract: every input named yields exactly one record, and every error code that can reach a
record is one of the stable codes in the README's table; the audit's codes are in that table too, and the HTTP
service's in its status table (pipelines/README.md)."""

from __future__ import annotations

import ast
import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from detector import errors
from pipelines.cli import EXIT_INPUT_ERRORS, main

REPO = Path(__file__).resolve().parents[2]


def readme_codes() -> set[str]:
    """Codes in the first column of the README's error-code table."""
    text = (REPO / "README.md").read_text()
    table = text[text.index("### Error codes"):].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {code for row in rows for code in re.findall(r"`([a-z_]+)`", row.split("|")[1])}


def _error_classes() -> dict[str, str]:
    """Every DetectorError subclass, by class name -> code: those of detector.errors and those the audit defines
    (its ledger, local and Ray engines: imported here, so that each is a subclass this finds)."""
    import pipelines.audit.ledger_file
    import pipelines.audit.local
    import pipelines.audit.ray_engine  # noqa: F401  (ray itself is imported only when the engine runs)

    found, todo = {}, [errors.DetectorError]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls.code
        todo += cls.__subclasses__()
    return found


def service_table_codes() -> dict[str, set[str]]:
    """Codes in the second column of the service's status table (pipelines/README.md), each with its statuses."""
    text = (REPO / "pipelines" / "README.md").read_text()
    table = text[text.index("| status | `error.code` | meaning |"):].split("\n\n", 1)[0]
    codes: dict[str, set[str]] = {}
    for row in table.splitlines()[2:]:
        status, code_cell = (cell.strip() for cell in row.split("|")[1:3])
        if "README's error table" in code_cell:  # the 422 row: the media codes, checked against README.md
            continue
        for code in re.findall(r"`([a-z_]+)`", code_cell):
            codes.setdefault(code, set()).add(status)
    return codes


def emitted_codes(files: list[Path]) -> dict[str, set[str]]:
    """Codes the source can emit: error classes it constructs, and literal ``"code": "..."`` entries."""
    classes = _error_classes()
    found: dict[str, set[str]] = {}
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        # Module-level string constants (``INTERNAL_ERROR = "internal_error"``) used as a code's value.
        constants = {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                     and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                     for t in node.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name in classes:
                    found.setdefault(classes[name], set()).add(str(path.relative_to(REPO)))
                # The audit's walk and identify record ``error=("code", "message")``.
                for kw in node.keywords:
                    if (kw.arg == "error" and isinstance(kw.value, ast.Tuple) and kw.value.elts
                            and isinstance(kw.value.elts[0], ast.Constant) and isinstance(kw.value.elts[0].value, str)):
                        found.setdefault(kw.value.elts[0].value, set()).add(str(path.relative_to(REPO)))
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    if not (isinstance(key, ast.Constant) and key.value == "code"):
                        continue
                    code = (value.value if isinstance(value, ast.Constant) and isinstance(value.value, str)
                            else constants.get(value.id) if isinstance(value, ast.Name) else None)
                    if code is not None:
                        found.setdefault(code, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_code_the_library_can_emit_is_in_the_readme_table():
    files = sorted((REPO / "detector").rglob("*.py")) + sorted((REPO / "pipelines" / "cli").rglob("*.py"))
    emitted = emitted_codes(files)
    # The scan must see the codes raised all over detector/, or this test proves nothing.
    assert {"not_found", "unreadable_path", "no_media_files", "corrupt_media", "internal_error",
            "model_integrity", "invalid_config"} <= set(emitted)
    undocumented = {code: where for code, where in emitted.items() if code not in readme_codes()}
    assert not undocumented, f"codes emitted but not in the README's error table: {undocumented}"


def test_every_code_the_audit_can_emit_is_in_the_readme_table():
    emitted = emitted_codes(sorted((REPO / "pipelines" / "audit").rglob("*.py")))
    # Per-file codes (walk, identify, a dead worker) and set-up ones (the ledger, the engines): found, or this
    # test proves nothing.
    assert {"permission_denied", "not_found", "read_error", "worker_crashed", "ledger_error", "worker_start_failed",
            "ray_error"} <= set(emitted)
    undocumented = {code: where for code, where in emitted.items() if code not in readme_codes()}
    assert not undocumented, f"codes the audit emits but not in the README's error table: {undocumented}"


def test_every_code_the_service_can_emit_is_in_its_status_table():
    from pipelines.service.errors import CODES, FRAMEWORK_CODES, FRAMEWORK_FALLBACK

    # Literal codes in the service's source: service_error("...") and error_body("...", message).
    literal = {node.args[0].value for path in (REPO / "pipelines" / "service").glob("*.py")
               for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)
               and getattr(node.func, "id", None) in ("service_error", "error_body")
               and node.args and isinstance(node.args[0], ast.Constant)}
    assert {"internal_error", "bad_request", "unauthorized"} <= literal
    emitted = set(CODES) | set(FRAMEWORK_CODES.values()) | {FRAMEWORK_FALLBACK} | literal
    table = service_table_codes()
    assert not emitted - set(table), f"codes the service emits but not in its status table: {emitted - set(table)}"
    assert not set(table) - emitted, f"codes in the service's status table it never emits: {set(table) - emitted}"
    wrong = {code: (status, table[code]) for code, (status, _) in CODES.items() if str(status) not in table[code]}
    assert not wrong, f"codes whose status differs between errors.CODES and the table: {wrong}"
    assert FRAMEWORK_FALLBACK in table and all(str(s) in table[c] for s, c in FRAMEWORK_CODES.items())


def test_the_abstract_base_codes_are_never_raised():
    files = sorted((REPO / "detector").rglob("*.py")) + sorted((REPO / "pipelines" / "cli").rglob("*.py"))
    emitted = emitted_codes(files)
    assert "media_error" not in emitted and "detector_error" not in emitted


@pytest.fixture()
def mixed_batch(tmp_path: Path, demo_clip: Path) -> list[tuple[str, str | None]]:
    """Inputs of every kind, each with the code its one record must carry (None: a good file)."""
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "media_dir" / "sub").mkdir(parents=True)
    shutil.copy(demo_clip, tmp_path / "media_dir" / "sub" / "clip.mp4")
    (tmp_path / "media_dir" / "notes.txt").write_text("not media")
    os.symlink("loop", tmp_path / "loop")
    os.symlink("b.mp4", tmp_path / "a.mp4")
    os.symlink("a.mp4", tmp_path / "b.mp4")
    noise = np.random.default_rng(1000).integers(0, 256, 1_000_000, dtype=np.uint8).tobytes()
    (tmp_path / "noise.bin").write_bytes(noise)
    (tmp_path / "noise.mp4").write_bytes(noise)
    (tmp_path / "empty.mp4").touch()
    (tmp_path / "notes.txt").write_text("some notes\n" * 20)
    inputs = [("missing.mp4", "not_found"), ("empty_dir", "no_media_files"),
              ("media_dir/sub/clip.mp4", None), ("loop", "unreadable_path"), ("a.mp4", "unreadable_path"),
              ("noise.bin", "unsupported_media"), ("noise.mp4", "unsupported_media"), ("empty.mp4", "empty_file"),
              ("notes.txt", "unsupported_media")]
    return [(str(tmp_path / name), code) for name, code in inputs]


def _named(batch: list[tuple[str, str | None]]) -> list[str]:
    """What the user types: the media directory by its own name, not its file."""
    return [str(Path(path).parent.parent) if code is None else path for path, code in batch]


def test_scan_gives_one_record_per_named_input(mixed_batch, tiny_model):
    out = io.StringIO()
    code = main(["scan", *_named(mixed_batch), "--json", "--frames", "2", "--model", str(tiny_model),
                 "--threshold", "1.0"], stdout=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["path"] for r in records] == [path for path, _ in mixed_batch]
    assert [r["error"]["code"] if r["error"] else None for r in records] == [c for _, c in mixed_batch]
    assert {r["error"]["code"] for r in records if r["error"]} <= readme_codes()
    assert code == EXIT_INPUT_ERRORS  # threshold 1.0: nothing is fake


def test_faces_gives_one_record_per_named_input(mixed_batch):
    out = io.StringIO()
    assert main(["faces", *_named(mixed_batch), "-r", "--json", "--frames", "2"], stdout=out) == EXIT_INPUT_ERRORS
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["path"] for r in records] == [path for path, _ in mixed_batch]
    assert [r["error"]["code"] if r["error"] else None for r in records] == [c for _, c in mixed_batch]
    assert {r["error"]["code"] for r in records if r["error"]} <= readme_codes()


def test_faces_without_r_names_directories(tmp_path):
    (tmp_path / "empty_dir").mkdir()
    out = io.StringIO()
    assert main(["faces", str(tmp_path / "empty_dir"), "--json"], stdout=out) == EXIT_INPUT_ERRORS
    [record] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert record["error"]["code"] == "is_directory"


def test_an_empty_directory_alone_is_one_error_record_not_a_usage_error(tmp_path, tiny_model):
    (tmp_path / "empty_dir").mkdir()
    out = io.StringIO()
    assert main(["scan", str(tmp_path / "empty_dir"), "--json", "--model", str(tiny_model)],
                stdout=out) == EXIT_INPUT_ERRORS
    [record] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert record["verdict"] == "error" and record["error"]["code"] == "no_media_files"
    assert "empty_dir" in record["error"]["message"]


def _lock(directories: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``directories`` unlistable: chmod 000 for a normal user. As root (how these tests usually run) permissions
    do not stop reading, so listing them is refused where the walk lists directories (``os.scandir``), with the
    error the OS gives a normal user."""
    if os.geteuid() != 0:
        for directory in directories:
            directory.chmod(0)
        return
    scandir = os.scandir

    def refusing(path=".", *args, **kwargs):
        if Path(path) in directories:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", refusing)


def test_a_directory_that_cannot_be_listed_is_permission_denied_not_empty(tmp_path, tiny_model, monkeypatch):
    from pipelines.cli.inputs import expand_inputs

    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "photo.jpg").write_bytes(b"unseen")
    archive = tmp_path / "archive"
    (archive / "private").mkdir(parents=True)
    (archive / "a.png").write_bytes(b"x")
    (archive / "z.mp4").write_bytes(b"x")
    try:
        _lock([locked, archive / "private"], monkeypatch)
        out = io.StringIO()
        assert main(["scan", str(locked), "--json", "--model", str(tiny_model)], stdout=out) == EXIT_INPUT_ERRORS
        [record] = [json.loads(line) for line in out.getvalue().splitlines()]
        assert record["path"] == str(locked) and record["error"]["code"] == "permission_denied"
        assert "permission denied" in record["error"]["message"]
        # A folder below that cannot be listed gets its own record beside the files found, in path order.
        found = expand_inputs([str(archive)], recursive=True)
        assert [(Path(i.path).name, i.error and i.error["code"]) for i in found] == [
            ("a.png", None), ("private", "permission_denied"), ("z.mp4", None)]
    finally:
        for directory in (locked, archive / "private"):
            directory.chmod(0o755)
