"""``python -m training.synth.gan train|sample ...`` (the same as ``deepfake synth gan``)."""

import logging

from .cli import main

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
raise SystemExit(main())
