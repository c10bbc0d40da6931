"""The HTTP service, tested against real ``deepfake serve`` processes on 127.0.0.1 (no mocks, no TestClient).

Three servers per module: ``server`` (generous limits, 1 MiB uploads, 3 s job retention), ``tight`` (one
worker, no queue, a 10 ms scan deadline, a 2 s upload deadline and a 1 s header deadline) for timeouts and
saturation, and ``crowded`` (40 connections at most, a 30 s header deadline) for connection floods.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
jsonschema = pytest.importorskip("jsonschema")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # installed with schemathesis

REPO = Path(__file__).resolve().parents[2]
TOKEN = "env-token-0123456789abcdef"
FILE_TOKEN = "file-token-0123456789abcdef"
MEDIA_RESULT_SCHEMA = json.loads((REPO / "detector" / "schemas" / "media_result.schema.json").read_text())
COMMITTED_OPENAPI = REPO / "pipelines" / "service" / "openapi.json"
MIB = 1 << 20


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    tmp_dir: Path
    log: Path
    process: subprocess.Popen

    @property
    def upload_dir(self) -> Path:
        [d] = self.tmp_dir.glob("deepfake-uploads-*")
        return d

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(tmp: Path, *flags: str) -> Iterator[Server]:
    """Start ``deepfake serve`` in a subprocess, wait until /readyz says ready, stop it with SIGTERM afterwards."""
    port = _free_port()
    tokens_file = tmp / "tokens.txt"
    tokens_file.write_text(f"# integrators\n{FILE_TOKEN}\n")
    uploads = tmp / "uploads"
    uploads.mkdir()
    log = tmp / "server.log"
    env = {**os.environ, "DEEPFAKE_API_TOKENS": TOKEN}
    cmd = [sys.executable, "-m", "pipelines.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--tokens-file", str(tokens_file), "--tmp-dir", str(uploads), *flags]
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", port, uploads, log, process)
    try:
        deadline = time.monotonic() + 180  # model load on a busy 2-core machine
        while True:
            assert process.poll() is None, f"server exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"server not ready:\n{log.read_text()}"
            try:
                if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # A clean shutdown removes the private upload directory with anything left in it.
    assert not list(uploads.iterdir()), list(uploads.rglob("*"))


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


@pytest.fixture(scope="module")
def image_jpg(tmp_path_factory: pytest.TempPathFactory, astronaut) -> Path:
    path = tmp_path_factory.mktemp("media") / "astronaut.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    return path


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


# -- scanning ------------------------------------------------------------------------------------------------


def test_scan_image_and_clip_give_schema_valid_results(server, image_jpg, demo_clip):
    with server.client() as client:
        image = client.post("/v1/scan", files=_upload(image_jpg))
        clip = client.post("/v1/scan", files=_upload(demo_clip))
    assert image.status_code == 200, image.text
    assert clip.status_code == 200, clip.text
    for response, kind, name in ((image, "image", "astronaut.jpg"), (clip, "video", "demo.mp4")):
        result = response.json()
        jsonschema.validate(result, MEDIA_RESULT_SCHEMA)
        assert result["media"] == kind and result["path"] == name
        assert result["verdict"] in ("fake", "real", "uncertain") and len(result["tracks"]) == 1
    assert len(clip.json()["timeline"]) == 8  # --frames 8


def test_same_verdict_as_the_cli(server, image_jpg):
    from pipelines.cli import main

    out = io.StringIO()
    main(["scan", str(image_jpg), "--json", "--frames", "8"], stdout=out)
    cli = json.loads(out.getvalue())
    served = server.client().post("/v1/scan", files=_upload(image_jpg)).json()
    for key in ("media", "verdict", "fake_probability", "threshold", "reasons", "model", "tracks", "timeline"):
        assert served[key] == cli[key], key


def test_client_paths_are_names_only_and_uploads_are_deleted(server, image_jpg):
    response = server.client().post("/v1/scan", files=_upload(image_jpg, "../../etc/\x07secret\\face.jpg"))
    assert response.status_code == 200
    assert response.json()["path"] == "face.jpg"
    assert list(server.upload_dir.iterdir()) == []  # deleted before the answer
    assert stat.S_IMODE(server.upload_dir.stat().st_mode) == 0o700


def test_undecodable_media_is_422_with_the_result_object(server, demo_clip, tmp_path):
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(demo_clip.read_bytes()[:2000])
    response = server.client().post("/v1/scan", files=_upload(truncated))
    assert response.status_code == 422
    result = response.json()
    jsonschema.validate(result, MEDIA_RESULT_SCHEMA)
    assert result["verdict"] == "error" and result["error"]["code"] == "corrupt_media"
    assert result["path"] == "cut.mp4" and "cut.mp4" in result["error"]["message"]
    _assert_clean_error(response, server)


# -- abuse -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-0123456789abcdef", f"Basic {TOKEN}",
                                           f"Bearer {TOKEN[:-1]}", "Bearer", f"Bearer {TOKEN}x"])
def test_401_without_a_valid_token(server, image_jpg, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        for response in (client.post("/v1/scan", files=_upload(image_jpg)), client.post("/v1/jobs", files={}),
                         client.get("/v1/jobs/abc"), client.get("/v1/model"), client.get("/metrics")):
            assert response.status_code == 401, response.request.url
            assert response.headers["www-authenticate"] == "Bearer"
            assert _error_code(response) == "unauthorized"


def test_both_token_sources_are_accepted(server):
    for token in (TOKEN, FILE_TOKEN):
        assert server.client(token).get("/v1/model").status_code == 200
    assert server.client(None).get("/healthz").status_code == 200  # probes need no token


def test_unauthenticated_upload_is_refused_without_reading_it(server):
    status, sent = _raw_post(server, token=None, chunked=True)
    assert status == 401 and sent < 64 * MIB


@pytest.mark.parametrize("chunked", [False, True], ids=["declared-10GB", "chunked-stream"])
def test_413_while_streaming(server, chunked):
    # The limit is 1 MiB; the client offers 64 MiB (or declares 10 GB) and stops once the server answers.
    status, sent = _raw_post(server, token=TOKEN, chunked=chunked)
    assert status == 413
    assert sent < 64 * MIB
    assert list(server.upload_dir.iterdir()) == []


def test_413_body(server, tmp_path):
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2 * MIB))
    response = server.client().post("/v1/scan", files=_upload(big))
    assert response.status_code == 413 and _error_code(response) == "upload_too_large"
    _assert_clean_error(response, server)


def test_415_for_non_media(server, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video, whatever the name says\n" * 10)
    with server.client() as client:
        named_mp4 = client.post("/v1/scan", files=_upload(text))
        job = client.post("/v1/jobs", files=_upload(text))
        json_body = client.post("/v1/scan", json={"url": "http://example.com/a.mp4"})
        empty = client.post("/v1/scan", files={"file": ("e.jpg", b"", "image/jpeg")})
    for response in (named_mp4, job, empty):
        assert response.status_code == 415 and _error_code(response) == "unsupported_media"
    assert json_body.status_code == 415 and _error_code(json_body) == "unsupported_content_type"
    assert list(server.upload_dir.iterdir()) == []


def test_415_after_64_kib_of_non_media_without_reading_the_rest(server):
    status, sent = _raw_post(server, token=TOKEN, chunked=True, body_head=b"")
    assert status == 415 and sent < 64 * MIB


def test_no_server_paths_or_urls_accepted(server, image_jpg):
    with server.client() as client:
        fields = client.post("/v1/scan", data={"path": "/etc/passwd", "url": "http://169.254.169.254/"})
        query = client.post("/v1/scan?path=/etc/passwd", files={"path": (None, str(image_jpg))})
    for response in (fields, query):
        assert response.status_code in (400, 415)
        assert _error_code(response) in ("bad_request", "unsupported_content_type")


def test_error_bodies_are_json_without_traces(server, tmp_path):
    with server.client() as client:
        responses = [client.get("/nope"), client.delete("/v1/scan"), client.get("/v1/jobs/unknown"),
                     client.post("/v1/scan", content=b"--x\r\ngarbage",
                                 headers={"Content-Type": "multipart/form-data; boundary=x"}),
                     client.post("/v1/scan", content=b"x", headers={"Content-Type": "multipart/form-data"})]
    assert [r.status_code for r in responses] == [404, 405, 404, 400, 400]
    assert responses[1].headers["allow"] == "POST"
    for response in responses:
        _assert_clean_error(response, server)


# -- jobs ------------------------------------------------------------------------------------------------


def test_job_lifecycle_and_expiry(server, demo_clip):
    client = server.client()
    created = client.post("/v1/jobs", files=_upload(demo_clip, "long.mp4"))
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["status"] in ("queued", "running") and job["result"] is None and job["filename"] == "long.mp4"
    assert created.headers["location"] == f"/v1/jobs/{job['id']}"
    seen = {job["status"]}
    deadline = time.monotonic() + 120
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        response = client.get(f"/v1/jobs/{job['id']}")
        assert response.status_code == 200, response.text  # a 3 s retention outlives a 0.05 s poll
        job = response.json()
        seen.add(job["status"])
    assert job["status"] == "done" and seen <= {"queued", "running", "done"}
    jsonschema.validate(job["result"], MEDIA_RESULT_SCHEMA)
    assert job["result"]["path"] == "long.mp4" and job["result"]["media"] == "video"
    expires = datetime.fromisoformat(job["expires_at"]).timestamp()
    assert 2.5 < expires - datetime.fromisoformat(job["finished_at"]).timestamp() < 3.5  # --job-ttl 3
    time.sleep(max(0.0, expires - time.time()) + 0.2)
    gone = client.get(f"/v1/jobs/{job['id']}")
    assert gone.status_code == 404 and _error_code(gone) == "not_found"


def test_failed_job_holds_the_error_result(server, demo_clip, tmp_path):
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(demo_clip.read_bytes()[:2000])
    client = server.client()
    job = client.post("/v1/jobs", files=_upload(truncated)).json()
    deadline = time.monotonic() + 60
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        job = client.get(f"/v1/jobs/{job['id']}").json()
    assert job["status"] == "failed" and job["result"]["error"]["code"] == "corrupt_media"


def test_jobs_are_visible_only_to_the_token_that_created_them(server, image_jpg):
    owner, other = server.client(TOKEN), server.client(FILE_TOKEN)
    created = owner.post("/v1/jobs", files=_upload(image_jpg))
    assert created.status_code == 202, created.text
    job = created.json()
    unknown = other.get("/v1/jobs/no-such-job-0123456789")
    deadline = time.monotonic() + 60
    while job["status"] in ("queued", "running"):
        theirs = other.get(f"/v1/jobs/{job['id']}")
        assert theirs.status_code == 404 and theirs.json() == unknown.json()  # no hint that the job exists
        assert time.monotonic() < deadline
        time.sleep(0.05)
        mine = owner.get(f"/v1/jobs/{job['id']}")
        assert mine.status_code == 200, mine.text
        job = mine.json()
    assert job["status"] == "done"
    finished = other.get(f"/v1/jobs/{job['id']}")
    assert finished.status_code == 404 and finished.json() == unknown.json()
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    assert TOKEN not in mine.text and digest not in mine.text  # the owner is kept, never shown


def test_job_store_binds_jobs_to_an_owner_digest():
    from pipelines.service.jobs import JobStore

    store = JobStore(ttl_s=60, max_jobs=2)
    a, b = hashlib.sha256(b"token-a").digest(), hashlib.sha256(b"token-b").digest()
    job = store.create("clip.mp4", owner=a)
    assert store.get(job.id, owner=a) == job
    assert store.get(job.id, owner=b) is None and store.get("unknown", owner=a) is None
    assert "owner" not in job.to_dict() and repr(a) not in repr(job)
    with pytest.raises(ValueError):
        store.create("clip.mp4", owner=b"")


# -- operations ------------------------------------------------------------------------------------------


def test_model_health_and_readiness(server):
    client = server.client()
    card = client.get("/v1/model").json()
    assert card["name"] == "deepfake-detector-default" and re.fullmatch("[0-9a-f]{64}", card["sha256"])
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "workers": 1, "workers_ready": 1}


def test_metrics_count_requests_verdicts_and_latency(server, image_jpg):
    before = _metrics(server)
    result = server.client().post("/v1/scan", files=_upload(image_jpg)).json()
    after = _metrics(server)
    key = 'deepfake_http_requests_total{method="POST",route="/v1/scan",status="200"}'
    assert after[key] == before.get(key, 0) + 1
    verdict = f'deepfake_verdicts_total{{verdict="{result["verdict"]}"}}'
    assert after[verdict] == before[verdict] + 1
    count = 'deepfake_http_request_duration_seconds_count{route="/v1/scan"}'
    assert after[count] == before.get(count, 0) + 1
    assert after['deepfake_http_request_duration_seconds_bucket{route="/v1/scan",le="+Inf"}'] == after[count]
    assert after["deepfake_workers_ready"] == 1 and after["deepfake_queue_depth"] == 0
    assert 'deepfake_verdicts_total{verdict="no_face"}' in after  # every verdict from zero
    assert not any("/v1/jobs/" in k and "{job_id}" not in k for k in after)  # route templates, not raw paths


def test_served_openapi_equals_the_committed_one(server):
    served = httpx.get(f"{server.url}/openapi.json").json()
    assert served == json.loads(COMMITTED_OPENAPI.read_text()), (
        "API changed: regenerate with .venv/bin/python -m pipelines.service.app")


# Property-based: every operation of the committed schema, fuzzed against the live server. Random bytes are never
# media, so uploads that conform to the schema are answered 415 (or 413): accepted as positive outcomes here.
openapi_schema = schemathesis.openapi.from_dict(
    json.loads(COMMITTED_OPENAPI.read_text()),
    config=schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {
        "expected-statuses": ["2xx", "401", "404", "413", "415", "429"]}}}))


@openapi_schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_api_properties(case, server):
    # timeout: schemathesis' default read timeout is 10 s, and a fuzzed upload that happens to be a valid
    # image (a 1x1 PNG) is really scanned; with a training run beside the suite that took over 10 s twice
    # (2026-12-01), a failure of the machine's load, not of the API.
    case.call_and_validate(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)


# -- limits under load -----------------------------------------------------------------------------------


def test_scan_deadline_gives_504(tight, demo_clip):
    _wait_idle(tight)
    response = tight.client().post("/v1/scan", files=_upload(demo_clip))  # 32 frames never scan in 10 ms
    assert response.status_code == 504 and _error_code(response) == "timeout"
    _assert_clean_error(response, tight)
    _wait_idle(tight)  # the scan went on in the background; its upload is deleted when it ends
    assert list(tight.upload_dir.iterdir()) == []


def test_slow_upload_gives_408(tight):
    status, _ = _raw_post(tight, token=TOKEN, chunked=True, stall=True)
    assert status == 408


def test_saturation_gives_429(tight, demo_clip):
    _wait_idle(tight)
    client = tight.client()
    # One worker, no queue: the first job takes the worker; the next upload arrives long before a
    # 32-frame scan ends.
    responses = [client.post("/v1/jobs", files=_upload(demo_clip)) for _ in range(4)]
    statuses = [r.status_code for r in responses]
    assert statuses[0] == 202 and 429 in statuses, statuses
    refused = next(r for r in responses if r.status_code == 429)
    assert _error_code(refused) == "saturated" and refused.headers["retry-after"] == "1"
    _wait_idle(tight)
    assert list(tight.upload_dir.iterdir()) == []


# -- connections -----------------------------------------------------------------------------------------

# Requests that never complete, as the outside probe sent them: nothing, half a request line, partial headers;
# an unauthenticated upload whose body never comes (answered 401 at once, then left open); and a keep-alive
# connection left idle, or with a second request begun and stalled, after a complete first one.
INCOMPLETE = (b"", b"GET /hea", b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
              b"POST /v1/scan HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n",
              b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
              b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n")


def _open_incomplete(server: Server, n: int, kinds: tuple[bytes, ...] = INCOMPLETE) -> list[socket.socket]:
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


def test_incomplete_requests_are_closed_after_the_header_timeout(tight):
    key = 'deepfake_connections_dropped_total{reason="header_timeout"}'
    before = _metrics(tight).get(key, 0)
    socks = _open_incomplete(tight, 5 * len(INCOMPLETE))
    try:
        deadline = time.monotonic() + 20  # --header-timeout 1; without a deadline they stayed open >= 60 s
        still_open = [INCOMPLETE[i % len(INCOMPLETE)] for i, sock in enumerate(socks)
                      if not _closed_by_server(sock, deadline)]
    finally:
        _close_all(socks)
    assert still_open == []
    after = _metrics(tight)
    assert after.get(key, 0) >= before + len(socks)
    assert after["deepfake_connections_open"] == 1  # this scrape's own: the books balance


def test_a_flood_of_incomplete_requests_does_not_starve_clients(crowded):
    before = _metrics(crowded)
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
    after = _metrics(crowded)
    evicted = 'deepfake_connections_dropped_total{reason="evicted"}'
    assert after[evicted] >= before[evicted] + 100 - 40
    unavailable = [k for k in after if k.startswith("deepfake_http_requests_total") and 'status="503"' in k]
    assert all(after[k] == before[k] for k in unavailable)  # /readyz answered 503 while the model loaded


def test_a_new_connection_is_refused_only_when_every_one_is_being_served(crowded):
    key_499 = 'deepfake_http_requests_total{method="POST",route="/v1/scan",status="499"}'
    refused = 'deepfake_connections_dropped_total{reason="refused"}'
    before = _metrics(crowded)
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
    after = _wait_metrics(crowded, lambda m: m.get(key_499, 0) >= before.get(key_499, 0) + 40)
    assert after[refused] >= before[refused] + 1  # more if a scrape above came while the cap was still full
    key_500 = key_499.replace("499", "500")
    assert after.get(key_500, 0) == before.get(key_500, 0)


def test_client_that_drops_mid_upload_is_not_a_server_error(server):
    key_499 = 'deepfake_http_requests_total{method="POST",route="/v1/scan",status="499"}'
    key_500 = key_499.replace("499", "500")
    before = _metrics(server)
    boundary = "b0undary"
    part = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="gone.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n").encode() + b"\x00\x00\x00\x18ftypmp42" + bytes(20_000)
    head = (f"POST /v1/scan HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {900_000}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + part)
        deadline = time.monotonic() + 30
        while not list(server.upload_dir.iterdir()):  # the part began: its temp file exists
            assert time.monotonic() < deadline
            time.sleep(0.02)
    after = _wait_metrics(server, lambda m: m.get(key_499, 0) >= before.get(key_499, 0) + 1)
    assert after.get(key_500, 0) == before.get(key_500, 0)
    assert list(server.upload_dir.iterdir()) == []
    log = server.log.read_text()
    [line] = [line for line in log.splitlines() if "client closed the connection during POST /v1/scan" in line]
    assert "INFO" in line
    assert "ClientDisconnect" not in log and "unhandled error" not in log and "Traceback" not in log


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


def test_serve_refuses_to_start_without_tokens(monkeypatch):
    from pipelines.cli import EXIT_USAGE, main

    monkeypatch.delenv("DEEPFAKE_API_TOKENS", raising=False)
    assert main(["serve", "--port", str(_free_port())]) == EXIT_USAGE
    monkeypatch.setenv("DEEPFAKE_API_TOKENS", "short")
    assert main(["serve", "--port", str(_free_port())]) == EXIT_USAGE
    monkeypatch.setenv("DEEPFAKE_API_TOKENS", TOKEN)
    assert main(["serve", "--port", str(_free_port()), "--header-timeout", "0"]) == EXIT_USAGE
