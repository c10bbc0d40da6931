"""The scan report's "How far to trust this model" panel (figures and licence from the model card) and the
wording of its heat maps ("where the model looked", not evidence). No ONNX inference: a stand-in classifier."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace

import numpy as np
import pytest

from detector.classifier import DEFAULT_MODEL
from detector.modelcard import ModelCard, is_research_only, measured_accuracy
from detector.outputs.report import render_report, trust_panel
from detector.results import FaceEvidence, MediaResult, ModelInfo

SIZE = 128
LICENCE = "research <i>only</i> & non-commercial: test terms 7431"
FAMILIES = {  # distinctive values, none of them in the bundled card
    "faceswap-<b>x</b>": {"n": 78, "n_fake": 37, "n_real": 41, "accuracy": 0.6389, "auc": 0.8712,
                          "auc_95ci": [0.7934, 0.9321]},
    "lipsync-zz": {"n": 8, "n_fake": 3, "n_real": 5, "accuracy": 0.375, "auc": 0.4444, "auc_95ci": [0.1357, 0.7777]},
    "one-class-family": {"n": 11, "n_fake": 11, "n_real": 0, "accuracy": 0.8181, "auc": None, "auc_95ci": None},
}
ITEMS = {"n": 97, "n_fake": 51, "n_real": 46, "accuracy": 0.6123, "auc": 0.7321, "auc_95ci": [0.6234, 0.8345]}


def default_card() -> ModelCard:
    return ModelCard.load(DEFAULT_MODEL.with_suffix(".json"))


def custom_card() -> ModelCard:
    card = default_card()
    metrics = copy.deepcopy(card.metrics)
    metrics["eval"]["per_manipulation"] = copy.deepcopy(FAMILIES)
    metrics["eval"]["item_level"] = dict(ITEMS)
    metrics["eval"]["threshold"] = 0.42
    metrics["eval"]["n_items"] = 97
    return replace(card, name="test-<model>", metrics=metrics, licence=LICENCE)


class StandIn:
    """A classifier with a card whose fake logit is the brightness of the top-right corner."""

    def __init__(self, card: ModelCard) -> None:
        self.card = card

    def logits(self, crops: np.ndarray) -> np.ndarray:
        return np.asarray(crops, np.float64)[:, 0:32, 96:128].mean(axis=(1, 2, 3)) / 255.0


def crop() -> np.ndarray:
    image = np.full((SIZE, SIZE, 3), 60, np.uint8)
    image[0:32, 96:128] = 250
    return image


def results(model: ModelInfo) -> list[MediaResult]:
    face = FaceEvidence(track_id=0, t=0.0, probability=0.91, box=(0.0, 0.0, 128.0, 128.0), crop=crop())
    return [MediaResult(path="real clip.png", media="image", verdict="fake", fake_probability=0.91, threshold=0.5,
                        reasons=("above_threshold",), model=model, evidence=(face,))]


def panel_of(html: str) -> str:
    start = html.index('<section class="trust">')
    return html[start:html.index("</section>", start) + len("</section>")]


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]


def family_rows(panel: str, html_cells) -> dict[str, list[str]]:
    rows = html_cells(panel).rows
    header = rows[0]
    assert header[:5] == ["manipulation family", "fake items", "real items", "AUC (95 % interval)", header[4]]
    return {row[0]: row for row in rows[1:]}


def assert_figures(row: list[str], figures: dict) -> None:
    """A row shows the card's counts, AUC with its interval (2 decimals) and accuracy (whole per cent)."""
    assert row[1] == str(figures["n_fake"]) and row[2] == str(figures["n_real"])
    if figures["auc"] is None:
        assert row[3] == "–"
    else:
        expected = [figures["auc"], *(figures["auc_95ci"] or [])]
        assert numbers(row[3]) == pytest.approx(expected, abs=0.005 + 1e-9)
    assert row[4].endswith("%") and numbers(row[4])[0] == pytest.approx(100 * figures["accuracy"], abs=0.5 + 1e-9)


# -- the panel ------------------------------------------------------------------------------------


