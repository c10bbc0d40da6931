"""The manifest CSV adapter and its label cells; the shared manifest, when it is beside the project."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from detector.errors import ConfigError
from training.data import from_manifest, group_split, load_dataset, parse_label


@pytest.mark.parametrize(("text", "label"), [("real", 0), ("REAL", 0), (" Fake ", 1), ("fAkE", 1), ("0", 0),
                                             ("1", 1), (1, 1)])
def test_parse_label_accepts(text, label):
    assert parse_label(text) == label


@pytest.mark.parametrize("text", ["", "2", "yes", "original", "-1", "1.0"])
def test_parse_label_refuses(text):
    with pytest.raises(ConfigError) as err:
        parse_label(text)
    assert err.value.code == "invalid_config" and isinstance(err.value, ValueError)


def test_manifest_fields_and_fallbacks(tmp_path, touch, by_name, write_csv):
    touch(tmp_path, "ds/v/a_L_real.mp4", "ds/v/a_R_fake.mp4", "ds/i/c.jpg", "ds/i/d.png", "ds/i/e.jpg")
    header = "Path,Label,Split,Pair_ID,Group,Manipulation,Media,Source_Repo"
    csv_path = write_csv(tmp_path / "ds" / "list.csv", header, [
        "v/a_L_real.mp4,REAL,train,pairA,,none,video,iperov/DeepFaceLive",
        "v/a_R_fake.mp4,Fake,train,pairA,,deepfacelive,,iperov/DeepFaceLive",
        "i/c.jpg,0,eval,,,,,",
        "i/d.png,1,eval,,faces-1,stylegan,image,",
        f"{tmp_path / 'ds/i/e.jpg'},1,train,ignored,explicit,,,",
    ], bom=True)
    items = by_name(from_manifest(csv_path))
    assert items["a_L_real.mp4"].group == items["a_R_fake.mp4"].group == "pairA"
    assert (items["a_R_fake.mp4"].manipulation, items["a_R_fake.mp4"].source) == ("deepfacelive", "iperov/DeepFaceLive")
    assert items["a_R_fake.mp4"].media == "video"  # from the extension
    c = items["c.jpg"]
    assert (c.label, c.group, c.manipulation, c.source, c.media) == (0, "c", "none", "list", "image")
    assert items["d.png"].group == "faces-1"  # group column wins over pair_id and stem
    assert items["e.jpg"].group == "explicit" and items["e.jpg"].manipulation == "unknown"
    assert all(it.path.is_absolute() for it in items.values())
    assert sorted(by_name(from_manifest(csv_path, split="eval"))) == ["c.jpg", "d.png"]


def test_manifest_root_override(tmp_path, touch, write_csv):
    touch(tmp_path, "media/x.jpg")
    csv_path = write_csv(tmp_path / "meta" / "m.csv", "path,label", ["x.jpg,real"])
    with pytest.raises(ConfigError, match="do not exist"):
        from_manifest(csv_path)
    (item,) = from_manifest(csv_path, root=tmp_path / "media")
    assert item.path == tmp_path / "media" / "x.jpg"


def test_manifest_missing_files_listed_or_skipped(tmp_path, caplog, touch, write_csv):
    touch(tmp_path, "ok.jpg")
    rows = ["ok.jpg,real"] + [f"missing_{i}.jpg,fake" for i in range(7)]
    csv_path = write_csv(tmp_path / "m.csv", "path,label", rows)
    with pytest.raises(ConfigError) as err:
        from_manifest(csv_path)
    message = err.value.message
    assert "7 of 8" in message and "(and 2 more)" in message and "skip_missing" in message
    assert sum(f"missing_{i}.jpg" in message for i in range(7)) == 5
    with caplog.at_level(logging.WARNING):
        items = from_manifest(csv_path, skip_missing=True)
    assert [it.path.name for it in items] == ["ok.jpg"]
    assert "dropped" in caplog.text


@pytest.mark.parametrize(("header", "rows", "match"), [
    ("file,label", ["a.jpg,real"], "lacks column"),
    ("path,label", ["a.jpg,maybe"], "line 2"),
    ("path,label", ["a.jpg,real", "b.jpg,"], "line 3"),
    ("path,label", [",real"], "empty path"),
    ("path,label,manipulation", ["a.jpg,real,Deepfakes"], "real row"),
    ("path,label,media", ["a.jpg,real,audio"], "media"),
    ("path,label", ["a.txt,real"], "media column"),
    ("path,label", ["a.jpg,real", "./a.jpg,fake"], "duplicate"),
    ("path,label,split", ["a.jpg,real,train"], "splits present"),
    ("path,label", [], "no media items"),
])
def test_manifest_refuses_bad_content(tmp_path, header, rows, match, touch, write_csv):
    touch(tmp_path, "a.jpg", "b.jpg", "a.txt")
    csv_path = write_csv(tmp_path / "m.csv", header, rows)
    split = "eval" if "split" in header else None
    with pytest.raises(ConfigError, match=match):
        from_manifest(csv_path, split=split)


def test_manifest_split_without_column(tmp_path, touch, write_csv):
    touch(tmp_path, "a.jpg")
    with pytest.raises(ConfigError, match="no split column"):
        from_manifest(write_csv(tmp_path / "m.csv", "path,label", ["a.jpg,real"]), split="train")


@pytest.mark.data
def test_shared_manifest(shared_data, by_name, assert_group_disjoint):
    """Every row of the shared manifest becomes an item; counts come from the CSV, not from a fixed figure,
    because the data is revised from time to time."""
    import csv

    with open(shared_data / "MANIFEST.csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    n_eval = sum(row["split"] == "eval" for row in rows)
    assert 0 < n_eval < len(rows)
    items = from_manifest(shared_data / "MANIFEST.csv")
    assert len(items) == len(rows)
    assert {it.label for it in items} == {0, 1}
    assert all(it.path.is_relative_to(Path(os.path.abspath(shared_data))) and it.path.is_file() for it in items)
    named = by_name(items)
    real, fake = named["dfl_Albica_Johns_0_L_real.mp4"], named["dfl_Albica_Johns_0_R_fake.mp4"]
    assert real.group == fake.group == "dfl_Albica_Johns_0" and (real.label, fake.label) == (0, 1)
    assert fake.source == "iperov/DeepFaceLive" and fake.manipulation.startswith("deepfacelive")
    evaluation = load_dataset(shared_data / "MANIFEST.csv", split="eval")
    assert len(evaluation) == n_eval and {it.label for it in evaluation} == {0, 1}
    train = from_manifest(shared_data / "MANIFEST.csv", split="train")
    assert len(train) == len(rows) - n_eval
    assert_group_disjoint(group_split(train, seed=0), train)
