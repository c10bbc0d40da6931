"""Face-stage benchmark: decoding, face detection (ONNX vs facenet-pytorch) and the end-to-end face stage.

Run from the repository root::

    .venv/bin/python benchmarks/faces.py            # full run, about 1.5-2 minutes on 2 idle cores
    .venv/bin/python benchmarks/faces.py --quick    # fewer frames and repeats, under a minute
    .venv/bin/python benchmarks/faces.py --skip-facenet --json bench.json   # no torch needed

It generates a 1080p and a 360p 10 s clip at 25 fps (pan/zoom over scikit-image's astronaut photo, so the
``demo`` extra is needed) in a temporary directory, and, when ``../shared/data/eval/videos`` exists, also
measures up to 4 of those real clips.

Targets it reports on (printed as figures, never asserted, because timings depend on the machine):

* ONNX detection (the ``onnx`` backend as the pipeline uses it: frame downscaled to a 640 px long side,
  batches of 8) on a 1080p frame: <= 40 ms/frame on 2 CPU cores.
* The same at >= 3x the speed of facenet-pytorch's MTCNN run at full resolution (the reference pipeline).

All figures come from one process so the ratios compare like with like on the same load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from detector.faces.backends import create_detector
from detector.faces.detections import Detections, FaceDetector
from detector.faces.extract import FaceExtractor, _downscale
from detector.media import Frame, read_frames
from detector.outputs.demo import load_photo, pan_zoom_frames, write_video
from detector.recipe import SamplingSpec

if __package__:  # python -m benchmarks.faces
    from .measuring import OtherLoad, environment, load_note, median_time, print_environment, timed
else:  # python benchmarks/faces.py, or loaded by path from benchmarks/scan.py: benchmarks/ is on sys.path then
    from measuring import OtherLoad, environment, load_note, median_time, print_environment, timed

REPO_ROOT = Path(__file__).resolve().parent.parent

EVAL_VIDEOS = REPO_ROOT.parent / "shared" / "data" / "eval" / "videos"
DETECT_LONG_SIDE = 640  # what FaceConfig.detect_long_side defaults to
BATCH = 8  # FaceConfig.batch_frames default
TARGET_ONNX_MS = 40.0
TARGET_SPEEDUP = 3.0
MIN_SCORE = 0.9  # FaceConfig.min_score: a frame "has a face" above this, as the pipeline counts it


@dataclass(frozen=True)
class Settings:
    """How much work each measurement does (``--quick`` trades precision for time)."""

    seconds: float = 10.0
    fps: int = 25
    sampled: int = 32  # frames read_frames samples per clip
    repeats: int = 3  # timed passes over the ONNX frames; the median is reported
    onnx_frames: int = 32
    facenet_full_frames: int = 16  # facenet at 1080p is ~0.3-0.4 s/frame: keep it short
    facenet_small_frames: int = 32
    real_files: int = 4
    decode_repeats: int = 2

    @classmethod
    def quick(cls) -> Settings:
        return cls(repeats=1, onnx_frames=16, facenet_full_frames=8, facenet_small_frames=8, real_files=2,
                   decode_repeats=1)


# -- clips -----------------------------------------------------------------------------------------------------

def write_clip(path: Path, *, width: int, height: int, n_frames: int, fps: int, chunk: int = 25) -> Path:
    """The demo pan/zoom clip, written by ``detector.outputs.demo.write_video`` but rendered a chunk of frames at a time.

    ``pan_zoom_frames`` interpolates zoom and pan linearly over its frames, so rendering frames ``a..b`` with
    the end values of that sub-range gives the same frames as one call for the whole clip, without holding
    250 1080p frames (1.5 GB) at once (``write_video`` streams what it is given).
    """
    photo = load_photo()
    zoom, pan = (1.0, 1.35), (-0.08, 0.08)  # pan_zoom_frames' defaults

    def lerp(lo_hi: tuple[float, float], i: int) -> float:
        return lo_hi[0] + (lo_hi[1] - lo_hi[0]) * i / max(1, n_frames - 1)

    def frames() -> Iterator[np.ndarray]:
        for start in range(0, n_frames, chunk):
            last = min(n_frames, start + chunk) - 1
            yield from pan_zoom_frames(photo, width=width, height=height, n_frames=last - start + 1,
                                       zoom=(lerp(zoom, start), lerp(zoom, last)),
                                       pan=(lerp(pan, start), lerp(pan, last)))

    return write_video(path, frames(), fps=fps)


def make_clips(folder: Path, settings: Settings) -> dict[str, Path]:
    n = round(settings.seconds * settings.fps)
    clips = {}
    for name, (w, h) in {"1080p": (1920, 1080), "360p": (640, 360)}.items():
        t0 = time.perf_counter()
        clips[name] = write_clip(folder / f"{name}.mp4", width=w, height=h, n_frames=n, fps=settings.fps)
        print(f"  generated {name}: {w}x{h}, {n} frames at {settings.fps} fps in {time.perf_counter() - t0:.1f} s "
              f"({clips[name].stat().st_size / 1e6:.1f} MB)")
    return clips


def pick_real_videos(root: Path, limit: int) -> list[Path]:
    """Up to ``limit`` .mp4 files, taken round-robin from the sub-folders (real/, fake/) for variety."""
    if limit <= 0 or not root.is_dir():
        return []
    groups = [sorted(d.rglob("*.mp4")) for d in sorted(p for p in root.iterdir() if p.is_dir())]
    groups.append(sorted(root.glob("*.mp4")))
    picked: list[Path] = []
    while len(picked) < limit and any(groups):
        for group in groups:
            if group and len(picked) < limit:
                picked.append(group.pop(0))
    return picked


# -- decoding --------------------------------------------------------------------------------------------------

def decode_all(path: Path, *, thread_type: str | None = None, to_rgb: bool = False) -> int:
    """Decode every frame of the video stream; returns the count."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if thread_type:
            stream.thread_type = thread_type
        n = 0
        for frame in container.decode(stream):
            if to_rgb:
                frame.to_ndarray(format="rgb24")
            n += 1
    return n


