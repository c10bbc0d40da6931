"""The provenance stage: what a file declares about where it came from, read from its bytes before the pixels.

C2PA Content Credentials (``c2pa-python``), the IPTC digital source type and other XMP and EXIF fields (Pillow), and
the parameters that Stable Diffusion front-ends write into PNG text and EXIF. :func:`read_provenance` gives one
frozen :class:`Provenance`; the judge (:mod:`detector.judge`) decides what it does to the verdict. No torch, no model.
"""

from .read import read_provenance
from .result import (
    AI_DECLARED_STATES,
    PROBLEM_CODES,
    PROVENANCE_STATES,
    Action,
    Evidence,
    Manifest,
    Problem,
    Provenance,
    ProvenanceState,
)

__all__ = ["AI_DECLARED_STATES", "PROBLEM_CODES", "PROVENANCE_STATES", "Action", "Evidence", "Manifest", "Problem",
           "Provenance", "ProvenanceState", "read_provenance"]
