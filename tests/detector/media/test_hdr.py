"""HDR video (HLG, PQ; BT.2020) read as the SDR picture of the same scene, not as dim, washed-out sRGB.

The clips are encoded here from known SDR colours with the published curves (BT.2100 HLG OETF and PQ inverse EOTF,
BT.2408 reference white, BT.2087 primaries), written independently of ``detector.media.hdr``: what comes back must be
the SDR colour again, within what 10-bit HEVC and the 8-bit round trip cost.
"""

from __future__ import annotations

import av
import numpy as np
import pytest

from detector.media import read_frames
from detector.media.hdr import TRC_HLG, TRC_PQ, hdr_transfer

SKIN, DARK, GREY = (200, 150, 120), (60, 40, 30), (128, 128, 128)
BT709_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])


def _hlg_signal(light: np.ndarray) -> np.ndarray:
    """BT.2100 HLG OETF of scene light in [0, 1]."""
    a = 0.17883277
    b, c = 1 - 4 * a, 0.5 - a * np.log(4 * a)
    light = np.clip(light, 0, 1)
    return np.where(light <= 1 / 12, np.sqrt(3 * light), a * np.log(np.maximum(12 * light - b, 1e-12)) + c)


def _pq_signal(nits: np.ndarray) -> np.ndarray:
    """SMPTE ST 2084 inverse EOTF of display light in cd/m²."""
    m1, m2, c1, c2, c3 = 2610 / 16384, 2523 / 4096 * 128, 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    y = np.power(np.clip(nits / 10000, 0, 1), m1)
    return np.power((c1 + c2 * y) / (1 + c3 * y), m2)


def _hdr_clip(write_clip, path, patches: list[tuple[int, int, int]], transfer: str, *, brightness: float = 1.0) -> None:
    """Five frames of vertical colour bars (SDR values), as a phone would record the scene in HDR: BT.709 light to
    BT.2020, SDR reference white at HLG 75 % (scene light 0.2647) or at 203 cd/m² (PQ); 10-bit HEVC, tagged."""
    width = 64 * len(patches)
    sdr = np.repeat(np.array(patches, np.float64)[None, :, None, :], 64, axis=2).reshape(1, width, 3)
    light = (np.repeat(sdr, 64, axis=0) / 255) ** 2.4 * brightness @ BT709_TO_BT2020.T
    signal = _hlg_signal(0.2647 * light) if transfer == "hlg" else _pq_signal(203 * light)
    code = np.round(signal * 65535).astype(np.uint16)
    trc = {"hlg": TRC_HLG, "pq": TRC_PQ}[transfer]
    vui = {"hlg": "arib-std-b67", "pq": "smpte2084"}[transfer]
    frame = av.VideoFrame.from_ndarray(code, format="rgb48le").reformat(
        format="yuv420p10le", dst_colorspace="BT2020", dst_color_range="MPEG")
    options = {"crf": "12", "preset": "ultrafast",
               "x265-params": f"colorprim=bt2020:transfer={vui}:colormatrix=bt2020nc:log-level=error"}
    write_clip(path, frame, codec="libx265", colorspace=9, color_range=1, primaries=9, trc=trc, options=options)


def _patch_means(image: np.ndarray, count: int) -> np.ndarray:
    return np.array([image[16:48, 64 * i + 16: 64 * i + 48].reshape(-1, 3).mean(axis=0) for i in range(count)])


@pytest.mark.parametrize("transfer", ["hlg", "pq"])
def test_hdr_clip_reads_as_the_sdr_colours_it_was_made_from(tmp_path, tagged_clip, transfer):
    path = tmp_path / f"{transfer}.mp4"
    patches = [SKIN, DARK, GREY]
    _hdr_clip(tagged_clip, path, patches, transfer)
    with av.open(str(path)) as container:
        assert hdr_transfer(next(container.decode(video=0))) == {"hlg": TRC_HLG, "pq": TRC_PQ}[transfer]
    _, frames = read_frames(path)
    # Measured (2026-12-07, PyAV 18.1 / FFmpeg 8.1, x265 at crf 12): within 0.6 grey levels of the SDR colours; the
    # bound leaves room for another encoder's rounding. Read as plain sRGB the skin patch is ~50 levels too dark
    # (HLG: 149/124/97); a reading without the BT.2020 to BT.709 conversion puts its red 17 levels low (183).
    for frame in frames:
        assert np.abs(_patch_means(frame.image, len(patches)) - np.array(patches)).max() <= 5


def test_highlights_above_reference_white_roll_off_instead_of_clipping(tmp_path, tagged_clip):
    # Grey at 1x, 1.5x and 3x SDR reference white's light (an HLG phone clip keeps up to ~3.8x): brighter stays
    # brighter, and nothing reaches 255 (clipping would flatten the last two into one white).
    path = tmp_path / "highlights.mp4"
    levels = []
    for gain in (1.0, 1.5, 3.0):
        _hdr_clip(tagged_clip, path, [(255, 255, 255)], "hlg", brightness=gain)
        levels.append(_patch_means(read_frames(path)[1][0].image, 1)[0, 0])
    assert levels[0] < levels[1] < levels[2] < 255
    assert levels[0] > 235  # reference white stays near white


def test_sdr_frames_are_not_hdr(tmp_path, tagged_clip):
    path = tmp_path / "sdr.mp4"
    frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 128, np.uint8), format="rgb24").reformat(
        format="yuv420p")
    tagged_clip(path, frame, codec="libx264", colorspace=1, color_range=1, frames=1)
    with av.open(str(path)) as container:
        assert hdr_transfer(next(container.decode(video=0))) is None
