"""``training.synth.cross_swap`` and ``swap_face``: each face of a real still replaced by the inner face of a person
of another group, the rest of the photo untouched; the run's manifest, skip rows, seeds and resume."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from detector.errors import ConfigError
from detector.faces.align import alignment_matrix, transform_points
from detector.kinds import SWAP
from detector.media import Frame
from detector.runtime import sha256_file
from training.data.families import family_of
from training.data.manifest import from_manifest
from training.synth import cross_swap
from training.synth.clip_fakes import face_stage
from training.synth.cross_swap import (
    MANIPULATION,
    SOURCE,
    CrossSwapConfig,
    Donor,
    DonorPool,
    main,
    make_cross_swaps,
    read_still,
)
from training.synth.swap_face import SwapConfig, SwapDraw, inner_face_polygon, swap_face


def open_mouthed(photo: np.ndarray) -> np.ndarray:
    """Another person for the tests: the astronaut with a wide dark open mouth and a face 10 % narrower (so her
    landmark layout, her "pose", is not the astronaut's)."""
    image = photo.copy()
    cv2.ellipse(image, (223, 141), (20, 9), 0, 0, 360, (30, 10, 15), -1, cv2.LINE_AA)
    return cv2.resize(image, (461, 512), interpolation=cv2.INTER_AREA)


def mouth_darkness(image: np.ndarray, landmarks: np.ndarray) -> float:
    """Mean brightness between the mouth corners (low: the open-mouthed person's mouth)."""
    lm = np.asarray(landmarks)
    y = int(lm[3:, 1].mean())
    return float(image[y - 4:y + 5, int(lm[3, 0]) + 6:int(lm[4, 0]) - 5].mean())


@pytest.fixture(scope="module")
def people(astronaut):
    """The two faces with their landmarks and donor crops: {name: (image, landmarks, Donor)}."""
    spec = SwapConfig().spec
    extractor = face_stage(align=spec)
    found = {}
    for name, image in (("astronaut", astronaut), ("open", open_mouthed(astronaut))):
        [face] = extractor.extract_frames([Frame(0, 0.0, image)])
        lm = np.asarray(face.landmarks)
        found[name] = (image, lm, Donor(Path(f"/{name}.png"), name, face.crop,
                                        transform_points(lm, alignment_matrix(lm, spec))))
    return found


def test_the_inner_face_changes_and_nothing_outside_the_mask_does(people):
    image, lm, _ = people["astronaut"]
    donor = people["open"][2]
    out, mask = swap_face(image, lm, donor.crop, donor.landmarks, draw=SwapDraw(face_px=128, erode=0.05, blur=0.1))
    again, _ = swap_face(image, lm, donor.crop, donor.landmarks, draw=SwapDraw(face_px=128, erode=0.05, blur=0.1))
    assert np.array_equal(out, again)
    # The donor's dark mouth lands on the astronaut's mouth: the inner face is the donor's.
    assert mouth_darkness(out, lm) < mouth_darkness(image, lm) - 50
    assert all(mask[round(y), round(x)] > 0.95 for x, y in lm)  # eyes, nose and mouth all swapped
    assert mask.max() == 1.0 and np.array_equal(out[mask == 0], image[mask == 0])
    # The mask covers the inner face only (inside the polygon grown by its blur) and fades over several pixels.
    outside = np.ones(mask.shape, np.uint8)
    cv2.fillPoly(outside, [np.round(inner_face_polygon(lm)).astype(np.int32)], 0)
    far = cv2.erode(outside, np.ones((25, 25), np.uint8)) > 0  # more than 12 px out of the polygon
    assert mask[far].max() == 0 and np.array_equal(out[far], image[far])
    x, y = (int(v) for v in lm[3:].mean(0))
    ramp = mask[y, x:]  # from the mouth out across the cheek
    assert ramp[0] > 0.95 and ramp[-1] == 0 and np.abs(np.diff(ramp)).max() < 0.25
    assert ((ramp > 0.05) & (ramp < 0.95)).sum() >= 4


def test_the_resolution_bottleneck_softens_the_swapped_face(people):
    image, lm, _ = people["astronaut"]
    donor = people["open"][2]

    def sharpness(face_px):
        out, mask = swap_face(image, lm, donor.crop, donor.landmarks,
                              draw=SwapDraw(face_px=face_px, erode=0.0, blur=0.05))
        grey = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F))[mask > 0.99].mean())

    assert sharpness(96) < 0.8 * sharpness(160)


