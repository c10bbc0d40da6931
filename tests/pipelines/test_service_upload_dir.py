"""The service's upload directory: locked while its service lives, swept at the next start once its service died
(SIGKILL included), never while another service sharing the parent still runs, and nothing else ever removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.service.upload_dir import PREFIX, UploadDirectory, sweep_stale

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX locks")

# A process that makes its upload directory, puts an "upload" in it, says where, and waits to be killed.
HOLDER = ("import sys, time; from pipelines.service.upload_dir import UploadDirectory; "
          "d = UploadDirectory.create(sys.argv[1]); (d.path / 'upload-x').write_bytes(b'media'); "
          "print(d.path, flush=True); time.sleep(600)")


def _holder(parent: Path) -> tuple[subprocess.Popen, Path]:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(parent)], cwd=REPO, stdout=subprocess.PIPE,
                               text=True)
    return process, Path(process.stdout.readline().strip())


def _stop(process: subprocess.Popen, sig: int) -> None:
    process.send_signal(sig)
    process.wait(timeout=30)
    process.stdout.close()


def test_only_directories_whose_service_is_gone_are_swept(tmp_path):
    killed, killed_dir = _holder(tmp_path)
    _stop(killed, signal.SIGKILL)  # no cleanup ran: its directory and upload are still there
    assert (killed_dir / "upload-x").read_bytes() == b"media"
    live, live_dir = _holder(tmp_path)  # another service sharing the parent, still running
    try:
        old = tmp_path / f"{PREFIX}from-an-older-version"  # no lock ever held on it
        old.mkdir()
        (old / "upload-y").write_bytes(b"media")
        keep = {tmp_path / f"{PREFIX}notes.txt": b"a file, not a directory",
                tmp_path / "other" / "upload-z": b"someone else's", tmp_path / "mine.sqlite": b"data"}
        for path, data in keep.items():
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
        os.symlink(tmp_path / "other", tmp_path / f"{PREFIX}link")  # a symlink is never followed nor removed

        assert sorted(sweep_stale(tmp_path)) == sorted([killed_dir, old])

        assert not killed_dir.exists() and not old.exists()
        assert (live_dir / "upload-x").read_bytes() == b"media"
        assert all(path.read_bytes() == data for path, data in keep.items())
        assert (tmp_path / f"{PREFIX}link").is_symlink()
    finally:
        _stop(live, signal.SIGKILL)
    assert sweep_stale(tmp_path) == [live_dir]  # its service is gone now


def test_a_directory_is_locked_until_removed(tmp_path):
    uploads = UploadDirectory.create(tmp_path)
    assert uploads.path.name.startswith(PREFIX) and uploads.path.stat().st_mode & 0o777 == 0o700
    assert sweep_stale(tmp_path) == []  # its own, live: kept
    assert uploads.path.is_dir()
    uploads.remove()
    assert not uploads.path.exists() and list(tmp_path.iterdir()) == []


def test_a_missing_parent_sweeps_nothing(tmp_path):
    assert sweep_stale(tmp_path / "missing") == []


def test_a_restarted_service_sweeps_what_its_killed_predecessor_left(tmp_path, start_server):
    """``deepfake serve`` killed with SIGKILL mid-upload, then started again on the same --tmp-dir: the dead one's
    directory and upload are gone once the new one is ready; a neighbour's and other files are not."""
    pytest.importorskip("fastapi")
    import socket
    import time

    with start_server(tmp_path, "--frames", "8") as first:
        head = (b"POST /v1/scan HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer env-token-0123456789abcdef\r\n"
                b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 900000\r\n\r\n"
                b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'
                b"\x00\x00\x00\x18ftypmp42" + bytes(20_000))
        with socket.create_connection(("127.0.0.1", first.port), timeout=30) as sock:
            sock.sendall(head)
            deadline = time.monotonic() + 30
            while not list(first.upload_dir.iterdir()):  # the upload is streaming into its temp file
                assert time.monotonic() < deadline
                time.sleep(0.02)
            first.process.kill()
            first.process.wait(timeout=30)
    left = list(first.upload_dir.iterdir())
    assert len(left) == 1 and left[0].name.startswith("upload-")  # what the bug left behind for good
    neighbour, neighbour_dir = _holder(first.tmp_dir)
    unrelated = first.tmp_dir / "unrelated.bin"
    unrelated.write_bytes(b"not the service's")
    try:
        with start_server(tmp_path, "--frames", "8") as second:
            assert not first.upload_dir.exists()
            assert second.upload_dir.is_dir() and (neighbour_dir / "upload-x").exists()
            assert unrelated.read_bytes() == b"not the service's"
    finally:
        _stop(neighbour, signal.SIGKILL)
