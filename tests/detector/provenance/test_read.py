"""The provenance stage end to end: which state wins when a file says several things, stripped and damaged copies,
and the real public samples of ``../shared/data/provenance`` (data marker)."""

from __future__ import annotations

import csv
import io

import av
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from detector.errors import MediaError
from detector.provenance import read_provenance

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
A1111 = "a portrait\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1"
XMP = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
       'xmlns:xmp="http://ns.adobe.com/xap/1.0/" Iptc4xmpExt:DigitalSourceType="{}" xmp:CreatorTool="GenTool 3"/>'
       '</rdf:RDF></x:xmpmeta>')
# The state each label of ../shared/data/provenance/MANIFEST.csv implies.
LABEL_STATES = {"ai_declared": {"declared_synthetic", "declared_edited_with_ai", "generator_metadata"},
                "camera_signed": {"signed_capture"}, "edited_signed": {"signed_other"},
                "tampered": {"invalid_signature"}, "no_provenance": {"none"}}


def _jpeg(photo: np.ndarray, **params) -> bytes:
    out = io.BytesIO()
    Image.fromarray(photo).save(out, "JPEG", **params)
    return out.getvalue()


@pytest.fixture(scope="module")
def small(astronaut: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(astronaut).resize((128, 128)))


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_states_from_each_source(tmp_path, small, sign):
    photo = _jpeg(small)
    cases = {
        "c2pa_gen.jpg": (sign(photo, "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": TRAINED,
                                                     "softwareAgent": {"name": "Gen"}}]), "declared_synthetic", "c2pa"),
        "c2pa_cap.jpg": (sign(photo, "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": CAPTURE}]),
                         "signed_capture", "c2pa"),
        "xmp_gen.jpg": (_jpeg(small, xmp=XMP.format(TRAINED).encode()), "declared_synthetic", "iptc"),
        "xmp_edit.jpg": (_jpeg(small, xmp=XMP.format("compositeWithTrainedAlgorithmicMedia").encode()),
                         "declared_edited_with_ai", "iptc"),
        "xmp_capture.jpg": (_jpeg(small, xmp=XMP.format(CAPTURE).encode()), "none", None),  # unsigned: no state
        "plain.jpg": (photo, "none", None),
    }
    for name, (data, state, by) in cases.items():
        p = read_provenance(_write(tmp_path, name, data))
        assert (p.state, p.declared_by) == (state, by), name
    iptc = read_provenance(tmp_path / "xmp_gen.jpg")
    assert iptc.generator == "GenTool 3" and iptc.digital_source_type == "trainedAlgorithmicMedia"
    assert ("xmp", "xmp/Iptc4xmpExt:DigitalSourceType", TRAINED) in [(e.source, e.field, e.value)
                                                                      for e in iptc.evidence]


def test_generator_parameters_in_png_text(tmp_path, small):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111)
    path = tmp_path / "gen.png"
    Image.fromarray(small).save(path, "PNG", pnginfo=info)
    p = read_provenance(path)
    assert (p.state, p.declared_by, p.generator) == ("generator_metadata", "generator", "AUTOMATIC1111")
    stripped = tmp_path / "stripped.png"
    Image.open(path).save(stripped, "PNG")  # a re-save drops the text
    assert read_provenance(stripped).state == "none"


def test_a_signed_image_edited_after_signing_is_invalid_signature(tmp_path, small, sign):
    data = bytearray(sign(_jpeg(small), "image/jpeg", [{"action": "c2pa.created", "digitalSourceType": CAPTURE}]))
    data[-300] ^= 0x55
    p = read_provenance(_write(tmp_path, "edited.jpg", bytes(data)))
    assert p.state == "invalid_signature" and p.declared_by is None
    assert "assertion.dataHash.mismatch" in p.manifest.failures


def test_a_broken_manifest_outranks_every_declaration(tmp_path, small, sign):
    # Tampering is shown first: a generated image's manifest copied onto other pixels must not read as a declaration.
    data = bytearray(sign(_jpeg(small, xmp=XMP.format(TRAINED).encode()), "image/jpeg",
                          [{"action": "c2pa.created", "digitalSourceType": TRAINED}]))
    data[-300] ^= 0x55
    p = read_provenance(_write(tmp_path, "copied.jpg", bytes(data)))
    assert p.state == "invalid_signature"
    assert any(e.field == "xmp/Iptc4xmpExt:DigitalSourceType" for e in p.evidence)  # still shown as evidence


def test_a_declaration_outranks_a_signed_capture(tmp_path, small, sign):
    data = sign(_jpeg(small, xmp=XMP.format(TRAINED).encode()), "image/jpeg",
                [{"action": "c2pa.created", "digitalSourceType": CAPTURE}])
    p = read_provenance(_write(tmp_path, "both.jpg", data))
    assert (p.state, p.declared_by) == ("declared_synthetic", "iptc")
    assert p.manifest is not None and p.manifest.intact  # the capture manifest is still reported


