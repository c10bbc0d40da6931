"""Datasets on disk -> labelled media items with leak-free split groups.

One adapter per layout, each returning a sorted list of :class:`MediaItem`: :mod:`.manifest` (a CSV),
:mod:`.folders` (``real/`` + ``fake/``), :mod:`.faceforensics`, :mod:`.dfdc`, :mod:`.celebdf`. Adapters only list
and stat files (:mod:`.files`), and raise :class:`~detector.errors.ConfigError` on a layout or content they cannot
trust. :func:`load_dataset` (:mod:`.layouts`) picks the adapter. Each adapter documents its group rule;
:func:`group_split` (:mod:`.splits`) keeps every group (identity, pair, source video) inside one split.
"""

from .celebdf import from_celebdf
from .dfdc import from_dfdc
from .faceforensics import from_faceforensics
from .folders import from_folders
from .items import MediaItem
from .layouts import SUPPORTED_LAYOUTS, detect_layout, load_dataset, load_datasets
from .manifest import from_manifest, parse_label
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
