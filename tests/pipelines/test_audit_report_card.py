"""``deepfake audit report --format html`` opens with the same "How far to trust this model" panel as the scan
report: the analysed model's measured accuracy per family and its licence, from its card."""

from __future__ import annotations

import copy
import io
import json
import re
from dataclasses import replace

import pytest

from detector.classifier import DEFAULT_MODEL
from detector.modelcard import ModelCard
from pipelines.audit.cli import EXIT_OK, main
from pipelines.audit.ledger import Integrity, Ledger
from pipelines.audit.report import Report, load_report, render

FAST = ["--frames", "2", "--workers", "0", "--no-progress"]
LICENCE = "research-only <script>x</script> terms 5512"
FAMILY = "neural-<i>swap</i>"
FIGURES = {"n": 64, "n_fake": 29, "n_real": 35, "accuracy": 0.7187, "auc": 0.8123, "auc_95ci": [0.7011, 0.9034]}


def panel_of(page: str, html_cells):
    start = page.index('<section class="trust">')
    return html_cells(page[start:page.index("</section>", start)])


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]


def assert_row(rows: list[list[str]], name: str, figures: dict) -> None:
    (row,) = [r for r in rows if r and r[0] == name]
    assert row[1:3] == [str(figures["n_fake"]), str(figures["n_real"])]
    assert numbers(row[3]) == pytest.approx([figures["auc"], *figures["auc_95ci"]], abs=0.005 + 1e-9)
    assert numbers(row[4])[0] == pytest.approx(100 * figures["accuracy"], abs=0.5 + 1e-9)


def report(card: ModelCard | None) -> Report:
    model = {"name": "m", "version": "1", "sha256": "ab" * 32}
    return Report("audit.sqlite", {"model": model, "settings": {}}, 1, (), (), {}, 20,
                  Integrity((), 0, 0, 0, 0), card=card)


def custom_card() -> ModelCard:
    card = ModelCard.load(DEFAULT_MODEL.with_suffix(".json"))
    metrics = copy.deepcopy(card.metrics)
    metrics["eval"]["per_manipulation"] = {FAMILY: dict(FIGURES)}
    return replace(card, metrics=metrics, licence=LICENCE)


def test_audit_html_shows_the_cards_figures_and_licence(html_cells):
    page = render(report(custom_card()), "html")
    # Before any result.
    assert page.index('<section class="trust">') < page.index("Files by status") < page.index("Most suspicious")
    panel = panel_of(page, html_cells)
    text = "".join(panel.text)
    assert "How far to trust this model" in text and "Research model: not evidence on its own." in text
    assert_row(panel.rows, FAMILY, FIGURES)
    assert LICENCE in text and "<script>x" not in page and "<i>swap" not in page  # card text escaped
    assert "held-out evaluation set" in text and "optimistic" in text


def test_audit_html_without_metrics_or_card(html_cells):
    text = "".join(panel_of(render(report(replace(custom_card(), metrics={})), "html"), html_cells).text)
    assert "No measured accuracy in this model's card" in text and "AUC" not in text and LICENCE in text
    page = render(report(None), "html")
    text = "".join(panel_of(page, html_cells).text)
    assert "no measured accuracy" in text and "ab" * 32 in text and "trust-table" not in page


def test_audit_report_finds_the_bundled_card(archive, tmp_path, html_cells):
    """End to end with the bundled model: the ledger knows its sha256, the report finds and quotes its card."""
    db = tmp_path / "audit.sqlite"
    out = io.StringIO()
    main([str(archive), "--db", str(db), *FAST, "--include", "images/*"], stdout=out)
    out = io.StringIO()
    assert main(["report", "--db", str(db), "--format", "html"], stdout=out) == EXIT_OK
    page = out.getvalue()
    data = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    panel = panel_of(page, html_cells)
    families = data["metrics"]["eval"]["per_manipulation"]
    assert families
    for name, figures in families.items():
        assert_row(panel.rows, name, figures)
    assert data["licence"] in "".join(panel.text)
    assert page.index('<section class="trust">') < page.index("Files by status")
    with Ledger.open(db) as ledger, pytest.raises(ValueError, match="not the card of the analysed model"):
        load_report(ledger, card=replace(ModelCard.load(DEFAULT_MODEL.with_suffix(".json")), sha256="0" * 64))


def test_the_report_quotes_no_card_but_the_one_the_analysis_was_made_with(archive, tmp_path, html_cells):
    """v1.2.3's and v1.2.4's cards share a graph (sha256): an analysis made with another card of the bundled graph
    does not get the bundled card's figures, and naming the bundled card for it is refused."""
    old = tmp_path / "old.onnx"
    old.write_bytes(DEFAULT_MODEL.read_bytes())
    data = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    data["version"] = "1.2.3-like"
    data["scan"]["verdict"]["combine_persons"] = "max"
    old.with_suffix(".json").write_text(json.dumps(data))
    db = tmp_path / "audit.sqlite"
    main([str(archive), "--db", str(db), *FAST, "--include", "images/*", "--model", str(old)], stdout=io.StringIO())
    with Ledger.open(db) as ledger:
        assert load_report(ledger).card is None
        assert load_report(ledger, card=ModelCard.load(old.with_suffix(".json"))).card.version == "1.2.3-like"
        with pytest.raises(ValueError, match="not the card of the analysed model"):
            load_report(ledger, card=ModelCard.load(DEFAULT_MODEL.with_suffix(".json")))
    out = io.StringIO()
    assert main(["report", "--db", str(db), "--format", "html"], stdout=out) == EXIT_OK
    text = "".join(panel_of(out.getvalue(), html_cells).text)
    assert "No model card is at hand for deepfake-detector-default 1.2.3-like" in text and data["licence"] not in text
