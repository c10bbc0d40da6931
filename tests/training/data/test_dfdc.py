"""The DFDC adapter: metadata.json indexes, groups by original, bad and missing entries."""

from __future__ import annotations

import pytest

from detector.errors import ConfigError
from training.data import from_dfdc


def test_dfdc_items_and_groups(dfdc_root, by_name, assert_sorted_absolute):
    items = from_dfdc(dfdc_root)
    assert_sorted_absolute(items)
    got = {name: (it.label, it.group, it.manipulation) for name, it in by_name(items).items()}
    assert got == {"aaa.mp4": (0, "aaa.mp4", "none"), "bbb.mp4": (1, "aaa.mp4", "dfdc"),
                   "ccc.mp4": (1, "ddd.mp4", "dfdc"), "ddd.mp4": (0, "ddd.mp4", "none")}  # across parts too
    assert {it.source for it in items} == {"DFDC"} and {it.media for it in items} == {"video"}


def test_dfdc_missing_and_bad_entries(dfdc_root, tmp_path, by_name, write_dfdc):
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
