from __future__ import annotations

import io
import json

import pytest

from pipelines.cli import EXIT_FAKE, EXIT_INPUT_ERRORS, EXIT_OK, EXIT_USAGE, main


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, stdout=out)
    return code, out.getvalue()


def test_faces_writes_crops_and_jsonl(tmp_path, demo_clip):
    out_dir = tmp_path / "out"
    code, stdout = run(["faces", str(demo_clip), "--out", str(out_dir), "--frames", "8"])
    assert code == EXIT_OK
    assert "demo.mp4" in stdout and "video" in stdout
    faces = [json.loads(line) for line in (out_dir / "faces.jsonl").read_text().splitlines()]
    assert len(faces) == 8
    for face in faces:
        assert set(face) >= {"path", "frame_index", "timestamp", "track_id", "box", "landmarks", "quality", "crop"}
        assert face["track_id"] == 0 and len(face["landmarks"]) == 5
        assert (out_dir / face["crop"]).is_file()
    media = [json.loads(line) for line in (out_dir / "media.jsonl").read_text().splitlines()]
    assert media[0]["status"] == "ok" and media[0]["n_faces"] == 8 and media[0]["error"] is None
    assert not list(out_dir.glob("crops/*.partial"))


def test_json_lines_on_stdout(demo_clip):
    code, stdout = run(["faces", str(demo_clip), "--json", "--frames", "4"])
    assert code == EXIT_OK
    [record] = [json.loads(line) for line in stdout.splitlines()]
    assert record["path"] == str(demo_clip) and record["status"] == "ok"
    assert record["n_frames"] == 4 and len(record["faces"]) == 4 and len(record["tracks"]) == 1
    [track] = record["tracks"]  # a scan's person, not yet classified
    assert track["n_faces"] == 4 and track["fake_probability"] is None and len(track["box"]) == 4
    assert track["first_time"] == record["faces"][0]["timestamp"] and track["last_time"] == record["faces"][-1]["timestamp"]
    assert record["media"]["width"] == 640


def test_bad_inputs_do_not_stop_the_batch(tmp_path, demo_clip):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "text.mp4"
    text.write_text("not a video")
    out_dir = tmp_path / "out"
    paths = [str(demo_clip), str(empty), str(tmp_path / "missing.mov"), str(text), str(tmp_path), str(demo_clip)]
    code, stdout = run(["faces", *paths, "--json", "--frames", "2", "--out", str(out_dir)])
    assert code == EXIT_INPUT_ERRORS
    records = [json.loads(line) for line in stdout.splitlines()]
    assert [r["path"] for r in records] == paths  # one record per input, in order, nothing lost
    assert [r["status"] for r in records] == ["ok", "error", "error", "error", "error", "ok"]
    assert [r["error"]["code"] for r in records if r["error"]] == [
        "empty_file", "not_found", "unsupported_media", "is_directory"]
    media = [json.loads(line) for line in (out_dir / "media.jsonl").read_text().splitlines()]
    assert len(media) == len(paths)
    faces = (out_dir / "faces.jsonl").read_text().splitlines()
    assert len(faces) == 4  # 2 frames x 2 good inputs, nothing from the bad ones


def test_recursive_expands_directories(tmp_path, demo_clip):
    import shutil

    (tmp_path / "sub").mkdir()
    shutil.copy(demo_clip, tmp_path / "sub" / "a.mp4")
    (tmp_path / "sub" / "readme.txt").write_text("skip me")
    code, stdout = run(["faces", str(tmp_path), "-r", "--json", "--frames", "2"])
    assert code == EXIT_OK
    assert [json.loads(line)["path"] for line in stdout.splitlines()] == [str(tmp_path / "sub" / "a.mp4")]


@pytest.mark.parametrize("argv", [["faces"], ["faces", "x.mp4", "--frames", "0"], ["nope"],
                                  ["faces", "x.mp4", "--backend", "dlib"], ["scan", "x.mp4", "--max-novelty", "never"],
                                  ["scan", "x.mp4", "--max-novelty", "0"],
                                  ["scan", "x.mp4", "--combine-persons", "median"]])
def test_usage_errors_exit_2(argv):
    assert run(argv)[0] == EXIT_USAGE


def test_help_exits_0(capsys):
    assert run(["--help"])[0] == 0
    assert "Exit codes" in capsys.readouterr().out


def test_demo_clip_command(tmp_path):
    code, _ = run(["demo-clip", str(tmp_path / "d.mp4"), "--width", "320", "--height", "180", "--seconds", "1"])
    assert code == EXIT_OK and (tmp_path / "d.mp4").stat().st_size > 1000


def test_scan_max_novelty_overrides_the_cards_abstention(tmp_path, demo_clip, tiny_model_builder):
    """``--max-novelty``: below the faces' novelty (3) the fake is uncertain, ``off`` keeps it fake."""
    model = tiny_model_builder(tmp_path, bias=6.0, kinds=True, novelty_value=3.0, max_novelty=2.0)
    verdicts = {}
    for flag in (None, "off", "2.5", "4"):
        code, stdout = run(["scan", str(demo_clip), "--json", "--model", str(model),
                            *(["--max-novelty", flag] if flag else [])])
        record = json.loads(stdout)
        verdicts[flag] = (code, record["verdict"], tuple(record["reasons"]))
    assert verdicts[None] == verdicts["2.5"] == (EXIT_OK, "uncertain", ("unfamiliar_face",))
    assert verdicts["off"][:2] == verdicts["4"][:2] == (EXIT_FAKE, "fake")


def test_scan_combine_persons_overrides_how_the_card_makes_a_file_of_several_persons(tmp_path, astronaut):
    """Two persons (the photo, and a blurred grey copy of it beside it): the bundled card averages their odds,
    ``--combine-persons max`` takes the more suspicious one."""
    import cv2
    import numpy as np

    from detector.aggregate import file_score

    grey = cv2.cvtColor(cv2.cvtColor(cv2.GaussianBlur(astronaut, (0, 0), 2.0), cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2BGR)
    path = tmp_path / "two.png"
    cv2.imwrite(str(path), np.concatenate([cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR), grey], axis=1))
    got = {}
    for flag in (None, "max", "mean_odds"):
        code, stdout = run(["scan", str(path), "--json", *(["--combine-persons", flag] if flag else [])])
        record = json.loads(stdout)
        persons = [t["fake_probability"] for t in record["tracks"]]
        assert code in (EXIT_OK, EXIT_FAKE) and len(persons) == 2 and persons[0] != persons[1]
        got[flag] = record["fake_probability"], persons
    assert got[None] == got["mean_odds"]
    assert got["max"][0] == max(got["max"][1]) > got[None][0]
    assert got[None][0] == pytest.approx(file_score(got[None][1], "mean_odds"), abs=1e-6)  # JSON rounds to 6 places