def bench_decode(path: Path, settings: Settings) -> tuple[dict[str, float], list[Frame]]:
    # Default threading is what detector.media uses (it leaves PyAV's default); AUTO (frame threads) is shown
    # to tell whether ingestion leaves decode speed on the table.
    figures: dict[str, float] = {}
    load = OtherLoad().start()
    for label, kwargs in {"decode_fps": {}, "decode_fps_threads_auto": {"thread_type": "AUTO"},
                          "decode_rgb_fps": {"to_rgb": True}}.items():
        runs = [timed(lambda kw=kwargs: decode_all(path, **kw)) for _ in range(settings.decode_repeats)]
        figures[label] = statistics.median(n / t for t, n in runs)
    sampling = SamplingSpec(frames=settings.sampled)
    read_frames(path, sampling=sampling)  # warm the page cache and codec init like the decode runs above
    figures["read_frames_s"] = median_time(lambda: read_frames(path, sampling=sampling), settings.decode_repeats)
    _, frames = read_frames(path, sampling=sampling)
    figures["read_frames_n"] = len(frames)
    if load.stop() is not None:
        figures["other_load"] = load.share
    return figures, frames


# -- detection -------------------------------------------------------------------------------------------------

@dataclass
class DetectResult:
    ms_per_frame: float
    frames: int
    frames_with_face: int  # frames with a detection >= MIN_SCORE: a sanity check that both backends find faces
    downscale_ms_per_frame: float = 0.0
    best_ms_per_frame: float = 0.0  # fastest pass: less sensitive to other processes than the median
    passes: int = 1
    other_load: float | None = None  # CPU share other processes took meanwhile (see OtherLoad)

    def to_dict(self) -> dict[str, float | int | None]:
        return {"ms_per_frame": round(self.ms_per_frame, 2), "best_ms_per_frame": round(self.best_ms_per_frame, 2),
                "passes": self.passes, "frames": self.frames, "frames_with_face": self.frames_with_face,
                "downscale_ms_per_frame": round(self.downscale_ms_per_frame, 2),
                "other_load": None if self.other_load is None else round(self.other_load, 3)}


def _batches(images: Sequence[np.ndarray], size: int) -> list[list[np.ndarray]]:
    return [list(images[i:i + size]) for i in range(0, len(images), size)]


def _with_face(dets: Sequence[Detections]) -> int:
    return sum(bool((d.scores >= MIN_SCORE).any()) for d in dets)


