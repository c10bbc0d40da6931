"""C2PA manifests signed here with a certificate made here: what they declare, whether they are intact, and every way
a manifest goes wrong (pixels edited after signing, truncation, a broken store, an oversized report, no library)."""

from __future__ import annotations

import sys

from detector.provenance import manifest as manifest_module
from detector.provenance.manifest import integrity_failures, read_manifest

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CAPTURE = " http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"  # the stray blank some writers leave


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_signed_generated_image_declares_synthetic_and_is_intact(tmp_path, sign, photo_jpeg):
    data = sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": TRAINED,
                                             "softwareAgent": {"name": "TestDiffusion"}}])
    found = read_manifest(_write(tmp_path, "gen.jpg", data))
    assert found.declared == "synthetic" and found.generator == "TestDiffusion"
    assert found.digital_source_type == "trainedAlgorithmicMedia"
    m = found.manifest
    assert m is not None and m.intact and m.signer == "deepfake-detector tests (Test Signer)"
    assert m.claim_generator == "deepfake-detector tests 1"
    # No trust list is loaded: the signer is untrusted to the library, which is not a change of the bytes.
    assert "signingCredential.untrusted" in m.failures and m.validation_state == "Valid"
    assert [(a.manifest, a.action) for a in m.actions] == [("active", "c2pa.created")]
    assert found.evidence[0].field == "c2pa/active/c2pa.created/digitalSourceType"
    assert found.problems == ()


def test_pixels_edited_after_signing_break_the_manifest(tmp_path, sign, photo_jpeg):
    data = bytearray(sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": CAPTURE}]))
    data[-200] ^= 0xFF  # inside the entropy-coded image data, after the manifest
    found = read_manifest(_write(tmp_path, "edited.jpg", bytes(data)))
    assert found.manifest is not None and not found.manifest.intact
    assert "assertion.dataHash.mismatch" in found.manifest.failures
    assert found.manifest.validation_state == "Invalid"


def test_a_truncated_signed_file_is_not_intact(tmp_path, sign, photo_jpeg):
    data = sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": CAPTURE}])
    for cut in (len(data) - 10, len(data) // 2):
        found = read_manifest(_write(tmp_path, f"cut{cut}.jpg", data[:cut]))
        assert found.manifest is not None and not found.manifest.intact, cut


def test_a_corrupted_store_is_reported_malformed(tmp_path, sign, photo_jpeg):
    data = bytearray(sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": TRAINED}]))
    at = data.index(b"jumdc2pa")
    data[at + 200] ^= 0xFF  # inside the store's boxes: no longer parseable
    found = read_manifest(_write(tmp_path, "broken.jpg", bytes(data)))
    assert [p.code for p in found.problems] == ["manifest_malformed"]
    assert found.manifest is not None and not found.manifest.intact
    assert found.declared is None  # a broken store declares nothing


def test_no_manifest_and_foreign_bytes_give_nothing(tmp_path, photo_jpeg):
    assert read_manifest(_write(tmp_path, "plain.jpg", photo_jpeg)).manifest is None
    bmp = read_manifest(_write(tmp_path, "x.bmp", b"BM" + bytes(100)))
    assert bmp.manifest is None and bmp.problems == ()
    # A truncated unsigned image has no store: its damage is the pixel stage's to report.
    assert read_manifest(_write(tmp_path, "cut.jpg", photo_jpeg[:300])).problems == ()


def test_the_format_comes_from_the_bytes_not_the_name(tmp_path, sign, photo_jpeg):
    data = sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": TRAINED}])
    assert read_manifest(_write(tmp_path, "named.png", data)).declared == "synthetic"
    assert read_manifest(_write(tmp_path, "named.bin", data)).declared == "synthetic"


def test_a_generated_parent_passes_on_synthetic_and_a_generated_component_makes_an_ai_edit(tmp_path, sign, photo_jpeg):
    generated = sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": TRAINED,
                                                  "softwareAgent": {"name": "TestDiffusion"}}])
    opened = {"action": "c2pa.opened", "parameters": {"ingredientIds": ["gen.jpg"]}}
    converted = sign(photo_jpeg, "image/jpeg", [opened],
                     ingredients=(("parentOf", "gen.jpg", generated, "image/jpeg"),))
    found = read_manifest(_write(tmp_path, "converted.jpg", converted))
    assert found.declared == "synthetic" and found.generator == "TestDiffusion"
    assert found.evidence[0].field == "c2pa/parentOf:gen.jpg/c2pa.created/digitalSourceType"
    assert found.manifest is not None and found.manifest.ingredients == ("parentOf:gen.jpg",)
    pasted = sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": CAPTURE},
                                              {"action": "c2pa.placed", "parameters": {"ingredientIds": ["gen.jpg"]}}],
                  ingredients=(("componentOf", "gen.jpg", generated, "image/jpeg"),))
    assert read_manifest(_write(tmp_path, "pasted.jpg", pasted)).declared == "ai_edit"


