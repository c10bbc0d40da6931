"""Occlusion heat maps and the self-contained HTML report (no browser here; see tests/pipelines for Chromium)."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser

import numpy as np
import pytest

from detector import Detector
from detector.outputs.occlusion import occlusion_map, overlay_heatmap, patch_positions, upsample_grid
from detector.outputs.report import render_report, write_report
from detector.outputs.timeline import nice_step
from detector.results import FaceEvidence, MediaResult, ModelInfo, TimelinePoint, TrackResult

SIZE = 128


class RegionModel:
    """A stand-in classifier whose fake logit is the mean brightness of one region (top-right 32 x 32)
    minus that of another (bottom-left), so hiding the first lowers the score and hiding the second raises it."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def logits(self, crops: np.ndarray) -> np.ndarray:
        self.calls.append(len(crops))
        x = np.asarray(crops, np.float64) / 255.0
        return x[:, 0:32, 96:128].mean(axis=(1, 2, 3)) - x[:, 96:128, 0:32].mean(axis=(1, 2, 3))


def bright_crop() -> np.ndarray:
    crop = np.full((SIZE, SIZE, 3), 60, np.uint8)
    crop[0:32, 96:128] = 250  # drives "fake"
    crop[96:128, 0:32] = 250  # drives "real"
    return crop


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.load()


@pytest.fixture(scope="module")
def astronaut_result(detector, astronaut) -> MediaResult:
    result = detector.scan_image(astronaut, name="astronaut.png", evidence=2)
    assert len(result.evidence) == 1  # one face in the photo
    return result


# -- occlusion ------------------------------------------------------------------------------------


def test_patch_positions_cover_the_crop():
    assert patch_positions(128, 32, 16) == [0, 16, 32, 48, 64, 80, 96]
    assert patch_positions(100, 25, 12) == [0, 12, 24, 36, 48, 60, 72, 75]  # last one pinned to the edge
    with pytest.raises(ValueError):
        patch_positions(10, 11, 1)


def test_heat_is_where_hiding_changes_the_score():
    model = RegionModel()
    occ = occlusion_map(model, bright_crop())
    assert model.calls == [1 + 7 * 7]  # one batched call: the crop plus a 7 x 7 grid of occluded copies
    assert (occ.patch_px, occ.stride_px) == (32, 16)
    assert occ.heat.shape == (SIZE, SIZE) and occ.heat.dtype == np.float32
    assert occ.grid.shape == (7, 7) and occ.grid.dtype == np.float32
    assert occ.base_logit == pytest.approx(0.0)
    # Hiding the top-right square lowers the fake logit: hot there, cold where the "real" square is.
    assert occ.grid[0, 6] == pytest.approx((250 - 128) / 255)
    assert occ.grid[6, 0] == pytest.approx(-(250 - 128) / 255)
    assert occ.heat[8, 120] > 0.3 and occ.heat[120, 8] < -0.3
    assert abs(occ.heat[64, 64]) < 1e-6 and abs(occ.heat[8, 8]) < 1e-6  # hiding uniform grey-ish areas: no effect
    y, x = np.unravel_index(np.argmax(occ.heat), occ.heat.shape)
    assert y < 32 and x >= 96
    assert occ.peak == pytest.approx(float(occ.grid.max()))


def test_patch_and_stride_follow_the_crop_size():
    model = RegionModel()
    occ = occlusion_map(model, bright_crop(), patch=0.5, stride=0.25)
    assert (occ.patch_px, occ.stride_px) == (64, 32) and occ.grid.shape == (3, 3)
    assert model.calls == [10] and occ.heat.shape == (SIZE, SIZE)
    with pytest.raises(ValueError):
        occlusion_map(model, np.zeros((64, 48, 3), np.uint8))
    with pytest.raises(ValueError):
        occlusion_map(model, np.zeros((64, 64, 3), np.float32))


