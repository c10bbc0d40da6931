"""``deepfake provenance``: one record per input, as a table or JSON Lines, without a model."""

from __future__ import annotations

import io
import json

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
