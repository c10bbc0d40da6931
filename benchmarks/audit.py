"""Audit throughput: a generated archive of 1,000 small files audited end to end, local engine vs Ray.

The archive (about 40 MB, built in a temporary directory from scikit-image's public-domain photos, so the
``demo`` extra is needed; the Ray half needs the ``ray`` extra):

* 100 videos (1.2 s at 10 fps, 320x240 to 480x360, a pan/zoom over the astronaut: one face each),
* 600 images (distinct crops and scales of the astronaut, the cameraman, and the cat, which has no human face),
* 150 duplicates (copies under other names, a third of them with a non-media extension),
* 50 corrupt files (truncated videos and images),
* 100 non-media files (text, random bytes, empty files).

Each engine audits it into its own ledger; a second local run over the unchanged archive must do no work.
Printed: files/s end to end (walk, hash, scan and commit; for Ray, cluster start-up is timed separately),
distinct contents scanned per second, how many verdicts the engines agree on, and each ledger's integrity
check. All figures come from one process, so the ratios compare like with like on the same load.

    .venv/bin/python benchmarks/audit.py [--frames 8] [--workers N] [--skip-ray]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import cv2

from detector.outputs.demo import load_photo, pan_zoom_frames, write_video
from detector.recipe import ScanConfig
from detector.runtime import usable_cores
from pipelines.audit import AuditOptions, Ledger, ScannerSpec, run_audit

N_VIDEOS, N_IMAGES, N_DUPLICATES, N_CORRUPT, N_OTHER = 100, 600, 150, 50, 100


def make_archive(root: Path, seed: int = 0) -> dict[str, int]:
    """Write the 1,000 files; returns how many of each kind."""
    rng = random.Random(seed)
    photos = [load_photo("astronaut.png"), load_photo("camera.png"), load_photo("chelsea.png")]
    media: list[Path] = []
    for i in range(N_VIDEOS):
        width = 320 + 16 * (i % 11)
        path = root / "videos" / f"{i // 25:02d}" / f"clip_{i:03d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        frames = pan_zoom_frames(photos[0], width=width, height=width * 3 // 4, n_frames=12,
                                 zoom=(1.0, 1.1 + 0.005 * i))
        media.append(write_video(path, frames, fps=10))
    for i in range(N_IMAGES):
        photo = photos[i % 3]
        h, w = photo.shape[:2]
        side = rng.randint(min(h, w) // 2, min(h, w))
        y, x = rng.randint(0, h - side), rng.randint(0, w - side)
        crop = cv2.resize(photo[y:y + side, x:x + side], (rng.randint(160, 400),) * 2)
        path = root / "images" / f"{i // 100:02d}" / f"img_{i:03d}.{'jpg' if i % 4 else 'png'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        media.append(path)
    (root / "copies").mkdir()
    for i in range(N_DUPLICATES):
        source = rng.choice(media)
        suffix = ".bin" if i % 3 == 0 else source.suffix  # renamed: found by content, scanned once
        shutil.copy(source, root / "copies" / f"copy_{i:03d}{suffix}")
    (root / "corrupt").mkdir()
    for i in range(N_CORRUPT):
        source = media[i * 7 % len(media)]
        data = source.read_bytes()
        (root / "corrupt" / f"broken_{i:02d}{source.suffix}").write_bytes(data[:max(64, len(data) // 5)])
    (root / "other").mkdir()
    for i in range(N_OTHER):
        path = root / "other" / f"file_{i:03d}"
        if i % 3 == 0:
            path.with_suffix(".txt").write_text(f"note {i}\n" * (i + 1))
        elif i % 3 == 1:
            path.with_suffix(".dat").write_bytes(os.urandom(1000 + 97 * i))
        else:
            path.with_suffix(".log").touch()
    return {"videos": N_VIDEOS, "images": N_IMAGES, "duplicates": N_DUPLICATES, "corrupt": N_CORRUPT,
            "non-media": N_OTHER}


def audit(root: Path, db: Path, spec: ScannerSpec, **options) -> tuple[float, object]:
    t0 = time.perf_counter()
    summary = run_audit(AuditOptions(roots=(str(root),), db=db, spec=spec, **options), progress=False)
    return time.perf_counter() - t0, summary


def describe(name: str, seconds: float, summary, n_files: int, db: Path) -> None:
    with Ledger.open(db) as ledger:
        integrity = ledger.check()
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.status_counts.items()))
    print(f"{name:<34} {seconds:7.1f} s  {n_files / seconds:7.1f} files/s  {summary.scanned:4d} contents scanned "
          f"({summary.scanned / seconds:5.1f}/s)  [{counts}]  integrity {'ok' if integrity.ok else integrity.problems}"
          f" ({integrity.files} files, {integrity.contents} contents, {integrity.scans_pending} pending)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=8, help="frames sampled per video (default 8)")
    parser.add_argument("--workers", type=int, default=None, help="local workers (default: one per usable core)")
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args(argv)
    spec = ScannerSpec(settings=ScanConfig(frames=args.frames))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "archive"
        t0 = time.perf_counter()
        kinds = make_archive(root)
        n_files = sum(kinds.values())
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        print(f"archive: {n_files} files ({', '.join(f'{v} {k}' for k, v in kinds.items())}), {size / 1e6:.1f} MB, "
              f"built in {time.perf_counter() - t0:.1f} s; {args.frames} frames per video; "
              f"{usable_cores()} usable cores", flush=True)
        local_db = Path(tmp) / "local.sqlite"
        seconds, summary = audit(root, local_db, spec, workers=args.workers)
        local_rate = n_files / seconds
        describe(f"local engine ({args.workers or usable_cores()} workers)", seconds, summary, n_files, local_db)
        seconds, again = audit(root, local_db, spec, workers=args.workers)
        describe("local engine, second run", seconds, again, n_files, local_db)
        if again.scanned or again.hashed:
            print(f"  SECOND RUN DID WORK: {again.scanned} scanned, {again.hashed} hashed")
        if not args.skip_ray:
            import ray

            t0 = time.perf_counter()
            ray.init(num_cpus=usable_cores(), include_dashboard=False, log_to_driver=False)
            start_up = time.perf_counter() - t0
            ray_db = Path(tmp) / "ray.sqlite"
            try:
                seconds, summary = audit(root, ray_db, spec, engine="ray")
            finally:
                ray.shutdown()
            describe(f"ray engine ({usable_cores()} CPUs)", seconds, summary, n_files, ray_db)
            print(f"  ray start-up (ray.init) {start_up:.1f} s, not included above; with it "
                  f"{n_files / (seconds + start_up):.1f} files/s; local/ray ratio {local_rate / (n_files / seconds):.2f}")
            query = "SELECT content_sha256, verdict, ROUND(fake_probability, 4), error_code FROM scans ORDER BY 1"
            a = sqlite3.connect(local_db).execute(query).fetchall()
            b = sqlite3.connect(ray_db).execute(query).fetchall()
            same = sum(x == y for x, y in zip(a, b))
            print(f"  local and ray ledgers agree on {same}/{len(a)} contents (verdict, probability, error code)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
