"""The HTML report of a scan: one self-contained file to read, archive or mail.

Per input: the verdict, the fake probability against the threshold, the reasons (or the error), a score
timeline per person (inline SVG; a score bar for images), and the most suspicious faces beside an
occlusion heat map of the regions that drive their score (:mod:`detector.occlusion`). A header names the
model and the run date; a summary table at the top links to each input.

Everything is inline (CSS, SVG, images as ``data:`` URIs) and a Content-Security-Policy forbids anything
else, so the file opens offline and cannot call out. All text that comes from the user or the media (file
names, error messages) is HTML-escaped.

Example:
    >>> results = [detector.scan(p, evidence=4) for p in paths]  # doctest: +SKIP
    >>> write_report(results, "report.html", classifier=detector.classifier)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import os
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import cv2
import numpy as np

from .classifier import Classifier
from .modelcard import Calibration
from .occlusion import occlusion_map, overlay_heatmap
from .results import (
    ABOVE_THRESHOLD,
    BELOW_THRESHOLD,
    ERROR,
    FACES_TOO_SMALL,
    LOW_QUALITY,
    NEAR_THRESHOLD,
    NO_FACE_FOUND,
    TOO_FEW_FRAMES,
    VERDICTS,
    FaceEvidence,
    MediaResult,
)
from .timeline_svg import score_bar_svg, timeline_svg

REASON_TEXT = {
    NO_FACE_FOUND: "no face in any sampled frame",
    FACES_TOO_SMALL: "every face is smaller than the minimum size, so the score is weak evidence",
    TOO_FEW_FRAMES: "too few usable faces for a video verdict",
    LOW_QUALITY: "most faces are blurred or in profile",
    NEAR_THRESHOLD: "the probability is within the uncertain band around the threshold",
    ABOVE_THRESHOLD: "the probability is at or above the threshold",
    BELOW_THRESHOLD: "the probability is below the threshold",
    ERROR: "the file could not be scanned",
}

CSP_META = ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'\">")

# JPEG at 90: a 128 px face is ~6 kB instead of ~35 kB as PNG, with no visible loss at report size.
JPEG_QUALITY = 90

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1000px;
 padding:16px 24px;color:#222}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 6px;word-break:break-all}
table{border-collapse:collapse;margin:8px 0}th,td{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.badge{display:inline-block;border-radius:4px;padding:1px 8px;font-weight:600;color:#fff;font-size:13px}
.v-fake{background:#c0392b}.v-real{background:#2e7d32}.v-uncertain{background:#b7791f}
.v-no_face{background:#6b7280}.v-error{background:#4b2a7b}
.counts .badge{margin-right:4px}.counts span.count{margin-right:14px}
.model{background:#f6f6f6;border-radius:6px;padding:8px 12px}.model td{border:0;padding:1px 10px 1px 0}
section.media{border-top:2px solid #ddd;margin-top:22px;padding-top:14px}
.reasons li{margin:0}.error{color:#4b2a7b}
.faces{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:6px;background:#fafafa}
figure img{width:160px;height:160px;image-rendering:auto;display:inline-block}
figcaption{font-size:12px;max-width:330px}.note{color:#555;font-size:12px}
"""


def render_report(results: Sequence[MediaResult], *, classifier: Classifier | None = None,
                  title: str = "Deepfake scan report", generated: datetime | None = None,
                  occlusion_patch: float = 0.25, occlusion_stride: float = 0.125) -> str:
    """The report as one HTML document.

    Args:
        results: scan results in the order to show them; faces appear when they were scanned with
            ``evidence=k``.
        classifier: the model that produced the results; it computes the occlusion heat maps and fills the
            model card table. Without it the faces are shown without heat maps.
        title: page title.
        generated: the run date shown in the header (default: now, UTC).
        occlusion_patch, occlusion_stride: see :func:`detector.occlusion.occlusion_map`.
    """
    generated = generated or datetime.now(UTC)
    sections = [_media_section(i, r, classifier, occlusion_patch, occlusion_stride) for i, r in enumerate(results, 1)]
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        # Self-contained by construction, and enforced: only inline styles and data: images may load.
        CSP_META,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1>",
        f"<p class=\"note\">Generated {escape(generated.isoformat(timespec='seconds'))} · {len(results)} input(s)</p>",
        _model_block(results, classifier), "</header>",
        _summary(results), *sections,
        "</body></html>\n",
    ])


