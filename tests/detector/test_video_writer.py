"""The streaming video writer, read back through the media reader (``MediaReader.every_frame``)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from detector.errors import ConfigError
from detector.media import open_media
from detector.video_writer import VideoWriter


def test_round_trip_keeps_every_frame_the_rate_and_the_pixels(tmp_path, numbered, read_number):
    frames = numbered(30)
    rate = Fraction(30000, 1001)  # NTSC: the exact fraction survives, a float would not
    with VideoWriter(tmp_path / "sub" / "clip.mp4", rate) as writer:  # the folder is created
        for image in frames:
            writer.write(image)
    assert writer.n_frames == 30 and writer.size == (64, 48)
    with open_media(writer.path) as media:
        assert media.frame_rate == rate and media.frame_count == 30
        back = list(media.every_frame())
    assert [f.index for f in back] == list(range(30))
    assert [read_number(f.image) for f in back] == list(range(30))
    assert np.allclose([f.timestamp for f in back], [float(i / rate) for i in range(30)], atol=1e-3)
    assert max(np.abs(f.image.astype(int) - image).mean() for f, image in zip(back, frames)) < 3  # crf 18


def test_odd_sizes_lose_their_last_row_and_column(tmp_path):
    with VideoWriter(tmp_path / "odd.mp4") as writer:
        writer.write(np.zeros((361, 641, 3), np.uint8))
        writer.write(np.zeros((400, 700, 3), np.uint8))  # later frames are cut to the first one's size
    assert writer.size == (640, 360)
    with open_media(writer.path) as media:
        assert (media.info.width, media.info.height) == (640, 360)
        assert len(list(media.every_frame())) == 2


def test_every_frame_applies_the_rotation(tmp_path, video_writer):
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, :8] = 255  # a white stripe on the left
    path = video_writer(tmp_path / "rotated.mp4", [image] * 3, rotation=90)
    with open_media(path) as media:
        frames = list(media.every_frame())
    assert len(frames) == 3
    assert frames[0].image.shape == (64, 48, 3)  # 90 degrees counter-clockwise: the stripe is now at the bottom
    assert frames[0].image[-8:].mean() > 200 and frames[0].image[:-8].mean() < 30


def test_every_frame_of_a_still_is_the_still(tmp_path, astronaut):
    import cv2

    path = tmp_path / "photo.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    with open_media(path) as media:
        assert media.frame_rate is None and media.frame_count == 1
        [frame] = media.every_frame()
    assert np.array_equal(frame.image, astronaut)


def test_bad_frames_and_rates_are_refused(tmp_path):
    with pytest.raises(ConfigError):
        VideoWriter(tmp_path / "a.mp4", 0)
    with VideoWriter(tmp_path / "b.mp4") as writer:
        with pytest.raises(ConfigError, match="uint8"):
            writer.write(np.zeros((32, 32, 3), np.float32))
        with pytest.raises(ConfigError, match="2 x 2"):
            writer.write(np.zeros((1, 32, 3), np.uint8))
    assert writer.n_frames == 0


def test_an_error_inside_the_block_closes_the_file_and_passes_through(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), VideoWriter(tmp_path / "c.mp4") as writer:
        writer.write(np.zeros((32, 32, 3), np.uint8))
        raise RuntimeError("boom")
    assert writer.n_frames == 1
    with pytest.raises(ValueError):  # closed: nothing more goes in
        writer.write(np.zeros((32, 32, 3), np.uint8))


def test_the_same_frames_make_the_same_file_after_other_work_in_the_process(tmp_path, astronaut):
    """x264's macroblock-tree rate control read memory it never wrote at sides not a multiple of 32: right after an
    ONNX Runtime session had run in the process, 240 x 240 frames encoded twice gave two different files (PyAV 18.1.1,
    2026-12-07). The writer turns it off; what ran before must not change a byte."""
    import cv2

    from detector.faces.extract import FaceExtractor
    from detector.media import Frame

    frames = [cv2.resize(astronaut[i * 4:i * 4 + 300, i * 3:i * 3 + 300], (240, 240), interpolation=cv2.INTER_AREA)
              for i in range(20)]

    def encode(name: str) -> bytes:
        with VideoWriter(tmp_path / name) as writer:
            for image in frames:
                writer.write(image)
        return (tmp_path / name).read_bytes()

    first = encode("first.mp4")
    FaceExtractor().extract_frames([Frame(0, 0.0, astronaut)])  # leaves its memory behind for the encoder to meet
    assert encode("second.mp4") == first and encode("third.mp4") == first
