"""The self-contained HTML scan report (no browser here; see tests/pipelines for Chromium). The occlusion maps
and timelines it embeds have their own files, ``test_occlusion.py`` and ``test_timeline.py``."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from detector import Detector
from detector.outputs.report import render_report, write_report
from detector.results import FaceEvidence, MediaResult, ModelInfo, TimelinePoint, TrackResult


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.load()


@pytest.fixture(scope="module")
def astronaut_result(detector, astronaut) -> MediaResult:
    result = detector.scan_image(astronaut, name="astronaut.png", evidence=2)
    assert len(result.evidence) == 1  # one face in the photo
    return result


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
    tracks = (TrackResult(track_id=0, first_time=0.0, last_time=0.7, n_faces=8, mean_size_px=80.0, box=(0, 0, 80, 80),
                          fake_probability=0.475),
              TrackResult(track_id=1, first_time=0.0, last_time=0.7, n_faces=8, mean_size_px=80.0,
                          box=(100, 0, 180, 80), fake_probability=0.675))
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


def test_report_needs_neither_torch_nor_matplotlib():
    code = ("import sys; import detector.outputs.report, detector.outputs.occlusion, detector.outputs.timeline; "
            "from detector.outputs.report import render_report; render_report([]); "
            "bad = [m for m in ('torch', 'torchvision', 'timm', 'matplotlib') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_report_shows_the_kind_of_fake_beside_the_verdict_and_per_person(detector, results, html_cells):
    """A model with a kind head: the file's kind beside its verdict (summary and heading) and each person's in the
    persons table; the abstention reason is explained. Results without kinds show neither the label nor the column."""
    plain, *_ = results
    tracks = (replace(plain.tracks[0], kind="swap", kind_probability=0.55),
              replace(plain.tracks[1], kind="reenactment", kind_probability=0.875))
    kinded = replace(plain, path="kinded.mp4", tracks=tracks, kind="reenactment", kind_probability=0.875)
    abstained = replace(kinded, path="unfamiliar.mp4", verdict="uncertain", reasons=("unfamiliar_face",))
    html = render_report([kinded, abstained, plain])
    sections = html.split('<section class="media"')[1:]
    cells = html_cells(html)
    summary = {row[1]: row for row in cells.rows if len(row) == 7 and row[1] != "file"}
    assert summary["kinded.mp4"][2] == "fakereenactment · 0.88" and summary["unfamiliar.mp4"][2].startswith("uncertain")
    assert summary[plain.path][2] == "fake"  # no kind head: the verdict alone
    assert re.search(r'<h2>1\. <span class="badge v-fake">fake</span><span class="kind"[^>]*>reenactment · 0.88</span>',
                     sections[0])
    assert "Kind of fake: reenactment (P(kind | fake) 0.88" in "".join(parse(sections[0]).text)
    persons = [row for row in html_cells(sections[0]).rows if row and re.match(r"person \d", row[0])]
    assert [row[-1] for row in persons] == ["swap (0.55)", "reenactment (0.88)"]
    assert "kind if fake" in sections[0] and "kind if fake" not in sections[2] and 'class="kind"' not in sections[2]
    assert "unfamiliar_face" in sections[1] and "so it abstains" in sections[1]
