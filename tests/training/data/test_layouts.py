"""Telling the layouts apart and loading any of them, one spec or several."""

from __future__ import annotations

import pytest

from detector.errors import ConfigError
from training.data import (
    detect_layout,
    from_celebdf,
    from_dfdc,
    from_faceforensics,
    from_folders,
    from_manifest,
    load_dataset,
    load_datasets,
)


def test_load_dataset_detects_every_layout(folders_root, ffpp_root, dfdc_root, celebdf_root, tmp_path, touch,
                                           write_csv):
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
    whole = load_datasets([folders_root, dfdc_root])
    assert len(whole) >= 4
    picked = load_datasets([folders_root, dfdc_root], limit=2)
    # Every k-th item, not the first two: the second comes from the later half (here: the second spec).
    assert picked == [whole[0], whole[len(whole) // 2]]
    assert load_datasets([folders_root, dfdc_root], limit=len(whole) + 5) == whole  # a limit above the size
    assert load_datasets([folders_root, dfdc_root], limit=0) == whole  # 0 / None: no limit


def test_load_dataset_explains_what_it_supports(tmp_path, folders_root, touch):
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
