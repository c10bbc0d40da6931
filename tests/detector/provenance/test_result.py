"""The provenance result's invariants and its JSON."""

from __future__ import annotations

import json

import pytest

from detector.provenance.result import (
    MAX_VALUE_CHARS,
    PROVENANCE_STATES,
    Action,
    Evidence,
    Manifest,
    Problem,
    Provenance,
    clip,
)


def test_clip():
    assert clip("  a\x00b ") == "ab"
    long = clip("x" * 1000)
    assert len(long) == MAX_VALUE_CHARS and long.endswith("…")


def test_states_and_who_declared_them():
    with pytest.raises(ValueError, match="unknown provenance state"):
        Provenance("fake")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="declared_by"):
        Provenance("declared_synthetic")  # a declaration names its source
    with pytest.raises(ValueError, match="declared_by"):
        Provenance("none", declared_by="c2pa")
    with pytest.raises(ValueError, match="needs the problem"):
        Provenance("unreadable")
    with pytest.raises(ValueError, match="unknown provenance problem code"):
        Problem("oops", "x")
    assert Provenance("generator_metadata", "generator").ai_declared
    assert not Provenance("signed_capture", "c2pa").ai_declared
    assert set(PROVENANCE_STATES) >= {"declared_synthetic", "declared_edited_with_ai", "signed_capture",
                                      "signed_other", "invalid_signature", "generator_metadata", "none"}


def test_to_dict_is_json_and_complete():
    manifest = Manifest("Gen 1", "Org (Signer)", "2026-01-01T00:00:00+00:00", "Valid", True,
                        ("signingCredential.untrusted",), (Action("active", "c2pa.created", "Gen", "x", None),),
                        ("parentOf:a.jpg",))
    p = Provenance("declared_synthetic", "c2pa", "Gen", "trainedAlgorithmicMedia", manifest,
                   (Evidence("c2pa", "c2pa/active/c2pa.created/digitalSourceType", "x"),),
                   (Problem("metadata_malformed", "EXIF not read"),))
    d = json.loads(json.dumps(p.to_dict()))
    assert d["state"] == "declared_synthetic" and d["manifest"]["actions"][0]["software_agent"] == "Gen"
    assert d["manifest"]["intact"] is True and d["problems"] == [{"code": "metadata_malformed",
                                                                   "message": "EXIF not read"}]
    assert Provenance("none").to_dict() == {"state": "none", "declared_by": None, "generator": None,
                                            "digital_source_type": None, "manifest": None, "evidence": [],
                                            "problems": []}
