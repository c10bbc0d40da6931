"""The robustness harness: DeeperForensics' parameters, what each perturbation does to a frame, and the harness
end to end on fixtures (a random-weights model: behaviour, not the shipped model's quality)."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from detector.api import Detector
from detector.media import open_media
from detector.recipe import ScanConfig
from training.data import MediaItem
from training.robustness import DEEPERFORENSICS, Perturbation, all_perturbations, run, scan_perturbed, summary
from training.robustness.harness import on_ticks, reencode
from training.robustness.perturbations import DFDC, MIX_TYPES, Mix, Reencoding, random_mixes

pytest.importorskip("sklearn")


def test_parameters_are_deeperforensics():
    # DeeperForensics-1.0, perturbation/add_distortion_to_video.py, get_distortion_parameter (levels 1..5).
    assert DEEPERFORENSICS == {
        "saturation": (0.4, 0.3, 0.2, 0.1, 0.0),
        "contrast": (0.85, 0.725, 0.6, 0.475, 0.35),
        "block": (16, 32, 48, 64, 80),
        "noise": (0.001, 0.002, 0.005, 0.01, 0.05),
        "blur": (7, 9, 13, 17, 21),
        "pixelation": (2, 3, 4, 5, 6),
        "video": (30, 32, 35, 38, 40),
    }
    assert Perturbation("blur", 3).param == 13 and Perturbation("video", 5).param == 40
    assert len(all_perturbations(tuple(DEEPERFORENSICS))) == 35
    assert [p.name for p in all_perturbations(("jpeg", "grey"), (1, 4))] == ["jpeg-1", "jpeg-4", "grey-1"]
    with pytest.raises(ValueError):
        Perturbation("blur", 6)
    with pytest.raises(ValueError):
        Perturbation("sharpen", 1)


@pytest.fixture(scope="module")
def photo(astronaut):
    return np.ascontiguousarray(astronaut)


def test_saturation_zero_is_grey_and_contrast_scales(photo):
    grey = Perturbation("saturation", 5).apply(photo)
    assert np.abs(grey.astype(int) - grey[..., :1].astype(int)).max() <= 1  # R = G = B
    mild = Perturbation("saturation", 1).apply(photo)  # chroma x0.4: still coloured, less so
    spread = lambda im: np.abs(im.astype(int) - im.mean(axis=2, keepdims=True)).mean()
    assert 0 < spread(mild) < spread(photo)
    low = Perturbation("contrast", 5).apply(photo)
    assert low.mean() == pytest.approx(photo.mean() * 0.35, abs=1.0)


def test_blocks_follow_the_frame_size():
    black = np.zeros((512, 700, 3), np.uint8)
    out = Perturbation("block", 1).apply(black, seed=3)
    grey = (out == 128).all(axis=2)
    # 512 // 256 * 16 = 32 blocks of 8x8 (they may overlap).
    assert 8 * 8 <= grey.sum() <= 32 * 64 and grey.any()
    assert not (Perturbation("block", 5).apply(np.zeros((255, 400, 3), np.uint8)) == 128).any()


def test_noise_has_the_stated_variance_and_is_seeded():
    flat = np.full((256, 256, 3), 128, np.uint8)
    out = Perturbation("noise", 5).apply(flat, seed=1)  # variance 0.05 on the unit scale
    luma = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float64) / 255.0
    assert luma.var() == pytest.approx(0.05, rel=0.25)  # clipping at 0/255 trims a little
    assert np.array_equal(out, Perturbation("noise", 5).apply(flat, seed=1))
    assert not np.array_equal(out, Perturbation("noise", 5).apply(flat, seed=2))


def test_blur_pixelation_jpeg_remove_detail(photo):
    def detail(im):
        return cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()

    for kind in ("blur", "pixelation"):
        levels = [detail(Perturbation(kind, lv).apply(photo)) for lv in (1, 5)]
        assert levels[1] < levels[0] < detail(photo), kind
    assert np.array_equal(Perturbation("blur", 2).apply(photo), cv2.GaussianBlur(photo, (9, 9), 9 / 6))
    err = [np.abs(Perturbation("jpeg", lv).apply(photo).astype(int) - photo).mean() for lv in (1, 4)]
    assert 0 < err[0] < err[1]


def test_resize_grey_flip(photo):
    tall = cv2.resize(photo, (1280, 720))
    assert Perturbation("resize", 4).apply(tall).shape == (240, 427, 3)
    assert Perturbation("resize", 1).apply(photo).shape == photo.shape  # 512 lines: never enlarged
    g = Perturbation("grey", 1).apply(photo)
    assert (g[..., 0] == g[..., 1]).all() and (g[..., 1] == g[..., 2]).all()
    assert np.array_equal(Perturbation("flip", 1).apply(photo), photo[:, ::-1])
    assert np.array_equal(Perturbation("video", 1).apply(photo), photo)  # codec types act on the file


@pytest.fixture
def items(tmp_path, astronaut, demo_clip):
    photo_path = tmp_path / "photo.png"
    cv2.imwrite(str(photo_path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    clip = tmp_path / "clip.mp4"
    shutil.copy(demo_clip, clip)
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 300, 3), 60, np.uint8))
    return [MediaItem(photo_path, 0, "p", "none", "t", "image"), MediaItem(clip, 1, "c", "swap", "t", "video"),
            MediaItem(blank, 1, "b", "swap", "t", "image")]


def test_a_perturbed_scan_equals_scanning_the_perturbed_file(tmp_path, items, tiny_model, astronaut):
    detector = Detector.load(tiny_model, config=ScanConfig(frames=8))
    flipped = tmp_path / "flipped.png"
    cv2.imwrite(str(flipped), cv2.cvtColor(np.ascontiguousarray(astronaut[:, ::-1]), cv2.COLOR_RGB2BGR))
    via_harness = scan_perturbed(detector, items[0], Perturbation("flip", 1))
    via_file = detector.scan(flipped)
    assert via_harness.path == str(items[0].path)
    assert via_harness.fake_probability == pytest.approx(via_file.fake_probability, abs=1e-6)
    assert via_harness.verdict == via_file.verdict and via_harness.media == "image"


def test_reencode_keeps_every_frame_and_the_rate(tmp_path, demo_clip):
    out = reencode(demo_clip, tmp_path / "vc.mp4", crf=40)
    with open_media(demo_clip) as a, open_media(out) as b:
        assert b.frame_rate == a.frame_rate
        assert sum(1 for _ in b.every_frame()) == sum(1 for _ in a.every_frame())


def test_harness_end_to_end(tmp_path, items, tiny_model_builder):
    model = tiny_model_builder(tmp_path / "m", bias=1.0)
    detector = Detector.load(model, config=ScanConfig(frames=6))
    conditions = run(detector, items, [Perturbation("blur", 1), Perturbation("video", 1)])
    assert [c.name for c in conditions] == ["clean", "blur-1", "video-1"]
    assert conditions[0].report["n_items"] == 3 and conditions[2].report["n_items"] == 1  # video: videos only
    assert conditions[1].report["verdicts"]["no_face"] == 1  # the blank photo, whatever is done to it
    rows = summary(conditions, items)["rows"]
    assert [r["condition"] for r in rows] == ["clean", "blur-1", "video-1"]
    assert rows[0]["auc_drop"] == 0.0 or rows[0]["auc"] is None
    assert rows[1]["param"] == 7 and rows[2]["param"] == 30


def test_cli_writes_json_and_plot(tmp_path, items, tiny_model):
    from training.data import load_dataset  # noqa: F401  (the CLI reads folders through it)
    from training.robustness.cli import main

    data = tmp_path / "data"
    for label in ("real", "fake"):
        (data / label).mkdir(parents=True)
    shutil.copy(items[0].path, data / "real" / "a.png")
    shutil.copy(items[1].path, data / "fake" / "b.mp4")
    out = tmp_path / "out"
    assert main(["--model", str(tiny_model), "--data", str(data), "--types", "contrast", "--levels", "5",
                 "--mixes", "1", "--out", str(out)]) == 0
    result = json.loads((out / "robustness.json").read_text())
    mix = random_mixes(1, seed=0)[0]  # the CLI draws its mixes from --seed (0 by default)
    assert [r["condition"] for r in result["rows"]] == ["clean", "contrast-5", mix.name]
    assert result["rows"][2]["kind"] == "mix" and result["rows"][2]["param"] == mix.param
    assert (out / "robustness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "robustness.html").read_text()
    assert "contrast-5" in html and mix.name in html


def test_mean_drop_needs_all_seven_types():
    from training.robustness.harness import Condition

    def rep(auc):
        return {"item_level": {"n": 4, "auc": auc}, "items": [], "threshold": 0.5, "per_manipulation": {}}

    kinds = list(DEEPERFORENSICS)
    conditions = [Condition(None, rep(0.9))] + [Condition(Perturbation(k, 3), rep(0.8)) for k in kinds]
    out = summary(conditions, [])
    # "video" compares with the clean videos (none here: no drop), the six others drop 0.1.
    assert out["mean_auc_drop_by_level"] == {} and sum(r["auc_drop"] is not None for r in out["rows"]) == 7
    out = summary(conditions[:-1] + [Condition(Perturbation("blur", 5), rep(0.7))], [])
    assert out["mean_auc_drop_by_level"] == {}  # neither level ran all seven types


# -- DFDC's re-encodings -------------------------------------------------------------------------------


def test_dfdc_levels_are_codec_types_for_videos_only(photo):
    assert len(DFDC) == 3 and [p.name for p in all_perturbations(("dfdc",))] == ["dfdc-1", "dfdc-2", "dfdc-3"]
    assert Perturbation("dfdc", 1).reencoding == Reencoding(23, 15.0, 1.0)
    assert Perturbation("dfdc", 2).reencoding == Reencoding(28, 15.0, 0.5)  # DFDC's 1/4 area: each side /2
    assert Perturbation("dfdc", 3).reencoding == Reencoding(33, 15.0, 0.5)
    assert Perturbation("dfdc", 2).param == "15 fps, sides x0.5, CRF 28"
    assert Perturbation("video", 4).reencoding == Reencoding(38) and Perturbation("blur", 1).reencoding is None
    assert Perturbation("dfdc", 3).needs_reencode
    assert np.array_equal(Perturbation("dfdc", 3).apply(photo), photo)  # acts on the file, not on frames
    with pytest.raises(ValueError):
        Perturbation("dfdc", 4)
    from training.robustness.cli import get_args_parser

    assert get_args_parser().parse_args(["--types", "dfdc", "blur"]).types == ["dfdc", "blur"]


@pytest.fixture(scope="module")
def clip30(tmp_path_factory):
    """1 s at 30 fps, 320 x 240 of scrolling noise (costly to encode, so a worse encode shows in the size)."""
    from detector.outputs.demo import write_video

    base = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    return write_video(tmp_path_factory.mktemp("clip30") / "c.mp4", [np.roll(base, 4 * i, axis=1) for i in range(30)],
                       fps=30)


def _frames_and_rate(path):
    with open_media(path) as media:
        return [f.image for f in media.every_frame()], media.frame_rate


def test_dfdc_reencode_halves_the_rate_and_the_sides(tmp_path, clip30):
    frames, rate = _frames_and_rate(clip30)
    assert (len(frames), rate, frames[0].shape) == (30, 30, (240, 320, 3))
    sizes = {}
    for level in (1, 2, 3):
        r = Perturbation("dfdc", level).reencoding
        out = reencode(clip30, tmp_path / f"dfdc{level}.mp4", crf=r.crf, fps=r.fps, scale=r.scale)
        frames, rate = _frames_and_rate(out)
        assert rate == 15 and abs(len(frames) - 15) <= 1, level
        assert frames[0].shape == ((240, 320, 3) if level == 1 else (120, 160, 3)), level
        sizes[level] = out.stat().st_size
    assert sizes[3] < sizes[2] < sizes[1] < clip30.stat().st_size


def test_a_source_under_the_rate_keeps_every_frame_and_sides_stay_even(tmp_path):
    from detector.outputs.demo import write_video

    src = write_video(tmp_path / "ten.mp4", [np.full((202, 246, 3), 10 * i, np.uint8) for i in range(10)], fps=10)
    frames, rate = _frames_and_rate(reencode(src, tmp_path / "out.mp4", crf=28, fps=15.0, scale=0.5))
    # 10 fps is under 15: nothing dropped; 246 x 202 halved is 123 x 101, rounded to even sides by the resize.
    assert rate == 10 and len(frames) == 10 and frames[0].shape == (100, 122, 3)


def _ticks(times):
    from detector.media import Frame

    blank = np.zeros((2, 2, 3), np.uint8)
    return [round(f.timestamp, 4) for f in on_ticks((Frame(i, t, blank) for i, t in enumerate(times)), 15.0)]


def test_frame_dropping_follows_time_not_count():
    assert len(_ticks([i / 30 for i in range(30)])) == 15  # 30 fps, 1 s: every other frame
    kept = _ticks([i / 25 for i in range(50)])  # 25 fps, 2 s: 3 frames in 5, not every other one (25)
    assert len(kept) == 30 and kept[:4] == [0.0, 0.08, 0.16, 0.2]
    assert len(_ticks([7.5 + i / 30 for i in range(30)])) == 15  # the clock starts at the first frame
    # Variable rate: a 120 fps burst for 0.5 s (8 ticks), then 10 fps (each frame on a new tick); keeping every
    # other frame would keep 30 + 3.
    burst = [i / 120 for i in range(60)] + [0.55 + i / 10 for i in range(5)]
    assert len(_ticks(burst)) == 8 + 5


def test_harness_hands_dfdc_settings_to_the_reencode(tmp_path, items, tiny_model, monkeypatch):
    from training.robustness import harness

    calls = []

    def fake_reencode(src, dst, **kwargs):  # the settings reach the encoder; the clip itself stays as it is
        calls.append(kwargs)
        shutil.copy(src, dst)

    monkeypatch.setattr(harness, "reencode", fake_reencode)
    detector = Detector.load(tiny_model, config=ScanConfig(frames=4))
    conditions = run(detector, items[:2], [Perturbation("dfdc", 2)])
    assert calls == [{"crf": 28, "fps": 15.0, "scale": 0.5}]  # one call: the photo is left out
    assert conditions[1].name == "dfdc-2" and conditions[1].report["n_items"] == 1


# -- mixes ---------------------------------------------------------------------------------------------


def test_random_mixes_are_seeded_distinct_and_frame_types_only():
    mixes = random_mixes(40, seed=3)
    assert mixes == random_mixes(40, seed=3) and mixes != random_mixes(40, seed=4)
    assert len({m.name for m in mixes}) == 40  # names key the reports: no two alike
    assert {len(m.parts) for m in mixes} == {2, 3}
    for m in mixes:
        kinds = [p.kind for p in m.parts]
        assert len(set(kinds)) == len(kinds) and set(kinds) <= set(MIX_TYPES)
        assert m.kind == "mix" and m.level == max(p.level for p in m.parts) and not m.needs_reencode
    assert "video" not in MIX_TYPES and "dfdc" not in MIX_TYPES and len(MIX_TYPES) == 6
    assert random_mixes(0) == []
    for bad in ((Perturbation("blur", 1),), (Perturbation("blur", 1), Perturbation("blur", 2)),
                (Perturbation("blur", 1), Perturbation("video", 1)), (Perturbation("blur", 1), Perturbation("dfdc", 1)),
                tuple(Perturbation(k, 1) for k in MIX_TYPES[:4])):
        with pytest.raises(ValueError):
            Mix(bad)


def test_a_mix_applies_each_part_in_order(photo):
    small = np.ascontiguousarray(photo[:256, :256])
    parts = (Perturbation("blur", 2), Perturbation("noise", 1), Perturbation("contrast", 3))
    mix = Mix(parts)
    by_hand = parts[2].apply(parts[1].apply(parts[0].apply(small, seed=5), seed=5), seed=5)
    out = mix.apply(small, seed=5)
    assert np.array_equal(out, by_hand) and np.array_equal(out, mix.apply(small, seed=5))
    assert not np.array_equal(out, mix.apply(small, seed=6))  # the seed reaches the noise
    assert not np.array_equal(out, parts[2].apply(parts[1].apply(small, seed=5), seed=5))  # blur did act
    assert (mix.name, mix.level, mix.param) == ("blur-2+noise-1+contrast-3", 3, "blur 9 + noise 0.001 + contrast 0.6")


def test_mix_rows_stay_out_of_the_level_means():
    from training.robustness.harness import Condition

    def rep(auc, items=()):
        return {"item_level": {"n": 4, "auc": auc}, "items": list(items), "threshold": 0.5, "per_manipulation": {}}

    # Clean videos that rank perfectly, so "video" has a drop too and level 3 has all seven types.
    videos = [{"label": lb, "score": s, "media": "video"} for lb, s in ((0, 0.1), (0, 0.2), (1, 0.8), (1, 0.9))]
    conditions = [Condition(None, rep(1.0, videos)), *(Condition(Perturbation(k, 3), rep(0.9)) for k in DEEPERFORENSICS),
                  Condition(Mix((Perturbation("blur", 3), Perturbation("noise", 1))), rep(0.2)),
                  Condition(Perturbation("dfdc", 3), rep(0.3))]
    out = summary(conditions, [])
    assert out["mean_auc_drop_by_level"] == {"3": pytest.approx(0.1)}  # the mix (drop 0.8) and dfdc stay out
    mix_row, dfdc_row = out["rows"][-2:]
    assert (mix_row["condition"], mix_row["kind"], mix_row["level"]) == ("blur-3+noise-1", "mix", 3)
    assert mix_row["param"] == "blur 13 + noise 0.001" and mix_row["auc_drop"] == pytest.approx(0.8)
    assert dfdc_row["auc_drop"] == pytest.approx(0.7)  # against the clean videos


def test_harness_runs_a_mix_like_a_perturbation(items, tiny_model, tmp_path, astronaut):
    detector = Detector.load(tiny_model, config=ScanConfig(frames=4))
    mix = Mix((Perturbation("flip", 1), Perturbation("contrast", 2)))
    mixed = tmp_path / "mixed.png"
    cv2.imwrite(str(mixed), cv2.cvtColor(mix.apply(astronaut), cv2.COLOR_RGB2BGR))
    via_harness = scan_perturbed(detector, items[0], mix)
    assert via_harness.fake_probability == pytest.approx(detector.scan(mixed).fake_probability, abs=1e-6)
    conditions = run(detector, items[:2], [mix])
    assert conditions[1].name == "flip-1+contrast-2" and conditions[1].report["n_items"] == 2


# -- the HTML view -------------------------------------------------------------------------------------


def _result(conditions=("clean", "blur-3", "blur-3+noise-1", "dfdc-2"), mean_drop=None, model="tiny"):
    rows = []
    for i, name in enumerate(conditions):
        kind = None if name == "clean" else "mix" if "+" in name else name.split("-")[0]
        rows.append({"condition": name, "kind": kind, "level": None if kind is None else 3,
                     "param": None if kind is None else 13 if kind == "blur" else f"{name} settings",
                     "n": 4, "auc": 0.9 - 0.1 * i, "auc_95ci": [0.5, 1.0], "auc_drop": 0.1 * i, "false_fake": 0.25,
                     "n_real": 2, "no_face": i, "errors": 0, "verdicts": {},
                     "families": {"stylegan": 0.95 - 0.1 * i} if i % 2 == 0 else {"stylegan": None, "swap": 0.7}})
    return {"model": {"name": model, "version": "1", "sha256": "ab" * 32}, "items": 4, "seed": 0, "threshold": 0.5,
            "rows": rows, "mean_auc_drop_by_level": mean_drop if mean_drop is not None else {"3": 0.04, "5": 0.2}}


def test_html_lists_every_condition_and_marks_the_targets(html_cells):
    from detector.outputs.html import CSP
    from training.robustness.report_html import render

    html = render(_result(), png=b"\x89PNG\r\n\x1a\n and the rest")
    cells = html_cells(html)
    table = {row[0]: row for row in cells.rows if row}
    for name in ("clean", "blur-3", "blur-3+noise-1", "dfdc-2"):
        assert name in table, name
    assert table["blur-3"][1:7] == ["blur", "13", "4", "0.800", "[0.500, 1.000]", "+0.100"]
    assert table["dfdc-2"][2] == "dfdc-2 settings"
    # Per-family AUC: a column per family any row reports, "-" where a row has none.
    header = table["condition"]
    assert header[-2:] == ["AUC stylegan", "AUC swap"]
    assert table["blur-3+noise-1"][-2:] == ["0.750", "-"] and table["dfdc-2"][-2:] == ["-", "0.700"]
    # Level 3: 0.04 <= 0.05 met; level 5: 0.20 > 0.10 unmet.
    assert table["3"][1:] == ["+0.040", "≤ 0.05", "met"] and table["5"][1:] == ["+0.200", "≤ 0.10", "unmet"]
    # The CSP lets images in from data: URIs only, so the plot is embedded, and linked as the file beside it.
    assert "img-src data:" in CSP and "<img src=\"data:image/png;base64,iVBORw0KGgo" in html
    assert "href=\"robustness.png\"" in html
    only_3 = {row[0]: row for row in html_cells(render(_result(mean_drop={"3": 0.07}))).rows if row}
    assert only_3["3"][-1] == "unmet" and only_3["5"][-1] == "not measured"


def test_html_escapes_names(html_cells):
    from training.robustness.report_html import render

    evil = "<script>alert(1)</script>"
    html = render(_result(conditions=("clean", evil), model="<img src=x onerror=alert(1)>"))
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert any(row and row[0] == evil for row in html_cells(html).rows)  # shown as text, as written


def test_render_rewrites_the_views_from_the_json_alone(tmp_path, capsys):
    from training.robustness.cli import main

    (tmp_path / "robustness.json").write_text(json.dumps(_result()))
    assert main(["--render", str(tmp_path)]) == 0  # no --data, no --out: nothing is scanned
    png = (tmp_path / "robustness.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "robustness.html").read_text()
    import base64

    assert base64.b64encode(png).decode() in html and "blur-3+noise-1" in html
    with pytest.raises(SystemExit):
        main(["--types", "blur"])  # without --render, --data and --out are required


def test_merge_joins_parts_and_recomputes_the_level_means(tmp_path, capsys):
    from training.robustness.cli import main
    from training.robustness.harness import merge

    def part(levels):
        rows = [{"condition": "clean", "kind": None, "level": None, "auc": 0.9, "auc_drop": 0.0}]
        rows += [{"condition": f"{k}-{lv}", "kind": k, "level": lv, "auc": 0.9 - 0.01 * lv, "auc_drop": 0.01 * lv}
                 for k in DEEPERFORENSICS for lv in levels]
        return {"model": {"sha256": "ab"}, "items": 4, "seed": 0, "threshold": 0.5, "rows": rows,
                "mean_auc_drop_by_level": {}, "reports": {r["condition"]: {"level": r["level"]} for r in rows}}

    merged = merge([part([3, 5]), part([1, 5])])  # level 5 in both: kept once
    names = [r["condition"] for r in merged["rows"]]
    assert names[0] == "clean" and names.count("clean") == 1 and names.count("blur-5") == 1
    assert names[1:4] == [f"{next(iter(DEEPERFORENSICS))}-{lv}" for lv in (1, 3, 5)]  # by type, then level
    assert len(names) == 1 + 3 * len(DEEPERFORENSICS)
    assert merged["mean_auc_drop_by_level"] == pytest.approx({"1": 0.01, "3": 0.03, "5": 0.05})
    assert set(merged["reports"]) == set(names)
    for change in ({"seed": 1}, {"model": {"sha256": "cd"}}, {"items": 5}):
        with pytest.raises(ValueError, match="different"):
            merge([part([3]), {**part([1]), **change}])
    other_clean = part([1])
    other_clean["rows"][0] = {**other_clean["rows"][0], "auc": 0.8}
    with pytest.raises(ValueError, match="clean AUCs differ"):
        merge([part([3]), other_clean])
    # The CLI: parts in two folders -> one JSON, plot and page in --out.
    for name, levels in (("a", [3]), ("b", [1])):
        (tmp_path / name).mkdir()
        rows = _result(conditions=("clean", *(f"blur-{lv}" for lv in levels)))
        for row in rows["rows"][1:]:
            row["level"] = int(row["condition"].split("-")[1])
        (tmp_path / name / "robustness.json").write_text(json.dumps({**rows, "reports": {}}))
    assert main(["--merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "all")]) == 0
    out = json.loads((tmp_path / "all" / "robustness.json").read_text())
    assert [r["condition"] for r in out["rows"]] == ["clean", "blur-1", "blur-3"]  # levels in order
    assert (tmp_path / "all" / "robustness.html").is_file() and (tmp_path / "all" / "robustness.png").is_file()
    with pytest.raises(SystemExit):
        main(["--merge", str(tmp_path / "a")])  # --out is required
