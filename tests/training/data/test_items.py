"""MediaItem: its dict round trip and the fields it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detector.errors import ConfigError
from training.data import MediaItem


def test_media_item_roundtrip_and_validation(tmp_path):
    item = MediaItem(path=tmp_path / "a.mp4", label=1, group="g", manipulation="FaceSwap", source="s", media="video")
    data = item.to_dict()
    assert data == {"path": str(tmp_path / "a.mp4"), "label": 1, "group": "g", "manipulation": "FaceSwap",
                    "source": "s", "media": "video", "family": "swap"}
    assert json.loads(json.dumps(data)) == data
    assert MediaItem.from_dict({**data, "status": "ok"}) == item
    good = {"path": tmp_path / "a.jpg", "label": 0, "group": "g", "manipulation": "none", "source": "s",
            "media": "image"}
    for bad in ({"path": Path("rel.jpg")}, {"label": 2}, {"label": True}, {"media": "audio"}, {"group": ""},
                {"manipulation": "Deepfakes"}, {"label": 1, "manipulation": "none"}, {"family": "swap"},
                {"label": 1, "manipulation": "x", "family": "real"}, {"label": 1, "manipulation": "x", "family": "gan"}):
        with pytest.raises(ConfigError):
            MediaItem(**{**good, **bad})


@pytest.mark.parametrize(("manipulation", "family"), [
    ("deepfacelive-realtime-faceswap(DFM model X)", "swap"), ("Deepfakes", "swap"), ("FaceShifter", "swap"),
    ("lip-sync(SadTalker-Video-Lip-Sync)", "reenactment"), ("Face2Face", "reenactment"),
    ("talking-head-synthesis(EDTalk)", "reenactment"), ("stylegan(seeprettyface-star)", "synthetic"),
    ("stable-diffusion-2.1(SDFD)", "synthetic"), ("mystery-method", "unknown")])
def test_a_fake_family_follows_from_the_method_unless_stated(tmp_path, manipulation, family):
    item = MediaItem(path=tmp_path / "a.jpg", label=1, group="g", manipulation=manipulation, source="s", media="image")
    assert item.family == family
    stated = MediaItem(path=tmp_path / "a.jpg", label=1, group="g", manipulation=manipulation, source="s",
                       media="image", family="synthetic")
    assert stated.family == "synthetic"
    assert MediaItem.from_dict({k: v for k, v in item.to_dict().items() if k != "family"}).family == family
