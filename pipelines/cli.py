"""The ``deepfake`` command.

Results go to stdout (a table, or JSON Lines with ``--json``), exactly one record per input named (a
directory expands to its media files, or to one ``no_media_files`` error when it has none); logs, the
progress line (on a terminal only; cleared before each result row) and a summary of failures go to stderr.

Exit codes:
    0  every input was processed (scan: and none is fake)
    1  scan: at least one input is fake, whether or not other inputs failed
    2  usage error (bad flags or values)
    3  at least one input failed (each failure is reported with its error code; the rest still ran)
       and, for scan, no fake was found
    4  set-up error: a missing optional dependency, a missing or corrupt model

Precedence: 2 and 4 stop before any input is read. Among the rest, 1 wins over 3, so a script that checks
for 1 learns about every fake found even when some other input failed; the failures are still on stdout
(each record's error code) and stderr (one line each and a summary).
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
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

EXIT_OK = 0
EXIT_FAKE = 1
EXIT_USAGE = 2
EXIT_INPUT_ERRORS = 3
EXIT_SETUP = 4

log = logging.getLogger("deepfake")


# Commands whose own parsers take the remaining arguments: name -> (run(argv) -> exit code, help). Each imports
# its module when it runs, so `deepfake scan` never loads torch; a missing extra becomes a clear error.
Delegate = Callable[[list[str]], "int | None"]
DELEGATED: dict[str, tuple[Delegate, str]] = {}
SYNTH: dict[str, Delegate] = {}


def delegated(name: str, help_text: str) -> Callable[[Delegate], Delegate]:
    """Register a delegated subcommand."""
    def register(run: Delegate) -> Delegate:
        DELEGATED[name] = (run, help_text)
        return run

    return register


def synth_command(name: str) -> Callable[[Delegate], Delegate]:
    """Register a ``deepfake synth NAME`` generator."""
    def register(run: Delegate) -> Delegate:
        SYNTH[name] = run
        return run

    return register


@delegated("train", "train a classifier from a JSON config (train extra)")
def _train(argv: list[str]) -> int | None:
    from training.train import main as run

    return run(argv)


@delegated("train-default", "reproduce the bundled default model (train extra)")
def _train_default(argv: list[str]) -> int | None:
    from training.default_model import main as run

    return run(argv)


@delegated("eval", "evaluate an exported model on a labelled dataset (train extra)")
def _eval(argv: list[str]) -> int | None:
    from training.evaluate import main as run

    return run(argv)


@delegated("robustness", "accuracy under DeeperForensics-style degradations of the media (train extra)")
def _robustness(argv: list[str]) -> int | None:
    from training.robustness.cli import main as run

    return run(argv)


@delegated("attack", "white-box FGSM/PGD on the classifier's face crops, both directions (train extra)")
def _attack(argv: list[str]) -> int | None:
    from training.robustness.attack_cli import main as run

    return run(argv)


@delegated("face-evasion", "how much random noise makes the face detector miss the face: no_face (train extra)")
def _face_evasion(argv: list[str]) -> int | None:
    from training.robustness.face_evasion_cli import main as run

    return run(argv)


@delegated("export", "export a checkpoint to ONNX with its model card (train extra)")
def _export(argv: list[str]) -> int | None:
    from training.export import main as run

    return run(argv)


@delegated("quantize", "int8 copy of an exported classifier for faster CPU scans, with its drift (train extra)")
def _quantize(argv: list[str]) -> int | None:
    from training.quantize import main as run

    return run(argv)


@delegated("export-mtcnn", "re-export facenet-pytorch's MTCNN nets to ONNX (train extra)")
def _export_mtcnn(argv: list[str]) -> int | None:
    from training.mtcnn_export import main as run

    return run(argv)


@delegated("audit", "audit media archives into a resumable SQLite ledger; audit report | check")
def _audit(argv: list[str]) -> int | None:
    from pipelines.audit.cli import main as run

    return run(argv)


@delegated("synth", "make fakes: synth sbi | sbi-video | ae-swap | gan ... (ae-swap, gan: train extra)")
def _synth(argv: list[str]) -> int | None:
    from detector.errors import ConfigError

    if not argv or argv[0] not in SYNTH:
        raise ConfigError(f"usage: deepfake synth {{{','.join(SYNTH)}}} ...")
    return SYNTH[argv[0]](argv[1:])


@synth_command("sbi")
def _synth_sbi(argv: list[str]) -> int | None:
    from training.synth.sbi import main as run

    return run(argv)


@synth_command("ae-swap")
def _synth_ae_swap(argv: list[str]) -> int | None:
    from training.synth.ae_swap import main as run

    return run(argv)


@synth_command("gan")
def _synth_gan(argv: list[str]) -> int | None:
    from training.synth.gan import main as run

    return run(argv)


@synth_command("sbi-video")
def _synth_sbi_video(argv: list[str]) -> int | None:
    from training.synth.sbi_video import main as run

    return run(argv)


# Top-level packages of the train extra: an ImportError naming one of them means the extra is missing.
TRAIN_EXTRA_PACKAGES = ("torch", "timm", "albumentations", "sklearn", "facenet_pytorch", "onnx", "scipy", "torchvision")


def _run_delegated(argv: list[str]) -> int:
    from detector.errors import MissingExtraError

    run = DELEGATED[argv[0]][0]
    try:
        return int(run(argv[1:]) or 0)
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in TRAIN_EXTRA_PACKAGES:
            raise MissingExtraError(exc.name, extra="train") from exc
        raise
    except SystemExit as exc:  # their argparse: 2 on usage errors, 0 on --help
        return int(exc.code or 0)


def get_args_parser() -> argparse.ArgumentParser:
    from detector.recipe import DetectionSpec, SamplingSpec  # defaults of the faces command

    parser = argparse.ArgumentParser(
        prog="deepfake",
        description="Tell real faces from manipulated ones in videos and images.",
        epilog="Exit codes: 0 ok, 1 scan found a fake (even if some inputs failed: 1 wins over 3), 2 usage error, "
               "3 some inputs failed, 4 set-up error (missing extra, missing or bad model).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = sub.add_parser(
        "scan", help="real or fake? one verdict per video/image",
        description="Scan videos and images: per-person and per-file fake probability and verdict "
                    "(fake / real / uncertain / no_face / error) with reasons.",
        epilog="Exit codes: 0 no fake found, 1 at least one fake (even if some inputs failed: 1 wins over 3), "
               "2 usage error, 3 some inputs failed and no fake was found, 4 set-up error.",
    )
    scan.add_argument("paths", nargs="+", metavar="PATH", help="video or image files, or directories (recursive)")
    scan.add_argument("--json", action="store_true", help="print one JSON object per input on stdout")
    # scan always expands directories; -r is accepted so the same flags work for scan and faces.
    scan.add_argument("-r", "--recursive", action="store_true",
                      help="expand directories into their media files (always on for scan)")
    scan.add_argument("--model", type=Path, help="a model .onnx with its card .json beside it (default: bundled)")
    scan_sampling = scan.add_mutually_exclusive_group()
    scan_sampling.add_argument("--frames", type=int,
                               help="frames sampled evenly per video (default: the model card's recipe)")
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
    # Defaults: the scan recipe's (detector.recipe, light to import) and the alignment's (AlignSpec, filled in
    # when the command runs, so --help does not load OpenCV).
    sampling.add_argument("--frames", type=int, default=SamplingSpec.frames,
                          help="frames sampled evenly per video (default %(default)s)")
    sampling.add_argument("--fps", type=float, help="sample at a fixed rate instead")
    faces.add_argument("--backend", default="onnx", choices=["onnx", "facenet"],
                       help="face detector: onnx (default, no torch) or facenet (facenet-pytorch)")
    faces.add_argument("--detect-size", type=int, default=DetectionSpec.detect_long_side,
                       help="long side of the frame copy that detection runs on (0: full size; default %(default)s)")
    faces.add_argument("--min-face", type=float, default=DetectionSpec.min_face_size,
                       help="smallest face, px of the detection copy (default %(default)s)")
    faces.add_argument("--min-score", type=float, default=DetectionSpec.min_score,
                       help="smallest detector probability kept (default %(default)s)")
    faces.add_argument("--crop-size", type=int, help="aligned crop side in px (default: detector.faces.align.AlignSpec's)")
    faces.add_argument("--margin", type=float, help="crop margin around the face (default: AlignSpec's)")
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


@dataclass(frozen=True)
class Input:
    """One thing to process: a file path, or a named input that failed before any file was opened."""

    path: str
    error: dict[str, str] | None = None


def expand_inputs(paths: Sequence[str], *, recursive: bool) -> list[Input]:
    """Directories become their media files (sorted) when ``recursive``; everything else stays as given.

    Every path named yields at least one ``Input``: a directory without media files yields a
    ``no_media_files`` error, so no input the user named goes missing from the output.
    """
    out: list[Input] = []
    for p in paths:
        if recursive and os.path.isdir(p):
            out.extend(_directory_inputs(p))
        else:
            out.append(Input(p))
    return out


def _directory_inputs(directory: str) -> list[Input]:
    from detector.errors import NoMediaFilesError
    from detector.media import is_media_path

    # rglob does not descend into symlinked directories, so a link loop below cannot recurse forever.
    found = sorted(str(f) for f in Path(directory).rglob("*") if f.is_file() and is_media_path(f))
    if found:
        return [Input(f) for f in found]
    error = NoMediaFilesError(f"no media files under {directory}: none of its files has a video or image "
                              "extension", path=directory)
    return [Input(directory, error.to_dict())]


class Progress:
    """One-line progress on stderr, only when stderr is a terminal.

    Result rows go to stdout, which is often the same terminal: callers ``clear()`` the line before
    writing a row and ``update()`` it after, so a row never lands behind the progress text.
    """

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
        self.stream.write(f"{_CLEAR_LINE}[{done}/{self.total}] {elapsed:5.1f}s eta {eta:5.1f}s {label[-50:]}")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write(_CLEAR_LINE)
            self.stream.flush()

    def close(self) -> None:
        self.clear()


# Carriage return, then erase to the end of the line (ANSI EL): the cursor is back at column 0 on an empty line.
_CLEAR_LINE = "\r\033[K"


def _write_row(stdout: TextIO, progress: Progress, line: str) -> None:
    """Write one result row with the progress line out of its way."""
    progress.clear()
    stdout.write(line)
    stdout.flush()


def _log_failures(failed: Counter[str], total: int) -> None:
    """The summary line on stderr: how many inputs failed, by error code."""
    if failed:
        codes = ", ".join(f"{code} x{n}" if n > 1 else code for code, n in sorted(failed.items()))
        log.error("%d of %d inputs failed (%s)", sum(failed.values()), total, codes)


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


def _iter_faces_results(args: argparse.Namespace, inputs: list[Input]) -> Iterator[tuple[str, object, dict | None]]:
    from detector.errors import file_error
    from detector.faces.align import AlignSpec
    from detector.faces.extract import FaceConfig, FaceExtractor
    from detector.media import Sampling

    align = AlignSpec(**{k: v for k, v in (("size", args.crop_size), ("margin", args.margin)) if v is not None})
    config = FaceConfig(backend=args.backend, detect_long_side=args.detect_size, min_face_size=args.min_face,
                        min_score=args.min_score, align=align)
    extractor = FaceExtractor(config)
    sampling = Sampling(num_frames=args.frames, fps=args.fps)
    for item in inputs:
        path = item.path
        if item.error is not None:
            yield path, None, item.error
            continue
        try:
            found = extractor.extract(path, sampling=sampling)
        except Exception as exc:  # noqa: BLE001 - the batch boundary (file_error logs it)
            yield path, None, file_error(exc, path)
            continue
        yield path, found, None


def cmd_faces(args: argparse.Namespace, stdout: TextIO) -> int:
    from detector.errors import ConfigError

    if args.frames is not None and args.frames < 1:
        raise ConfigError(f"--frames must be >= 1, got {args.frames}")
    inputs = expand_inputs(args.paths, recursive=args.recursive)
    with contextlib.ExitStack() as stack:
        faces_log = media_log = None
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            faces_log = stack.enter_context(open(args.out / "faces.jsonl", "a", encoding="utf-8"))
            media_log = stack.enter_context(open(args.out / "media.jsonl", "a", encoding="utf-8"))
        progress = stack.enter_context(contextlib.closing(Progress(len(inputs))))
        failed = _faces_loop(args, inputs, stdout, progress, faces_log, media_log)
    if args.out is not None:
        log.info("wrote %s and %s", args.out / "faces.jsonl", args.out / "media.jsonl")
    _log_failures(failed, len(inputs))
    return EXIT_INPUT_ERRORS if failed else EXIT_OK


def _faces_loop(args: argparse.Namespace, inputs: list[Input], stdout: TextIO, progress: Progress,
                faces_log: TextIO | None, media_log: TextIO | None) -> Counter[str]:
    """Process every input, writing each result as it comes; returns the failures' error codes, counted."""
    failed: Counter[str] = Counter()
    if not args.json:
        stdout.write(f"{'file':<48} {'kind':<6} {'frames':>6} {'faces':>6} {'persons':>7} {'time':>7}\n")
    for done, (path, result, error) in enumerate(_iter_faces_results(args, inputs), start=1):
        if error is not None:
            failed[error["code"]] += 1
            record = _error_record(path, error["code"], error["message"])
            progress.clear()
            log.error("%s: %s: %s", path, error["code"], error["message"])
            _write_row(stdout, progress, json.dumps(record) + "\n" if args.json else
                       f"{_short(path):<48} ERROR  {error['code']}: {error['message']}\n")
            if media_log:
                media_log.write(json.dumps(record) + "\n")
            progress.update(done, path)
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
        _write_row(stdout, progress, json.dumps(record) + "\n" if args.json else
                   f"{_short(path):<48} {result.media.kind:<6} {result.n_frames:>6} {len(result.faces):>6} "
                   f"{len(result.tracks):>7} {result.timings['total']:>6.2f}s\n")
        progress.update(done, path)
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
    inputs = expand_inputs(args.paths, recursive=True)
    detector = Detector.load(args.model, config=ScanConfig(frames=args.frames, fps=args.fps, threshold=args.threshold),
                             providers=args.providers or None)
    progress = Progress(len(inputs))
    fakes = 0
    failed: Counter[str] = Counter()
    kept = []  # results for the report
    if not args.json:
        stdout.write(f"{'file':<48} {'verdict':<10} {'P(fake)':>8} {'persons':>7} {'time':>7}\n")
    with contextlib.closing(progress), contextlib.closing(_scan_all(detector, inputs, evidence=evidence)) as results:
        for done, result in enumerate(results, start=1):
            if args.report is not None:
                kept.append(result)
            fakes += result.verdict == "fake"
            if result.error is not None:
                failed[result.error["code"]] += 1
                progress.clear()
                log.error("%s: %s: %s", result.path, result.error["code"], result.error["message"])
            _write_row(stdout, progress, json.dumps(result.to_dict()) + "\n" if args.json else _scan_row(result))
            progress.update(done, result.path)
    if args.report is not None:  # failed inputs are in it too, with their error
        from detector.outputs.report import write_report

        write_report(kept, args.report, classifier=detector.classifier)
        log.info("wrote %s", args.report)
    _log_failures(failed, len(inputs))
    # A fake found outranks failed inputs (see the module docstring): exit 1 must not hide behind 3.
    if fakes:
        return EXIT_FAKE
    return EXIT_INPUT_ERRORS if failed else EXIT_OK


