"""The ``deepfake`` command.

Results go to stdout (a table, or JSON Lines with ``--json``); logs and progress go to stderr.

Exit codes:
    0  every input was processed (scan: and none is fake)
    1  scan: at least one input is fake
    2  usage error (bad flags or values)
    3  at least one input failed (each failure is reported with its error code; the rest still ran)
    4  set-up error: a missing optional dependency or a corrupt bundled model
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

EXIT_OK = 0
EXIT_FAKE = 1
EXIT_USAGE = 2
EXIT_INPUT_ERRORS = 3
EXIT_SETUP = 4

log = logging.getLogger("deepfake")


# command -> (module:function taking argv, help); "synth" dispatches on its first argument.
DELEGATED: dict[str, tuple[str, str]] = {
    "train": ("training.train:main", "train a classifier from a JSON config (train extra)"),
    "train-default": ("training.default_model:main", "reproduce the bundled default model (train extra)"),
    "eval": ("training.evaluate:main", "evaluate an exported model on a labelled dataset (train extra)"),
    "export": ("training.export:main", "export a checkpoint to ONNX with its model card (train extra)"),
    "export-mtcnn": ("training.mtcnn_export:main", "re-export facenet-pytorch's MTCNN nets to ONNX (train extra)"),
    "audit": ("pipelines.audit.cli:main", "audit media archives into a resumable SQLite ledger; audit report | check"),
    "synth": ("", "make fakes: synth sbi | sbi-video | ae-swap | gan ... (ae-swap, gan: train extra)"),
}
SYNTH: dict[str, str] = {
    "sbi": "training.synth.sbi:main",
    "ae-swap": "training.synth.ae_swap:main",
    "gan": "training.synth.gan:main",
    "sbi-video": "training.synth.sbi_video:main",
}


def _run_delegated(argv: list[str]) -> int:
    import importlib

    from detector.errors import ConfigError, MissingExtraError

    command, rest = argv[0], argv[1:]
    if command == "synth":
        if not rest or rest[0] not in SYNTH:
            raise ConfigError(f"usage: deepfake synth {{{','.join(SYNTH)}}} ...")
        target, rest = SYNTH[rest[0]], rest[1:]
    else:
        target = DELEGATED[command][0]
    module_name, func = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in ("torch", "timm", "albumentations", "sklearn", "facenet_pytorch",
                                                    "onnx", "scipy", "torchvision"):
            raise MissingExtraError(exc.name, extra="train") from exc
        raise
    try:
        return int(getattr(module, func)(rest) or 0)
    except SystemExit as exc:  # their argparse: 2 on usage errors, 0 on --help
        return int(exc.code or 0)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepfake",
        description="Tell real faces from manipulated ones in videos and images.",
        epilog="Exit codes: 0 ok, 2 usage error, 3 some inputs failed, 4 set-up error (missing extra, bad model).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = sub.add_parser(
        "scan", help="real or fake? one verdict per video/image",
        description="Scan videos and images: per-person and per-file fake probability and verdict "
                    "(fake / real / uncertain / no_face / error) with reasons.",
        epilog="Exit codes: 0 no fake found, 1 at least one fake, 2 usage error, 3 some inputs failed, "
               "4 set-up error.",
    )
    scan.add_argument("paths", nargs="+", metavar="PATH", help="video or image files, or directories (recursive)")
    scan.add_argument("--json", action="store_true", help="print one JSON object per input on stdout")
    scan.add_argument("--model", type=Path, help="a model .onnx with its card .json beside it (default: bundled)")
    scan_sampling = scan.add_mutually_exclusive_group()
    scan_sampling.add_argument("--frames", type=int, default=32, help="frames sampled evenly per video (default 32)")
    scan_sampling.add_argument("--fps", type=float, help="sample at a fixed rate instead")
    scan.add_argument("--threshold", type=float, help="decision threshold (default: the model card's)")
    scan.add_argument("--providers", nargs="*", help="ONNX Runtime execution providers, in priority order")
    scan.add_argument("--report", type=Path, metavar="OUT.html",
                      help="also write one self-contained HTML report: verdicts, score timelines, the most "
                           "suspicious faces with occlusion heat maps")
    scan.add_argument("--evidence", type=int, metavar="K",
                      help=f"faces per input shown in the --report (default {REPORT_FACES})")

    faces = sub.add_parser(
        "faces", help="find, align and track faces; write crops and a JSONL of faces",
        description="Find, align and track faces in videos and images. Writes aligned crops and faces.jsonl "
                    "(and media.jsonl, one line per input, errors included) into --out.",
        epilog="Exit codes: 0 ok, 2 usage error, 3 some inputs failed, 4 set-up error.",
    )
    faces.add_argument("paths", nargs="+", metavar="PATH", help="video or image files (directories with -r)")
    faces.add_argument("--out", type=Path, help="directory for crops/, faces.jsonl and media.jsonl")
    faces.add_argument("--json", action="store_true", help="print one JSON object per input on stdout")
    faces.add_argument("-r", "--recursive", action="store_true", help="expand directories into their media files")
    sampling = faces.add_mutually_exclusive_group()
    sampling.add_argument("--frames", type=int, default=32, help="frames sampled evenly per video (default 32)")
    sampling.add_argument("--fps", type=float, help="sample at a fixed rate instead")
    faces.add_argument("--backend", default="onnx", choices=["onnx", "facenet"],
                       help="face detector: onnx (default, no torch) or facenet (facenet-pytorch)")
    faces.add_argument("--detect-size", type=int, default=640,
                       help="long side of the frame copy that detection runs on (0: full size; default 640)")
    faces.add_argument("--min-face", type=float, default=20.0, help="smallest face, px of the detection copy")
    faces.add_argument("--min-score", type=float, default=0.9, help="smallest detector probability kept")
    faces.add_argument("--crop-size", type=int, default=224, help="aligned crop side in px (default 224)")
    faces.add_argument("--margin", type=float, default=0.3, help="crop margin around the face (default 0.3)")
    faces.add_argument("--no-crops", action="store_true", help="write faces.jsonl but no crop images")

    # Training-side commands (need the 'train' extra); their own parsers take the remaining arguments.
    for name, (_, help_text) in DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)

    demo = sub.add_parser("demo-clip", help="write the demo clip (pan/zoom over a public-domain portrait)",
                          description="Write a short video made from scikit-image's public-domain astronaut "
                                      "photo (needs the 'demo' extra).")
    demo.add_argument("path", type=Path, nargs="?", default=Path("demo.mp4"))
    demo.add_argument("--width", type=int, default=1280)
    demo.add_argument("--height", type=int, default=720)
    demo.add_argument("--seconds", type=float, default=4.0)

    from pipelines.service.cli import add_serve_parser  # argparse only; the service loads in cmd_serve

    add_serve_parser(sub)
    return parser


# -- helpers -----------------------------------------------------------------------------------------


def expand_paths(paths: Sequence[str], *, recursive: bool) -> list[str]:
    """Directories become their media files (sorted) when ``recursive``; everything else stays as given."""
    from detector.media import is_media_path

    out: list[str] = []
    for p in paths:
        if recursive and os.path.isdir(p):
            found = sorted(str(f) for f in Path(p).rglob("*") if f.is_file() and is_media_path(f))
            if not found:
                log.warning("no media files under %s", p)
            out.extend(found)
        else:
            out.append(p)
    return out


class Progress:
    """One-line progress on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = total > 1 and self.stream.isatty()
        self.start = time.monotonic()

    def update(self, done: int, label: str) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.start
        eta = elapsed / max(done, 1) * (self.total - done)
        self.stream.write(f"\r[{done}/{self.total}] {elapsed:5.1f}s eta {eta:5.1f}s {label[-50:]:<50}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _media_id(path: str) -> str:
    digest = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:8]
    return f"{Path(path).stem[:60]}-{digest}"


