from __future__ import annotations

import numpy as np
import pytest

from detector.faces.align import AlignSpec, alignment_matrix, transform_points
from detector.faces.extract import FaceExtractor
from detector.media import Frame
from training.synth.sbi import blend_mask, face_hull, main, self_blend


@pytest.fixture(scope="module")
def face(astronaut):
    [f] = FaceExtractor().extract_frames([Frame(0, 0.0, astronaut)])
    lm = transform_points(np.asarray(f.landmarks), alignment_matrix(np.asarray(f.landmarks), AlignSpec()))
    return f.crop, lm


def test_mask_covers_the_inner_face_and_not_the_background(face):
    crop, lm = face
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = blend_mask(crop.shape[:2], lm, rng)
        assert mask.dtype == np.float32 and mask.shape == (224, 224)
        assert 0.0 <= mask.min() and mask.max() <= 1.0
        nose = np.round(lm[2]).astype(int)
        assert mask[nose[1], nose[0]] >= 0.2  # the smallest blend ratio is 0.25
        assert mask[:10, :10].max() < 0.05 and mask[-10:, -10:].max() < 0.05  # corners untouched
        coverage = (mask > 0.1).mean()
        assert 0.05 < coverage < 0.6


def test_self_blend_changes_the_face_only(face):
    crop, lm = face
    fake, mask = self_blend(crop, lm, 3)
    assert fake.shape == crop.shape and fake.dtype == np.uint8
    diff = np.abs(fake.astype(int) - crop).mean(axis=2)
    inside, outside = diff[mask > 0.5], diff[mask < 0.01]
    # Outside the mask the target shows: unchanged, or colour-jittered when the target was the altered side.
    assert inside.mean() > 1.0
    assert not np.array_equal(fake, crop)
    assert outside.size > 0


def test_self_blend_is_deterministic_per_seed(face):
    crop, lm = face
    a, _ = self_blend(crop, lm, 7)
    b, _ = self_blend(crop, lm, 7)
    c, _ = self_blend(crop, lm, 8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_hull_follows_a_rotated_face():
    spec = AlignSpec()
    lm = spec.template()
    c = lm.mean(0)
    rot = np.array([[0, -1], [1, 0]], float)  # 90 degrees
    hull_up = face_hull(lm)
    hull_rot = face_hull((lm - c) @ rot.T + c)
    extent = lambda h: h.max(0) - h.min(0)
    # Upright: taller than wide. Rotated by 90: wider than tall.
    assert extent(hull_up)[1] > extent(hull_up)[0] and extent(hull_rot)[0] > extent(hull_rot)[1]


def test_cli_writes_fakes(tmp_path, demo_clip):
    out = tmp_path / "sbi"
    assert main([str(demo_clip), "--out", str(out), "--frames", "2", "--size", "96", "--with-real"]) == 0
    fakes, reals = sorted(out.glob("fake_*.png")), sorted(out.glob("real_*.png"))
    assert len(fakes) == 2 and len(reals) == 2


def test_sbi_video_blends_each_face_in_place_and_nothing_else(tmp_path, demo_clip, astronaut):
    import av

    from pipelines.cli import main as cli
    from training.synth.sbi_video import blend_frame

    out = tmp_path / "fake.mp4"
    assert cli(["synth", "sbi-video", str(demo_clip), str(out)]) == 0

    def decode(path):
        with av.open(str(path)) as c:
            return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]

    real, fake = decode(demo_clip), decode(out)
    assert len(real) == len(fake) == 50
    [f] = FaceExtractor().extract_frames([Frame(0, 0.0, real[25].astype(np.uint8))])
    x0, y0, x1, y1 = (int(v) for v in f.box)
    diff = np.abs(real[25] - fake[25]).mean(axis=2)
    inside, outside = diff[y0:y1, x0:x1].mean(), np.delete(diff, np.s_[max(0, y0 - 40):y1 + 40], axis=0).mean()
    assert inside > 3 * outside  # re-encoding touches everything a little; the face much more

    # In pixels: the blend stays inside the face, covers a good part of it, and is the same per seed.
    [g] = FaceExtractor().extract_frames([Frame(0, 0.0, astronaut)])
    a, mask = blend_frame(astronaut, np.asarray(g.landmarks), seed=3)
    b, _ = blend_frame(astronaut, np.asarray(g.landmarks), seed=3)
    assert np.array_equal(a, b) and a.shape == astronaut.shape
    gx0, gy0, gx1, gy1 = (int(v) for v in g.box)
    face_area = (gx1 - gx0) * (gy1 - gy0)
    # The blend ratio scales the whole mask (0.25 to 1): measure its support at half its peak.
    assert 0.3 * face_area < (mask > 0.5 * mask.max()).sum() < 2.0 * face_area
    assert np.array_equal(a[mask == 0], astronaut[mask == 0])
