"""Peak memory of sampling frames from short and long videos: it must stay flat in video length.

Each measurement runs in a fresh child process (its resident memory, read after every sampled frame), sampling 32 frames of
a 1280 x 720 clip with both decode strategies. Prints the peak RSS and the ratio long/short.

    .venv/bin/python benchmarks/media_memory.py [--long-seconds 300]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

CHILD = """
import json, sys, time
from detector.media import open_media
from detector.recipe import SamplingSpec

def rss_mb():
    # Current resident set (VmRSS), read while frames stream; ru_maxrss would only show the import peak.
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

path, seek_above = sys.argv[1], float(sys.argv[2])
baseline = rss_mb()
peak = baseline
t = time.perf_counter()
with open_media(path) as media:
    n = 0
    for frame in media.frames(SamplingSpec(seek_above_s=seek_above)):
        n += 1
        peak = max(peak, rss_mb())
print(json.dumps({"frames": n, "seconds": time.perf_counter() - t, "peak_rss_mb": peak, "growth_mb": peak - baseline}))
"""


def write_clip(path: Path, seconds: float, *, width: int = 1280, height: int = 720, fps: int = 25) -> Path:
    """A moving-noise clip (so every frame costs real bytes and decode work), encoded as it is generated."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "30", "g": str(fps * 2)}
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.roll(base, 4 * i, axis=1), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def measure(path: Path, seek_above_s: float) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(seek_above_s)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short-seconds", type=float, default=10.0)
    parser.add_argument("--long-seconds", type=float, default=300.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        short = write_clip(Path(tmp) / "short.mp4", args.short_seconds)
        long = write_clip(Path(tmp) / "long.mp4", args.long_seconds)
        print(f"clips: 1280x720 25 fps, {args.short_seconds:.0f} s and {args.long_seconds:.0f} s "
              f"(made in {time.perf_counter() - t:.0f} s)")
        rows = {
            "short, decode all": measure(short, 1e9),
            "long, keyframe seeking (default)": measure(long, 30.0),
            "long, decode all (forced)": measure(long, 1e9),
        }
    for name, r in rows.items():
        print(f"  {name:<34} {r['frames']:>3} frames  {r['seconds']:6.2f} s  peak RSS {r['peak_rss_mb']:6.1f} MB "
              f"(+{r['growth_mb']:.1f} MB over the process after imports)")
    base = rows["short, decode all"]["peak_rss_mb"]
    for name in ("long, keyframe seeking (default)", "long, decode all (forced)"):
        print(f"  peak RSS {name} / short: {rows[name]['peak_rss_mb'] / base:.2f}x "
              f"(video {args.long_seconds / args.short_seconds:.0f}x longer)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
