"""The IPTC digital source type vocabulary, as files write it."""

from __future__ import annotations

import pytest

from detector.provenance.source_types import category, term


@pytest.mark.parametrize(("value", "expected"), [
    ("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia", "synthetic"),
    ("https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia/", "synthetic"),
    (" http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture", "capture"),
    ("compositeWithTrainedAlgorithmicMedia", "ai_edit"),
    ("computationalCapture", "capture"),
    # Not generative AI: a formula, CGI composites, a screen, a human artist.
    ("algorithmicMedia", None), ("compositeSynthetic", None), ("screenCapture", None), ("digitalArt", None),
    ("", None), (None, None), ("trainedalgorithmicmedia", None),  # the vocabulary is case-sensitive
])
def test_categories(value, expected):
    assert category(value) == expected


def test_term():
    assert term(" http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture/ ") == "digitalCapture"
