"""Peak memory of a scan against the number of sampled frames: it must stay flat (issue 39, item 2).

One 10-minute 320 x 240 clip at 25 fps with a face in every frame (a pan/zoom over the astronaut photo, played
back and forth), scanned with the bundled model at 32 sampled frames (the default), 600 (``--frames 600``) and 3,000
(``--fps 5``), each in a fresh child process. Prints each child's peak RSS (VmHWM, the import and model load
included; ``ru_maxrss`` of the child beside it) and the ratios to the 32-frame scan, measured in the same run.
Before faces were classified as they were found, every face kept its 224 x 224 x 3 crop to the end: 472 MB at 32
frames, 1,462 MB at 3,000. ``--whole-file`` also runs that path (the face stage's whole result, then one classifier
call) at the largest sampling, as the baseline of the same run.

    .venv/bin/python benchmarks/scan_memory.py [--minutes 10] [--whole-file]

Targets: the peaks within 1.3x of each other, and under 600 MB at 3,000 sampled frames.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
import numpy as np
from detector import Detector, ScanConfig

def peak_mb():
    # VmHWM: this process's own high-water mark, reset by exec. ru_maxrss is printed beside it: Linux carries it
    # across exec, so it shows the parent's peak if that was higher.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

path, frames, fps, mode = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) or None, sys.argv[4]
detector = Detector.load(config=ScanConfig(frames=frames, fps=fps))
t0 = time.perf_counter()
if mode == "stream":
    result = detector.scan(path)
    out = {"verdict": result.verdict, "faces": len(result.timeline)}
else:  # the path before issue 39: every face with its crop until one classifier call over all of them
    found = detector.faces.extract(path, sampling=detector.sampling, limits=detector.limits)
    probs = detector.classifier.predict(np.stack([f.crop for f in found.faces]))
    out = {"verdict": "-", "faces": len(probs)}
out.update(seconds=time.perf_counter() - t0, peak_rss_mb=peak_mb(),
           ru_maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""

SAMPLINGS = (("32 frames (default)", 32, 0.0), ("600 frames", 600, 0.0), ("3,000 frames (--fps 5)", 32, 5.0))


def write_clip(path: Path, minutes: float, *, width: int = 320, height: int = 240, fps: int = 25) -> Path:
    """A face in every frame: 10 s of pan/zoom over the astronaut, played forwards then backwards, for ``minutes``."""
    from detector.outputs.demo import load_photo, pan_zoom_frames
    from detector.video_writer import VideoWriter

    loop = pan_zoom_frames(load_photo(), width=width, height=height, n_frames=10 * fps)
    loop += loop[::-1]
    with VideoWriter(path, fps, crf=23) as writer:
        for i in range(round(minutes * 60 * fps)):
            writer.write(loop[i % len(loop)])
    return path


def measure(path: Path, frames: int, fps: float, mode: str = "stream") -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(frames), str(fps), mode], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--whole-file", action="store_true", help="also run the pre-issue-39 path at the last sampling")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        clip = write_clip(Path(tmp) / "faces.mp4", args.minutes)
        print(f"clip: 320x240, 25 fps, {args.minutes:g} min, a face in every frame (made in "
              f"{time.perf_counter() - t:.0f} s)")
        rows = [(name, measure(clip, frames, fps)) for name, frames, fps in SAMPLINGS]
        if args.whole_file:
            name, frames, fps = SAMPLINGS[-1]
            rows.append((f"{name}, whole-file path", measure(clip, frames, fps, "whole")))
    base = rows[0][1]["peak_rss_mb"]
    print(f"{'sampling':<40} {'faces':>6} {'peak RSS':>9} {'ru_maxrss':>9} {'/ 32 frames':>11} {'time':>7}")
    for name, row in rows:
        print(f"{name:<40} {row['faces']:>6} {row['peak_rss_mb']:>6.0f} MB {row['ru_maxrss_mb']:>6.0f} MB "
              f"{row['peak_rss_mb'] / base:>10.2f}x {row['seconds']:>6.0f}s")
    streamed = [row["peak_rss_mb"] for _, row in rows[:len(SAMPLINGS)]]
    spread, last = max(streamed) / min(streamed), streamed[-1]
    print(f"largest / smallest peak: {spread:.2f}x (target <= 1.3x); at 3,000 frames {last:.0f} MB (target < 600 MB)"
          f": {'met' if spread <= 1.3 and last < 600 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
