"""The HTTP service at its limits, tested against real ``deepfake serve`` processes on 127.0.0.1: scan and upload
deadlines and saturation on conftest's ``tight`` server (one worker, no queue, a 10 ms scan deadline, a 2 s upload
deadline, a 1 s header deadline), connection floods on ``crowded`` (40 connections at most, a 30 s header
deadline), and the checks ``deepfake serve`` makes before it starts.
"""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Protocol

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

REPO = Path(__file__).resolve().parents[2]
TOKEN = "env-token-0123456789abcdef"  # what conftest's servers accept


class Listening(Protocol):
    """What the connection helpers need of conftest's ``Server`` (this module cannot import conftest)."""

    port: int


# -- limits under load -----------------------------------------------------------------------------------


def test_scan_deadline_gives_504(tight, demo_clip, upload, error_code, assert_clean_error, wait_idle):
    wait_idle(tight)
    response = tight.client().post("/v1/scan", files=upload(demo_clip))  # 32 frames never scan in 10 ms
    assert response.status_code == 504 and error_code(response) == "timeout"
    assert_clean_error(response, tight)
    wait_idle(tight)  # the scan went on in the background; its upload is deleted when it ends
    assert list(tight.upload_dir.iterdir()) == []


def test_slow_upload_gives_408(tight, raw_post):
    status, _ = raw_post(tight, token=TOKEN, chunked=True, stall=True)
    assert status == 408


def test_saturation_gives_429(tight, demo_clip, upload, error_code, wait_idle):
    wait_idle(tight)
    client = tight.client()
    # One worker, no queue: the first job takes the worker; the next upload arrives long before a
    # 32-frame scan ends.
    responses = [client.post("/v1/jobs", files=upload(demo_clip)) for _ in range(4)]
    statuses = [r.status_code for r in responses]
    assert statuses[0] == 202 and 429 in statuses, statuses
    refused = next(r for r in responses if r.status_code == 429)
    assert error_code(refused) == "saturated" and refused.headers["retry-after"] == "1"
    wait_idle(tight)
    assert list(tight.upload_dir.iterdir()) == []


# -- connections -----------------------------------------------------------------------------------------

# Requests that never complete, as the outside probe sent them: nothing, half a request line, partial headers;
# an unauthenticated upload whose body never comes (answered 401 at once, then left open); and a keep-alive
# connection left idle, or with a second request begun and stalled, after a complete first one.
INCOMPLETE = (b"", b"GET /hea", b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
              b"POST /v1/scan HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n",
              b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
              b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n")


def _open_incomplete(server: Listening, n: int, kinds: tuple[bytes, ...] = INCOMPLETE) -> list[socket.socket]:
    socks: list[socket.socket] = []
    try:
        for i in range(n):
            socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=30))
            socks[-1].sendall(kinds[i % len(kinds)])
    except BaseException:
        _close_all(socks)
        raise
    return socks


def _close_all(socks: list[socket.socket]) -> None:
    for sock in socks:
        sock.close()


def _closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """Whether the server closes ``sock`` before ``deadline`` (monotonic); answers it sent first are skipped."""
    for _ in range(100):  # a few answers at most come first
        readable, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            return False
        try:
            if not sock.recv(1 << 16):
                return True
        except ConnectionResetError:
            return True
    return False


def test_incomplete_requests_are_closed_after_the_header_timeout(tight, metrics):
    key = 'deepfake_connections_dropped_total{reason="header_timeout"}'
    before = metrics(tight).get(key, 0)
    socks = _open_incomplete(tight, 5 * len(INCOMPLETE))
    try:
        deadline = time.monotonic() + 20  # --header-timeout 1; without a deadline they stayed open >= 60 s
        still_open = [INCOMPLETE[i % len(INCOMPLETE)] for i, sock in enumerate(socks)
                      if not _closed_by_server(sock, deadline)]
    finally:
        _close_all(socks)
    assert still_open == []
    after = metrics(tight)
    assert after.get(key, 0) >= before + len(socks)
    assert after["deepfake_connections_open"] == 1  # this scrape's own: the books balance


