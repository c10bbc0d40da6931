"""Datasets on disk -> labelled media items with leak-free split groups.

Layouts: manifest CSV, ``real/``+``fake/`` folders, FaceForensics++, DFDC, Celeb-DF; :func:`load_dataset`
picks the adapter. :func:`group_split` keeps every group (identity, pair, source video) inside one split.
"""

from .adapters import (
    SUPPORTED_LAYOUTS,
    detect_layout,
    from_celebdf,
    from_dfdc,
    from_faceforensics,
    from_folders,
    from_manifest,
    load_dataset,
    load_datasets,
    parse_label,
)
from .items import MediaItem
from .splits import group_split, group_unit, summarize

__all__ = [
    "SUPPORTED_LAYOUTS",
    "MediaItem",
    "detect_layout",
    "from_celebdf",
    "from_dfdc",
    "from_faceforensics",
    "from_folders",
    "from_manifest",
    "group_split",
    "group_unit",
    "load_dataset",
    "load_datasets",
    "parse_label",
    "summarize",
]
