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

Layout: ``dispatch`` builds the parser and runs ``main``; ``scan``, ``faces``, ``provenance`` and ``demo`` (demo-clip)
hold one command each, parser and code; ``delegated`` hands training, audit and synth commands to their own modules
(``serve`` is in ``pipelines.service.cli``); ``inputs`` and ``output`` are shared by scan, faces and provenance.
"""

from __future__ import annotations

from .delegated import DELEGATED, SYNTH, delegated, synth_command
from .demo import cmd_demo_clip
from .dispatch import get_args_parser, main
from .exit_codes import EXIT_FAKE, EXIT_INPUT_ERRORS, EXIT_OK, EXIT_SETUP, EXIT_USAGE
from .faces import cmd_faces
from .inputs import Input, expand_inputs
from .output import Progress
from .provenance import cmd_provenance
from .scan import REPORT_FACES, cmd_scan

__all__ = [
    "DELEGATED", "EXIT_FAKE", "EXIT_INPUT_ERRORS", "EXIT_OK", "EXIT_SETUP", "EXIT_USAGE", "REPORT_FACES", "SYNTH",
    "Input", "Progress", "cmd_demo_clip", "cmd_faces", "cmd_provenance", "cmd_scan", "delegated", "expand_inputs",
    "get_args_parser",
    "main", "synth_command",
]
