"""``python -m training.synth.ae_swap train|swap ...`` (the same as ``deepfake synth ae-swap``)."""

import logging

from .cli import main

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
raise SystemExit(main())
