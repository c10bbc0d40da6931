"""The ``deepfake`` parser, assembled from each command's module, and ``main``, which runs one command and turns
the errors that stop a whole run into exit codes (the codes are in the ``pipelines.cli`` docstring)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from .delegated import DELEGATED, run_delegated
from .demo import add_demo_clip_parser, cmd_demo_clip
from .exit_codes import EXIT_SETUP, EXIT_USAGE
from .faces import add_faces_parser, cmd_faces
from .provenance import add_provenance_parser, cmd_provenance
from .scan import add_scan_parser, cmd_scan
from .terminal import TerminalFormatter

log = logging.getLogger("deepfake")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepfake",
        description="Tell real faces from manipulated ones in videos and images.",
        epilog="Exit codes: 0 ok, 1 scan found a fake (even if some inputs failed: 1 wins over 3), 2 usage error, "
               "3 some inputs failed, 4 set-up error (missing extra, missing or bad model).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # The order of these calls is the order of the commands in --help.
    add_scan_parser(sub)
    add_faces_parser(sub)
    add_provenance_parser(sub)

    # Training-side commands (need the 'train' extra); their own parsers take the remaining arguments, so these
    # entries only list them in --help (main hands them their arguments before this parser runs).
    for name, (_, help_text) in DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)

    add_demo_clip_parser(sub)

    from pipelines.service.cli import add_serve_parser  # argparse only; the service loads in cmd_serve

    add_serve_parser(sub)
    return parser


def _log_to_stderr(level: int) -> None:
    """Log lines on stderr, one per record: file names and messages in them escaped for the terminal."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TerminalFormatter("%(levelname)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code (tests call this in-process)."""
    stdout = stdout or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        _log_to_stderr(logging.INFO)
        from detector.errors import ConfigError, DetectorError

        try:
            return run_delegated(argv)
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
    _log_to_stderr(logging.DEBUG if args.verbose else logging.INFO)
    from detector.errors import ConfigError, DetectorError
    from pipelines.service.cli import cmd_serve

    commands = {"scan": cmd_scan, "faces": cmd_faces, "provenance": cmd_provenance, "demo-clip": cmd_demo_clip,
                "serve": cmd_serve}
    try:
        return commands[args.command](args, stdout)
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    except DetectorError as exc:  # missing extra, model integrity: nothing can run
        log.error("%s: %s", exc.code, exc)
        return EXIT_SETUP