def test_a_flood_of_incomplete_requests_does_not_starve_clients(crowded, metrics):
    before = metrics(crowded)
    # 2.5 x --max-connections of requests never completed (one answered would be the newest in line again, and
    # uvicorn's own 5 s keep-alive timer would close it).
    flood = _open_incomplete(crowded, 100, INCOMPLETE[:3])
    try:
        with httpx.Client(base_url=crowded.url, timeout=30) as anonymous:
            assert anonymous.get("/healthz").status_code == 200
        with crowded.client() as client:
            assert client.get("/v1/model").status_code == 200
        # The flood displaced itself, oldest first; the 30 s header deadline closed none of these yet.
        deadline = time.monotonic() + 20
        assert all(_closed_by_server(sock, deadline) for sock in flood[:50])
    finally:
        _close_all(flood)
    after = metrics(crowded)
    evicted = 'deepfake_connections_dropped_total{reason="evicted"}'
    assert after[evicted] >= before[evicted] + 100 - 40
    unavailable = [k for k in after if k.startswith("deepfake_http_requests_total") and 'status="503"' in k]
    assert all(after[k] == before[k] for k in unavailable)  # /readyz answered 503 while the model loaded


def test_a_new_connection_is_refused_only_when_every_one_is_being_served(crowded, metrics, wait_metrics):
    key_499 = 'deepfake_http_requests_total{method="POST",route="/v1/scan",status="499"}'
    refused = 'deepfake_connections_dropped_total{reason="refused"}'
    before = metrics(crowded)
    head = (f"POST /v1/scan HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nExpect: 100-continue\r\n"
            "Content-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: 100000\r\n\r\n").encode()
    busy: list[socket.socket] = []
    try:
        for _ in range(40):  # --max-connections 40, each an upload the app has started to read
            busy.append(socket.create_connection(("127.0.0.1", crowded.port), timeout=30))
            busy[-1].sendall(head)
            assert busy[-1].recv(64).startswith(b"HTTP/1.1 100 ")
        with socket.create_connection(("127.0.0.1", crowded.port), timeout=30) as extra:
            try:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                answer = extra.recv(4096)
            except (BrokenPipeError, ConnectionResetError):
                answer = b""
        assert answer == b""  # closed unanswered, not a 503 from uvicorn
    finally:
        _close_all(busy)
    # Each upload dropped by its client is counted as 499, not 500.
    after = wait_metrics(crowded, lambda m: m.get(key_499, 0) >= before.get(key_499, 0) + 40)
    assert after[refused] >= before[refused] + 1  # more if a scrape above came while the cap was still full
    key_500 = key_499.replace("499", "500")
    assert after.get(key_500, 0) == before.get(key_500, 0)


# -- starting up ---------------------------------------------------------------------------------------


def test_serve_raises_a_low_descriptor_limit_to_fit_max_connections():
    resource = pytest.importorskip("resource")
    from pipelines.service.connections import FD_RESERVE, FDS_PER_CONNECTION

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    code = ("import resource\n"
            "from pipelines.service.connections import ensure_fd_limit\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (128, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
            "print(ensure_fd_limit(100), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    need = FD_RESERVE + FDS_PER_CONNECTION * 100
    expected = need if hard == resource.RLIM_INFINITY else min(need, hard)
    assert out.split() == [str(expected)] * 2


def test_serve_refuses_to_start_without_tokens(monkeypatch, free_port):
    from pipelines.cli import EXIT_USAGE, main

    monkeypatch.delenv("DEEPFAKE_API_TOKENS", raising=False)
    assert main(["serve", "--port", str(free_port())]) == EXIT_USAGE
    monkeypatch.setenv("DEEPFAKE_API_TOKENS", "short")
    assert main(["serve", "--port", str(free_port())]) == EXIT_USAGE
    monkeypatch.setenv("DEEPFAKE_API_TOKENS", TOKEN)
    assert main(["serve", "--port", str(free_port()), "--header-timeout", "0"]) == EXIT_USAGE
