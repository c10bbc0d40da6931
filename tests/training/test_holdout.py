"""Held-out-source manifests: whole sources and pair groups move out, nothing is lost or duplicated."""

from __future__ import annotations

import csv

import pytest

from detector.errors import ConfigError
from training.data import from_manifest
from training.holdout import main, split_manifest

ROWS = [
    # path, split, label, source_repo, pair_id
    ("a/real_1.jpg", "train", "real", "big/reals", ""),
    ("a/real_2.jpg", "train", "real", "ffhq/portraits", ""),
    ("a/fake_1.jpg", "train", "fake", "gan/star", ""),
    ("a/fake_2.jpg", "train", "fake", "gan/yellow", ""),
    ("a/fake_3.jpg", "train", "fake", "other/gan", ""),
    ("v/p1_real.mp4", "train", "real", "dfl", "dfl_Anna_0"),
    ("v/p1_fake.mp4", "train", "fake", "dfl", "dfl_Anna_0"),
    ("v/p2_real.mp4", "train", "real", "dfl", "dfl_Bob_0"),
    ("v/p2_fake.mp4", "train", "fake", "dfl", "dfl_Bob_0"),
    ("e/eval_real.jpg", "eval", "real", "ffhq/portraits", ""),
]


@pytest.fixture()
def manifest(tmp_path):
    root = tmp_path / "data"
    for path, *_ in ROWS:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(b"")
    csv_path = root / "MANIFEST.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "split", "label", "source_repo", "pair_id"])
        writer.writerows(ROWS)
    return csv_path


def _paths(csv_path):
    with open(csv_path, newline="") as fh:
        return [row["path"] for row in csv.DictReader(fh)]


def test_sources_and_pair_groups_are_held_out_whole(manifest, tmp_path):
    out = tmp_path / "split"
    result = split_manifest(manifest, out, sources=["ffhq/*", "gan/*"], groups=["dfl_Anna_*"])
    held = _paths(result.holdout_path)
    kept = _paths(result.train_path)
    root = manifest.parent
    assert sorted(held) == sorted(str(root / p) for p in
                                  ("a/real_2.jpg", "a/fake_1.jpg", "a/fake_2.jpg", "v/p1_real.mp4", "v/p1_fake.mp4"))
    assert sorted(kept) == sorted(str(root / p) for p in
                                  ("a/real_1.jpg", "a/fake_3.jpg", "v/p2_real.mp4", "v/p2_fake.mp4"))
    assert (result.train, result.holdout) == (4, 5)  # the eval row is not used
    # Both read back as manifests from anywhere (absolute paths), columns kept.
    items = from_manifest(result.holdout_path, split="train")
    assert {it.group for it in items if it.media == "video"} == {"dfl_Anna_0"}
    assert {it.source for it in items} == {"ffhq/portraits", "gan/star", "gan/yellow", "dfl"}


def test_file_name_patterns_hold_out_part_of_a_source(manifest, tmp_path):
    result = split_manifest(manifest, tmp_path / "split", sources=[], groups=[], names=["fake_[12].jpg"])
    root = manifest.parent
    assert sorted(_paths(result.holdout_path)) == sorted(str(root / p) for p in ("a/fake_1.jpg", "a/fake_2.jpg"))
    assert str(root / "a/fake_3.jpg") in _paths(result.train_path)


def test_patterns_that_empty_a_side_are_refused(manifest, tmp_path):
    with pytest.raises(ConfigError, match="holdout empty"):
        split_manifest(manifest, tmp_path / "x", sources=["nothing/*"], groups=[])
    with pytest.raises(ConfigError, match="train empty"):
        split_manifest(manifest, tmp_path / "y", sources=["*"], groups=[])


def test_cli_writes_both_manifests(manifest, tmp_path, capsys):
    assert main([str(manifest), "--out", str(tmp_path / "cli"), "--source", "gan/*", "--group"]) == 0
    assert "2 rows" in capsys.readouterr().out
    assert len(_paths(tmp_path / "cli" / "holdout.csv")) == 2
    assert len(_paths(tmp_path / "cli" / "train.csv")) == 7


@pytest.mark.data
def test_default_holdout_of_the_shared_manifest(shared_data, tmp_path):
    result = split_manifest(shared_data / "MANIFEST.csv", tmp_path)
    held = from_manifest(result.holdout_path, split="train")
    kept = from_manifest(result.train_path, split="train")
    assert len(held) + len(kept) == len(from_manifest(shared_data / "MANIFEST.csv", split="train"))
    # Both labels in each held-out kind, every DeepFaceLive pair whole, no source on both sides but
    # DeepFaceLive (held out by pair, not by source) and FFHQ and SDFD (held out by file name, in part).
    assert {(it.media, it.label) for it in held} == {("image", 0), ("image", 1), ("video", 0), ("video", 1)}
    pairs = {it.group for it in held if it.source == "iperov/DeepFaceLive"}
    assert all(sum(it.group == g for it in held) == 2 for g in pairs) and not pairs & {it.group for it in kept}
    assert {it.source for it in held} & {it.source for it in kept} == {"iperov/DeepFaceLive",
                                                                       "dinablachman/realorfake", "gebaltso/SDFD"}
    ffhq = [it for it in held if it.source == "dinablachman/realorfake"]
    assert len(ffhq) == 100 and all(it.label == 0 for it in ffhq)  # unseen real portraits
    assert any(it.source == "megvii-research/megactor" and it.label == 1 for it in held)