def write_report(results: Sequence[MediaResult], path: str | os.PathLike[str], *,
                 classifier: Classifier | None = None, title: str = "Deepfake scan report",
                 generated: datetime | None = None, occlusion_patch: float = 0.25,
                 occlusion_stride: float = 0.125) -> Path:
    """Write :func:`render_report` to ``path`` (via a temporary file, so no half-written report) and return it."""
    path = Path(path)
    text = render_report(results, classifier=classifier, title=title, generated=generated,
                         occlusion_patch=occlusion_patch, occlusion_stride=occlusion_stride)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


# -- header and summary -----------------------------------------------------------------------------


def _model_block(results: Sequence[MediaResult], classifier: Classifier | None) -> str:
    rows: list[tuple[str, str]] = []
    if classifier is not None:
        card = classifier.card
        rows += [("model", f"{card.name} {card.version}"), ("sha256", card.sha256), ("architecture", card.arch),
                 ("input", f"{card.input_size} px, alignment {card.align_spec().version}"),
                 ("calibration", _calibration_text(card.calibration)),
                 ("aggregation", str(card.aggregation.get("strategy", "mean"))), ("licence", card.licence)]
    else:
        for model in dict.fromkeys(r.model for r in results):
            rows += [("model", f"{model.name} {model.version}"), ("sha256", model.sha256)]
    thresholds = sorted({r.threshold for r in results})
    if thresholds:
        rows.append(("threshold", ", ".join(f"{t:.2f}" for t in thresholds)))
    body = "".join(f"<tr><td>{escape(k)}</td><td><code>{escape(v)}</code></td></tr>" for k, v in rows)
    return f"<table class=\"model\">{body}</table>"


def _summary(results: Sequence[MediaResult]) -> str:
    counts = Counter(r.verdict for r in results)
    badges = "".join(f"<span class=\"count\">{_badge(v)} {counts[v]}</span>" for v in VERDICTS)
    rows = []
    for i, r in enumerate(results, 1):
        note = r.error.get("code", "") if r.error else ", ".join(r.reasons)
        rows.append(f"<tr><td class=\"num\">{i}</td><td><a href=\"#media-{i}\"><code>{escape(r.path)}</code></a></td>"
                    f"<td>{_badge(r.verdict)}</td><td class=\"num\">{_prob(r.fake_probability)}</td>"
                    f"<td class=\"num\">{len(r.tracks)}</td><td>{escape(note)}</td></tr>")
    return ("<section class=\"summary\"><h2>Summary</h2>"
            f"<p class=\"counts\">{badges}</p>"
            "<table><thead><tr><th class=\"num\">#</th><th>file</th><th>verdict</th><th class=\"num\">P(fake)</th>"
            "<th class=\"num\">persons</th><th>reasons</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>")


# -- one input --------------------------------------------------------------------------------------


