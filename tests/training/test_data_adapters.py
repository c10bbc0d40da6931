"""Dataset adapters and group splits, on tiny placeholder trees shaped like each layout.

Placeholder media hold a few bytes: adapters only list and stat files, they never decode them.
"""

from __future__ import annotations

import json
import logging
import os
import random
from pathlib import Path

import pytest

from detector.errors import ConfigError
from training.data import (
    MediaItem,
    detect_layout,
    from_celebdf,
    from_dfdc,
    from_faceforensics,
    from_folders,
    from_manifest,
    group_split,
    load_dataset,
    parse_label,
    summarize,
)


def touch(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x00placeholder")


def by_name(items: list[MediaItem]) -> dict[str, MediaItem]:
    return {it.path.name: it for it in items}


def assert_sorted_absolute(items: list[MediaItem]) -> None:
    assert [str(it.path) for it in items] == sorted(str(it.path) for it in items)
    assert all(it.path.is_absolute() for it in items)


# ------------------------------------------------------------------------------------------------ MediaItem


def test_media_item_roundtrip_and_validation(tmp_path):
    item = MediaItem(path=tmp_path / "a.mp4", label=1, group="g", manipulation="FaceSwap", source="s", media="video")
    data = item.to_dict()
    assert data == {"path": str(tmp_path / "a.mp4"), "label": 1, "group": "g", "manipulation": "FaceSwap",
                    "source": "s", "media": "video"}
    assert json.loads(json.dumps(data)) == data
    assert MediaItem.from_dict({**data, "status": "ok"}) == item
    good = {"path": tmp_path / "a.jpg", "label": 0, "group": "g", "manipulation": "none", "source": "s",
            "media": "image"}
    for bad in ({"path": Path("rel.jpg")}, {"label": 2}, {"label": True}, {"media": "audio"}, {"group": ""},
                {"manipulation": "Deepfakes"}, {"label": 1, "manipulation": "none"}):
        with pytest.raises(ConfigError):
            MediaItem(**{**good, **bad})


@pytest.mark.parametrize(("text", "label"), [("real", 0), ("REAL", 0), (" Fake ", 1), ("fAkE", 1), ("0", 0),
                                             ("1", 1), (1, 1)])
def test_parse_label_accepts(text, label):
    assert parse_label(text) == label


@pytest.mark.parametrize("text", ["", "2", "yes", "original", "-1", "1.0"])
def test_parse_label_refuses(text):
    with pytest.raises(ConfigError) as err:
        parse_label(text)
    assert err.value.code == "invalid_config" and isinstance(err.value, ValueError)


# -------------------------------------------------------------------------------------------------- folders


@pytest.fixture
def folders_root(tmp_path: Path) -> Path:
    root = tmp_path / "mydata"
    touch(root, "real/007.mp4", "fake/007.mp4", "real/p1/a.png", "fake/p1/b.png", "fake/FaceSwap/x/c.jpg",
          "real/notes.txt", "real/.hidden.mp4", "real/._p1.jpg", "fake/FaceSwap/x/readme.md")
    return root


def test_folders_items_groups_and_fields(folders_root):
    items = from_folders(folders_root)
    assert_sorted_absolute(items)
    got = {it.path.relative_to(folders_root).as_posix(): (it.label, it.group, it.manipulation, it.media)
           for it in items}
    assert got == {
        "real/007.mp4": (0, "007", "none", "video"),
        "fake/007.mp4": (1, "007", "unknown", "video"),
        "real/p1/a.png": (0, "p1", "none", "image"),
        "fake/p1/b.png": (1, "p1", "p1", "image"),  # first folder under fake/ names the manipulation
        "fake/FaceSwap/x/c.jpg": (1, "FaceSwap/x", "FaceSwap", "image"),
    }
    assert {it.source for it in items} == {"mydata"}


def test_folders_needs_both_sides_and_some_media(tmp_path):
    touch(tmp_path / "a", "real/x.jpg")
    with pytest.raises(ConfigError, match="fake"):
        from_folders(tmp_path / "a")
    (tmp_path / "b" / "real").mkdir(parents=True)
    (tmp_path / "b" / "fake").mkdir()
    with pytest.raises(ConfigError, match="no media"):
        from_folders(tmp_path / "b")
    with pytest.raises(ConfigError, match="not found"):
        from_folders(tmp_path / "nope")


def test_folders_dangling_symlink_is_missing(folders_root, caplog):
    (folders_root / "fake" / "gone.mp4").symlink_to(folders_root / "does-not-exist.mp4")
    with pytest.raises(ConfigError, match="gone.mp4"):
        from_folders(folders_root)
    with caplog.at_level(logging.WARNING):
        items = from_folders(folders_root, skip_missing=True)
    assert "gone.mp4" not in by_name(items) and len(items) == 5
    assert "gone.mp4" in caplog.text


# ------------------------------------------------------------------------------------------------- manifest


def write_csv(path: Path, header: str, rows: list[str], *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(("\ufeff" if bom else "") + "\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_manifest_fields_and_fallbacks(tmp_path):
    touch(tmp_path, "ds/v/a_L_real.mp4", "ds/v/a_R_fake.mp4", "ds/i/c.jpg", "ds/i/d.png", "ds/i/e.jpg")
    csv_path = write_csv(tmp_path / "ds" / "list.csv", "Path,Label,Split,Pair_ID,Group,Manipulation,Media,Source_Repo", [
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


def test_manifest_root_override(tmp_path):
    touch(tmp_path, "media/x.jpg")
    csv_path = write_csv(tmp_path / "meta" / "m.csv", "path,label", ["x.jpg,real"])
    with pytest.raises(ConfigError, match="do not exist"):
        from_manifest(csv_path)
    (item,) = from_manifest(csv_path, root=tmp_path / "media")
    assert item.path == tmp_path / "media" / "x.jpg"


def test_manifest_missing_files_listed_or_skipped(tmp_path, caplog):
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
def test_manifest_refuses_bad_content(tmp_path, header, rows, match):
    touch(tmp_path, "a.jpg", "b.jpg", "a.txt")
    csv_path = write_csv(tmp_path / "m.csv", header, rows)
    split = "eval" if "split" in header else None
    with pytest.raises(ConfigError, match=match):
        from_manifest(csv_path, split=split)


def test_manifest_split_without_column(tmp_path):
    touch(tmp_path, "a.jpg")
    with pytest.raises(ConfigError, match="no split column"):
        from_manifest(write_csv(tmp_path / "m.csv", "path,label", ["a.jpg,real"]), split="train")


# ------------------------------------------------------------------------------------------ FaceForensics++


@pytest.fixture
def ffpp_root(tmp_path: Path) -> Path:
    root = tmp_path / "ffpp"
    touch(root, *(f"original_sequences/youtube/c23/videos/{i}.mp4" for i in ("000", "003", "010", "020", "030")))
    touch(root, "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4",
          "manipulated_sequences/Deepfakes/c23/videos/010_020.mp4",
          "manipulated_sequences/FaceSwap/c23/videos/003_000.mp4",
          "manipulated_sequences/Deepfakes/masks/videos/000_003.mp4",  # masks are not media items
          "manipulated_sequences/NeuralTextures/c40/videos/000_003.mp4",
          "original_sequences/youtube/c40/videos/000.mp4",
          "original_sequences/actors/c23/videos/01__walking.mp4",
          "original_sequences/actors/c23/videos/02__talking.mp4",
          "original_sequences/actors/c23/videos/03__hugging.mp4",
          "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__walking__YVGY8LOK.mp4")
    return root


def test_faceforensics_items_and_identity_groups(ffpp_root):
    items = from_faceforensics(ffpp_root)
    assert_sorted_absolute(items)
    assert len(items) == 12 and {it.source for it in items} == {"FaceForensics++"}
    assert {it.media for it in items} == {"video"}
    fakes = {(it.manipulation, it.path.name) for it in items if it.label == 1}
    assert fakes == {("Deepfakes", "000_003.mp4"), ("Deepfakes", "010_020.mp4"), ("FaceSwap", "003_000.mp4"),
                     ("DeepFakeDetection", "01_02__walking__YVGY8LOK.mp4")}
    assert {it.manipulation for it in items if it.label == 0} == {"none"}
    group = {(it.manipulation, it.path.stem): it.group for it in items}
    # A fake and the originals of both its identities share one group, across methods.
    assert group["Deepfakes", "000_003"] == group["none", "000"] == group["none", "003"] == group["FaceSwap", "003_000"]
    assert group["none", "000"] == "ffpp:000_003"
    assert group["Deepfakes", "010_020"] == group["none", "010"] == group["none", "020"] != group["none", "000"]
    assert group["none", "030"] == "ffpp:030"
    dfd = group["DeepFakeDetection", "01_02__walking__YVGY8LOK"]
    assert dfd == group["none", "01__walking"] == group["none", "02__talking"] != group["none", "03__hugging"]
    assert len({it.group for it in items}) == 5


def test_faceforensics_methods_and_compression(ffpp_root):
    only = from_faceforensics(ffpp_root, methods=["FaceSwap"])
    assert {it.manipulation for it in only} == {"FaceSwap", "none"}
    assert not any("actors" in it.path.parts for it in only)  # actors belong to DeepFakeDetection
    dfd = from_faceforensics(ffpp_root, methods=("DeepFakeDetection",))
    assert all("actors" in it.path.parts or it.manipulation == "DeepFakeDetection" for it in dfd) and len(dfd) == 4
    c40 = from_faceforensics(ffpp_root, compression="c40")
    assert sorted((it.manipulation, it.path.name) for it in c40) == [("NeuralTextures", "000_003.mp4"),
                                                                    ("none", "000.mp4")]
    with pytest.raises(ConfigError, match="Face2Face"):
        from_faceforensics(ffpp_root, methods=["Face2Face"])
    with pytest.raises(ConfigError, match="compression"):
        from_faceforensics(ffpp_root, compression="c99")


def test_faceforensics_refuses_foreign_names(ffpp_root):
    touch(ffpp_root, "manipulated_sequences/Deepfakes/c23/videos/clip.mp4")
    with pytest.raises(ConfigError, match="clip.mp4"):
        from_faceforensics(ffpp_root)


# ------------------------------------------------------------------------------------------------------ DFDC


def write_dfdc(root: Path, part: str, entries: dict[str, dict], *, files: bool = True) -> None:
    folder = root / part
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.json").write_text(json.dumps(entries))
    if files:
        touch(folder, *entries)


@pytest.fixture
def dfdc_root(tmp_path: Path) -> Path:
    root = tmp_path / "dfdc"
    write_dfdc(root, "dfdc_train_part_0", {
        "aaa.mp4": {"label": "REAL", "split": "train", "original": None},
        "bbb.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"},
        "ccc.mp4": {"label": "FAKE", "split": "train", "original": "ddd.mp4"},
    })
    write_dfdc(root, "dfdc_train_part_1", {"ddd.mp4": {"label": "real", "split": "train", "original": None}})
    return root


def test_dfdc_items_and_groups(dfdc_root):
    items = from_dfdc(dfdc_root)
    assert_sorted_absolute(items)
    got = {name: (it.label, it.group, it.manipulation) for name, it in by_name(items).items()}
    assert got == {"aaa.mp4": (0, "aaa.mp4", "none"), "bbb.mp4": (1, "aaa.mp4", "dfdc"),
                   "ccc.mp4": (1, "ddd.mp4", "dfdc"), "ddd.mp4": (0, "ddd.mp4", "none")}  # across parts too
    assert {it.source for it in items} == {"DFDC"} and {it.media for it in items} == {"video"}


def test_dfdc_missing_and_bad_entries(dfdc_root, tmp_path):
    write_dfdc(dfdc_root, "dfdc_train_part_2", {"eee.mp4": {"label": "FAKE", "original": "aaa.mp4"}}, files=False)
    with pytest.raises(ConfigError, match="eee.mp4"):
        from_dfdc(dfdc_root)
    assert "eee.mp4" not in by_name(from_dfdc(dfdc_root, skip_missing=True))
    write_dfdc(tmp_path / "bad", "p", {"x.mp4": {"label": "MAYBE"}})
    with pytest.raises(ConfigError, match="REAL/FAKE"):
        from_dfdc(tmp_path / "bad")
    (tmp_path / "broken" / "p").mkdir(parents=True)
    (tmp_path / "broken" / "p" / "metadata.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        from_dfdc(tmp_path / "broken")
    with pytest.raises(ConfigError, match="metadata.json"):
        from_dfdc(tmp_path)


# -------------------------------------------------------------------------------------------------- Celeb-DF


@pytest.fixture
def celebdf_root(tmp_path: Path) -> Path:
    root = tmp_path / "Celeb-DF-v2"
    touch(root, "Celeb-real/id0_0000.mp4", "Celeb-real/id1_0000.mp4", "Celeb-real/id2_0001.mp4",
          "Celeb-real/id3_0000.mp4", "Celeb-synthesis/id0_id1_0000.mp4", "Celeb-synthesis/id1_id2_0000.mp4",
          "Celeb-synthesis/id3_id4_0002.mp4", "YouTube-real/00170.mp4", "YouTube-real/00171.mp4")
    # Celeb-DF's own convention: 1 = real, 0 = fake.
    (root / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00170.mp4\n0 Celeb-synthesis/id1_id2_0000.mp4\n1 Celeb-real/id3_0000.mp4\n\n")
    return root


def test_celebdf_subsets_labels_and_groups(celebdf_root):
    everything = by_name(from_celebdf(celebdf_root))
    assert len(everything) == 9
    test = from_celebdf(celebdf_root, subset="test")
    assert_sorted_absolute(test)
    assert {it.path.name: it.label for it in test} == {"00170.mp4": 0, "id1_id2_0000.mp4": 1, "id3_0000.mp4": 0}
    train = by_name(from_celebdf(celebdf_root, subset="train"))
    assert len(train) == 6 and not set(train) & {it.path.name for it in test}
    # id0-id1-id2 are linked by synthesis videos; id3-id4 by another; YouTube videos stand alone.
    linked = {everything[n].group for n in ("id0_0000.mp4", "id1_0000.mp4", "id2_0001.mp4", "id0_id1_0000.mp4",
                                              "id1_id2_0000.mp4")}
    assert linked == {"celebdf:id0_id1_id2"}
    assert everything["id3_0000.mp4"].group == everything["id3_id4_0002.mp4"].group == "celebdf:id3_id4"
    assert everything["00170.mp4"].group != everything["00171.mp4"].group
    assert train["id2_0001.mp4"].group == everything["id2_0001.mp4"].group  # same groups in every subset
    fake = everything["id0_id1_0000.mp4"]
    assert (fake.label, fake.manipulation, fake.source) == (1, "celebdf-synthesis", "Celeb-DF")
    assert {everything[n].manipulation for n in ("00170.mp4", "id0_0000.mp4")} == {"none"}


def test_celebdf_refuses_bad_lists_and_subsets(celebdf_root):
    with pytest.raises(ConfigError, match="subset"):
        from_celebdf(celebdf_root, subset="val")
    listing = celebdf_root / "List_of_testing_videos.txt"
    listing.write_text("0 Celeb-real/id0_0000.mp4\n")  # folder says real, flag says fake
    with pytest.raises(ConfigError, match="1 = real"):
        from_celebdf(celebdf_root, subset="test")
    listing.write_text("1 Celeb-real/id9_0000.mp4\n")
    with pytest.raises(ConfigError, match="id9_0000"):
        from_celebdf(celebdf_root, subset="test")
    listing.unlink()
    with pytest.raises(ConfigError, match="List_of_testing_videos"):
        from_celebdf(celebdf_root, subset="train")
    assert len(from_celebdf(celebdf_root)) == 9  # "all" needs no list


def test_celebdf_skip_missing_can_leave_nothing(celebdf_root):
    (celebdf_root / "List_of_testing_videos.txt").write_text("1 Celeb-real/id9_0000.mp4\n1 Celeb-real/id0_0000.mp4\n")
    assert [it.path.name for it in from_celebdf(celebdf_root, subset="test", skip_missing=True)] == ["id0_0000.mp4"]


# ---------------------------------------------------------------------------------------------- auto-detect


def test_load_dataset_detects_every_layout(folders_root, ffpp_root, dfdc_root, celebdf_root, tmp_path):
    touch(tmp_path / "man", "a.jpg")
    csv_path = write_csv(tmp_path / "man" / "MANIFEST.csv", "path,label,split", ["a.jpg,real,train"])
    cases = {folders_root: "folders", ffpp_root: "faceforensics", dfdc_root: "dfdc", celebdf_root: "celebdf",
             csv_path: "manifest", csv_path.parent: "manifest"}
    for spec, layout in cases.items():
        assert detect_layout(str(spec))[0] == layout
    assert load_dataset(folders_root) == from_folders(folders_root)
    assert load_dataset(str(ffpp_root), methods=["FaceSwap"]) == from_faceforensics(ffpp_root, methods=["FaceSwap"])
    assert load_dataset(dfdc_root) == from_dfdc(dfdc_root)
    assert load_dataset(celebdf_root, subset="test") == from_celebdf(celebdf_root, subset="test")
    assert load_dataset(csv_path.parent, split="train") == from_manifest(csv_path)


def test_load_datasets_limit_spreads_over_the_set(folders_root, dfdc_root):
    from training.data import load_datasets

    whole = load_datasets([folders_root, dfdc_root])
    assert len(whole) >= 4
    picked = load_datasets([folders_root, dfdc_root], limit=2)
    # Every k-th item, not the first two: the second comes from the later half (here: the second spec).
    assert picked == [whole[0], whole[len(whole) // 2]]
    assert load_datasets([folders_root, dfdc_root], limit=len(whole) + 5) == whole  # a limit above the size
    assert load_datasets([folders_root, dfdc_root], limit=0) == whole  # 0 / None: no limit


def test_load_dataset_explains_what_it_supports(tmp_path, folders_root):
    touch(tmp_path / "odd", "clips/x.mp4")
    with pytest.raises(ConfigError) as err:
        load_dataset(tmp_path / "odd")
    for layout in ("manifest", "FaceForensics++", "Celeb-DF", "folders", "DFDC"):
        assert layout in err.value.message
    with pytest.raises(ConfigError, match="not found"):
        load_dataset(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="not a .csv"):
        load_dataset(tmp_path / "odd" / "clips" / "x.mp4")
    with pytest.raises(ConfigError, match="does not take"):
        load_dataset(folders_root, split="train")


# --------------------------------------------------------------------------------------------------- splits


def random_items(rng: random.Random, n_groups: int, *, prefix: str = "g", root: Path = Path("/data")) -> list[MediaItem]:
    items = []
    for g in range(n_groups):
        for k in range(rng.randint(1, 4)):
            label = rng.random() < 0.3
            items.append(MediaItem(path=root / f"{prefix}{g}_{k}.jpg", label=int(label), group=f"{prefix}{g}",
                                   manipulation="m" if label else "none", source="s", media="image"))
    return items


def assert_group_disjoint(splits: dict[str, list[MediaItem]], items: list[MediaItem]) -> None:
    owner: dict[str, str] = {}
    for name, part in splits.items():
        for it in part:
            assert owner.setdefault(it.group, name) == name, f"group {it.group} in {owner[it.group]} and {name}"
    assert sorted(str(it.path) for part in splits.values() for it in part) == sorted(str(it.path) for it in items)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7])
def test_group_split_never_shares_a_group(seed):
    rng = random.Random(seed)
    items = random_items(rng, rng.randint(5, 300))
    splits = group_split(items, val_fraction=rng.uniform(0.05, 0.4), test_fraction=rng.choice([0.0, 0.1, 0.2]),
                         seed=seed)
    assert set(splits) == {"train", "val", "test"}
    assert_group_disjoint(splits, items)
    labels = {it.label for it in items}
    if len({it.group for it in items if it.label == 1}) >= 3:
        assert {it.label for it in splits["val"]} == labels == {it.label for it in splits["train"]}


def test_group_split_is_deterministic_and_stable_when_items_are_added():
    items = random_items(random.Random(0), 200)
    first = group_split(items, seed=5)
    assert first == group_split(list(items), seed=5)
    assert first != group_split(items, seed=6)
    extra = random_items(random.Random(1), 100, prefix="new")
    again = group_split(items + extra, seed=5)
    where = {it.path: name for name, part in again.items() for it in part}
    assert all(where[it.path] == name for name, part in first.items() for it in part)
    assert 0.05 < len(again["val"]) / len(items + extra) < 0.3


def test_group_split_keeps_both_labels_in_val_when_possible():
    reals = [MediaItem(path=Path(f"/d/r{i}.jpg"), label=0, group=f"r{i}", manipulation="none", source="s",
                       media="image") for i in range(40)]
    fakes = [MediaItem(path=Path(f"/d/f{i}.jpg"), label=1, group=f"f{i}", manipulation="m", source="s",
                       media="image") for i in range(2)]
    for seed in range(10):
        splits = group_split(reals + fakes, val_fraction=0.1, seed=seed)
        assert {it.label for it in splits["val"]} == {0, 1} == {it.label for it in splits["train"]}
        assert_group_disjoint(splits, reals + fakes)
    # One fake group cannot be on both sides: it stays in train, val goes without.
    splits = group_split(reals + fakes[:1], val_fraction=0.1, seed=0)
    assert fakes[0] in splits["train"] and {it.label for it in splits["val"]} == {0}


def test_group_split_refuses_bad_fractions():
    for val, test in ((-0.1, 0.0), (0.5, 0.5), (1.0, 0.0), (0.2, -0.1)):
        with pytest.raises(ConfigError):
            group_split([], val_fraction=val, test_fraction=test)


def test_summarize_counts(folders_root):
    summary = summarize(from_folders(folders_root))
    assert summary["items"] == 5 and summary["groups"] == 3
    assert summary["label"] == {"real": 2, "fake": 3}
    assert summary["media"] == {"image": 3, "video": 2}
    assert summary["manipulation"] == {"FaceSwap": 1, "none": 2, "p1": 1, "unknown": 1}
    assert summary["source"] == {"mydata": 5} and summary["source_label"] == {"mydata": {"real": 2, "fake": 3}}
    assert json.loads(json.dumps(summary)) == summary


# ---------------------------------------------------------------------------------------- the shared manifest


@pytest.mark.data
def test_shared_manifest(shared_data):
    """Every row of the shared manifest becomes an item; counts come from the CSV, not from a fixed figure
    (the data is revised from time to time: 8,731 files until 2026-11-30, 3,199 since 2026-12-01)."""
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