def test_upsampling_is_exact_between_patch_centres():
    centres = np.array([16.0, 48.0, 80.0, 112.0])
    flat = upsample_grid(np.full((4, 4), 0.7), centres, 128)
    assert np.allclose(flat, 0.7)
    ramp = upsample_grid(np.tile(np.array([0.0, 1.0, 2.0, 3.0]), (4, 1)), centres, 128)
    # Pixel 47's centre (47.5 px) sits half a pixel left of the centre at 48; pixel 63 is halfway to 80.
    assert np.allclose(ramp[:, 47], 1.0 - 0.5 / 32) and np.allclose(ramp[:, 63], 1.0 + 15.5 / 32)
    assert np.allclose(ramp[0], ramp[-1])  # no change along y
    assert ramp[0, 0] == 0.0 and ramp[0, -1] == 3.0  # flat beyond the outer centres


def test_bundled_model_map_is_not_flat_and_deterministic(detector, astronaut_result):
    crop = astronaut_result.evidence[0].crop
    first = occlusion_map(detector.classifier, crop)
    second = occlusion_map(detector.classifier, crop)
    assert np.array_equal(first.heat, second.heat) and np.array_equal(first.grid, second.grid)
    assert first.base_logit == pytest.approx(float(detector.classifier.logits(crop[None])[0]), abs=1e-5)
    assert first.grid.std() > 0.01 and np.ptp(first.heat) > 0.05
    assert np.isfinite(first.heat).all()


def test_overlay_colours_only_where_the_score_is_driven():
    crop = bright_crop()
    heat = np.zeros((SIZE, SIZE), np.float32)
    assert np.array_equal(overlay_heatmap(crop, heat), crop)  # nothing drives "fake": the face as it is
    heat[:32, :32] = 2.0
    heat[64:, 64:] = -5.0  # negative: pushes towards "real", not painted
    out = overlay_heatmap(crop, heat)
    assert out.shape == crop.shape and out.dtype == np.uint8
    assert np.abs(out[:32, :32].astype(int) - crop[:32, :32]).mean() > 20
    assert np.array_equal(out[32:], crop[32:])
    half = overlay_heatmap(crop, heat, scale=4.0)  # a shared scale: this map is only half as strong
    assert 0 < np.abs(half[:32, :32].astype(int) - crop[:32, :32]).mean() < np.abs(out[:32, :32].astype(int)
                                                                                    - crop[:32, :32]).mean()
    with pytest.raises(ValueError):
        overlay_heatmap(crop, heat[:10])


# -- report ---------------------------------------------------------------------------------------


