"""Near-duplicate detection against the evaluation set: sha256 for identical bytes, a perceptual hash for copies.

A training file that *is* an eval file (same bytes, or the same picture re-encoded, resized or lightly edited)
would score eval on what the model memorised. The perceptual hash is the DCT hash (pHash): the 16x16
lowest-frequency DCT coefficients of a 64x64 greyscale thumbnail, each bit "above the median". Videos are
hashed by their first decoded frame. Re-encodes, resizes and greyscale copies are caught; crops are not (a 2 %
crop moves the hash as far as a different face does), so a cropped copy of an eval file passes.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from .select import decode_image, media_of

# 256 bits, not the usual 64: aligned face portraits all share one layout, and at 64 bits two different faces
# (a seeprettyface tile and a thispersondoesnotexist face) came 6 bits apart, as close as a re-encode.
HASH_SIZE = 16
THUMB = 64
# Hamming distance at or below which two hashes are the same picture. Measured (2026-12-06) on the 120 photos of
# ../shared/data/eval and 898 of ../shared/data/train: a JPEG q=50 re-encode, and a half-size q=30 copy, of each
# eval photo stay within 4 bits of it; the closest two *different* photos of the 1,018 are 50 bits apart.
# 24 sits between with margin on both sides.
MAX_DISTANCE = 24


@lru_cache(maxsize=1)
def _dct_matrix(n: int) -> np.ndarray:
    # Orthonormal DCT-II basis; two matrix products give the 2-D transform without scipy.
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    mat = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    mat[0] /= np.sqrt(2.0)
    return mat


def phash_pixels(rgb: np.ndarray) -> int:
    """The 256-bit DCT hash of an RGB (or grey) uint8 image."""
    image = Image.fromarray(rgb).convert("L").resize((THUMB, THUMB), Image.LANCZOS)
    grey = np.asarray(image, dtype=np.float64)
    basis = _dct_matrix(THUMB)
    dct = basis @ grey @ basis.T
    low = dct[:HASH_SIZE, :HASH_SIZE].ravel()
    bits = low > np.median(low)
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def first_frame(data: bytes) -> np.ndarray | None:
    """The first decodable video frame of ``data`` as RGB, or ``None``."""
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            for frame in container.decode(video=0):
                return frame.to_ndarray(format="rgb24")
    except (av.FFmpegError, ValueError, IndexError):
        return None
    return None


def phash_bytes(data: bytes, path: str) -> int | None:
    """The hash of an image file's pixels or a video's first frame; ``None`` when it cannot be decoded."""
    rgb = first_frame(data) if media_of(path) == "video" else decode_image(data)
    return None if rgb is None else phash_pixels(rgb)


def distance(a: int, b: int) -> int:
    """Hamming distance of two hashes."""
    return (a ^ b).bit_count()


@dataclass(frozen=True)
class EvalIndex:
    """The evaluation files' sha256 digests and perceptual hashes."""

    sha256: frozenset[str]
    hashes: tuple[tuple[int, str], ...]

    @classmethod
    def from_files(cls, paths: Iterable[str | os.PathLike[str]]) -> EvalIndex:
        import hashlib

        digests: set[str] = set()
        hashes: list[tuple[int, str]] = []
        for path in paths:
            data = Path(path).read_bytes()
            digests.add(hashlib.sha256(data).hexdigest())
            value = phash_bytes(data, str(path))
            if value is not None:
                hashes.append((value, str(path)))
        return cls(frozenset(digests), tuple(hashes))

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str]) -> EvalIndex:
        """Every media file under ``folder`` (``../shared/data/eval``)."""
        return cls.from_files(p for p in sorted(Path(folder).rglob("*")) if p.is_file() and media_of(p.name))

    def duplicate_of(self, data: bytes, path: str, digest: str) -> str | None:
        """The eval file ``data`` copies (by bytes, else by picture), or ``None``."""
        if digest in self.sha256:
            return "identical bytes"
        value = phash_bytes(data, path)
        if value is None:
            return None
        for other, other_path in self.hashes:
            if distance(value, other) <= MAX_DISTANCE:
                return f"perceptual copy of {other_path} ({distance(value, other)} bits)"
        return None
