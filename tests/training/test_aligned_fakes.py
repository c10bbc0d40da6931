"""``training.synth.aligned``: a self-blended fake per real clip of the training manifests, resumable, nothing lost."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from detector.faces.extract import FaceExtractor
from detector.kinds import SWAP
from detector.media import Frame
from detector.outputs.demo import write_video
from detector.runtime import sha256_file
from training.data.manifest import from_manifest
from training.synth import aligned
from training.synth.aligned import SOURCE, main, make_aligned_fakes


@pytest.fixture
def manifest(tmp_path, demo_clip, astronaut):
    """Two readable real clips (one with the face, one without), a broken one, a photo and a fake clip."""
    media = tmp_path / "data"
    media.mkdir()
    (media / "clip.mp4").write_bytes(demo_clip.read_bytes())
    write_video(media / "empty.mp4", [np.full((180, 320, 3), 90, np.uint8)] * 10, fps=25)
    (media / "broken.mp4").write_bytes(b"\x00" * 4000)
    cv2.imwrite(str(media / "photo.png"), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    (media / "fake.mp4").write_bytes(demo_clip.read_bytes())
    path = tmp_path / "train.csv"
    rows = [("clip.mp4", "real", "person-a", "repo/a"), ("empty.mp4", "real", "room", "repo/b"),
            ("broken.mp4", "real", "x", "repo/b"), ("photo.png", "real", "person-b", "repo/a"),
            ("fake.mp4", "fake", "person-a", "repo/a")]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "group", "source_repo"])
        writer.writerows(("data/" + p, label, group, source) for p, label, group, source in rows)
    return path


def test_every_real_clip_gets_a_fake_in_its_group_or_a_skip_row(tmp_path, manifest):
    out = tmp_path / "out"
    assert main(["--data", str(manifest), "--out", str(out), "--max-seconds", "0.4"]) == 0
    [item] = from_manifest(out / "MANIFEST.csv")  # the product's manifest reader takes it as it is
    assert (item.label, item.group, item.source, item.family, item.media) == (1, "person-a", SOURCE, SWAP, "video")
    with open(out / "MANIFEST.csv", newline="") as f:
        [row] = list(csv.DictReader(f))
    real = manifest.parent / "data" / "clip.mp4"
    assert row["pair_id"] == sha256_file(real) and row["sha256"] == sha256_file(item.path)
    assert row["real_source"] == "repo/a" and int(row["frames"]) == 10  # 0.4 s at 25 fps
    assert int(row["faces"]) >= 8  # the astronaut is found in (nearly) every frame
    with open(out / "skipped.csv", newline="") as f:
        skipped = {r["real_path"].rsplit("/", 1)[-1]: r["code"] for r in csv.DictReader(f)}
    assert skipped["empty.mp4"] == "no_face" and skipped["broken.mp4"] not in ("no_face", "internal_error")
    assert set(skipped) == {"empty.mp4", "broken.mp4"}  # the photo and the fake are not real clips
    assert [p.name for p in (out / "media").rglob("*.mp4")] == [item.path.name]  # no faceless file left behind


def test_the_fake_is_the_real_clip_with_its_face_changed(tmp_path, manifest):
    import av

    rows, _ = make_aligned_fakes([manifest], tmp_path / "out", max_seconds=0.4)

    def first(path):
        with av.open(str(path)) as c:
            return next(c.decode(video=0)).to_ndarray(format="rgb24").astype(np.int16)

    real, fake = first(manifest.parent / "data" / "clip.mp4"), first(tmp_path / "out" / rows[0].path)
    assert real.shape == fake.shape
    [face] = FaceExtractor().extract_frames([Frame(0, 0.0, real.astype(np.uint8))])
    x0, y0, x1, y1 = (int(v) for v in face.box)
    diff = np.abs(real - fake).mean(axis=2)
    inside, outside = diff[y0:y1, x0:x1].mean(), np.delete(diff, np.s_[max(0, y0 - 40):y1 + 40], axis=0).mean()
    assert inside > 3 * outside  # re-encoding touches everything a little; the face much more


def test_a_second_run_resumes_and_remakes_only_what_is_missing_or_changed(tmp_path, manifest, monkeypatch):
    from training.synth.sbi_video import blend_video

    calls = []

    def counting(*args, **kwargs):
        calls.append(args[0])
        return blend_video(*args, **kwargs)

    out = tmp_path / "out"
    first, _ = make_aligned_fakes([manifest], out, max_seconds=0.4, blend=counting)
    assert len(calls) == 2  # the face clip and the faceless one; the broken one fails before
    calls.clear()
    again, _ = make_aligned_fakes([manifest, manifest], out, max_seconds=0.4, blend=counting)
    assert again == first and len(calls) == 1  # only the faceless clip is tried again (it has no row)
    (out / first[0].path).write_bytes(b"changed")
    calls.clear()
    remade, _ = make_aligned_fakes([manifest], out, max_seconds=0.4, blend=counting)
    assert [c.name for c in calls] == ["clip.mp4", "empty.mp4"] and remade[0].sha256 == sha256_file(out / first[0].path)


def test_a_bad_max_seconds_is_refused(tmp_path, manifest):
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="max_seconds"):
            aligned.make_aligned_fakes([manifest], tmp_path / "out", max_seconds=bad)