def bench_detect(detector: FaceDetector, images: Sequence[np.ndarray], *, long_side: int, repeats: int) -> DetectResult:
    """ms/frame of downscale (when ``long_side``) + ``detector.detect`` over batches of ``BATCH`` frames."""

    def one_pass() -> tuple[float, float, list[Detections]]:
        detect_s = downscale_s = 0.0
        found: list[Detections] = []
        for batch in _batches(images, BATCH):
            t0 = time.perf_counter()
            small = [_downscale(img, long_side)[0] for img in batch] if long_side else batch
            t1 = time.perf_counter()
            found.extend(detector.detect(small))
            detect_s += time.perf_counter() - t1
            downscale_s += t1 - t0
        return detect_s + downscale_s, downscale_s, found

    # Warm-up on a full batch: first runs allocate buffers and (for torch) pick kernels per input shape.
    warm = [_downscale(img, long_side)[0] for img in images[:BATCH]] if long_side else list(images[:BATCH])
    detector.detect(warm)
    with OtherLoad() as load:
        runs = [one_pass() for _ in range(max(1, repeats))]
    total = statistics.median(r[0] for r in runs)
    down = statistics.median(r[1] for r in runs)
    n = len(images)
    return DetectResult(1000 * total / n, n, _with_face(runs[-1][2]), 1000 * down / n,
                        best_ms_per_frame=1000 * min(r[0] for r in runs) / n, passes=len(runs),
                        other_load=load.share)


def load_facenet(skip: bool) -> tuple[FaceDetector | None, str]:
    """The facenet-pytorch backend on CPU, or ``None`` and why (skipped, or torch/facenet not importable)."""
    if skip:
        return None, "skipped (--skip-facenet)"
    try:
        import torch  # imported only here, so that --skip-facenet runs without torch
    except Exception as exc:  # noqa: BLE001  (a broken torch install raises OSError, RuntimeError, ...)
        return None, f"skipped: import torch failed ({exc.__class__.__name__}: {exc})"
    try:
        return create_detector("facenet", device="cpu"), f"torch threads {torch.get_num_threads()}"
    except Exception as exc:  # noqa: BLE001  (report and carry on with the ONNX figures)
        return None, f"skipped: facenet backend unavailable ({exc.__class__.__name__}: {exc})"


def ratio(num: DetectResult | None, den: DetectResult | None) -> float | None:
    if num is None or den is None or den.ms_per_frame <= 0:
        return None
    return num.ms_per_frame / den.ms_per_frame


def fmt_ratio(value: float | None, target: float | None = None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.2f}x"
    if target is not None:
        text += f" (target >= {target:g}x: {'met' if value >= target else 'NOT met'})"
    return text


def print_detect(label: str, res: DetectResult | None) -> None:
    if res is None:
        print(f"    {label:34s} n/a")
        return
    best = f" (best {res.best_ms_per_frame:.1f} of {res.passes})" if res.passes > 1 else ""
    # _downscale is a no-op when the long side is already <= 640: no point printing ~0 ms then.
    extra = f", downscale {res.downscale_ms_per_frame:.1f} ms of it" if res.downscale_ms_per_frame >= 0.05 else ""
    print(f"    {label:34s} {res.ms_per_frame:7.1f} ms/frame{best} [{res.frames} frames{extra}; "
          f"{res.frames_with_face}/{res.frames} with a face >= {MIN_SCORE}{load_note(res.other_load)}]")


