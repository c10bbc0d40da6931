"""The report's inline SVG charts: ``timeline_svg`` (one line per person over time, the threshold across it,
labels escaped), ``score_bar_svg`` (one score against the threshold) and ``nice_step`` (axis ticks). The SVG is
read back as XML, so it must be well-formed."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from detector.outputs.timeline import (
    PALETTE,
    THRESHOLD_COLOUR,
    nice_step,
    score_bar_svg,
    timeline_svg,
    track_colour,
)
from detector.results import TimelinePoint

NS = "{http://www.w3.org/2000/svg}"
# timeline_svg's plot area at the default 720 x 260: left 48, right 16, top 12, bottom 40.
LEFT, TOP, PLOT_W, PLOT_H = 48, 12, 720 - 48 - 16, 260 - 12 - 40


def svg(text: str) -> ET.Element:
    root = ET.fromstring(text)  # raises on anything that is not well-formed XML
    assert root.tag == f"{NS}svg"
    return root


def find(root: ET.Element, tag: str, **attrs: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}{tag}") if all(e.get(k) == v for k, v in attrs.items())]


def points(polyline: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in polyline.get("points").split()]


def test_nice_time_ticks():
    assert nice_step(2.0) == 0.5 and nice_step(10.0) == 2.0 and nice_step(0.3) == 0.05 and nice_step(0) == 1.0


@pytest.mark.parametrize("span", [0.001, 0.07, 0.7, 1.0, 3.3, 7.0, 59.9, 123.0, 3600.0])
def test_nice_step_is_the_smallest_round_step_that_fits(span):
    step = nice_step(span)
    assert span / step <= 8 + 1e-9  # at most 8 intervals
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
    assert round(mantissa, 6) in (1, 2, 5)
    smaller = [m * 10 ** k for k in range(-5, 5) for m in (1, 2, 5) if m * 10 ** k < step * (1 - 1e-9)]
    assert all(span / s > 8 for s in smaller)


def test_one_line_per_person_in_time_order():
    timeline = [TimelinePoint(0.7, 1, 0.9), TimelinePoint(0.0, 1, 0.2), TimelinePoint(0.35, 0, 0.5),
                TimelinePoint(0.0, 0, 0.4), TimelinePoint(0.7, 0, 1.0)]
    root = svg(timeline_svg(timeline, threshold=0.5))
    lines = find(root, "polyline")
    assert [p.get("data-track") for p in lines] == ["0", "1"]
    assert lines[0].get("stroke") == track_colour(0) != lines[1].get("stroke") == track_colour(1)
    track0, track1 = points(lines[0]), points(lines[1])
    xs = [x for x, _ in track0]
    assert xs == sorted(xs) and len(track0) == 3 and len(track1) == 2
    # t = 0 at the left edge, the last time (0.7 s, a whole number of 0.1 s ticks) at the right edge;
    # P(fake) 0 at the bottom, 1 at the top.
    assert track0[0] == (LEFT, pytest.approx(TOP + PLOT_H * 0.6, abs=0.05))
    assert track0[-1] == (LEFT + PLOT_W, TOP)
    assert track1[0][1] == pytest.approx(TOP + PLOT_H * 0.8, abs=0.05)
    assert len(find(root, "circle")) == 5  # a dot per sample
    ticks = [t.text for t in find(root, "text", **{"text-anchor": "middle", "font-size": "11"})]
    assert ticks == ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"]


def test_threshold_line_and_clamped_scores():
    root = svg(timeline_svg([TimelinePoint(0.0, 3, -0.5), TimelinePoint(1.0, 3, 1.7)], threshold=0.75))
    [threshold] = find(root, "line", **{"class": "threshold"})
    assert float(threshold.get("y1")) == float(threshold.get("y2")) == pytest.approx(TOP + PLOT_H * 0.25, abs=0.05)
    assert threshold.get("stroke") == THRESHOLD_COLOUR
    assert any(t.text == "threshold 0.75" for t in find(root, "text"))
    [(_, low), (_, high)] = points(find(root, "polyline")[0])
    assert (low, high) == (TOP + PLOT_H, TOP)  # out-of-range scores stay on the plot


def test_labels_are_escaped_and_default_to_person_n():
    timeline = [TimelinePoint(0.0, 0, 0.5), TimelinePoint(0.0, 2, 0.5)]
    text = timeline_svg(timeline, threshold=0.5, labels={0: 'Ann <script>alert("x")</script> & co'})
    assert "<script>" not in text
    legend = [g.find(f"{NS}text").text for g in find(svg(text), "g", **{"class": "legend"})]
    assert legend == ['Ann <script>alert("x")</script> & co', "person 2"]
    titles = [t.text for t in svg(text).iter(f"{NS}title")]
    assert titles[0].startswith("Ann <script>") and titles[1].startswith("person 2: t=0.00 s")


def test_many_people_wrap_the_legend_and_reuse_colours():
    timeline = [TimelinePoint(0.5, tid, 0.5) for tid in range(10)]
    root = svg(timeline_svg(timeline, threshold=0.5, width=720, height=260))
    assert len(find(root, "polyline")) == 10
    legend_rows = math.ceil(10 / ((720 - LEFT) // 180))
    assert root.get("height") == str(260 + 22 * legend_rows)
    assert track_colour(len(PALETTE)) == track_colour(0)


def test_no_points_still_draws_the_axes():
    root = svg(timeline_svg([], threshold=0.5))
    assert not find(root, "polyline") and len(find(root, "line", **{"class": "threshold"})) == 1


@pytest.mark.parametrize("score, threshold, red", [(0.8, 0.5, True), (0.5, 0.5, True), (0.49, 0.5, False),
                                                   (0.1, 0.2, False)])
def test_score_bar_colour_is_the_verdict_side(score, threshold, red):
    bar = svg(score_bar_svg(score, threshold=threshold))
    fill = find(bar, "rect")[1]
    assert (fill.get("fill") == THRESHOLD_COLOUR) is red  # at the threshold counts as fake


def test_score_bar_geometry():
    bar = svg(score_bar_svg(0.25, threshold=0.6, width=408))
    background, fill = find(bar, "rect")[:2]
    span = float(background.get("width"))
    assert span == 408 - 16 and float(fill.get("width")) == pytest.approx(span * 0.25, abs=0.05)
    [line] = find(bar, "line", **{"class": "threshold"})
    assert float(line.get("x1")) == pytest.approx(8 + span * 0.6, abs=0.05)
    assert bar.get("aria-label") == "P(fake) 0.250"
    over = svg(score_bar_svg(1.4, threshold=0.5))
    under = svg(score_bar_svg(-0.2, threshold=0.5))
    assert float(find(over, "rect")[1].get("width")) == float(find(over, "rect")[0].get("width"))  # clamped to 1
    assert float(find(under, "rect")[1].get("width")) == 0.0
