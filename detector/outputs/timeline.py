"""Inline SVG charts for the HTML report: a per-person score timeline and a single-score bar.

Hand-written SVG instead of matplotlib: the core install stays light and the report stays one file
that needs no script, font or network to display.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from ..results import TimelinePoint

# Okabe & Ito (2008) colour-blind-safe palette; black last because the threshold line is red-ish.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
THRESHOLD_COLOUR = "#c0392b"


def track_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_step(span: float, max_ticks: int = 8) -> float:
    """The smallest 1/2/5 x 10^k step that puts at most ``max_ticks`` intervals on ``span``."""
    if span <= 0:
        return 1.0
    raw = span / max_ticks
    base = 10.0 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if base * mult >= raw:
            return base * mult
    return base * 10


def timeline_svg(points: Sequence[TimelinePoint], *, threshold: float, labels: Mapping[int, str] | None = None,
                 width: int = 720, height: int = 260) -> str:
    """Fake score over time, one polyline per person (track), with the threshold as a dashed line.

    Args:
        points: the scan's timeline (any order).
        threshold: the decision threshold drawn across the plot.
        labels: legend text per track id (default ``person <id>``); escaped here.
        width, height: the plot's size in px; the legend adds rows below.

    Returns:
        An ``<svg>`` element as text.
    """
    tracks = sorted({p.track_id for p in points})
    labels = labels or {}
    left, right, top, bottom = 48, 16, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    t_max = max((p.t for p in points), default=0.0)
    step = nice_step(t_max if t_max > 0 else 1.0)
    x_end = max(step, math.ceil(t_max / step - 1e-9) * step)

    def x(t: float) -> float:
        return left + plot_w * t / x_end

    def y(score: float) -> float:
        return top + plot_h * (1.0 - min(max(score, 0.0), 1.0))

    legend_cols = max(1, (width - left) // 180)
    legend_rows = math.ceil(len(tracks) / legend_cols)
    total_h = height + 22 * legend_rows
    out = [(f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_h}" '
            f'viewBox="0 0 {width} {total_h}" role="img" aria-label="fake score over time per person">')]
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#999"/>')
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11">{v:.2f}</text>')
    n_ticks = round(x_end / step)
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    for i in range(n_ticks + 1):
        t = i * step
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
                   f'stroke="#999"/>')
        out.append(f'<text x="{x(t):.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11">'
                   f'{t:.{decimals}f}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 32}" text-anchor="middle" font-size="12">'
               f'time (s)</text>')
    out.append(f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" font-size="12" '
               f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">P(fake)</text>')
    out.append(f'<line class="threshold" x1="{left}" x2="{left + plot_w}" y1="{y(threshold):.1f}" '
               f'y2="{y(threshold):.1f}" stroke="{THRESHOLD_COLOUR}" stroke-dasharray="6 4" stroke-width="1.5"/>')
    out.append(f'<text x="{left + plot_w - 4}" y="{y(threshold) - 4:.1f}" text-anchor="end" font-size="11" '
               f'fill="{THRESHOLD_COLOUR}">threshold {threshold:.2f}</text>')
    for k, tid in enumerate(tracks):
        colour = track_colour(k)
        mine = sorted((p for p in points if p.track_id == tid), key=lambda p: p.t)
        coords = " ".join(f"{x(p.t):.1f},{y(p.score):.1f}" for p in mine)
        out.append(f'<polyline data-track="{tid}" points="{coords}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"/>')
        # Dots as well as the line: a track seen in one sample has no line to draw.
        out.extend(f'<circle cx="{x(p.t):.1f}" cy="{y(p.score):.1f}" r="2.5" fill="{colour}">'
                   f'<title>{escape(labels.get(tid, f"person {tid}"))}: t={p.t:.2f} s, P(fake)={p.score:.3f}'
                   f'</title></circle>' for p in mine)
        lx = left + (k % legend_cols) * 180
        ly = height + 22 * (k // legend_cols) + 4
        out.append(f'<g class="legend"><rect x="{lx}" y="{ly}" width="14" height="10" fill="{colour}"/>'
                   f'<text x="{lx + 20}" y="{ly + 9}" font-size="12">{escape(labels.get(tid, f"person {tid}"))}'
                   f'</text></g>')
    out.append("</svg>")
    return "".join(out)


def score_bar_svg(score: float, *, threshold: float, width: int = 360, height: int = 44) -> str:
    """One score on a 0-1 bar with the threshold marked: the image counterpart of the timeline."""
    left, right, bar_h = 8, 8, 14
    span = width - left - right
    fill_w = span * min(max(score, 0.0), 1.0)
    colour = THRESHOLD_COLOUR if score >= threshold else "#2e7d32"
    tx = left + span * threshold
    return (f'<svg class="scorebar" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="P(fake) {score:.3f}">'
            f'<rect x="{left}" y="6" width="{span}" height="{bar_h}" fill="#eee" stroke="#999"/>'
            f'<rect x="{left}" y="6" width="{fill_w:.1f}" height="{bar_h}" fill="{colour}"/>'
            f'<line class="threshold" x1="{tx:.1f}" x2="{tx:.1f}" y1="2" y2="{6 + bar_h + 4}" '
            f'stroke="#000" stroke-dasharray="3 2"/>'
            f'<text x="{left}" y="{height - 4}" font-size="11">0</text>'
            f'<text x="{tx:.1f}" y="{height - 4}" font-size="11" text-anchor="middle">threshold {threshold:.2f}</text>'
            f'<text x="{left + span}" y="{height - 4}" font-size="11" text-anchor="end">1</text></svg>')
