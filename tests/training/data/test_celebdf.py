"""The Celeb-DF adapter: subsets from the official test list (1 = real there) and identity groups."""

from __future__ import annotations

import pytest

from detector.errors import ConfigError
from training.data import from_celebdf


def test_celebdf_subsets_labels_and_groups(celebdf_root, by_name, assert_sorted_absolute):
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
