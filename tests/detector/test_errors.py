"""Errors with stable codes: the ``DetectorError`` family (codes unique, messages kept, the ``{code, message}``
shape results carry) and ``file_error``, the per-file boundary every batch path turns failures into results with."""

from __future__ import annotations

import json
import logging

import pytest

from detector import errors
from detector.errors import (
    INTERNAL_ERROR,
    Attempt,
    ConfigError,
    DetectorError,
    MediaError,
    MediaNotFoundError,
    MissingExtraError,
    ModelIntegrityError,
    attempt,
    file_error,
)


def _error_classes() -> list[type[DetectorError]]:
    return [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, DetectorError)]


def test_every_code_names_one_error():
    """Callers (CLI JSON, audit ledgers, the service) key on the code: two classes sharing one would be ambiguous."""
    codes = [c.code for c in _error_classes()]
    assert len(codes) == len(set(codes)), sorted(codes)
    assert INTERNAL_ERROR not in codes  # reserved for failures that are not a DetectorError


def test_detector_error_keeps_message_and_path():
    err = MediaNotFoundError("no such file: a.mp4", path="a.mp4")
    assert isinstance(err, MediaError) and isinstance(err, DetectorError)
    assert str(err) == err.message == "no such file: a.mp4" and err.path == "a.mp4"
    # The path is for the caller, not part of the per-item record (results carry their own path).
    assert err.to_dict() == {"code": "not_found", "message": "no such file: a.mp4"}
    assert DetectorError("x").path is None


def test_errors_are_also_the_builtin_kinds_callers_catch():
    assert issubclass(ConfigError, ValueError)
    assert issubclass(MissingExtraError, ImportError)


def test_missing_extra_names_the_install_command():
    err = MissingExtraError("facenet-pytorch", extra="train", hint="needed by the 'facenet' backend")
    assert (err.package, err.extra, err.code) == ("facenet-pytorch", "train", "missing_extra")
    assert err.message == ("facenet-pytorch is not installed. Install it with: pip install 'deepfake-detector[train]' "
                           "(needed by the 'facenet' backend)")
    assert "(" not in MissingExtraError("scikit-image", extra="demo").message  # no hint, no brackets


@pytest.mark.parametrize("exc", [
    MediaNotFoundError("gone", path="x.mp4"),
    ModelIntegrityError("sha256 mismatch"),
    ConfigError("unknown backend"),
    MissingExtraError("onnxruntime", extra="cpu"),  # an ImportError too: still its own code
])
def test_file_error_keeps_a_detector_errors_code_and_message(exc):
    assert file_error(exc, "x.mp4") == {"code": exc.code, "message": exc.message}


@pytest.mark.parametrize("exc, message", [
    (ValueError("bad value"), "ValueError: bad value"),
    (KeyError("box"), "KeyError: 'box'"),
    (ZeroDivisionError(), "ZeroDivisionError: "),
    (OSError(5, "Input/output error"), "OSError: [Errno 5] Input/output error"),
])
def test_file_error_reports_anything_else_as_internal_error(exc, message):
    record = file_error(exc, "x.mp4")
    assert record == {"code": INTERNAL_ERROR, "message": message}
    assert json.loads(json.dumps(record)) == record  # what the audit ledger and the service store


def test_file_error_logs_the_traceback_of_a_bug_only(caplog):
    def crash() -> None:
        raise RuntimeError("boom")

    try:
        crash()
    except RuntimeError as exc:
        bug = exc
    with caplog.at_level(logging.DEBUG, logger="detector"):
        file_error(bug, "clips/a.mp4")
        file_error(MediaNotFoundError("gone"), "clips/b.mp4")
    [record] = caplog.records
    assert record.levelno == logging.DEBUG and "clips/a.mp4" in record.getMessage()
    assert record.exc_info is not None and record.exc_info[1] is bug
    assert "crash" in caplog.text  # the traceback itself, for whoever turns debug logging on


def test_attempt_is_the_value_or_the_error_record_never_both():
    assert attempt("a.jpg", lambda x, *, y: x + y, 2, y=3) == Attempt(5)

    def missing() -> None:
        raise MediaNotFoundError("gone")

    tried = attempt("b.jpg", missing)
    assert not tried.ok and tried.value is None
    assert tried.error == {"code": "not_found", "message": "gone"}
    bug = RuntimeError("boom")
    tried = attempt("c.jpg", lambda: (_ for _ in ()).throw(bug))
    assert tried.error == {"code": INTERNAL_ERROR, "message": "RuntimeError: boom"} and tried.exception is bug


def test_attempt_lets_an_interrupt_stop_the_batch():
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        attempt("d.mp4", interrupted)