def bench_clip_detection(name: str, images: Sequence[np.ndarray], onnx: FaceDetector, facenet: FaceDetector | None,
                         settings: Settings, *, full_res_onnx: bool = True) -> dict[str, Any]:
    """2a-2d on one clip's sampled frames; prints and returns the figures."""
    h, w = images[0].shape[:2]
    is_small = max(h, w) <= DETECT_LONG_SIDE
    print(f"  -- {name} ({w}x{h}, batch {BATCH})")
    res: dict[str, DetectResult | None] = {}
    res["onnx_640"] = bench_detect(onnx, images[:settings.onnx_frames], long_side=DETECT_LONG_SIDE,
                                   repeats=settings.repeats)
    print_detect(f"onnx, downscaled to {DETECT_LONG_SIDE}", res["onnx_640"])
    if full_res_onnx and not is_small:
        res["onnx_full"] = bench_detect(onnx, images[:settings.onnx_frames], long_side=0, repeats=settings.repeats)
        print_detect("onnx, full resolution", res["onnx_full"])
    if facenet is not None:
        # One pass only: facenet is the slow reference and its run-to-run spread is small next to the ratio.
        if not is_small:
            res["facenet_full"] = bench_detect(facenet, images[:settings.facenet_full_frames], long_side=0, repeats=1)
            print_detect("facenet-pytorch, full resolution", res["facenet_full"])
        res["facenet_640"] = bench_detect(facenet, images[:settings.facenet_small_frames], long_side=DETECT_LONG_SIDE,
                                          repeats=1)
        print_detect(f"facenet-pytorch, downscaled to {DETECT_LONG_SIDE}", res["facenet_640"])
        if is_small:
            # Long side already <= 640: _downscale is a no-op, so full resolution and 640 are the same run.
            res["facenet_full"] = res["facenet_640"]
            print(f"    (long side <= {DETECT_LONG_SIDE}: full resolution == downscaled; facenet full-res = 640 run)")
    full_vs = ratio(res.get("facenet_full"), res["onnx_640"])
    same_vs = ratio(res.get("facenet_640"), res["onnx_640"])
    if facenet is not None:
        # The >= 3x target is about frames the pipeline shrinks; at <= 640 px both backends see the same pixels.
        print(f"    facenet full-res / onnx-640        {fmt_ratio(full_vs, None if is_small else TARGET_SPEEDUP)}")
        print(f"    facenet-640 / onnx-640             {fmt_ratio(same_vs)}")
    out: dict[str, Any] = {"width": w, "height": h, **{k: v.to_dict() for k, v in res.items() if v is not None}}
    out["ratio_facenet_full_over_onnx_640"] = full_vs
    out["ratio_facenet_640_over_onnx_640"] = same_vs
    return out


# -- end to end ------------------------------------------------------------------------------------------------

def bench_extract(extractor: FaceExtractor, path: Path) -> dict[str, Any]:
    with OtherLoad() as load:
        result = extractor.extract(path)
    timings = {k: round(v, 4) for k, v in result.timings.items()}
    tracks = [t.to_dict() for t in result.tracks]
    print(f"    {path.name:12s} frames {result.n_frames}, faces {len(result.faces)}, tracks {len(result.tracks)}, "
          f"dropped tracks {result.dropped_tracks}{load_note(load.share)}")
    print("      timings (s): " + ", ".join(f"{k} {v:.3f}" for k, v in timings.items()))
    if result.n_frames:
        print(f"      per sampled frame: {1000 * result.timings.get('total', 0.0) / result.n_frames:.1f} ms total, "
              f"{1000 * result.timings.get('detect', 0.0) / result.n_frames:.1f} ms detect")
    for t in tracks:
        print(f"      track {t}")
    return {"n_frames": result.n_frames, "faces": len(result.faces), "tracks": tracks,
            "dropped_tracks": result.dropped_tracks, "timings": timings, "other_load": load.share}


# -- main ------------------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer frames and repeats (finishes in < 2 minutes)")
    parser.add_argument("--skip-facenet", action="store_true", help="do not import torch / facenet-pytorch")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write all figures to this JSON file")
    return parser.parse_args(argv)


def run_decode(clips: dict[str, Path], settings: Settings, report: dict[str, Any]) -> dict[str, list[Frame]]:
    print(f"\n== decoding (PyAV, all frames) and ingestion (read_frames, {settings.sampled} sampled frames)")
    sampled: dict[str, list[Frame]] = {}
    report["decode"] = {}
    for name, path in clips.items():
        figures, sampled[name] = bench_decode(path, settings)
        report["decode"][name] = {k: round(v, 3) for k, v in figures.items()}
        print(f"  {name:6s} decode {figures['decode_fps']:6.0f} fps (default threads), "
              f"{figures['decode_fps_threads_auto']:6.0f} fps (thread_type=AUTO), "
              f"{figures['decode_rgb_fps']:6.0f} fps (+ rgb24); "
              f"read_frames: {figures['read_frames_s']:.3f} s for {int(figures['read_frames_n'])} frames"
              f"{load_note(figures.get('other_load'))}")
    return sampled