def test_a_missing_library_gives_unreadable_not_none(tmp_path, small, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "c2pa", None)
    p = read_provenance(_write(tmp_path, "plain.jpg", _jpeg(small)))
    assert p.state == "unreadable" and [x.code for x in p.problems] == ["provenance_unavailable"]
    # What the other readers find still decides.
    p = read_provenance(_write(tmp_path, "xmp.jpg", _jpeg(small, xmp=XMP.format(TRAINED).encode())))
    assert p.state == "declared_synthetic" and [x.code for x in p.problems] == ["provenance_unavailable"]


def test_the_path_itself_raises_like_a_scan(tmp_path):
    with pytest.raises(MediaError) as err:
        read_provenance(tmp_path / "missing.jpg")
    assert err.value.code == "not_found"
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(MediaError) as err:
        read_provenance(tmp_path / "empty.jpg")
    assert err.value.code == "empty_file"


def test_videos_and_foreign_bytes(tmp_path, demo_clip):
    assert read_provenance(demo_clip).state == "none"
    assert read_provenance(_write(tmp_path, "notes.mp4", b"just some text, not a video")).state == "none"


def test_damaged_copies_never_raise(tmp_path, small, sign):
    """Truncations and corruptions at spread offsets of a signed JPEG with XMP and EXIF, and of a PNG with text and
    XMP: every copy gives a result, and none of them a declaration its bytes no longer hold intact."""
    exif = Image.Exif()
    exif[0x0131] = "Editor"
    signed = sign(_jpeg(small, xmp=XMP.format(CAPTURE).encode(), exif=exif.tobytes()), "image/jpeg",
                  [{"action": "c2pa.created", "digitalSourceType": TRAINED}])
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111)
    info.add_itxt("XML:com.adobe.xmp", XMP.format(CAPTURE), zip=True)
    png = io.BytesIO()
    Image.fromarray(small).save(png, "PNG", pnginfo=info)
    rng = np.random.default_rng(0)
    seen = set()
    for name, data in (("s.jpg", signed), ("g.png", png.getvalue())):
        for offset in sorted({int(x) for x in rng.integers(1, len(data), 30)} | {1, 8, 64, 200, 1000}):
            cut = read_provenance(_write(tmp_path, name, data[:offset]))
            flipped = bytearray(data)
            flipped[offset:offset + 8] = bytes(8 - i for i in range(8))
            broken = read_provenance(_write(tmp_path, name, bytes(flipped)))
            seen |= {cut.state, broken.state}
            if name == "s.jpg" and offset > data.index(b"jumdc2pa"):
                # Past the start of the store, every damage is seen by the signature, or the store is gone.
                assert broken.state in ("invalid_signature", "declared_synthetic", "none", "unreadable"), offset
                assert cut.state in ("invalid_signature", "none", "unreadable"), offset
    assert "invalid_signature" in seen and "generator_metadata" in seen


@pytest.mark.data
def test_the_public_samples_give_the_state_their_label_implies(shared_data):
    manifest = (shared_data / "provenance" / "MANIFEST.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(manifest.splitlines()))
    assert len(rows) >= 17
    states = {}
    for row in rows:
        p = read_provenance(shared_data / row["path"])
        states[row["path"]] = p.state
        assert p.state in LABEL_STATES[row["label"]], (row["path"], p.state, p.problems)
        assert p.problems == (), row["path"]
    assert states["provenance/c2pa_ai_firefly_photoshop_composite.jpg"] == "declared_edited_with_ai"
    assert states["provenance/c2pa_ai_sora_video.mp4"] == "declared_synthetic"
    sora = read_provenance(shared_data / "provenance" / "c2pa_ai_sora_video.mp4")
    # Untrusted and expired signer: the bytes are intact, so the declaration stands, with its codes shown.
    assert sora.manifest.intact and set(sora.manifest.failures) == {"signingCredential.untrusted",
                                                                    "signingCredential.expired"}
    assert (sora.generator, sora.manifest.signer) == ("Sora", "OpenAI (Truepic Lens CLI in Sora)")
    dalle = read_provenance(shared_data / "provenance" / "c2pa_ai_dalle3_chatgpt_puppy.webp")
    assert dalle.generator == "DALL·E" and dalle.evidence[0].field.startswith("c2pa/parentOf:")
    canon = read_provenance(shared_data / "provenance" / "camera_canon_rebel_t3_lightroom.jpg")
    assert ("exif/Model", "Canon EOS REBEL T3") in [(e.field, e.value) for e in canon.evidence]


@pytest.mark.data
def test_stripped_copies_of_the_public_samples_say_none(shared_data, tmp_path):
    for path in sorted((shared_data / "provenance").iterdir()):
        if path.suffix == ".csv":
            continue
        copy = tmp_path / f"stripped{path.suffix}"
        if path.suffix == ".mp4":  # a remux keeps the stream and drops the container's boxes, the manifest's too
            with av.open(str(path)) as src, av.open(str(copy), "w") as dst:
                stream = dst.add_stream_from_template(src.streams.video[0])
                for packet in src.demux(src.streams.video[0]):
                    if packet.dts is not None:
                        packet.stream = stream
                        dst.mux(packet)
        else:
            with Image.open(path) as image:
                image.convert("RGB").save(copy, "PNG" if path.suffix == ".png" else "JPEG", quality=95)
        assert read_provenance(copy).state == "none", path.name