def _scan_row(result) -> str:
    """One table row; a failed input shows its code and message, the rest their reasons."""
    p = "-" if result.fake_probability is None else f"{result.fake_probability:.3f}"
    note = f"{result.error['code']}: {result.error['message']}" if result.error else ",".join(result.reasons)
    return (f"{_short(result.path):<48} {result.verdict:<10} {p:>8} {len(result.tracks):>7} "
            f"{result.timings.get('total', 0.0):>6.2f}s  {note}\n")


def _scan_all(detector, inputs: list[Input], *, evidence: int = 0) -> Iterator:
    """One ``MediaResult`` per input, in input order.

    Files go through ``Detector.scan_many`` (files decode ahead in a thread, faces of consecutive files are
    classified in shared batches, and a file that fails, expected or not, becomes an ``error`` result);
    inputs that failed before any file was opened (an empty directory) become ``error`` results in their place.
    """
    from detector.results import MediaResult

    results = detector.scan_many([item.path for item in inputs if item.error is None], evidence=evidence)
    try:
        for item in inputs:
            if item.error is not None:
                yield MediaResult.failed(item.path, item.error, model=detector.model, threshold=detector.threshold)
            else:
                yield next(results)
    finally:
        results.close()  # stops scan_many's decoding thread when the caller stops early


def _short(path: str, width: int = 48) -> str:
    return path if len(path) <= width else "..." + path[-(width - 3):]


def cmd_demo_clip(args: argparse.Namespace, stdout: TextIO) -> int:
    from detector.outputs.demo import make_demo_clip

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
