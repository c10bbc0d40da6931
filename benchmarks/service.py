"""Service throughput: concurrent clients on loopback against ``deepfake serve``, versus ``Detector.scan`` in-process.

Starts ``deepfake serve`` in a subprocess (``--workers`` scan threads, queue as deep as the client count so
nothing is refused), then ``--clients`` threads each post a 512 x 512 JPEG and a 2 s 640 x 360 clip in turn
until ``--requests`` are done or ``--seconds`` have passed. Prints requests/s and p50/p95 latency (all, images,
clips), then the same mix scanned one by one with ``Detector.scan`` in this process, and the ratio.

    .venv/bin/python benchmarks/service.py [--clients 4] [--requests 40] [--seconds 120] [--workers 2] [--frames 32]

The ratio includes everything a client pays over a library call: multipart upload, the temp file, a worker
hand-off and the JSON answer. Above 1 means the worker threads overlap scans (ONNX Runtime and FFmpeg release
the GIL); on 2 cores little overlap is left to gain.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np

from detector import Detector
from detector.outputs.demo import load_photo, pan_zoom_frames, write_video
from detector.recipe import ScanConfig

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _media(tmp: Path) -> list[Path]:
    photo = load_photo("astronaut.png")
    image = tmp / "astronaut.jpg"
    cv2.imwrite(str(image), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    clip = write_video(tmp / "clip.mp4", pan_zoom_frames(photo, width=640, height=360, n_frames=50), fps=25)
    return [image, clip]


def _start_server(args: argparse.Namespace, token: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "pipelines.cli", "serve", "--port", str(port), "--workers", str(args.workers),
           "--queue", str(args.clients), "--timeout", str(args.seconds),
           *(("--frames", str(args.frames)) if args.frames else ())]
    with open(log, "wb") as out:
        server = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, "DEEPFAKE_API_TOKENS": token}, stdout=out,
                                  stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return server, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit(f"server did not become ready:\n{log.read_text()}")


def _percentiles(latencies: list[float]) -> str:
    if not latencies:
        return "-"
    p50, p95 = np.percentile(latencies, [50, 95])
    return f"p50 {p50:5.2f} s  p95 {p95:5.2f} s  (n={len(latencies)})"


def run_clients(url: str, token: str, media: list[Path], *, clients: int, requests: int, seconds: float
                ) -> tuple[float, dict[str, list[float]], dict[int, int]]:
    """Post ``media`` round-robin from ``clients`` threads; returns (wall seconds, latencies per kind, statuses)."""
    payloads = [(p.name, p.read_bytes()) for p in media]
    lock = threading.Lock()
    issued = 0
    latencies: dict[str, list[float]] = {p.suffix: [] for p in media}
    statuses: dict[int, int] = {}
    stop_at = time.monotonic() + seconds

    def client() -> None:
        nonlocal issued
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=seconds) as http:
            while True:
                with lock:
                    if issued >= requests or time.monotonic() >= stop_at:
                        return
                    i = issued
                    issued += 1
                name, data = payloads[i % len(payloads)]  # alternate kinds: half images, half clips
                t0 = time.perf_counter()
                response = http.post("/v1/scan", files={"file": (name, data)})
                elapsed = time.perf_counter() - t0
                with lock:
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code == 200:
                        latencies[Path(name).suffix].append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, statuses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--requests", type=int, default=40, help="total requests (half images, half clips)")
    parser.add_argument("--seconds", type=float, default=120.0, help="stop issuing requests after this long")
    parser.add_argument("--workers", type=int, default=2, help="server scan threads")
    parser.add_argument("--frames", type=int, help="frames sampled per clip, server and in-process (default: the card's)")
    args = parser.parse_args(argv)
    token = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as tmp:
        media = _media(Path(tmp))
        server, url = _start_server(args, token, Path(tmp) / "server.log")
        try:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
                for p in media:  # warm-up: first-run allocations are not per-request cost
                    http.post("/v1/scan", files={"file": (p.name, p.read_bytes())}).raise_for_status()
            wall, latencies, statuses = run_clients(url, token, media, clients=args.clients, requests=args.requests,
                                                    seconds=args.seconds)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        done = sum(len(v) for v in latencies.values())
        service_rps = done / wall
        print(f"service: {args.clients} clients, {args.workers} workers, {args.frames} frames/clip, "
              f"{os.cpu_count()} CPUs; statuses {dict(sorted(statuses.items()))}")
        print(f"  {done} scans in {wall:5.1f} s = {service_rps:5.2f} requests/s")
        print(f"  all    {_percentiles([x for v in latencies.values() for x in v])}")
        print(f"  images {_percentiles(latencies['.jpg'])}")
        print(f"  clips  {_percentiles(latencies['.mp4'])}")

        detector = Detector.load(config=ScanConfig(frames=args.frames))
        for p in media:
            detector.scan(p)  # warm-up, as for the server
        order = [media[i % len(media)] for i in range(done)]
        t0 = time.perf_counter()
        for p in order:
            detector.scan(p)
        local = time.perf_counter() - t0
        local_rps = len(order) / local
        print(f"in-process Detector.scan, one at a time: {len(order)} scans in {local:5.1f} s = "
              f"{local_rps:5.2f} scans/s")
        print(f"throughput ratio service / in-process: {service_rps / local_rps:4.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