def run_targets(figures: dict[str, Any], report: dict[str, Any]) -> None:
    """The two targets, on the 1080p clip."""
    onnx_ms = figures["onnx_640"]["ms_per_frame"]
    met = onnx_ms <= TARGET_ONNX_MS
    report["targets"] = {"onnx_640_1080p_ms": onnx_ms, "onnx_640_1080p_target_ms": TARGET_ONNX_MS,
                         "onnx_640_1080p_met": met,
                         "facenet_full_over_onnx_640": figures["ratio_facenet_full_over_onnx_640"],
                         "facenet_full_over_onnx_640_target": TARGET_SPEEDUP}
    print("\n== targets (1080p clip)")
    print(f"  onnx-640 ms/frame:           target <= {TARGET_ONNX_MS:g} ms: {onnx_ms:.1f} ms "
          f"({'met' if met else 'NOT met'}; best pass {figures['onnx_640']['best_ms_per_frame']:.1f} ms"
          f"{load_note(figures['onnx_640']['other_load'])})")
    print(f"  facenet full-res / onnx-640: {fmt_ratio(figures['ratio_facenet_full_over_onnx_640'], TARGET_SPEEDUP)}")
    print(f"  facenet-640 / onnx-640:      {fmt_ratio(figures['ratio_facenet_640_over_onnx_640'])}")


def run_real(onnx: FaceDetector, facenet: FaceDetector | None, settings: Settings, report: dict[str, Any]) -> None:
    real = pick_real_videos(EVAL_VIDEOS, settings.real_files)
    report["real"] = {}
    if not real:
        print(f"\n== real videos: {EVAL_VIDEOS} not found or empty, skipped")
        return
    print(f"\n== real videos ({EVAL_VIDEOS}, {len(real)} files, {settings.sampled} sampled frames each)")
    sampling = SamplingSpec(frames=settings.sampled)
    for path in real:
        t, (info, frames) = timed(lambda p=path: read_frames(p, sampling=sampling))
        name = f"{path.parent.name}/{path.name}"
        print(f"  {name}: {info.width}x{info.height}, {info.duration_s or 0:.1f} s, "
              f"read_frames {t:.3f} s for {len(frames)} frames")
        figures = bench_clip_detection(name, [f.image for f in frames], onnx, facenet, settings, full_res_onnx=False)
        figures["read_frames_s"] = round(t, 3)
        report["real"][name] = figures


def run_extract(clips: dict[str, Path], report: dict[str, Any]) -> None:
    print("\n== end-to-end face stage (FaceExtractor().extract, default config, 32 sampled frames)")
    extractor = FaceExtractor()
    # Untimed first run: session creation and first-call allocations are not per-video costs.
    extractor.extract(clips["360p"])
    report["extract"] = {name: bench_extract(extractor, path) for name, path in clips.items()}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings.quick() if args.quick else Settings()
    report: dict[str, Any] = {"mode": "quick" if args.quick else "full", "settings": settings.__dict__}
    report["environment"] = environment()
    print_environment(report["environment"])
    run_load = OtherLoad().start()
    started = time.perf_counter()

    onnx = create_detector("onnx")
    facenet, report["facenet"] = load_facenet(args.skip_facenet)
    print(f"  {'facenet benchmark':22s} {report['facenet']}")

    with tempfile.TemporaryDirectory(prefix="bench-faces-") as tmp:
        print("\n== clips")
        clips = make_clips(Path(tmp), settings)
        sampled = run_decode(clips, settings, report)
        print(f"\n== detection (ms/frame incl. downscale, batches of {BATCH}, median of passes after a warm-up batch)")
        report["detect"] = {name: bench_clip_detection(name, [f.image for f in frames], onnx, facenet, settings)
                            for name, frames in sampled.items()}
        del sampled  # ~200 MB of 1080p frames no longer needed
        run_targets(report["detect"]["1080p"], report)
        run_real(onnx, facenet, settings, report)
        run_extract(clips, report)

    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    report["other_load"] = run_load.stop()
    note = "" if run_load.share is None else f"; other processes used {100 * run_load.share:.0f}% of the CPU meanwhile"
    # Figures are only comparable across runs when that share stays near 0%.
    print(f"\nbenchmark took {report['elapsed_s']:.0f} s{note}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
