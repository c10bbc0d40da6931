"""The HTML report of a scan: one self-contained file to read, archive or mail.

At the top, before any result, "How far to trust this model" (:func:`trust_panel`): the model's measured
accuracy per manipulation family as its card states it (AUC with its 95 % interval, accuracy at the
threshold, fake/real item counts, on the card's held-out evaluation set), and its licence / research-only
status; a card without metrics says so instead of showing numbers. Per input: the verdict with the kind of fake
beside it (models with a kind head), the fake probability against the threshold, the reasons (or the error), each
person's score (and kind), a score timeline per person (inline SVG; a
score bar for images), the file's provenance (what it declares about where it came from, read from its bytes:
:mod:`detector.outputs.provenance_panel`; a manifest broken after signing is flagged in the heading and the summary),
and the highest-scoring faces beside an occlusion map of where the model looked: the regions that drive its score
(:mod:`detector.outputs.occlusion`), which is not evidence of manipulation. A header names the model and the run date;
a summary table links to each input.

Everything is inline (CSS, SVG, images as ``data:`` URIs) and a Content-Security-Policy forbids anything
else, so the file opens offline and cannot call out. All text that comes from the user, the media or the model card
(file names, error messages, licence, family names, every provenance field) is HTML-escaped.

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

from ..classifier import DEFAULT_MODEL, Classifier
from ..errors import ModelIntegrityError
from ..modelcard import Calibration, MeasuredFigures, ModelCard, is_research_only, measured_accuracy
from ..results import (
    ABOVE_THRESHOLD,
    BELOW_THRESHOLD,
    DECLARED_EDITED_WITH_AI_C2PA,
    DECLARED_EDITED_WITH_AI_IPTC,
    DECLARED_SYNTHETIC_C2PA,
    DECLARED_SYNTHETIC_IPTC,
    ERROR,
    FACES_TOO_SMALL,
    GENERATOR_METADATA,
    LOW_QUALITY,
    NEAR_THRESHOLD,
    NO_FACE_FOUND,
    PROVENANCE_INVALID,
    TOO_FEW_FRAMES,
    UNFAMILIAR_FACE,
    VERDICTS,
    FaceEvidence,
    MediaResult,
    ModelInfo,
)
from .html import badge, kind_label, page
from .occlusion import occlusion_map, overlay_heatmap
from .provenance_panel import provenance_panel
from .timeline import score_bar_svg, timeline_svg

REASON_TEXT = {
    NO_FACE_FOUND: "no face in any sampled frame",
    FACES_TOO_SMALL: "every face is smaller than the minimum size, so the score is weak evidence",
    TOO_FEW_FRAMES: "too few usable faces for a video verdict",
    LOW_QUALITY: "most faces are blurred or in profile",
    NEAR_THRESHOLD: "the probability is within the uncertain band around the threshold",
    ABOVE_THRESHOLD: "the probability is at or above the threshold",
    BELOW_THRESHOLD: "the probability is below the threshold",
    UNFAMILIAR_FACE: ("the score is above the threshold, but the deciding person's faces are unlike what the model "
                      "was trained and calibrated on, so it abstains"),
    ERROR: "the file could not be scanned",
    DECLARED_SYNTHETIC_C2PA: "the file's intact C2PA manifest declares that a generative model made it",
    DECLARED_SYNTHETIC_IPTC: "the file's IPTC digital source type (XMP, unsigned) declares that a generative model made it",
    DECLARED_EDITED_WITH_AI_C2PA: "the file's intact C2PA manifest declares that a generative model made part of it",
    DECLARED_EDITED_WITH_AI_IPTC: ("the file's IPTC digital source type (XMP, unsigned) declares that a generative model "
                                   "made part of it"),
    GENERATOR_METADATA: "the file carries an image generator front-end's parameters",
    PROVENANCE_INVALID: ("the file's C2PA manifest was broken after signing; the verdict is the pixels', and the "
                         "file's claims about its origin are void"),
}

# JPEG at 90: a 128 px face is ~6 kB instead of ~35 kB as PNG, with no visible loss at report size.
JPEG_QUALITY = 90

# A family measured on fewer fakes or reals than this gets a note: its interval is wide and says little.
FEW_ITEMS = 20
# Which set the card's figures were measured on: (what it is, how to read it).
SPLIT_TEXT = {
    "eval": ("the model card's labelled, held-out evaluation set", "media the model was not trained on"),
    "validation": ("only a validation split of the model's own training sources",
                   ("optimistic, since the model has seen media from the same sources; expect it to do worse on "
                    "anything else")),
}


def render_report(results: Sequence[MediaResult], *, classifier: Classifier | None = None,
                  title: str = "Deepfake scan report", generated: datetime | None = None,
                  occlusion_patch: float = 0.25, occlusion_stride: float = 0.125,
                  card: ModelCard | None = None) -> str:
    """The report as one HTML document.

    Args:
        results: scan results in the order to show them; faces appear when they were scanned with
            ``evidence=k``.
        classifier: the model that produced the results; it computes the occlusion heat maps and fills the
            model card table. Without it the faces are shown without heat maps.
        title: page title.
        generated: the run date shown in the header (default: now, UTC).
        occlusion_patch, occlusion_stride: see :func:`detector.outputs.occlusion.occlusion_map`.
        card: the model card whose measured accuracy and licence head the report (default: the classifier's;
            without a classifier, the bundled card with the results' model sha256, if there is one).
    """
    generated = generated or datetime.now(UTC)
    panels = _trust_panels(results, classifier, card)
    sections = [_media_section(i, r, classifier, occlusion_patch, occlusion_stride) for i, r in enumerate(results, 1)]
    return page(title, [
        f"<header><h1>{escape(title)}</h1>",
        f"<p class=\"note\">Generated {escape(generated.isoformat(timespec='seconds'))} · {len(results)} input(s)</p>",
        _model_block(results, classifier), "</header>",
        # Before any result: how far the model's verdicts can be trusted, from its card.
        *panels, _summary(results), *sections,
    ])


def write_report(results: Sequence[MediaResult], path: str | os.PathLike[str], *,
                 classifier: Classifier | None = None, title: str = "Deepfake scan report",
                 generated: datetime | None = None, occlusion_patch: float = 0.25,
                 occlusion_stride: float = 0.125, card: ModelCard | None = None) -> Path:
    """Write :func:`render_report` to ``path`` (via a temporary file, so no half-written report) and return it."""
    path = Path(path)
    text = render_report(results, classifier=classifier, title=title, generated=generated,
                         occlusion_patch=occlusion_patch, occlusion_stride=occlusion_stride, card=card)
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
                 ("input", f"{card.input_size} px, alignment {card.scan.align.version}"),
                 ("calibration", _calibration_text(card.calibration)),
                 ("aggregation", card.scan.aggregation.strategy), ("licence", card.licence)]
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
    badges = "".join(f"<span class=\"count\">{badge(v)} {counts[v]}</span>" for v in VERDICTS)
    rows = []
    for i, r in enumerate(results, 1):
        note = r.error.get("code", "") if r.error else ", ".join(r.reasons)
        rows.append(f"<tr><td class=\"num\">{i}</td><td><a href=\"#media-{i}\"><code>{escape(r.path)}</code></a></td>"
                    f"<td>{badge(r.verdict)}{kind_label(r.kind, r.kind_probability)}</td>"
                    f"<td>{_provenance_cell(r)}</td><td class=\"num\">{_prob(r.fake_probability)}</td>"
                    f"<td class=\"num\">{len(r.tracks)}</td><td>{escape(note)}</td></tr>")
    return ("<section class=\"summary\"><h2>Summary</h2>"
            f"<p class=\"counts\">{badges}</p>"
            "<table><thead><tr><th class=\"num\">#</th><th>file</th><th>verdict</th><th>provenance</th>"
            "<th class=\"num\">P(fake)</th>"
            "<th class=\"num\">persons</th><th>reasons</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>")


# -- how far to trust the model ---------------------------------------------------------------------


def trust_panel(card: ModelCard | None, *, model: ModelInfo | None = None) -> str:
    """The "How far to trust this model" panel: every figure and word about the model comes from ``card``.

    Shows the measured accuracy per manipulation family (``metrics.eval.per_manipulation``; the validation
    split of the training sources only when the card has no eval set, flagged as optimistic), the set it was
    measured on, and the licence / research-only status. A card without metrics, or no card at all (``card``
    ``None``; ``model`` then names the model), says there is no measured accuracy instead of showing numbers.
    Also used by the audit report (:mod:`pipelines.audit.report`).
    """
    parts = ["<section class=\"trust\"><h2>How far to trust this model</h2>"]
    if card is None:
        who = f"{model.name} {model.version} (sha256 {model.sha256})" if model else "the model"
        parts.append(f"<p class=\"trust-status\"><b>Not evidence on its own.</b> No model card is at hand for "
                     f"{escape(who)}, so there is no measured accuracy to show and no licence to quote: treat its "
                     "verdicts as unmeasured.</p></section>")
        return "".join(parts)
    status = "Research model: not evidence on its own." if is_research_only(card) else "Not evidence on its own."
    parts.append(f"<p class=\"trust-status\"><b>{escape(status)}</b> A verdict is this model's score against a "
                 "threshold, not a finding; confirm it by other means before acting on it. Licence in the model "
                 f"card: <q>{escape(str(card.licence))}</q>.</p>")
    acc = measured_accuracy(card)
    if not acc.measured:
        parts.append("<p><b>No measured accuracy in this model's card</b>: nothing in it says how often its verdicts "
                     "are right, so none is shown here.</p></section>")
        return "".join(parts)
    threshold = "–" if acc.threshold is None else f"{acc.threshold:.2f}"
    items = "" if acc.n_items is None else f" ({acc.n_items} items" + (
        f", {acc.n_no_face} without a face" if acc.n_no_face else "") + ")"
    name, how = SPLIT_TEXT[acc.split]
    parts.append(f"<p>Measured on <b>{escape(name)}</b>{escape(items)}: {escape(how)}.</p>")
    headline = next((f for f in acc.overall if f.name == "all items"), None)
    if headline is not None and headline.accuracy is not None:
        parts.append(f"<p>Overall it labelled <b>{_pct(headline.accuracy)}</b> of {escape(_counts(headline))} "
                     f"correctly at threshold {threshold}; AUC {escape(_auc(headline))}.</p>")
    rows = [_trust_row(f, note=True) for f in acc.families]
    if not rows:
        rows.append("<tr><td colspan=\"6\">the card gives no figures per manipulation family</td></tr>")
    rows += [_trust_row(f, label=f"<i>{escape(f.name)}</i>") for f in acc.overall]
    parts.append("<table class=\"trust-table\"><thead><tr><th>manipulation family</th><th class=\"num\">fake items"
                 "</th><th class=\"num\">real items</th><th class=\"num\">AUC (95 % interval)</th>"
                 f"<th class=\"num\">accuracy at {threshold}</th><th>note</th></tr></thead>"
                 f"<tbody>{''.join(rows)}</tbody></table>")
    notes = [("AUC: how often a fake scores above a real item (0.5 = a coin toss, 1 = always). Accuracy: the share "
              "of items labelled right at the threshold. Manipulations not listed were not measured: how the model "
              "does on them is unknown.")]
    if "validation" in acc.other_splits:
        notes.append("The card's validation figures come from a split of the training sources; they are "
                     "optimistic and not shown.")
    parts.append(f"<p class=\"note\">{escape(' '.join(notes))}</p></section>")
    return "".join(parts)


def bundled_card(sha256: str) -> ModelCard | None:
    """The card of a model bundled with the library (``detector/models/*/``) whose sha256 is ``sha256``."""
    for path in sorted(DEFAULT_MODEL.parent.parent.glob("*/*.json")):
        try:
            card = ModelCard.load(path)
        except ModelIntegrityError:
            continue
        if card.sha256 == sha256:
            return card
    return None


def _trust_panels(results: Sequence[MediaResult], classifier: Classifier | None, card: ModelCard | None) -> list[str]:
    if card is None and classifier is not None:
        card = classifier.card
    if card is not None:
        return [trust_panel(card)]
    models = list(dict.fromkeys(r.model for r in results))
    if not models:
        return [trust_panel(None)]
    return [trust_panel(bundled_card(m.sha256), model=m) for m in models]


def _trust_row(f: MeasuredFigures, *, label: str | None = None, note: bool = False) -> str:
    warn = ""
    if note:
        few = [f"{n} {what}" for n, what in ((f.n_fake, "fake"), (f.n_real, "real")) if n is not None and n < FEW_ITEMS]
        warns = [f"only {' and '.join(few)}: little to go on"] if few else []
        if f.auc is None:
            warns.append("no AUC in the card")
        elif f.auc_95ci is not None and f.auc_95ci[1] < 0.5:
            warns.append("the interval is below 0.5: worse than chance")
        elif f.auc_95ci is not None and f.auc_95ci[0] <= 0.5:
            warns.append("the interval includes 0.5: possibly no better than chance")
        warn = "; ".join(warns)
    return (f"<tr><td>{label or escape(f.name)}</td><td class=\"num\">{_n(f.n_fake)}</td>"
            f"<td class=\"num\">{_n(f.n_real)}</td><td class=\"num\">{escape(_auc(f))}</td>"
            f"<td class=\"num\">{_pct(f.accuracy)}</td><td class=\"warn\">{escape(warn)}</td></tr>")


def _auc(f: MeasuredFigures) -> str:
    if f.auc is None:
        return "–"
    return f"{f.auc:.2f}" + ("" if f.auc_95ci is None else f" ({f.auc_95ci[0]:.2f}–{f.auc_95ci[1]:.2f})")


def _counts(f: MeasuredFigures) -> str:
    counts = [f"{n} {what}" for n, what in ((f.n_fake, "fake"), (f.n_real, "real")) if n is not None]
    return f"{_n(f.n)} items" + (f" ({', '.join(counts)})" if counts else "")


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def _n(n: int | None) -> str:
    return "–" if n is None else str(n)


# -- one input --------------------------------------------------------------------------------------


def _media_section(index: int, r: MediaResult, classifier: Classifier | None, patch: float, stride: float) -> str:
    parts = [f"<section class=\"media\" id=\"media-{index}\">",
             (f"<h2>{index}. {badge(r.verdict)}{kind_label(r.kind, r.kind_probability)}{_broken_flag(r)} "
              f"<code>{escape(r.path)}</code></h2>")]
    kind = escape(r.media or "unknown media")
    if r.fake_probability is not None:
        parts.append(f"<p>P(fake) <b>{_prob(r.fake_probability)}</b> vs threshold {r.threshold:.2f} · {kind} · "
                     f"{len(r.tracks)} person(s)</p>")
        if r.kind is not None:
            parts.append(f"<p class=\"kind-of-fake\">Kind of fake: <b>{escape(r.kind)}</b> ({_kind_source(r)})</p>")
    else:
        parts.append(f"<p>No score · {kind}</p>")
        if r.kind is not None:  # a declared fake without a face: the declaration named the kind
            parts.append(f"<p class=\"kind-of-fake\">Kind of fake: <b>{escape(r.kind)}</b> ({_kind_source(r)})</p>")
    if r.error:
        parts.append(f"<p class=\"error\">Error <code>{escape(r.error.get('code', ''))}</code>: "
                     f"{escape(r.error.get('message', ''))}</p>")
    reasons = "".join(f"<li><code>{escape(c)}</code>: {escape(REASON_TEXT.get(c, c))}</li>" for c in r.reasons)
    parts.append(f"<ul class=\"reasons\">{reasons}</ul>")
    parts.append(provenance_panel(r.provenance))
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
    # The kind column only for a model with a kind head (then every person has one): P(kind | fake) per person.
    kinds = any(t.kind is not None for t in r.tracks)
    rows = "".join(f"<tr><td>person {t.track_id}</td><td class=\"num\">{t.first_time:.2f}–{t.last_time:.2f} s</td>"
                   f"<td class=\"num\">{t.n_faces}</td><td class=\"num\">{t.mean_size_px:.0f}</td>"
                   f"<td class=\"num\">{_prob(t.fake_probability)}</td>"
                   + (f"<td>{_kind_text(t.kind, t.kind_probability)}</td>" if kinds else "") + "</tr>"
                   for t in r.tracks)
    head = "<th>kind if fake</th>" if kinds else ""
    return ("<table class=\"tracks\"><thead><tr><th>person</th><th class=\"num\">seen</th><th class=\"num\">faces</th>"
            f"<th class=\"num\">face px</th><th class=\"num\">P(fake)</th>{head}</tr></thead><tbody>{rows}</tbody>"
            "</table>")


def _kind_source(r: MediaResult) -> str:
    if r.kind_probability is None:  # judge rule 8: a declaration of generated media names the kind, not the model
        return "named by the file's own declaration, not by the model"
    return (f"P(kind | fake) {r.kind_probability:.2f}: how sure the model is of the kind if this is a fake, not that it "
            "is one")


def _provenance_cell(r: MediaResult) -> str:
    if r.provenance is None:
        return "–"
    if r.provenance.state == "invalid_signature":
        return "<b class=\"provenance-warning\">invalid_signature</b>"
    return escape(r.provenance.state)


def _broken_flag(r: MediaResult) -> str:
    """A manifest broken after signing, flagged in the section heading: the file was altered after it was signed."""
    if r.provenance is None or r.provenance.state != "invalid_signature":
        return ""
    return "<span class=\"provenance-flag\">Content Credentials broken</span>"


def _kind_text(kind: str | None, probability: float | None) -> str:
    return "–" if kind is None or probability is None else f"{escape(kind)} ({probability:.2f})"


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
                       f"alt=\"where the model looked: {escape(label)}\">")
            detail = (f"largest logit drop when a region is hidden: {m.peak:.2f}" if m.peak > 0
                      else "hiding no single region lowers the score")
        else:
            detail = "no heat map of where the model looked: the report was written without the classifier"
        figures.append(f"<figure>{images}<figcaption>{escape(label)}<br><span class=\"note\">{escape(detail)}"
                       "</span></figcaption></figure>")
    how = ("Where the model looked: the regions that drive this model's score. A grey square "
           f"({patch:.0%} of the face, stride {stride:.0%}) hides each region in turn; the colour is how much the "
           f"fake logit drops when it is hidden: full colour = {scale:.2f} (this file's largest), no colour = the "
           "region does not push the score towards fake. It shows what the model reacts to; it is not evidence "
           "that a region was manipulated.") if maps else ""
    return (f"<h3>Highest-scoring faces and where the model looked</h3><p class=\"note\">{escape(how)}</p>"
            f"<div class=\"faces\">{''.join(figures)}</div>")


# -- small pieces -----------------------------------------------------------------------------------


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
