"""Exit codes of the ``deepfake`` command; their meaning and precedence are in the ``pipelines.cli`` docstring."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAKE = 1
EXIT_USAGE = 2
EXIT_INPUT_ERRORS = 3
EXIT_SETUP = 4
