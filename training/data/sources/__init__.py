"""Public media sources: committed manifests of upstream files, and the builder that materialises them.

:mod:`.rows` (one manifest row), :mod:`.mirror` (blobs from bare git mirrors by commit), :mod:`.rules` (the
reserved-source rules), :mod:`.select` (choosing files to record), :mod:`.dedup` (eval duplicates by sha256 and
perceptual hash), :mod:`.build` (mirrors -> checked media + a training manifest), :mod:`.table` (counts).
"""

from .rows import COLUMNS, FAMILIES, MANIFEST_DIR, SourceRow, read_all, read_manifest, write_manifest

__all__ = ["COLUMNS", "FAMILIES", "MANIFEST_DIR", "SourceRow", "read_all", "read_manifest", "write_manifest"]
