"""``deepfake provenance``: one record per input, as a table or JSON Lines, without a model."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, PngImagePlugin

from pipelines.cli import EXIT_INPUT_ERRORS, EXIT_OK, main


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, stdout=out)
    return code, out.getvalue()


def _files(tmp_path, astronaut):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a portrait\nSteps: 20, Sampler: Euler a, CFG scale: 7")
    gen = tmp_path / "gen.png"
    Image.fromarray(astronaut).resize((64, 64)).save(gen, "PNG", pnginfo=info)
    plain = tmp_path / "plain.jpg"
    Image.fromarray(astronaut).resize((64, 64)).save(plain, "JPEG")
    return gen, plain


def test_json_lines_and_exit_codes(tmp_path, astronaut):
    gen, plain = _files(tmp_path, astronaut)
    code, stdout = run(["provenance", str(gen), str(plain), str(tmp_path / "missing.mp4"), "--json"])
    assert code == EXIT_INPUT_ERRORS  # the missing file; the others were read
    records = [json.loads(line) for line in stdout.splitlines()]
    assert [r["path"] for r in records] == [str(gen), str(plain), str(tmp_path / "missing.mp4")]
    assert records[0]["status"] == "ok" and records[0]["error"] is None
    assert records[0]["provenance"]["state"] == "generator_metadata"
    assert records[0]["provenance"]["generator"] == "AUTOMATIC1111"
    assert records[0]["provenance"]["evidence"][0]["field"] == "png/parameters"
    assert records[1]["provenance"]["state"] == "none"
    assert records[2] == {"path": str(tmp_path / "missing.mp4"), "status": "error", "provenance": None,
                          "error": {"code": "not_found", "message": f"no such file: {tmp_path / 'missing.mp4'}"}}


def test_table_and_directories(tmp_path, astronaut):
    _files(tmp_path, astronaut)
    code, stdout = run(["provenance", "-r", str(tmp_path)])
    assert code == EXIT_OK
    header, *rows = stdout.splitlines()
    assert header.split()[:3] == ["file", "state", "by"]
    assert len(rows) == 2
    assert "generator_metadata" in rows[0] and "AUTOMATIC1111" in rows[0] and "Steps: 20" in rows[0]
    assert rows[1].split()[1] == "none"
    # Without -r a directory is an input that cannot be read, as for faces.
    code, stdout = run(["provenance", str(tmp_path), "--json"])
    assert code == EXIT_INPUT_ERRORS and json.loads(stdout)["error"]["code"] == "is_directory"


def _strip(path, out):
    """A copy of ``path`` without its metadata and with exactly the pixels a scan sees: an image's decoded frame as a
    PNG, a video remuxed (the same packets, without the container's other boxes)."""
    import av

    from detector.media import read_frames

    if path.suffix == ".mp4":
        with av.open(str(path)) as src, av.open(str(out.with_suffix(".mp4")), "w") as dst:
            stream = dst.add_stream_from_template(src.streams.video[0])
            for packet in src.demux(src.streams.video[0]):
                if packet.dts is not None:
                    packet.stream = stream
                    dst.mux(packet)
        return out.with_suffix(".mp4")
    _, [frame] = read_frames(path)
    Image.fromarray(frame.image).save(out.with_suffix(".png"))
    return out.with_suffix(".png")


@pytest.mark.data
def test_scan_json_on_the_public_samples_and_their_stripped_copies(shared_data, tmp_path, tiny_model):
    """``deepfake scan --json`` gives each sample the state its label implies, with its evidence; a stripped copy
    (the same pixels) gives ``none`` and the pixels' own verdict."""
    import csv

    states = {"ai_declared": {"declared_synthetic", "declared_edited_with_ai", "generator_metadata"},
              "camera_signed": {"signed_capture"}, "edited_signed": {"signed_other"},
              "tampered": {"invalid_signature"}, "no_provenance": {"none"}}
    rows = list(csv.DictReader((shared_data / "provenance" / "MANIFEST.csv").read_text().splitlines()))
    paths = [shared_data / row["path"] for row in rows]
    stripped = [_strip(p, tmp_path / f"{i}{p.suffix}") for i, p in enumerate(paths)]
    results = {}
    for name, files in (("original", paths), ("stripped", stripped)):
        _, stdout = run(["scan", *map(str, files), "--json", "--frames", "4", "--model", str(tiny_model)])
        results[name] = [json.loads(line) for line in stdout.splitlines()]
    for row, original, copy in zip(rows, results["original"], results["stripped"]):
        provenance = original["provenance"]
        assert provenance["state"] in states[row["label"]], (row["path"], provenance)
        if provenance["state"] != "none":
            assert provenance["evidence"] or provenance["manifest"], row["path"]
        assert copy["provenance"]["state"] == "none", row["path"]
        pixels = [r for r in original["reasons"] if not r.startswith(("declared_", "generator_metadata",
                                                                        "provenance_invalid"))]
        assert copy["reasons"] == pixels and copy["fake_probability"] == original["fake_probability"], row["path"]
        if row["label"] == "ai_declared":
            assert original["verdict"] == "fake" and original["reasons"][0] != copy["reasons"][0]
        elif row["label"] == "tampered":
            assert original["reasons"][0] == "provenance_invalid" and original["verdict"] == copy["verdict"]
        else:  # a signed capture or edit, or nothing: the verdict is the pixels'
            assert original["verdict"] == copy["verdict"], row["path"]
