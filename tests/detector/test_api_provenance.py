"""Scans read each file's provenance before its pixels and the judge weighs it: the same answer from ``scan``,
``scan_many`` and ``scan_frames`` given the file's provenance; a file that then fails still reports what it declared.
Tiny random-weights model; fixtures made here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from detector import Detector
from detector.provenance import read_provenance

SCHEMA = Path(__file__).resolve().parents[2] / "detector" / "schemas" / "media_result.schema.json"
XMP = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
       'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>'
       '</rdf:RDF></x:xmpmeta>')


@pytest.fixture(scope="module")
def detector(tiny_model) -> Detector:
    return Detector.load(tiny_model)


@pytest.fixture(scope="module")
def validate():
    jsonschema = pytest.importorskip("jsonschema")
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate


@pytest.fixture(scope="module")
def files(tmp_path_factory, astronaut: np.ndarray) -> dict[str, Path]:
    """The same portrait plain, declared generated in XMP, with ComfyUI's graph, and a wall with A1111 text."""
    out = tmp_path_factory.mktemp("declared")
    image = Image.fromarray(astronaut)
    image.save(out / "plain.jpg", quality=92)
    image.save(out / "xmp.jpg", quality=92, xmp=XMP.encode())
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", json.dumps({"3": {"class_type": "KSampler", "inputs": {"seed": 1}}}))
    image.save(out / "comfy.png", pnginfo=info)
    wall = PngImagePlugin.PngInfo()
    wall.add_text("parameters", "a wall\nSteps: 20, Sampler: Euler a, CFG scale: 7")
    Image.fromarray(np.full((256, 256, 3), 200, np.uint8)).save(out / "wall.png", pnginfo=wall)
    return {p.stem: p for p in out.iterdir()}


def test_a_declaration_makes_a_fake_beside_the_pixels(detector, files, validate):
    plain = detector.scan(files["plain"])
    assert plain.provenance is not None and plain.provenance.state == "none"
    assert "provenance" in plain.timings and plain.timings["provenance"] < plain.timings["total"]
    for name, reason in (("xmp", "declared_synthetic_iptc"), ("comfy", "generator_metadata")):
        result = detector.scan(files[name])
        assert result.verdict == "fake" and result.reasons[0] == reason
        assert result.reasons[1:] == plain.reasons  # the pixels' own reasons, beside the declaration
        assert result.fake_probability == pytest.approx(plain.fake_probability, abs=0.02)  # same pixels, re-encoded
        assert (result.kind, result.kind_probability) == ("synthetic", None)
        validate(result.to_dict())
    wall = detector.scan(files["wall"])
    assert (wall.verdict, wall.fake_probability, wall.reasons) == ("fake", None, ("generator_metadata",
                                                                                 "no_face_found"))
    assert wall.to_dict()["provenance"]["generator"] == "AUTOMATIC1111"
    validate(wall.to_dict())


def test_scan_many_and_scan_frames_give_the_scan_s_answer(detector, files):
    paths = [files["plain"], files["comfy"], files["wall"], files["plain"].with_name("missing.png")]
    many = list(detector.scan_many(paths))
    for path, result in zip(paths[:3], many):
        single = detector.scan(path)
        assert (result.verdict, result.reasons, result.provenance) == (single.verdict, single.reasons,
                                                                      single.provenance)
        kind, frames = Detector.sample(path, detector.sampling)
        split = detector.scan_frames(frames, name=str(path), media=kind, provenance=read_provenance(path))
        assert (split.verdict, split.reasons, split.provenance) == (single.verdict, single.reasons, single.provenance)
    assert many[3].verdict == "error" and many[3].provenance is None  # the path failed before anything was read
    # Decoded frames carry no bytes: without the file's provenance they are judged on the pixels alone.
    kind, frames = Detector.sample(files["comfy"], detector.sampling)
    assert detector.scan_frames(frames, media=kind).provenance is None


def test_a_file_whose_pixels_fail_still_reports_its_provenance(detector, files, tmp_path):
    data = files["comfy"].read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[:len(data) // 3])  # the text chunks come before the image data
    [result] = detector.scan_many([cut])
    assert result.verdict == "error" and result.error["code"] == "corrupt_media"  # a still cut short
    assert result.provenance is not None and result.provenance.state == "generator_metadata"
