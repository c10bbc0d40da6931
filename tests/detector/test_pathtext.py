"""Paths in JSON: valid UTF-8 for every file name, mapped back to the exact bytes, unchanged for ordinary names."""

from __future__ import annotations

import doctest
import itertools
import json
import os

import detector.pathtext
from detector.pathtext import path_from_text, path_to_text


def test_doctests():
    assert doctest.testmod(detector.pathtext).failed == 0


def test_ordinary_names_are_unchanged():
    for name in ("clip.mp4", "/archive/2024/holiday photos/IMG_0001.jpg", "café/日本語.png", "back\\slash.jpg",
                 "literal \\u00e9 text", "ud80ff"):
        assert path_to_text(name) == name


def test_every_byte_name_round_trips_through_strict_json_and_no_two_share_a_text():
    """All names of up to 5 bytes from an alphabet built to collide: backslashes, the escape's own letters and
    bytes that are not UTF-8 (alone, or as a cut-off multi-byte sequence)."""
    alphabet = [b"\\", b"u", b"d", b"c", b"8", b"f", b"\xff", b"\xc3", b"\xa9", b"a"]
    seen: dict[str, bytes] = {}
    for n in range(6):
        for parts in itertools.product(alphabet, repeat=n):
            name = b"".join(parts)
            text = path_to_text(os.fsdecode(name))
            line = json.dumps({"path": text})
            line.encode("utf-8")  # no lone surrogate left: strict readers (jq) read what was written
            assert "\\ud" not in line.replace("\\\\", ""), line  # and no surrogate escape in the JSON either
            assert os.fsencode(path_from_text(json.loads(line)["path"])) == name
            assert seen.setdefault(text, name) == name, (text, seen[text], name)
