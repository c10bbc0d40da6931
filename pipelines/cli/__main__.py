"""``python -m pipelines.cli``: the ``deepfake`` command without its console script (tests and benchmarks start it so)."""

from __future__ import annotations

from . import main

raise SystemExit(main())
