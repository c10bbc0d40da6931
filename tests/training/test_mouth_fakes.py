"""``training.synth.mouth`` and ``mouth_video``: the lower face re-synthesised from another moment of the clip, the
rest of the frame real; the rewrite loop's look-ahead window; the per-clip manifest run, resumable."""

from __future__ import annotations

import csv
import dataclasses
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest

from detector.faces.extract import FaceExtractor
from detector.kinds import REENACTMENT
from detector.media import Frame
from detector.outputs.demo import write_video
from detector.runtime import sha256_file
from training.data.manifest import from_manifest
from training.synth.clip_fakes import item_seed
from training.synth.mouth import MANIPULATION, SOURCE, main, make_mouth_fakes
from training.synth.mouth_video import MouthConfig, draw_offset, mouth_frame, resync_frame, resync_video
from training.synth.rewrite import FaceFrame, rewrite_faces_in_context

N_FRAMES = 30


def with_mouth(photo: np.ndarray, opening: float) -> np.ndarray:
    """The astronaut with a dark open mouth ``opening`` px high (half-height, in the 512 px photo)."""
    image = photo.copy()
    cv2.ellipse(image, (223 * 4, 141 * 4), (15 * 4, round(opening * 4)), 0, 0, 360, (40, 20, 25), -1,
                cv2.LINE_AA, shift=2)
    return image


@pytest.fixture(scope="module")
def talking(tmp_path_factory, astronaut):
    """1.2 s, 240 x 240: the astronaut panning right while her mouth opens a little more every frame."""
    frames = []
    for i in range(N_FRAMES):
        x = 60 + i
        frames.append(cv2.resize(with_mouth(astronaut, 1 + 0.3 * i)[0:320, x:x + 320], (240, 240),
                                 interpolation=cv2.INTER_AREA))
    return write_video(tmp_path_factory.mktemp("mouth") / "talking.mp4", frames, fps=25)


