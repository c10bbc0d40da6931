"""The judge's provenance rules (8 and 9) on hand-made faces and hand-made provenance: a declaration of AI makes the
verdict fake whatever the pixels said, a broken manifest is its own first reason, and nothing else moves a verdict."""

from __future__ import annotations

import pytest

from detector.judge import FaceFacts, judge
from detector.provenance import Manifest, Problem, Provenance
from detector.recipe import AggregationSpec, VerdictRules

RULES, MEAN = VerdictRules(), AggregationSpec()
KINDS = [[0.7, 0.2, 0.1]] * 4  # swap, reenactment, synthetic


def run(probs, provenance, *, media="image", kinds=None):
    faces = [FaceFacts(0, 100.0, 50.0, 0.9)] * len(probs)
    return judge(faces, probs, media=media, rules=RULES, aggregation=MEAN, provenance=provenance,
                 kind_probabilities=None if kinds is None else kinds[:len(probs)])


@pytest.mark.parametrize(("provenance", "reason"), [
    (Provenance("declared_synthetic", "c2pa"), "declared_synthetic_c2pa"),
    (Provenance("declared_synthetic", "iptc"), "declared_synthetic_iptc"),
    (Provenance("generator_metadata", "generator", "ComfyUI"), "generator_metadata"),
])
def test_a_declared_generated_file_is_a_synthetic_fake_with_the_pixels_beside_it(provenance, reason):
    for probs, pixel_reason in (([0.1] * 4, "below_threshold"), ([0.52] * 4, "near_threshold"),
                                ([0.9] * 4, "above_threshold")):
        j = run(probs, provenance)
        assert j.verdict == "fake" and j.reasons == (reason, pixel_reason)
        assert j.fake_probability == pytest.approx(probs[0])  # the pixels' probability, unchanged
        assert (j.kind, j.kind_probability) == ("synthetic", None)  # the declaration named it, not the model
    # No face: still fake, with no probability and the pixels' reason.
    j = run([], provenance)
    assert (j.verdict, j.fake_probability, j.reasons) == ("fake", None, (reason, "no_face_found"))


def test_an_ai_edit_is_a_fake_of_the_pixels_kind():
    edited = Provenance("declared_edited_with_ai", "c2pa")
    j = run([0.9] * 4, edited, kinds=KINDS)
    assert j.reasons == ("declared_edited_with_ai_c2pa", "above_threshold") and j.kind == "swap"
    assert j.kind_probability == pytest.approx(0.7)
    j = run([0.1] * 4, Provenance("declared_edited_with_ai", "iptc"), kinds=KINDS)
    assert j.verdict == "fake" and j.reasons[0] == "declared_edited_with_ai_iptc"
    assert j.kind is None  # the pixels said real: they named no kind, and the declaration names none


def test_a_broken_manifest_is_the_first_reason_and_leaves_the_verdict():
    broken = Provenance("invalid_signature", manifest=Manifest(None, "Org", None, "Invalid", False,
                                                               ("assertion.dataHash.mismatch",)))
    for probs, verdict in (([0.9] * 4, "fake"), ([0.1] * 4, "real"), ([], "no_face")):
        j = run(probs, broken)
        assert j.verdict == verdict and j.reasons[0] == "provenance_invalid" and len(j.reasons) == 2


@pytest.mark.parametrize("provenance", [
    Provenance("signed_capture", "c2pa"), Provenance("signed_other", "c2pa"), Provenance("none"),
    Provenance("unreadable", problems=(Problem("provenance_unavailable", "no c2pa"),)),
])
def test_nothing_else_moves_a_verdict(provenance):
    # A signed capture never turns a pixel fake into real: metadata can be copied onto other pixels.
    for probs in ([0.9] * 4, [0.1] * 4, [0.52] * 4, []):
        assert run(probs, provenance) == run(probs, None)