def test_an_edited_capture_is_no_longer_a_capture(tmp_path, sign, photo_jpeg):
    captured = sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": CAPTURE}])
    assert read_manifest(_write(tmp_path, "cap.jpg", captured)).declared == "capture"
    edited = sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["cap.jpg"]}},
                                              {"action": "c2pa.color_adjustments"}],
                  ingredients=(("parentOf", "cap.jpg", captured, "image/jpeg"),))
    found = read_manifest(_write(tmp_path, "edit.jpg", edited))
    assert found.declared is None and found.manifest is not None and found.manifest.intact


def test_an_old_manifest_that_says_ai_generated_in_words(tmp_path, sign, photo_jpeg):
    # Microsoft's Image Creator manifests of 2023-24 had no digital source type, only this description.
    data = sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.created", "description": "AI Generated Image",
                                             "softwareAgent": "Image Creator"}])
    found = read_manifest(_write(tmp_path, "old.jpg", data))
    assert found.declared == "synthetic" and found.digital_source_type is None
    assert found.evidence[0].field == "c2pa/active/c2pa.created/description"
    edited = sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.edited", "description": "AI generated sky"}])
    assert read_manifest(_write(tmp_path, "edit.jpg", edited)).declared is None  # only a creating action says it


def test_an_oversized_report_is_not_read(tmp_path, sign, photo_jpeg, monkeypatch):
    data = sign(photo_jpeg, "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": TRAINED}])
    monkeypatch.setattr(manifest_module, "MAX_MANIFEST_JSON", 100)
    found = read_manifest(_write(tmp_path, "big.jpg", data))
    assert found.manifest is None and found.declared is None
    assert [p.code for p in found.problems] == ["manifest_too_large"]


def test_a_missing_library_is_reported_not_silent(tmp_path, photo_jpeg, monkeypatch):
    monkeypatch.setitem(sys.modules, "c2pa", None)  # import c2pa now raises ImportError
    found = read_manifest(_write(tmp_path, "plain.jpg", photo_jpeg))
    assert found.manifest is None and [p.code for p in found.problems] == ["provenance_unavailable"]


def test_trust_codes_are_not_integrity_failures():
    assert integrity_failures(["signingCredential.untrusted", "signingCredential.expired", "timeStamp.untrusted",
                               "cawg.x509.credential.untrusted", "claimSignature.outsideValidity"]) == []
    assert integrity_failures(["signingCredential.untrusted", "assertion.bmffHash.mismatch", "claimSignature.mismatch",
                               "claim.missing"]) == ["assertion.bmffHash.mismatch", "claimSignature.mismatch",
                                                     "claim.missing"]


def test_a_hostile_store_shape_never_raises(monkeypatch, tmp_path, photo_jpeg):
    # The library's report is trusted to be JSON, not to be the shape we expect: loops, wrong types, no actions.
    loop = {"active_manifest": "a", "manifests": {
        "a": {"ingredients": [{"relationship": "parentOf", "active_manifest": "b", "title": "b"}],
              "assertions": [{"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.opened"}]}}]},
        "b": {"ingredients": [{"relationship": "parentOf", "active_manifest": "a", "title": "a"}]}},
        "validation_state": "Valid"}
    found = manifest_module._findings(loop)
    assert found.declared is None and found.manifest is not None and found.manifest.intact
    import json

    monkeypatch.setattr(manifest_module, "_report", lambda c2pa, stream: json.dumps({"manifests": [1, 2]}))
    odd = read_manifest(_write(tmp_path, "x.jpg", photo_jpeg))
    assert [p.code for p in odd.problems] == ["manifest_malformed"]
