"""HDR video frames (HLG or PQ, usually BT.2020) shown as the SDR picture the classifier was trained on.

Phones record HDR by default (iPhones: HEVC, HLG, BT.2020), and FFmpeg's RGB conversion applies the stream's YCbCr
matrix but neither its transfer curve nor its primaries: read as ordinary sRGB, an HLG picture is dim and washed out
(skin at 200/150/120 comes out at about 149/124/97; white at 191). Training data is SDR BT.709, so the detector would
see every HDR clip as oddly coloured footage. Here the 16-bit RGB of such a frame is taken to scene or display light,
to BT.709 primaries, and back to an SDR picture:

- HLG: its inverse OETF, scaled so that HLG 75 % is SDR reference white (the BT.2408 mapping phones follow);
- PQ (HDR10, HDR10+, Dolby Vision 8.1): its EOTF in cd/m², scaled so that 203 cd/m² is SDR reference white (BT.2408);
- BT.2020 primaries to BT.709 in linear light; light above reference white rolled off smoothly towards white rather
  than clipped (one curve per channel, ``x / (1 + x)``-shaped above a knee), then the BT.1886 display gamma (2.4)
  that SDR training footage was graded for.

A tone mapping is a choice, not a fact: this one keeps faces (mid-tones, at or below reference white) where an SDR
recording of the same scene would put them, which is what the classifier's inputs need.
"""

from __future__ import annotations

from functools import cache

import av
import cv2
import numpy as np

# FFmpeg's AVColorTransferCharacteristic and AVColorPrimaries values.
TRC_PQ = 16  # SMPTE ST 2084
TRC_HLG = 18  # ARIB STD-B67
PRIMARIES_BT2020 = 9

_HLG_A = 0.17883277
_HLG_B = 1.0 - 4.0 * _HLG_A
_HLG_C = 0.5 - _HLG_A * float(np.log(4.0 * _HLG_A))
# Scene light of HLG 75 %, the signal of SDR reference white (BT.2408): inverse OETF of 0.75.
_HLG_REFERENCE = (float(np.exp((0.75 - _HLG_C) / _HLG_A)) + _HLG_B) / 12.0
_PQ_REFERENCE_NITS = 203.0  # BT.2408's HDR reference white
_GAMMA = 2.4  # BT.1886
_KNEE = 0.75  # linear SDR light above which highlights are compressed (reference white is 1.0)

# Linear-light RGB, BT.2020 primaries to BT.709 (BT.2087, rounded as published).
BT2020_TO_BT709 = np.array([[1.6605, -0.5876, -0.0728],
                            [-0.1246, 1.1329, -0.0083],
                            [-0.0182, -0.1006, 1.1187]], np.float32)


def hdr_transfer(frame: av.VideoFrame) -> int | None:
    """The frame's HDR transfer (``TRC_PQ`` or ``TRC_HLG``), or ``None`` for SDR."""
    trc = frame.color_trc
    return trc if trc in (TRC_PQ, TRC_HLG) else None


def _hlg_to_linear(signal: np.ndarray) -> np.ndarray:
    """HLG's inverse OETF, relative to SDR reference white."""
    low = signal * signal / 3.0
    high = (np.exp((signal - _HLG_C) / _HLG_A) + _HLG_B) / 12.0
    return np.where(signal <= 0.5, low, high) / _HLG_REFERENCE


def _pq_to_linear(signal: np.ndarray) -> np.ndarray:
    """PQ's EOTF (SMPTE ST 2084), relative to SDR reference white."""
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    p = np.power(signal, 1.0 / m2)
    nits = 10000.0 * np.power(np.maximum(p - c1, 0.0) / (c2 - c3 * p), 1.0 / m1)
    return nits / _PQ_REFERENCE_NITS


@cache  # built on the first HDR frame, not at import: most scans never meet one
def _decode_lut(transfer: int) -> np.ndarray:
    """16-bit code value to linear light relative to SDR reference white (float32, 65,536 entries)."""
    signal = np.arange(65536, dtype=np.float64) / 65535.0
    linear = _pq_to_linear(signal) if transfer == TRC_PQ else _hlg_to_linear(signal)
    return linear.astype(np.float32)


# The encode table is indexed by t = x / (1 + x) of linear light x >= 0 (t in [0, 1)), so one table of 65,536 entries
# covers every highlight with fine steps in the shadows, where x ~ t.
_T_STEPS = 65535


@cache
def _encode_lut() -> np.ndarray:
    t = np.arange(_T_STEPS + 1, dtype=np.float64) / _T_STEPS
    x = t / np.maximum(1.0 - t, 1e-9)
    # Identity up to the knee, then a rational curve with slope 1 at the knee that approaches white (1.0) only at
    # infinite light: reference white lands at 0.875 (241 of 255), 3x it (near HLG's peak) at 0.975 (252).
    span = 1.0 - _KNEE
    over = np.maximum(x - _KNEE, 0.0)
    rolled = np.where(x <= _KNEE, x, _KNEE + span * over / (over + span))
    return np.round(255.0 * np.power(rolled, 1.0 / _GAMMA)).astype(np.uint8)


def hdr_to_sdr(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """An HDR frame (``hdr_transfer(frame)`` is not ``None``) as ``(height, width, 3)`` uint8 SDR BT.709 RGB."""
    transfer = hdr_transfer(frame)
    if transfer is None:
        raise ValueError("not an HDR frame")
    # FFmpeg applies the YCbCr matrix and range the frame states; 16 bits keep the 10 or 12 the stream has.
    code = frame.to_ndarray(format="rgb48le", width=width, height=height)
    linear = _decode_lut(transfer)[code]
    if frame.color_primaries == PRIMARIES_BT2020:
        linear = cv2.transform(linear, BT2020_TO_BT709)
    np.maximum(linear, 0.0, out=linear)  # colours outside BT.709's gamut: clipped per channel
    index = (linear / (linear + 1.0) * _T_STEPS + 0.5).astype(np.uint16)
    return _encode_lut()[index]