def _media_section(index: int, r: MediaResult, classifier: Classifier | None, patch: float, stride: float) -> str:
    parts = [f"<section class=\"media\" id=\"media-{index}\">",
             f"<h2>{index}. {_badge(r.verdict)} <code>{escape(r.path)}</code></h2>"]
    kind = escape(r.media or "unknown media")
    if r.fake_probability is not None:
        parts.append(f"<p>P(fake) <b>{_prob(r.fake_probability)}</b> vs threshold {r.threshold:.2f} · {kind} · "
                     f"{len(r.tracks)} person(s)</p>")
    else:
        parts.append(f"<p>No score · {kind}</p>")
    if r.error:
        parts.append(f"<p class=\"error\">Error <code>{escape(r.error.get('code', ''))}</code>: "
                     f"{escape(r.error.get('message', ''))}</p>")
    reasons = "".join(f"<li><code>{escape(c)}</code>: {escape(REASON_TEXT.get(c, c))}</li>" for c in r.reasons)
    parts.append(f"<ul class=\"reasons\">{reasons}</ul>")
    if r.tracks:
        parts.append(_tracks_table(r))
        labels = {t.track_id: f"person {t.track_id} · P(fake) {t.fake_probability:.3f}" for t in r.tracks}
        if r.media == "video" and r.timeline:
            parts.append(f"<h3>Score timeline</h3>{timeline_svg(r.timeline, threshold=r.threshold, labels=labels)}")
        elif r.fake_probability is not None:
            parts.append(f"<h3>Score</h3>{score_bar_svg(r.fake_probability, threshold=r.threshold)}")
    if r.evidence:
        parts.append(_evidence_block(r.evidence, classifier, patch, stride))
    parts.append("</section>")
    return "".join(parts)


def _tracks_table(r: MediaResult) -> str:
    rows = "".join(f"<tr><td>person {t.track_id}</td><td class=\"num\">{t.first_time:.2f}–{t.last_time:.2f} s</td>"
                   f"<td class=\"num\">{t.n_faces}</td><td class=\"num\">{t.mean_size_px:.0f}</td>"
                   f"<td class=\"num\">{_prob(t.fake_probability)}</td></tr>" for t in r.tracks)
    return ("<table class=\"tracks\"><thead><tr><th>person</th><th class=\"num\">seen</th><th class=\"num\">faces</th>"
            f"<th class=\"num\">face px</th><th class=\"num\">P(fake)</th></tr></thead><tbody>{rows}</tbody></table>")


def _evidence_block(evidence: Sequence[FaceEvidence], classifier: Classifier | None, patch: float,
                    stride: float) -> str:
    maps = [occlusion_map(classifier, e.crop, patch=patch, stride=stride) for e in evidence] if classifier else []
    # One colour scale per input, so its faces compare: full colour = the largest drop any patch caused.
    scale = max((m.peak for m in maps), default=0.0)
    figures = []
    for k, e in enumerate(evidence):
        label = f"person {e.track_id} at {e.t:.2f} s, P(fake) {e.probability:.3f}"
        images = f"<img class=\"face\" src=\"{_data_uri(e.crop)}\" alt=\"face: {escape(label)}\">"
        if maps:
            m = maps[k]
            images += (f"<img class=\"heatmap\" src=\"{_data_uri(overlay_heatmap(e.crop, m.heat, scale=scale))}\" "
                       f"alt=\"occlusion heat map: {escape(label)}\">")
            detail = (f"largest logit drop when a region is hidden: {m.peak:.2f}" if m.peak > 0
                      else "hiding no single region lowers the score")
        else:
            detail = "no heat map: the report was written without the classifier"
        figures.append(f"<figure>{images}<figcaption>{escape(label)}<br><span class=\"note\">{escape(detail)}"
                       "</span></figcaption></figure>")
    how = (f"Heat: how much the fake logit drops when a grey square ({patch:.0%} of the face, stride {stride:.0%}) "
           f"hides the region; full colour = {scale:.2f} (this file's largest), no colour = the region does not "
           "push towards fake.") if maps else ""
    return (f"<h3>Most suspicious faces</h3><p class=\"note\">{escape(how)}</p>"
            f"<div class=\"faces\">{''.join(figures)}</div>")


# -- small pieces -----------------------------------------------------------------------------------


def _badge(verdict: str) -> str:
    return f"<span class=\"badge v-{escape(verdict)}\">{escape(verdict)}</span>"


def _calibration_text(cal: Calibration) -> str:
    return f"{cal.method} (temperature {cal.temperature:.3g}, bias {cal.bias:.3g})"


def _prob(p: float | None) -> str:
    return "–" if p is None else f"{p:.3f}"


def _data_uri(rgb: np.ndarray) -> str:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.asarray(rgb, np.uint8), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError(f"could not encode a {np.shape(rgb)} image as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")
