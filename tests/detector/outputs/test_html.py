"""The HTML page shell both reports use: ``page`` (one Content-Security-Policy, the stylesheet, an escaped
title) and ``badge`` (an escaped verdict label with its colour class); and that the scan report
(``detector.outputs.report``) and the audit report (``pipelines.audit.report``) are both built on it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from detector.outputs import html
from detector.outputs.report import render_report
from detector.results import VERDICTS, MediaResult, ModelInfo
from pipelines.audit.ledger import Integrity
from pipelines.audit.report import FileRecord, Report, render

MODEL = ModelInfo("tiny", "0.1", "ab" * 32)


class Head(HTMLParser):
    """The ``<meta>`` tags, the title text and the start tags of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.metas: list[dict[str, str | None]] = []
        self.tags: list[str] = []
        self.title: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "meta":
            self.metas.append(dict(attrs))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title.append(data)


def head(text: str) -> Head:
    parser = Head()
    parser.feed(text)
    return parser


def csp_of(text: str) -> list[str | None]:
    return [m.get("content") for m in head(text).metas if m.get("http-equiv") == "Content-Security-Policy"]


def assert_shell(text: str) -> None:
    """A page built by :func:`html.page`: the policy exactly once, in the head, and the shared stylesheet."""
    assert text.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert text.count(html.CSP_META) == 1 and csp_of(text) == [html.CSP]
    assert text.index(html.CSP_META) < text.index("</head>")
    assert text.count(f"<style>{html.CSS}</style>") == 1


def test_page_carries_the_policy_once():
    text = html.page("t", ["<p>a</p>", "<p>b</p>"])
    assert_shell(text)
    assert text.endswith("</body></html>\n")
    assert text.index("<p>a</p><p>b</p>") > text.index("<body>")  # body fragments as given, in order


def test_the_policy_loads_nothing_and_runs_nothing():
    directives = dict(d.strip().split(" ", 1) for d in html.CSP.split(";"))
    assert directives == {"default-src": "'none'", "img-src": "data:", "style-src": "'unsafe-inline'"}
    assert html.CSP_META == f'<meta http-equiv="Content-Security-Policy" content="{html.CSP}">'


def test_page_escapes_the_title():
    text = html.page('</title><script>alert("x")</script> & co', [])
    parsed = head(text)
    assert "<script>" not in text and "script" not in parsed.tags
    assert "".join(parsed.title) == '</title><script>alert("x")</script> & co'
    assert_shell(text)


def test_badge_escapes_and_names_its_colour():
    assert html.badge("fake") == '<span class="badge v-fake">fake</span>'
    odd = html.badge('x"><img src=y onerror=alert(1)>')
    assert "<img" not in odd and '"><' not in odd
    assert odd.count('"') == 2  # only the class attribute's own quotes


@pytest.mark.parametrize("verdict", VERDICTS)
def test_every_verdict_has_a_colour(verdict):
    assert re.search(rf"\.v-{verdict}\{{background:#[0-9a-f]{{6}}\}}", html.CSS)


def test_the_scan_report_uses_the_shell():
    results = [MediaResult.failed("bad.mp4", {"code": "corrupt_media", "message": "truncated"}, model=MODEL,
                                  threshold=0.5),
               MediaResult(path="wall.jpg", media="image", verdict="no_face", fake_probability=None, threshold=0.5,
                           reasons=("no_face_found",), model=MODEL)]
    for text in (render_report(results, title="scan <1>"), render_report([])):
        assert_shell(text)
    text = render_report(results, title="scan <1>")
    assert "".join(head(text).title) == "scan <1>"
    assert html.badge("error") in text and html.badge("no_face") in text


def test_the_audit_report_uses_the_shell():
    record = FileRecord("a/<b>.mp4", "done", "fake", 0.93, None, None, None, "cd" * 32, "mp4", None,
                        {"reasons": ["above_threshold"], "tracks": []})
    report = Report("audit.sqlite", {"model": MODEL.to_dict(), "settings": {}}, 1, (record,), (), {}, 20,
                    Integrity((), 1, 1, 0, 1), card=None)
    text = render(report, "html")
    assert_shell(text)
    assert "".join(head(text).title) == "deepfake audit report"
    assert html.badge("fake") in text and "a/<b>.mp4" not in text
