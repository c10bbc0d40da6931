"""Shared fixtures of the pipelines tests: a tiny media archive for the audit tests (clips, images, a duplicate,
a symlink, a symlink loop, a video with a non-media name, corrupt / empty / text-named-.mp4 files, plain text, and
hidden files), and live ``deepfake serve`` processes with their helpers for the service tests.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from detector.outputs.demo import pan_zoom_frames, write_video

if TYPE_CHECKING:
    import httpx

REPO = Path(__file__).resolve().parents[2]

# Relative paths the walk must record (hidden files, the loop and anything under it must not appear),
# and what each file holds; files sharing a label share their bytes.
ARCHIVE_FILES: dict[str, str] = {
    "bad/empty.mp4": "empty",
    "bad/text.mp4": "text",
    "bad/truncated.mp4": "truncated",
    "clips/copy_of_talk.mp4": "talk",
    "clips/renamed_video.dat": "pan",
    "clips/talk.mp4": "talk",
    "docs/notes.txt": "notes",
    "images/astronaut.jpg": "astronaut",
    "images/camera.png": "camera",
    "images/link.jpg": "astronaut",
}


def build_archive(root: Path, astronaut: np.ndarray, cameraman: np.ndarray) -> Path:
    """Write the archive under ``root`` (about 100 KB; a second or two to encode)."""
    for sub in ("clips", "images", "bad", "docs", "docs/.cache"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    write_video(root / "clips" / "talk.mp4", pan_zoom_frames(astronaut, width=320, height=240, n_frames=12), fps=12)
    shutil.copy(root / "clips" / "talk.mp4", root / "clips" / "copy_of_talk.mp4")
    write_video(root / "clips" / "pan.tmp.mp4", pan_zoom_frames(astronaut, width=256, height=192, n_frames=10), fps=10)
    os.replace(root / "clips" / "pan.tmp.mp4", root / "clips" / "renamed_video.dat")
    cv2.imwrite(str(root / "images" / "astronaut.jpg"), cv2.cvtColor(cv2.resize(astronaut, (256, 256)),
                                                                     cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(root / "images" / "camera.png"), cv2.resize(cameraman, (128, 128)))
    os.symlink("astronaut.jpg", root / "images" / "link.jpg")
    (root / "bad" / "truncated.mp4").write_bytes((root / "clips" / "talk.mp4").read_bytes()[:3000])
    (root / "bad" / "text.mp4").write_text("not a video\n")
    (root / "bad" / "empty.mp4").touch()
    (root / "docs" / "notes.txt").write_text("inventory notes\n")
    shutil.copy(root / "images" / "astronaut.jpg", root / "docs" / ".hidden.jpg")
    shutil.copy(root / "images" / "camera.png", root / "docs" / ".cache" / "thumb.png")
    os.symlink("..", root / "docs" / "loop")  # a cycle: docs/loop/docs/loop/...
    return root


@pytest.fixture(scope="session")
def archive_template(tmp_path_factory: pytest.TempPathFactory, astronaut: np.ndarray, cameraman: np.ndarray) -> Path:
    return build_archive(tmp_path_factory.mktemp("archive_template"), astronaut, cameraman)


@pytest.fixture
def archive(tmp_path: Path, archive_template: Path) -> Path:
    """A fresh copy per test (tests add, rename and delete files)."""
    return Path(shutil.copytree(archive_template, tmp_path / "archive", symlinks=True))


@pytest.fixture(scope="session")
def archive_files() -> dict[str, str]:
    """:data:`ARCHIVE_FILES` (test modules are imported in importlib mode and cannot import this one)."""
    return dict(ARCHIVE_FILES)


# -- the HTTP service ----------------------------------------------------------------------------------------
# Live ``deepfake serve`` processes on 127.0.0.1 for test_service_api.py and test_service_limits.py (no mocks,
# no TestClient), and the helpers both use. httpx comes with the service extra, so it is imported where it is
# used: a conftest that failed to import would take the audit and CLI tests down with it.

# The tokens the servers accept (DEEPFAKE_API_TOKENS and --tokens-file). The test modules spell them out again,
# for their parametrize lists; a mismatch fails loudly with 401s.
TOKEN = "env-token-0123456789abcdef"
FILE_TOKEN = "file-token-0123456789abcdef"
MIB = 1 << 20


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    tmp_dir: Path
    log: Path
    process: subprocess.Popen
    upload_dir: Path  # its private directory in tmp_dir (other services' may sit beside it)

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(tmp: Path, *flags: str) -> Iterator[Server]:
    """Start ``deepfake serve`` in a subprocess, wait until /readyz says ready, stop it with SIGTERM afterwards.

    Its ``--tmp-dir`` is ``tmp/uploads`` (may exist already: services can share it) and its log ``tmp/server.log``
    (appended to, so a restart in the same ``tmp`` keeps the earlier lines).
    """
    import httpx

    port = _free_port()
    tokens_file = tmp / "tokens.txt"
    tokens_file.write_text(f"# integrators\n{FILE_TOKEN}\n")
    uploads = tmp / "uploads"
    uploads.mkdir(exist_ok=True)
    log = tmp / "server.log"
    env = {**os.environ, "DEEPFAKE_API_TOKENS": TOKEN}
    cmd = [sys.executable, "-m", "pipelines.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--tokens-file", str(tokens_file), "--tmp-dir", str(uploads), *flags]
    others = set(uploads.glob("deepfake-uploads-*"))
    with open(log, "ab") as out:
        process = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # model load on a busy 2-core machine
        while True:
            assert process.poll() is None, f"server exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"server not ready:\n{log.read_text()}"
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        # The one directory that was not there before it started (it may have swept some of those).
        [own] = set(uploads.glob("deepfake-uploads-*")) - others
        server = Server(url, port, uploads, log, process, own)
        yield server
    finally:
        killed = process.poll() is not None  # a test killed it: nothing was cleaned up
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # A clean shutdown removes the private upload directory with anything left in it.
    assert killed or not server.upload_dir.exists(), list(server.upload_dir.rglob("*"))


# Three servers, one per test module that asks for it (module scope: each module's tests see one server's
# counters and log from its start): ``server`` (generous limits, 1 MiB uploads, 3 s job retention), ``tight``
# (one worker, no queue, a 10 ms scan deadline, a 2 s upload deadline and a 1 s header deadline) for timeouts
# and saturation, and ``crowded`` (40 connections at most, a 30 s header deadline) for connection floods.


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start(tmp_path_factory.mktemp("server"), "--workers", "1", "--queue", "4", "--max-upload-mb", "1",
                      "--job-ttl", "3", "--frames", "8")


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start(tmp_path_factory.mktemp("tight"), "--workers", "1", "--queue", "0", "--timeout", "0.01",
                      "--upload-timeout", "2", "--header-timeout", "1", "--frames", "32")


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # A header deadline far longer than any test step: only the connection cap can close sockets here.
    yield from _start(tmp_path_factory.mktemp("crowded"), "--max-connections", "40", "--header-timeout", "30",
                      "--frames", "8")


def _upload(path: Path, name: str | None = None) -> dict:
    return {"file": (name or path.name, path.read_bytes(), "application/octet-stream")}


def _error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def _assert_clean_error(response: httpx.Response, server: Server) -> None:
    """An error body is our JSON shape and carries no traceback, source path or server-side file path."""
    body = response.json()
    assert set(body["error"]) >= {"code", "message"}
    text = response.text
    for leak in ("Traceback", 'File "', ".py", str(server.tmp_dir), "/tmp/", "upload-"):
        assert leak not in text, (leak, text)


def _metrics(server: Server) -> dict[str, float]:
    with server.client() as client:  # closed at once: an idle connection would count against the cap
        text = client.get("/metrics").text
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line and not line.startswith("#")}


def _wait_metrics(server: Server, done: Callable[[dict[str, float]], bool], timeout_s: float = 30) -> dict[str, float]:
    """Poll /metrics until ``done`` holds (the server notes a closed connection asynchronously)."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            m = _metrics(server)
            if done(m):
                return m
        except httpx.TransportError:  # refused while the cap is still full of closing connections
            m = {}
        assert time.monotonic() < deadline, m
        time.sleep(0.1)


