"""``deepfake faces``: find, align and track faces; aligned crops, faces.jsonl and media.jsonl into ``--out``."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .exit_codes import EXIT_INPUT_ERRORS, EXIT_OK
from .inputs import Input, expand_inputs
from .output import Column, Progress, Table, error_record, log_summary, report_failure, write_row

if TYPE_CHECKING:
    from detector.faces.extract import FacesResult
    from detector.recipe import SamplingSpec

log = logging.getLogger("deepfake")


def add_faces_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register ``faces`` on the ``deepfake`` subparsers."""
    from detector.recipe import DetectionSpec, SamplingSpec  # the defaults below

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
    return faces


def cmd_faces(args: argparse.Namespace, stdout: TextIO) -> int:
    from detector.recipe import SamplingSpec

    sampling = SamplingSpec(frames=args.frames, fps=args.fps)  # checked here, before any file is read
    started = time.monotonic()
    inputs = expand_inputs(args.paths, recursive=args.recursive)
    with contextlib.ExitStack() as stack:
        faces_log = media_log = None
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            faces_log = stack.enter_context(open(args.out / "faces.jsonl", "a", encoding="utf-8"))
            media_log = stack.enter_context(open(args.out / "media.jsonl", "a", encoding="utf-8"))
        progress = stack.enter_context(contextlib.closing(Progress(len(inputs))))
        failed = _faces_loop(args, sampling, inputs, stdout, progress, faces_log, media_log)
    if args.out is not None:
        log.info("wrote %s and %s", args.out / "faces.jsonl", args.out / "media.jsonl")
    log_summary(len(inputs), time.monotonic() - started, Counter(ok=len(inputs) - sum(failed.values())), failed)
    return EXIT_INPUT_ERRORS if failed else EXIT_OK


def _faces_loop(args: argparse.Namespace, sampling: SamplingSpec, inputs: list[Input], stdout: TextIO, progress: Progress,
                faces_log: TextIO | None, media_log: TextIO | None) -> Counter[str]:
    """Process every input, writing each result as it comes; returns the failures' error codes, counted."""
    from detector.pathtext import path_to_text

    failed: Counter[str] = Counter()
    table = None if args.json else Table(stdout, FACES_COLUMNS, paths=[item.path for item in inputs])
    if table is not None:
        write_row(stdout, progress, table.header())
    for done, (path, result, error) in enumerate(_iter_faces_results(args, sampling, inputs), start=1):
        if error is not None:
            failed[error["code"]] += 1
            record = error_record(path, error["code"], error["message"])
            progress.clear()
            report_failure(path, error, in_table=table is not None)
            write_row(stdout, progress, json.dumps(record) + "\n" if table is None else
                      table.row(path, ["error", "-", "-", "-", "-"], f"{error['code']}: {error['message']}",
                                failed=True))
            if media_log:
                media_log.write(json.dumps(record) + "\n")
            progress.update(done, path)
            continue
        shown = path_to_text(path)  # JSON's text for the path: valid UTF-8, and mapped back exactly
        record = {**result.to_dict(), "path": shown, "status": "ok", "error": None}
        record = {"path": shown, "status": "ok", **record}  # path and status first, as in an error record
        crop_names: dict[int, str] = {}
        if args.out is not None and not args.no_crops:
            crop_names = _write_crops(args.out, path, result)
        if faces_log:
            faces_log.writelines(json.dumps({"path": shown, **face.to_dict(), "crop": crop_names.get(i)}) + "\n"
                                 for i, face in enumerate(result.faces))
            faces_log.flush()
        if media_log:
            media_log.write(json.dumps({k: v for k, v in record.items() if k != "faces"}) + "\n")
            media_log.flush()
        write_row(stdout, progress, json.dumps(record) + "\n" if table is None else
                  table.row(path, [result.media.kind, str(result.n_frames), str(len(result.faces)),
                                   str(len(result.tracks)), f"{result.timings['total']:.1f}s"], ""))
        progress.update(done, path)
    return failed


FACES_COLUMNS = (Column("media", 6), Column("frames", 6, right=True), Column("faces", 6, right=True),
                 Column("persons", 7, right=True), Column("time", 6, right=True))


def _iter_faces_results(args: argparse.Namespace, sampling: SamplingSpec, inputs: list[Input],
                        ) -> Iterator[tuple[str, FacesResult | None, dict[str, str] | None]]:
    """``(path, result, None)`` for each input that worked, ``(path, None, error)`` for each that failed."""
    from detector.errors import attempt
    from detector.faces.align import AlignSpec
    from detector.faces.extract import FaceConfig, FaceExtractor
    from detector.recipe import DetectionSpec

    align = AlignSpec(**{k: v for k, v in (("size", args.crop_size), ("margin", args.margin)) if v is not None})
    detection = DetectionSpec(detect_long_side=args.detect_size, min_face_size=args.min_face, min_score=args.min_score)
    config = FaceConfig(detection=detection, align=align, backend=args.backend)
    extractor = FaceExtractor(config)
    for item in inputs:
        path = item.path
        if item.error is not None:
            yield path, None, item.error
            continue
        tried = attempt(path, extractor.extract, path, sampling=sampling)
        yield path, tried.value, tried.error


def _media_id(path: str) -> str:
    """A crops folder name: readable (the file's stem) and unique (a hash of its absolute path)."""
    digest = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:8]
    return f"{Path(path).stem[:60]}-{digest}"


def _write_crops(out_dir: Path, path: str, result: FacesResult) -> dict[int, str]:
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