class Collect(HTMLParser):
    """Tags, attributes and text of an HTML document (stdlib parser: no browser needed)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Collect:
    parser = Collect()
    parser.feed(html)
    return parser


def video_result(evidence: tuple[FaceEvidence, ...], model: ModelInfo) -> MediaResult:
    timeline = tuple(TimelinePoint(t / 10, tid, 0.3 + 0.05 * t + 0.2 * tid) for t in range(8) for tid in (0, 1))
    tracks = (TrackResult(0, 0.0, 0.7, 8, 0.475, (0, 0, 80, 80), 80.0),
              TrackResult(1, 0.0, 0.7, 8, 0.675, (100, 0, 180, 80), 80.0))
    return MediaResult(path="clips/<script>alert(1)</script> & co.mp4", media="video", verdict="fake",
                       fake_probability=0.675, threshold=0.5, reasons=("above_threshold",), model=model,
                       tracks=tracks, timeline=timeline, evidence=evidence)


@pytest.fixture(scope="module")
def results(detector, astronaut_result) -> list[MediaResult]:
    model = detector.model
    face = astronaut_result.evidence[0]
    return [
        video_result((face, replace(face, track_id=1, t=0.4, crop=face.crop[:, ::-1].copy())), model),
        MediaResult(path="wall.mp4", media="video", verdict="no_face", fake_probability=None, threshold=0.5,
                    reasons=("no_face_found",), model=model),
        MediaResult.failed("bad<b>.mp4", {"code": "unsupported_media", "message": "not a video: <b>bold</b>"},
                           model=model, threshold=0.5),
        astronaut_result,
    ]


def test_report_shows_every_input_with_its_verdict(detector, results, tmp_path):
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    path = write_report(results, tmp_path / "r.html", classifier=detector.classifier, generated=when)
    html = path.read_text(encoding="utf-8")
    assert not list(tmp_path.glob("*.partial"))
    doc = parse(html)
    text = " ".join(doc.text)
    # User-controlled text is escaped: the file name and the error message are text, not markup.
    assert "<script>alert(1)</script>" not in html and "bad<b>.mp4" not in html and "<b>bold</b>" not in html
    assert "clips/<script>alert(1)</script> & co.mp4" in text and "bad<b>.mp4" in text
    assert "not a video: <b>bold</b>" in text and "unsupported_media" in text
    # Header: model name, version, sha256 and the run date.
    card = detector.classifier.card
    assert card.name in text and card.version in text and card.sha256 in text and "2024-05-01T12:00:00+00:00" in text
    # Summary: counts per verdict and a link to each section.
    badges = [a["class"].split()[-1] for tag, a in doc.tags if tag == "span" and "badge" in (a.get("class") or "")]
    assert badges[:5] == ["v-fake", "v-real", "v-uncertain", "v-no_face", "v-error"]
    assert re.search(r"v-fake\">fake</span> 1<", html) and re.search(r"v-no_face\">no_face</span> 1<", html)
    links = [a["href"] for tag, a in doc.tags if tag == "a"]
    ids = [a["id"] for tag, a in doc.tags if tag == "section" and "id" in a]
    assert links == [f"#{i}" for i in ids] == [f"#media-{i}" for i in range(1, 5)]
    # Per input, in order: its verdict badge in the section heading.
    headings = re.findall(r'<section class="media" id="media-\d"><h2>\d\. <span class="badge v-(\w+)"', html)
    assert headings == [r.verdict for r in results]


def test_report_has_a_timeline_per_person_and_heat_maps(detector, results):
    html = render_report(results, classifier=detector.classifier)
    sections = html.split('<section class="media"')[1:]
    video, no_face, error, image = sections
    svg = parse(video)
    polylines = [a for tag, a in svg.tags if tag == "polyline"]
    assert [p["data-track"] for p in polylines] == ["0", "1"]
    assert all(len(p["points"].split()) == 8 for p in polylines)
    assert any(tag == "line" and "threshold" in (a.get("class") or "") for tag, a in svg.tags)
    assert "person 0 · P(fake) 0.475" in video and "person 1 · P(fake) 0.675" in video  # legend
    imgs = [a for tag, a in parse(html).tags if tag == "img"]
    assert all(a["src"].startswith("data:image/jpeg;base64,") for a in imgs)
    assert [a["class"] for a in imgs] == ["face", "heatmap"] * 3  # 2 faces in the video, 1 in the image
    # No face / error: no score, no chart, no faces. Image: a score bar instead of a timeline.
    for section in (no_face, error):
        assert "<svg" not in section and "<img" not in section and "No score" in section
    assert 'class="scorebar"' in image and 'class="timeline"' not in image
    # Nothing outside the file: no scripts, links or remote URLs, and a CSP that enforces it.
    assert "default-src 'none'; img-src data:" in html
    assert "<script" not in html and "<link" not in html
    assert not re.findall(r"https?://(?!www\.w3\.org/2000/svg)", html)


def test_report_without_a_classifier_shows_faces_without_heat_maps(results):
    html = render_report(results)
    imgs = [a for tag, a in parse(html).tags if tag == "img"]
    assert [a["class"] for a in imgs] == ["face"] * 3
    assert "no heat map" in html and results[0].model.sha256 in html


def test_nice_time_ticks():
    assert nice_step(2.0) == 0.5 and nice_step(10.0) == 2.0 and nice_step(0.3) == 0.05 and nice_step(0) == 1.0


def test_report_needs_neither_torch_nor_matplotlib():
    code = ("import sys; import detector.outputs.report, detector.outputs.occlusion, detector.outputs.timeline; "
            "from detector.outputs.report import render_report; render_report([]); "
            "bad = [m for m in ('torch', 'torchvision', 'timm', 'matplotlib') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