def _wait_idle(server: Server) -> None:
    """Until no scan runs or waits (a timed-out scan finishes in the background)."""
    deadline = time.monotonic() + 120
    while True:
        m = _metrics(server)
        if m["deepfake_workers_busy"] == 0 and m["deepfake_queue_depth"] == 0:
            return
        assert time.monotonic() < deadline, m
        time.sleep(0.1)


def _raw_post(server: Server, *, token: str | None, chunked: bool, budget: int = 64 * MIB,
              body_head: bytes = b"\x00\x00\x00\x18ftypmp42", stall: bool = False) -> tuple[int, int]:
    """POST /v1/scan over a raw socket, sending zeros until the server answers; returns (status, bytes sent).

    Without ``chunked`` the request declares a 10 GB Content-Length. With ``stall`` nothing follows the part's
    first bytes. The client stops sending as soon as a response is readable, so ``bytes sent`` far below
    ``budget`` shows the server answered without reading the body to its end.
    """
    boundary = "b0undary"
    part = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n").encode() + body_head
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {10 ** 10}"
    head = (f"POST /v1/scan HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n{length}\r\n\r\n").encode()
    zeros = bytes(1 << 16)
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(head)

        def send(data: bytes) -> None:
            sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)

        send(part)
        sent = len(part)
        while sent < budget:
            readable, writable, _ = select.select([sock], [] if stall else [sock], [], 60)
            if readable:
                break
            assert writable, "server neither read nor answered within 60 s"
            try:
                send(zeros)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(zeros)
        response = b""
        while b"\r\n\r\n" not in response:
            data = sock.recv(4096)
            if not data:
                break
            response += data
    status = int(response.split(b" ", 2)[1])
    return status, sent


# The helpers as fixtures: test modules are imported in importlib mode and cannot import this one.


@pytest.fixture(scope="session")
def start_server() -> Callable[..., contextlib.AbstractContextManager[Server]]:
    """``with start_server(tmp, *flags) as server:`` a server of the test's own (restarts, kills)."""
    return contextlib.contextmanager(_start)


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    return _free_port


@pytest.fixture(scope="session")
def upload() -> Callable[..., dict]:
    """The ``files=`` argument that uploads a file under its own name or ``name``."""
    return _upload


@pytest.fixture(scope="session")
def error_code() -> Callable[[httpx.Response], str]:
    return _error_code


@pytest.fixture(scope="session")
def assert_clean_error() -> Callable[[httpx.Response, Server], None]:
    return _assert_clean_error


@pytest.fixture(scope="session")
def metrics() -> Callable[[Server], dict[str, float]]:
    return _metrics


@pytest.fixture(scope="session")
def wait_metrics() -> Callable[..., dict[str, float]]:
    return _wait_metrics


@pytest.fixture(scope="session")
def wait_idle() -> Callable[[Server], None]:
    return _wait_idle


@pytest.fixture(scope="session")
def raw_post() -> Callable[..., tuple[int, int]]:
    return _raw_post
