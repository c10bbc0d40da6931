"""The scan report's provenance panel: every field a file declares, escaped (the strings come from the file's own
bytes), a manifest broken after signing flagged where a reader looks first, and declared fakes from real files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from detector import Detector
from detector.outputs.provenance_panel import STATE_TEXT, provenance_panel
from detector.outputs.report import REASON_TEXT, render_report
from detector.provenance import PROVENANCE_STATES, Action, Evidence, Manifest, Problem, Provenance
from detector.results import DECLARED_REASONS, PROVENANCE_INVALID, MediaResult, ModelInfo

MODEL = ModelInfo("m", "1", "0" * 64)
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


def hostile(name: str) -> str:
    """A value that is markup if not escaped, tagged so each field can be found in the page's text."""
    return f"<img src=x onerror=alert('{name}')>\"'&{name}</td></table>"


def broken_manifest() -> Provenance:
    """A manifest broken after signing, every string field of it hostile."""
    manifest = Manifest(claim_generator=hostile("claim"), signer=hostile("signer"), signed_at=hostile("when"),
                        validation_state="Invalid", intact=False,
                        failures=("assertion.dataHash.mismatch", hostile("failure")),
                        actions=(Action("active", "c2pa.created", software_agent=hostile("agent"),
                                        digital_source_type=CAPTURE, description=hostile("description")),
                                 Action(hostile("ingredient"), hostile("action"))),
                        ingredients=(hostile("title"),))
    return Provenance("invalid_signature", generator=hostile("generator"), manifest=manifest,
                      evidence=(Evidence("xmp", hostile("field"), hostile("value")),),
                      problems=(Problem("metadata_malformed", hostile("problem")),))


def test_every_state_and_reason_is_explained():
    assert set(STATE_TEXT) == set(PROVENANCE_STATES)
    assert {*DECLARED_REASONS, PROVENANCE_INVALID} <= set(REASON_TEXT)


def test_hostile_provenance_is_text_and_a_broken_manifest_is_flagged(html_cells):
    result = MediaResult(path="signed.jpg", media="image", verdict="real", fake_probability=0.2, threshold=0.5,
                         reasons=(PROVENANCE_INVALID, "below_threshold"), model=MODEL, provenance=broken_manifest())
    html = render_report([result])
    assert "<img" not in html and "</td></table>" not in html  # not one hostile value made it in as markup
    text = "".join(html_cells(html).text)
    for name in ("claim", "signer", "when", "failure", "agent", "description", "ingredient", "action", "title",
                 "generator", "field", "value", "problem"):
        assert hostile(name) in text, name  # shown, as text
    # Flagged in the summary, in the section heading and by its reason, then shown in its own colour.
    section = html.split('<section class="media"')[1]
    summary = next(row for row in html_cells(html).rows if row and row[0] == "1")
    assert summary[3] == "invalid_signature" and '<b class="provenance-warning">invalid_signature</b>' in html
    assert re.search(r'<h2>1\. <span class="badge v-real">real</span><span class="provenance-flag">', section)
    assert '<div class="provenance p-invalid_signature provenance-invalid">' in section
    assert "Failure codes: assertion.dataHash.mismatch, <img" in "".join(html_cells(section).text)
    assert section.index("provenance_invalid") < section.index("below_threshold") < section.index("provenance-invalid")
    cells = html_cells(section).rows
    assert ["signer", hostile("signer")] in cells and ["intact", "no: the bytes or the claim changed after signing"] \
        in cells and ["validation state", "Invalid"] in cells
    # The actions: who, what, and the digital source type's term (not its whole URI).
    assert ["active", "c2pa.created", hostile("agent"), "digitalCapture", hostile("description")] in cells
    assert [hostile("ingredient"), hostile("action"), "–", "–", ""] in cells


def test_plain_files_get_one_line_and_unread_files_none():
    none = provenance_panel(Provenance("none"))
    assert none.startswith('<div class="provenance p-none">') and "<table" not in none and "stripped" in none
    assert provenance_panel(None) == ""
    exif = provenance_panel(Provenance("none", evidence=(Evidence("exif", "exif/Make", "Canon"),)))
    assert "1 statement(s) read from the file" in exif and "Canon" in exif  # context, shown when there is some
    capture = provenance_panel(Provenance("signed_capture", "c2pa", "Leica M11-P", "digitalCapture", Manifest(
        "Leica", "Leica Camera AG", "2024-01-01T00:00:00Z", "Valid", intact=True,
        failures=("signingCredential.untrusted",),
        actions=(Action("active", "c2pa.created", digital_source_type=CAPTURE),))))
    assert "provenance-invalid" not in capture and "never turns a fake into real" in capture
    assert "<th>validation codes</th><td>signingCredential.untrusted</td>" in capture
    assert "<th>declared by</th><td>a C2PA manifest (signed)</td>" in capture


@pytest.fixture(scope="module")
def declared(tmp_path_factory, astronaut: np.ndarray, tiny_model: Path) -> list[MediaResult]:
    """A portrait and a faceless wall, each with AUTOMATIC1111's parameters (a hostile prompt), scanned for real."""
    out = tmp_path_factory.mktemp("declared")
    # The reader keeps the settings line as evidence (not the prompt): the hostile value goes there.
    prompt = "a portrait\nSteps: 20, Sampler: <script>alert('sampler')</script>, CFG scale: 7"
    for name, pixels in (("portrait", astronaut), ("wall", np.full((256, 256, 3), 200, np.uint8))):
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", prompt)
        Image.fromarray(pixels).save(out / f"{name}.png", pnginfo=info)
    detector = Detector.load(tiny_model)
    return [detector.scan(out / "portrait.png", evidence=1), detector.scan(out / "wall.png")]


def test_declared_fakes_from_real_files_show_who_declared_it(declared, html_cells):
    portrait, wall = declared
    assert portrait.provenance.state == wall.provenance.state == "generator_metadata"
    assert (portrait.kind, portrait.kind_probability, wall.fake_probability) == ("synthetic", None, None)
    html = render_report(declared)
    assert "<script>alert" not in html
    text = "".join(html_cells(html).text)
    assert "Sampler: <script>alert('sampler')</script>, CFG" in text
    for section in html.split('<section class="media"')[1:]:
        section_text = "".join(html_cells(section).text)
        assert "Provenance: generator_metadata" in section_text
        assert ["declared by", "a generator front-end's parameters (unsigned)"] in html_cells(section).rows
        assert ["generator", "AUTOMATIC1111"] in html_cells(section).rows
        assert "Kind of fake: synthetic (named by the file's own declaration, not by the model)" in section_text
        assert section.index("generator_metadata</code>: the file carries") < section.index('class="provenance')
    assert "No score" in html.split('<section class="media"')[2]  # the wall: no face, fake by its declaration