def pool_of(layouts: dict[str, list[float]]) -> DonorPool:
    """Donors with no pixels: a group per entry, its landmarks the template's shifted right by the value(s)."""
    spec = SwapConfig().spec
    donors = [Donor(Path(f"/{group}-{i}.png"), group, np.zeros((1, 1, 3), np.uint8), spec.template() + [dx, 0])
              for group, shifts in layouts.items() for i, dx in enumerate(shifts)]
    return DonorPool(donors, size=spec.size)


def test_the_donor_is_of_another_group_and_of_the_nearest_pose():
    spec = SwapConfig().spec
    pool = pool_of({"alice": [0.0, 0.5], "bella": [4.0, 30.0], "carla": [8.0], "dora": [12.0]})
    chosen = {pool.choose(spec.template(), "alice", np.random.default_rng(s), nearest=2).path.name
              for s in range(40)}
    assert chosen == {"bella-0.png", "carla-0.png"}  # the two nearest of other groups, never alice's own (nearer)
    nearest = pool.choose(spec.template() + [29.0, 0], "alice", np.random.default_rng(0), nearest=1)
    assert nearest.path.name == "bella-1.png"
    draws = [pool.choose(spec.template(), "alice", np.random.default_rng(7), nearest=4).path for _ in range(2)]
    assert draws[0] == draws[1]  # a seed gives the same donor
    with pytest.raises(ConfigError, match="other than 'alice'"):
        pool_of({"alice": [0.0]}).choose(spec.template(), "alice", np.random.default_rng(0), nearest=2)


@pytest.fixture
def manifest(tmp_path, astronaut):
    """The astronaut (PNG, and a JPEG of another photo of her group), the open-mouthed person (PNG), a faceless
    still, a broken one and a fake."""
    media = tmp_path / "data"
    media.mkdir()

    def save(name, image):
        cv2.imwrite(str(media / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))

    save("alice.png", astronaut)
    save("alice-2.jpg", astronaut[:, 30:])
    save("bella.png", open_mouthed(astronaut))
    save("wall.png", np.full((200, 300, 3), 90, np.uint8))
    (media / "broken.jpg").write_bytes(b"\x00" * 4000)
    save("fake.png", astronaut)
    path = tmp_path / "train.csv"
    rows = [("alice.png", "real", "alice", "repo/a"), ("alice-2.jpg", "real", "alice", "repo/a"),
            ("bella.png", "real", "bella", "repo/b"), ("wall.png", "real", "room", "repo/b"),
            ("broken.jpg", "real", "x", "repo/b"), ("fake.png", "fake", "alice", "repo/a")]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "group", "source_repo"])
        writer.writerows(("data/" + p, label, group, source) for p, label, group, source in rows)
    return path


def by_real(rows):
    return {Path(row.real_path).name: row for row in rows}


def test_every_real_still_gets_a_swap_in_its_group_or_a_skip_row(tmp_path, manifest):
    out = tmp_path / "out"
    assert main(["--data", str(manifest), "--out", str(out), "--seed", "1"]) == 0
    items = {item.path.name.split(".")[0]: item for item in from_manifest(out / "MANIFEST.csv")}
    assert set(items) == {"alice", "alice-2", "bella"}
    for name, item in items.items():
        assert (item.label, item.source, item.family, item.media) == (1, SOURCE, SWAP, "image")
        assert item.group == name.split("-")[0] and item.manipulation == MANIPULATION
    assert family_of(MANIPULATION) == SWAP  # a manifest without the family column reads the same kind
    with open(out / "MANIFEST.csv", newline="") as f:
        rows = {Path(r["real_path"]).name: r for r in csv.DictReader(f)}
    for name, row in rows.items():
        assert row["pair_id"] == sha256_file(manifest.parent / "data" / name)
        assert row["sha256"] == sha256_file(out / row["path"]) and (row["frames"], row["faces"]) == ("1", "1")
    assert rows["bella.png"]["real_source"] == "repo/b"
    assert rows["alice.png"]["path"].endswith(".png") and rows["alice-2.jpg"]["path"].endswith(".jpg")
    assert (out / rows["alice-2.jpg"]["path"]).read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG
    with open(out / "skipped.csv", newline="") as f:
        skipped = {r["real_path"].rsplit("/", 1)[-1]: r["code"] for r in csv.DictReader(f)}
    assert skipped["wall.png"] == "no_face" and skipped["broken.jpg"] not in ("no_face", "internal_error")
    assert set(skipped) == {"wall.png", "broken.jpg"}  # the fake is no real still
    assert len(list((out / "media").rglob("*.*"))) == 3  # no faceless file left behind


