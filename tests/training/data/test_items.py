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
                    "source": "s", "media": "video"}
    assert json.loads(json.dumps(data)) == data
    assert MediaItem.from_dict({**data, "status": "ok"}) == item
    good = {"path": tmp_path / "a.jpg", "label": 0, "group": "g", "manipulation": "none", "source": "s",
            "media": "image"}
    for bad in ({"path": Path("rel.jpg")}, {"label": 2}, {"label": True}, {"media": "audio"}, {"group": ""},
                {"manipulation": "Deepfakes"}, {"label": 1, "manipulation": "none"}):
        with pytest.raises(ConfigError):
            MediaItem(**{**good, **bad})