def _error_record(path: str, code: str, message: str) -> dict[str, object]:
    return {"path": path, "status": "error", "error": {"code": code, "message": message}}


def _write_crops(out_dir: Path, path: str, result) -> dict[int, str]:
    """Write crops into a temporary folder, then move it into place: no half-written sets."""
    import cv2

    final = out_dir / "crops" / _media_id(path)
    tmp = final.with_name(final.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    names: dict[int, str] = {}
    for i, face in enumerate(result.faces):
        name = f"s{face.sample:05d}_t{face.track_id}.png"
        cv2.imwrite(str(tmp / name), cv2.cvtColor(face.crop, cv2.COLOR_RGB2BGR))
        names[i] = str((final / name).relative_to(out_dir))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return names


# -- commands ----------------------------------------------------------------------------------------


def _iter_faces_results(args: argparse.Namespace, paths: list[str]) -> Iterator[tuple[str, object, dict | None]]:
    from detector.errors import DetectorError
    from detector.faces.align import AlignSpec
    from detector.faces.extract import FaceConfig, FaceExtractor
    from detector.media import Sampling

    config = FaceConfig(backend=args.backend, detect_long_side=args.detect_size, min_face_size=args.min_face,
                        min_score=args.min_score, align=AlignSpec(size=args.crop_size, margin=args.margin))
    extractor = FaceExtractor(config)
    sampling = Sampling(num_frames=args.frames, fps=args.fps)
    for path in paths:
        try:
            yield path, extractor.extract(path, sampling=sampling), None
        except DetectorError as exc:
            yield path, None, exc.to_dict()
        except Exception as exc:  # the batch boundary: one bad file must not stop the rest
            log.debug("unexpected error on %s", path, exc_info=True)
            yield path, None, {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}


def cmd_faces(args: argparse.Namespace, stdout: TextIO) -> int:
    from detector.errors import ConfigError

    if args.frames is not None and args.frames < 1:
        raise ConfigError(f"--frames must be >= 1, got {args.frames}")
    paths = expand_paths(args.paths, recursive=args.recursive)
    if not paths:
        raise ConfigError("no input files")
    with contextlib.ExitStack() as stack:
        faces_log = media_log = None
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            faces_log = stack.enter_context(open(args.out / "faces.jsonl", "a", encoding="utf-8"))
            media_log = stack.enter_context(open(args.out / "media.jsonl", "a", encoding="utf-8"))
        progress = stack.enter_context(contextlib.closing(Progress(len(paths))))
        failed = _faces_loop(args, paths, stdout, progress, faces_log, media_log)
    if args.out is not None:
        log.info("wrote %s and %s", args.out / "faces.jsonl", args.out / "media.jsonl")
    return EXIT_INPUT_ERRORS if failed else EXIT_OK


def _faces_loop(args: argparse.Namespace, paths: list[str], stdout: TextIO, progress: Progress,
                faces_log: TextIO | None, media_log: TextIO | None) -> int:
    """Process every path, writing each result as it comes; returns how many inputs failed."""
    failed = 0
    if not args.json:
        stdout.write(f"{'file':<48} {'kind':<6} {'frames':>6} {'faces':>6} {'persons':>7} {'time':>7}\n")
    for done, (path, result, error) in enumerate(_iter_faces_results(args, paths), start=1):
        progress.update(done, path)
        if error is not None:
            failed += 1
            record = _error_record(path, error["code"], error["message"])
            log.error("%s: %s: %s", path, error["code"], error["message"])
            if args.json:
                stdout.write(json.dumps(record) + "\n")
            else:
                stdout.write(f"{_short(path):<48} ERROR  {error['code']}: {error['message']}\n")
            if media_log:
                media_log.write(json.dumps(record) + "\n")
            continue
        record = {"path": path, "status": "ok", **result.to_dict(), "error": None}
        crop_names: dict[int, str] = {}
        if args.out is not None and not args.no_crops:
            crop_names = _write_crops(args.out, path, result)
        if faces_log:
            faces_log.writelines(json.dumps({"path": path, **face.to_dict(), "crop": crop_names.get(i)}) + "\n"
                             for i, face in enumerate(result.faces))
            faces_log.flush()
        if media_log:
            media_log.write(json.dumps({k: v for k, v in record.items() if k != "faces"}) + "\n")
            media_log.flush()
        if args.json:
            stdout.write(json.dumps(record) + "\n")
        else:
            stdout.write(f"{_short(path):<48} {result.media.kind:<6} {result.n_frames:>6} {len(result.faces):>6} "
                         f"{len(result.tracks):>7} {result.timings['total']:>6.2f}s\n")
        stdout.flush()
    return failed


REPORT_FACES = 4  # most suspicious faces per input in a --report: 4 heat maps cost under 1 s on 2 CPU cores


def cmd_scan(args: argparse.Namespace, stdout: TextIO) -> int:
    from detector.api import Detector, ScanConfig
    from detector.errors import ConfigError

    if args.frames is not None and args.frames < 1:
        raise ConfigError(f"--frames must be >= 1, got {args.frames}")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise ConfigError(f"--threshold must be within [0, 1], got {args.threshold}")
    if args.evidence is not None and (args.report is None or args.evidence < 0):
        raise ConfigError(f"--evidence needs --report and must be >= 0, got {args.evidence}")
    if args.report is not None and not args.report.parent.is_dir():  # fail before the scan, not after it
        raise ConfigError(f"--report: no such directory: {args.report.parent}")
    evidence = 0 if args.report is None else REPORT_FACES if args.evidence is None else args.evidence
    paths = expand_paths(args.paths, recursive=True)
    if not paths:
        raise ConfigError("no media files in the given paths")
    detector = Detector.load(args.model, config=ScanConfig(frames=args.frames, fps=args.fps, threshold=args.threshold),
                             providers=args.providers or None)
    progress = Progress(len(paths))
    fakes = failed = 0
    kept = []  # results for the report
    if not args.json:
        stdout.write(f"{'file':<48} {'verdict':<10} {'P(fake)':>8} {'persons':>7} {'time':>7}\n")
    try:
        for done, (path, result) in enumerate(zip(paths, _scan_all(detector, paths, evidence=evidence)), start=1):
            progress.update(done, path)
            if args.report is not None:
                kept.append(result)
            fakes += result.verdict == "fake"
            failed += result.verdict == "error"
            if args.json:
                stdout.write(json.dumps(result.to_dict()) + "\n")
            else:
                p = "-" if result.fake_probability is None else f"{result.fake_probability:.3f}"
                note = result.error["code"] if result.error else ",".join(result.reasons)
                stdout.write(f"{_short(path):<48} {result.verdict:<10} {p:>8} {len(result.tracks):>7} "
                             f"{result.timings.get('total', 0.0):>6.2f}s  {note}\n")
            stdout.flush()
    finally:
        progress.close()
    if args.report is not None:  # failed inputs are in it too, with their error
        from detector.report import write_report

        write_report(kept, args.report, classifier=detector.classifier)
        log.info("wrote %s", args.report)
    if failed:
        return EXIT_INPUT_ERRORS
    return EXIT_FAKE if fakes else EXIT_OK


def _scan_all(detector, paths: list[str], *, evidence: int = 0):
    """``Detector.scan_many``: files decode ahead in a thread, faces of consecutive files are classified in
    shared batches, and a file that fails (expected or not) becomes an ``error`` result, in input order."""
    return detector.scan_many(paths, evidence=evidence)


def _short(path: str, width: int = 48) -> str:
    return path if len(path) <= width else "..." + path[-(width - 3):]


def cmd_demo_clip(args: argparse.Namespace, stdout: TextIO) -> int:
    from detector.demo import make_demo_clip

    path = make_demo_clip(args.path, width=args.width, height=args.height, seconds=args.seconds)
    stdout.write(f"{path}\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code (tests call this in-process)."""
    stdout = stdout or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
        from detector.errors import ConfigError, DetectorError

        try:
            return _run_delegated(argv)
        except ConfigError as exc:
            log.error("%s", exc)
            return EXIT_USAGE
        except DetectorError as exc:
            log.error("%s: %s", exc.code, exc)
            return EXIT_SETUP
    parser = get_args_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(message)s")
    from detector.errors import ConfigError, DetectorError
    from pipelines.service.cli import cmd_serve

    commands = {"scan": cmd_scan, "faces": cmd_faces, "demo-clip": cmd_demo_clip, "serve": cmd_serve}
    try:
        return commands[args.command](args, stdout)
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    except DetectorError as exc:  # missing extra, model integrity: nothing can run
        log.error("%s: %s", exc.code, exc)
        return EXIT_SETUP


if __name__ == "__main__":
    raise SystemExit(main())