def test_scan_report_shows_the_cards_figures_per_family_before_the_results(html_cells):
    card = custom_card()
    html = render_report(results(ModelInfo(card.name, card.version, card.sha256)), classifier=StandIn(card))
    # At the top: the panel comes before the summary and every result.
    assert html.index('<section class="trust">') < html.index('<section class="summary">') < html.index(
        '<section class="media"')
    panel = panel_of(html)
    text = "".join(html_cells(panel).text)
    assert "How far to trust this model" in text
    rows = family_rows(panel, html_cells)
    assert rows["faceswap-<b>x</b>"][0] == "faceswap-<b>x</b>"  # the family name is text, escaped
    assert "<b>x</b>" not in panel and "faceswap-&lt;b&gt;x&lt;/b&gt;" in panel
    for name, figures in FAMILIES.items():
        assert_figures(rows[name], figures)
    assert_figures(rows["all items"], ITEMS)
    assert html_cells(panel).rows[0][4] == "accuracy at 0.42"  # the threshold the card measured at
    # Few items, chance and a missing AUC are called out; a well-measured family is not.
    assert "only 3 fake and 5 real" in rows["lipsync-zz"][5] and "chance" in rows["lipsync-zz"][5]
    assert "no AUC" in rows["one-class-family"][5] and rows["faceswap-<b>x</b>"][5] == ""
    # Which set: the held-out eval set; the validation figures (training sources) are named optimistic, not shown.
    assert "held-out evaluation set" in text and "97 items" in text
    assert "optimistic" in text and "stylegan-ffhq-like" not in panel
    # Overall figure in words, from the card.
    assert re.search(r"labelled 61% of 97 items \(51 fake, 46 real\) correctly at threshold 0\.42", text)


def test_panel_quotes_the_licence_and_research_status(html_cells):
    card = custom_card()
    html = render_report([], classifier=StandIn(card))
    panel = panel_of(html)
    text = "".join(html_cells(panel).text)
    assert "Research model: not evidence on its own." in text
    assert LICENCE in text and "<i>only</i>" not in html  # card text is escaped
    assert "test-<model>" not in html
    commercial = replace(card, licence="Apache-2.0")
    assert not is_research_only(commercial) and is_research_only(card)
    text = " ".join(html_cells(trust_panel(commercial)).text)
    assert "Research model" not in text and "not evidence on its own" in text.lower() and "Apache-2.0" in text


@pytest.mark.parametrize("metrics", [{}, {"eval": {}, "validation": {}}, {"eval": {"per_manipulation": {}}},
                                     {"eval": None, "notes": "exported without eval"}])
def test_a_card_without_metrics_says_so_and_shows_no_numbers(metrics, html_cells):
    card = replace(custom_card(), metrics=metrics)
    assert not measured_accuracy(card).measured
    html = render_report(results(ModelInfo(card.name, card.version, card.sha256)), classifier=StandIn(card))
    panel = panel_of(html)
    text = "".join(html_cells(panel).text)
    assert "No measured accuracy in this model's card" in text
    assert "trust-table" not in panel and "%" not in panel and "AUC" not in panel
    assert LICENCE in text  # the licence is still quoted


def test_validation_only_card_is_flagged_optimistic(html_cells):
    card = custom_card()
    metrics = {"validation": copy.deepcopy(card.metrics["eval"])}
    panel = trust_panel(replace(card, metrics=metrics))
    text = "".join(html_cells(panel).text)
    assert "only a validation split of the model's own training sources" in text and "optimistic" in text
    assert "held-out" not in text
    assert_figures(family_rows(panel, html_cells)["faceswap-<b>x</b>"], FAMILIES["faceswap-<b>x</b>"])


def test_bundled_card_figures_without_a_classifier(html_cells):
    """Written without a classifier, the report finds the bundled card by sha256 and shows its eval figures."""
    data = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    model = ModelInfo(data["name"], data["version"], data["sha256"])
    panel = panel_of(render_report(results(model)))
    rows = family_rows(panel, html_cells)
    families = data["metrics"]["eval"]["per_manipulation"]
    assert families and set(families) <= set(rows)
    for name, figures in families.items():
        assert_figures(rows[name], figures)
    assert data["licence"] in " ".join(html_cells(panel).text)
    # An unknown model: no card at hand, so no numbers.
    panel = panel_of(render_report(results(replace(model, sha256="0" * 64))))
    text = "".join(html_cells(panel).text)
    assert "no measured accuracy" in text and "trust-table" not in panel and "0" * 64 in text


# -- heat map wording ------------------------------------------------------------------------------


def test_heat_map_is_where_the_model_looked_not_evidence(html_cells):
    card = custom_card()
    html = render_report(results(ModelInfo(card.name, card.version, card.sha256)), classifier=StandIn(card))
    media = html[html.index('<section class="media"'):]
    assert "where the model looked" in media.lower()
    heatmaps = re.findall(r'<img class="heatmap" src="data:image/jpeg;base64,[^"]+" alt="([^"]*)"', media)
    assert heatmaps and all(alt.startswith("where the model looked") for alt in heatmaps)
    heading = re.search(r"<h3>([^<]*looked[^<]*)</h3>", media).group(1)
    assert "suspicious" not in heading.lower()
    text = " ".join(html_cells(media).text).lower()
    assert "drive this model's score" in text
    # Never claimed as evidence: each mention of "evidence" is a denial.
    mentions = re.findall(r"(\w+) evidence", text)
    assert mentions and set(mentions) == {"not"}
    assert "occlusion heat map" not in html and "most suspicious" not in html.lower()