def decode(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def faked(tmp_path_factory, talking):
    """The talking clip resynced twice with seed 3 and once with seed 4: (real frames, [fakes], counts)."""
    out = tmp_path_factory.mktemp("fakes")
    extractor = FaceExtractor()
    made = [resync_video(talking, out / f"{name}.mp4", seed=seed, extractor=extractor)
            for name, seed in (("a", 3), ("b", 3), ("c", 4))]
    return decode(talking), [decode(out / f"{name}.mp4") for name in "abc"], made


@pytest.fixture(scope="module")
def astronaut_face(astronaut):
    [face] = FaceExtractor().extract_frames([Frame(0, 0.0, astronaut)])
    return face


def test_the_mouth_changes_and_the_upper_face_does_not(faked):
    real, (fake, _, _), made = faked
    assert len(fake) == len(real) == made[0]["frames"] == N_FRAMES
    assert made[0]["faces"] >= N_FRAMES - 4  # every frame has the face and a partner 4 to 20 frames away
    faces = FaceExtractor().extract_frames([Frame(i, i / 25, image.astype(np.uint8)) for i, image in enumerate(real)])
    mouth_diff, eye_diff = [], []
    for face in faces:
        lm = np.asarray(face.landmarks)
        eye_y, mouth_y = lm[:2, 1].mean(), lm[3:, 1].mean()
        x0, x1 = int(lm[0, 0]) - 6, int(lm[1, 0]) + 6
        diff = np.abs(real[face.sample] - fake[face.sample]).mean(axis=2)
        mouth_diff.append(diff[int(mouth_y) - 6:int(mouth_y) + 7, int(lm[3, 0]):int(lm[4, 0])].mean())
        eye_diff.append(diff[int(face.box[1]):int(eye_y) + 6, x0:x1].mean())  # forehead down to below the eyes
    # Re-encoding moves every pixel by ~2 levels; the eyes and forehead no more than that, the mouth far more.
    assert np.median(eye_diff) < 3.5 and max(eye_diff) < 5
    assert np.median(mouth_diff) > 4 * np.median(eye_diff) and np.mean(np.array(mouth_diff) > 8) > 0.8


def test_the_same_seed_gives_the_same_frames(faked):
    _, (a, b, c), made = faked
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and made[0] == made[1]
    assert not all(np.array_equal(x, z) for x, z in zip(a, c))  # the seed is used


def test_the_lower_face_comes_from_the_drawn_offset(astronaut, astronaut_face):
    """Frames whose mouths differ only in how far open they are: the result's mouth is frame ``t + d``'s."""
    config = MouthConfig()
    window = {k: FaceFrame(k, with_mouth(astronaut, 1 + 0.4 * k),
                           (dataclasses.replace(astronaut_face, sample=k, frame_index=k, timestamp=k / 25),))
              for k in range(41)}
    t = 20
    out, changed = resync_frame(window[t], window, seed=5, config=config)
    d = draw_offset(5, astronaut_face.track_id, int(t / 25 // config.segment_seconds), config)
    assert changed == 1 and 4 <= abs(d) <= 20
    lm = np.asarray(astronaut_face.landmarks)
    box = np.s_[int(lm[3, 1]) - 14:int(lm[3, 1]) + 14, int(lm[3, 0]):int(lm[4, 0])]
    distance = [np.abs(out[box].astype(np.int16) - frame.image[box]).mean() for frame in window.values()]
    nearest = int(np.argmin(distance))
    assert abs(nearest - (t + d)) <= 1 and abs(nearest - t) >= 3  # softened and colour-matched, still that mouth

    alone = {t: window[t]}  # the track in no other frame: the face stays real
    same, changed = resync_frame(window[t], alone, seed=5, config=config)
    assert changed == 0 and np.array_equal(same, window[t].image)


def test_the_seam_is_feathered_and_stays_below_the_eyes(astronaut, astronaut_face):
    lm = np.asarray(astronaut_face.landmarks)
    source = with_mouth(astronaut, 8)
    out, mask = mouth_frame(astronaut, lm, source, lm, face_px=96)
    again, _ = mouth_frame(astronaut, lm, source, lm, face_px=96)
    assert np.array_equal(out, again)
    ey, ny = lm[:2, 1].mean(), lm[2, 1]
    mx, my = (int(v) for v in lm[3:].mean(0))
    mouth = np.s_[my - 5:my + 6, mx - 8:mx + 9]
    assert mask[my, mx] > 0.95 and np.abs(out[mouth].astype(int) - astronaut[mouth]).mean() > 20
    upper = np.s_[:int(ey + 0.3 * (ny - ey)), :]  # everything above a line just below the eyes
    assert mask[upper].max() == 0 and np.array_equal(out[upper], astronaut[upper])
    # From the mouth up to the eyes and out past the cheek, the mask falls off over several pixels, no step.
    for ramp in (mask[int(ey):my + 1, mx][::-1], mask[my, mx:mx + 80]):
        assert ramp[0] > 0.95 and ramp[-1] < 0.05
        assert np.abs(np.diff(ramp)).max() < 0.25 and ((ramp > 0.05) & (ramp < 0.95)).sum() >= 4


def test_the_window_holds_the_frames_around_each_one(tmp_path, talking):
    """With ``context`` 3, frame t sees frames t-3..t+3 (fewer at the ends), as decoded, not as edited."""
    seen = {}

    def shift(frame, window):
        seen[frame.index] = sorted(window)
        assert all(window[i].index == i for i in window)
        return window.get(frame.index - 3, frame).image  # each frame shows the one three before it

    counts = rewrite_faces_in_context(talking, tmp_path / "late.mp4", shift, context=3, extractor=FaceExtractor())
    assert counts.n_frames == counts.n_edited_frames == N_FRAMES
    assert seen == {t: list(range(max(0, t - 3), min(N_FRAMES, t + 4))) for t in range(N_FRAMES)}
    real, late = decode(talking), decode(tmp_path / "late.mp4")
    assert np.abs(late[10] - real[7]).mean() < 3 < np.abs(late[10] - real[10]).mean()


def test_mouth_video_is_torch_free():
    code = ("import sys, training.synth.mouth, training.synth.mouth_video; "
            "bad = [m for m in ('torch', 'torchvision', 'timm') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture
def manifest(tmp_path, talking):
    """A real talking clip, a faceless one, a broken one and a fake."""
    media = tmp_path / "data"
    media.mkdir()
    (media / "talk.mp4").write_bytes(talking.read_bytes())
    write_video(media / "empty.mp4", [np.full((120, 160, 3), 90, np.uint8)] * 10, fps=25)
    (media / "broken.mp4").write_bytes(b"\x00" * 4000)
    (media / "fake.mp4").write_bytes(talking.read_bytes())
    path = tmp_path / "train.csv"
    rows = [("talk.mp4", "real", "person-a", "repo/a"), ("empty.mp4", "real", "room", "repo/b"),
            ("broken.mp4", "real", "x", "repo/b"), ("fake.mp4", "fake", "person-a", "repo/a")]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "group", "source_repo"])
        writer.writerows(("data/" + p, label, group, source) for p, label, group, source in rows)
    return path


def test_every_real_clip_gets_a_lip_sync_fake_in_its_group_or_a_skip_row(tmp_path, manifest):
    out = tmp_path / "out"
    assert main(["--data", str(manifest), "--out", str(out), "--max-seconds", "0.8", "--seed", "1"]) == 0
    [item] = from_manifest(out / "MANIFEST.csv")  # the product's manifest reader takes it as it is
    assert (item.label, item.group, item.source, item.family, item.media) == (1, "person-a", SOURCE, REENACTMENT,
                                                                               "video")
    assert item.manipulation == MANIPULATION
    with open(out / "MANIFEST.csv", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["pair_id"] == sha256_file(manifest.parent / "data" / "talk.mp4")
    assert row["sha256"] == sha256_file(item.path) and row["real_source"] == "repo/a"
    # 0.8 s at 25 fps, one track, one segment: a face whose partner d frames away falls outside the clip both ways
    # stays real (the offset is drawn from the clip's bytes, so the fixture's encoding decides how many).
    d = draw_offset(item_seed(1, row["pair_id"]), 0, 0, MouthConfig())
    partnered = sum(any(0 <= t + k < 20 for k in (d, -d)) for t in range(20))
    assert int(row["frames"]) == 20 and int(row["faces"]) == partnered >= 2
    with open(out / "skipped.csv", newline="") as f:
        skipped = {r["real_path"].rsplit("/", 1)[-1]: r["code"] for r in csv.DictReader(f)}
    assert skipped["empty.mp4"] == "no_face" and skipped["broken.mp4"] not in ("no_face", "internal_error")
    assert set(skipped) == {"empty.mp4", "broken.mp4"}  # the fake is no real clip
    assert [p.name for p in (out / "media").rglob("*.mp4")] == [item.path.name]  # no faceless file left behind


def test_a_second_run_resumes_and_remakes_only_what_is_missing_or_changed(tmp_path, manifest):
    calls = []

    def counting(*args, **kwargs):
        calls.append(args[0].name)
        return resync_video(*args, **kwargs)

    out = tmp_path / "out"
    first, _ = make_mouth_fakes([manifest], out, max_seconds=0.8, resync=counting)
    assert sorted(calls) == ["empty.mp4", "talk.mp4"]  # the broken one fails before
    calls.clear()
    again, _ = make_mouth_fakes([manifest, manifest], out, max_seconds=0.8, resync=counting)
    assert again == first and calls == ["empty.mp4"]  # only the faceless clip is tried again (it has no row)
    (out / first[0].path).write_bytes(b"changed")
    calls.clear()
    remade, _ = make_mouth_fakes([manifest], out, max_seconds=0.8, resync=counting)
    assert sorted(calls) == ["empty.mp4", "talk.mp4"] and remade == first  # the same seed makes the same file again
