"""``deepfake scan --report``: the HTML file renders in headless Chromium and shows every verdict.

Chromium's ``--dump-dom`` prints the DOM after the page's load event. A copy of the report gets a small
probe script (the report itself has none and its Content-Security-Policy forbids scripts) that records,
after load, how many images decoded and how wide the timeline is laid out; the policy otherwise stays the
report's own, so an image from anywhere but a ``data:`` URI would fail to load and show up here.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from pipelines.cli import EXIT_FAKE, EXIT_USAGE, main

# Debian's package is `chromium`; other systems name the binary differently. CHROMIUM overrides.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

PROBE = """<script>addEventListener("load", () => {
  const images = [...document.images];
  document.body.dataset.images = images.length;
  document.body.dataset.decoded = images.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.timelineWidth = [...document.querySelectorAll("svg.timeline")]
    .map(s => Math.round(s.getBoundingClientRect().width)).join(",");
});</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    candidates = [os.environ["CHROMIUM"]] if os.environ.get("CHROMIUM") else list(CHROMIUM_NAMES)
    for name in candidates:
        if found := shutil.which(name):
            return found
    pytest.skip(f"no Chromium binary found (tried {', '.join(candidates)}): "
                "install Debian's `chromium` package (.ci/run does) or set CHROMIUM")


def dump_dom(chromium: str, page: Path, profile: Path) -> str:
    cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", "--dump-dom", page.as_uri()]
    # The timeout only guards against a hung browser; nothing here measures speed.
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and "</html>" in proc.stdout, proc.stderr[-3000:]
    return proc.stdout


class Page(HTMLParser):
    """What the rendered DOM shows: per media section its heading badge and file name, its images and charts."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str | None] = {}
        self.sections: list[dict] = []
        self.summary_links: list[str] = []
        self._in: list[str] = []  # open elements we care about

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "body":
            self.body = a
        elif tag == "section" and "media" in cls.split():
            self.sections.append({"id": a.get("id"), "badge": "", "path": "", "imgs": [], "polylines": 0,
                                  "timeline": False, "scorebar": False})
        elif tag == "a" and (a.get("href") or "").startswith("#"):
            self.summary_links.append(a["href"])
        if not self.sections:
            return
        section = self.sections[-1]
        if tag == "h2":
            self._in.append("h2")
        elif tag == "span" and "badge" in cls.split() and "h2" in self._in:
            self._in.append("badge")
        elif tag == "code" and "h2" in self._in:
            self._in.append("path")
        elif tag == "img":
            section["imgs"].append((cls, (a.get("src") or "")[:23]))
        elif tag == "svg":
            section["timeline"] |= cls == "timeline"
            section["scorebar"] |= cls == "scorebar"
        elif tag == "polyline":
            section["polylines"] += 1

    def handle_endtag(self, tag):
        if self._in and (tag, self._in[-1]) in (("h2", "h2"), ("span", "badge"), ("code", "path")):
            self._in.pop()

    def handle_data(self, data):
        if self._in and self._in[-1] in ("badge", "path"):
            key = "badge" if self._in[-1] == "badge" else "path"
            self.sections[-1][key] += data


def render(chromium: str, report: Path, tmp_path: Path) -> Page:
    html = report.read_text(encoding="utf-8")
    policy = "default-src 'none';"
    assert html.count(policy) == 1, "the report must carry its Content-Security-Policy"
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace(policy, policy + " script-src 'unsafe-inline';").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    page = Page()
    page.feed(dump_dom(chromium, probe, tmp_path / "profile"))
    return page


def test_scan_report_renders_with_every_verdict(chromium, tmp_path, demo_clip, video_writer, tiny_model_builder):
    says_fake = tiny_model_builder(tmp_path / "model", bias=6.0)  # behaviour, not the shipped model's quality
    wall = video_writer(tmp_path / "wall.mp4", [np.full((120, 160, 3), 90, np.uint8)] * 8)  # no face
    data = Path(demo_clip).read_bytes()
    corrupt = tmp_path / "bad <&> clip.mp4"  # truncated video, and a file name that needs escaping
    corrupt.write_bytes(data[:len(data) // 3])
    report = tmp_path / "r.html"
    out = io.StringIO()
    paths = [str(demo_clip), str(wall), str(corrupt)]
    code = main(["scan", *paths, "--frames", "8", "--json", "--report", str(report), "--model", str(says_fake)],
                stdout=out)
    assert code == EXIT_FAKE  # a fake wins over a failed input; the report is written although one failed
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    verdicts = [r["verdict"] for r in records]
    assert verdicts == ["fake", "no_face", "error"]
    assert records[2]["error"]["code"] == "corrupt_media"

    page = render(chromium, report, tmp_path)
    assert [s["badge"] for s in page.sections] == verdicts
    assert [unescape(s["path"]) for s in page.sections] == paths
    assert page.summary_links == [f"#{s['id']}" for s in page.sections]
    clip, no_face, error = page.sections
    # The video: one person, one timeline line, laid out; 4 faces (the default) each with its heat map.
    assert clip["timeline"] and clip["polylines"] == 1
    assert int(page.body["data-timeline-width"]) > 300
    assert [c for c, _ in clip["imgs"]] == ["face", "heatmap"] * 4
    assert all(src == "data:image/jpeg;base64," for _, src in clip["imgs"])
    for section in (no_face, error):
        assert not section["timeline"] and not section["imgs"]
    # Every image decoded in the browser under the report's own image policy (data: URIs only).
    assert page.body["data-images"] == page.body["data-decoded"] == "8"


def test_evidence_without_report_is_a_usage_error(tmp_path, demo_clip):
    assert main(["scan", str(demo_clip), "--evidence", "2"], stdout=io.StringIO()) == EXIT_USAGE
    missing_dir = tmp_path / "nope" / "r.html"
    assert main(["scan", str(demo_clip), "--report", str(missing_dir)], stdout=io.StringIO()) == EXIT_USAGE
