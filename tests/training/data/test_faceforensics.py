"""The FaceForensics++ adapter: methods, compressions and identity groups across them."""

from __future__ import annotations

import pytest

from detector.errors import ConfigError
from training.data import from_faceforensics


def test_faceforensics_items_and_identity_groups(ffpp_root, assert_sorted_absolute):
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


def test_faceforensics_refuses_foreign_names(ffpp_root, touch):
    touch(ffpp_root, "manipulated_sequences/Deepfakes/c23/videos/clip.mp4")
    with pytest.raises(ConfigError, match="clip.mp4"):
        from_faceforensics(ffpp_root)