def test_each_face_takes_the_face_of_another_group(tmp_path, manifest, astronaut):
    """With one candidate (``nearest=1``), the nearest pose would be the astronaut's own second photo; the donor is
    the open-mouthed person of the other group, and she gets the astronaut's closed mouth."""
    rows, _ = make_cross_swaps([manifest], tmp_path / "out", config=CrossSwapConfig(nearest=1))
    fakes = {name: read_still(tmp_path / "out" / row.path) for name, row in by_real(rows).items()}
    extractor = face_stage()
    for name, real in (("alice.png", astronaut), ("bella.png", open_mouthed(astronaut))):
        [face] = extractor.extract_frames([Frame(0, 0.0, real)])
        before, after = mouth_darkness(real, face.landmarks), mouth_darkness(fakes[name], face.landmarks)
        assert (after < before - 50) if name == "alice.png" else (after > before + 50)
        # The background, away from the face, is the real photo's (PNG: exactly).
        y0, y1 = int(face.box[1]), int(face.box[3])
        assert np.array_equal(np.delete(fakes[name], np.s_[max(0, y0 - 20):y1 + 40], axis=0),
                              np.delete(real, np.s_[max(0, y0 - 20):y1 + 40], axis=0))


def test_the_same_seed_gives_the_same_bytes(tmp_path, manifest):
    shas = [sorted(row.sha256 for row in make_cross_swaps([manifest], tmp_path / name, seed=seed)[0])
            for name, seed in (("a", 3), ("b", 3), ("c", 4))]
    assert shas[0] == shas[1] and len(shas[0]) == 3
    assert shas[0] != shas[2]  # the seed is used


def test_a_second_run_resumes_and_remakes_only_what_is_missing_or_changed(tmp_path, manifest, monkeypatch):
    calls = []
    swap_still = cross_swap.swap_still

    def counting(item, *args, **kwargs):
        calls.append(item.path.name)
        return swap_still(item, *args, **kwargs)

    monkeypatch.setattr(cross_swap, "swap_still", counting)
    out = tmp_path / "out"
    first, _ = make_cross_swaps([manifest], out)
    assert sorted(calls) == ["alice-2.jpg", "alice.png", "bella.png", "broken.jpg", "wall.png"]
    calls.clear()
    again, _ = make_cross_swaps([manifest, manifest], out)
    assert again == first and sorted(calls) == ["broken.jpg", "wall.png"]  # only what has no row is tried again
    changed = by_real(first)["bella.png"]
    (out / changed.path).write_bytes(b"changed")
    (out / by_real(first)["alice.png"].path).unlink()
    calls.clear()
    remade, _ = make_cross_swaps([manifest], out)
    assert sorted(calls) == ["alice.png", "bella.png", "broken.jpg", "wall.png"]
    assert remade == first  # the same seed makes the same files again


def test_one_group_is_refused_and_the_limit_takes_the_first_stills(tmp_path, manifest):
    with pytest.raises(ConfigError, match="two groups"):
        make_cross_swaps([manifest], tmp_path / "one", limit=2)  # both photos of the astronaut
    rows, skipped = make_cross_swaps([manifest], tmp_path / "three", limit=3)
    assert sorted(Path(row.real_path).name for row in rows) == ["alice-2.jpg", "alice.png", "bella.png"]
    assert skipped == []
    with pytest.raises(ValueError, match="limit"):
        make_cross_swaps([manifest], tmp_path / "none", limit=0)


def test_cross_swap_is_torch_free():
    code = ("import sys, training.synth.cross_swap, training.synth.swap_face; "
            "bad = [m for m in ('torch', 'torchvision', 'timm') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
