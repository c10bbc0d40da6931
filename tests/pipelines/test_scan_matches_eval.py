"""Issue 4's "done when": ``deepfake scan ../shared/data/eval/videos/*/*.mp4 --json`` gives schema-valid lines
with real probabilities, and they are the scores ``deepfake eval`` computes for the same videos, so the
verdicts match the labels at the rate the evaluation (and detector/models/README.md) reports."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.data, pytest.mark.slow]

SCHEMA = Path(__file__).resolve().parents[2] / "detector" / "schemas" / "media_result.schema.json"


def test_scan_of_eval_videos_equals_the_evaluation(shared_data, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("sklearn")  # training.evaluate
    from detector.classifier import Classifier
    from pipelines.cli import EXIT_FAKE, EXIT_OK, main
    from training.data import load_dataset
    from training.evaluate import score_items

    items = [it for it in load_dataset(str(shared_data / "MANIFEST.csv"), split="eval") if it.media == "video"]
    assert len(items) >= 10
    out = io.StringIO()
    code = main(["scan", *(str(it.path) for it in items), "--json"], stdout=out)
    records = {Path(r["path"]).resolve(): r for r in map(json.loads, out.getvalue().splitlines())}
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for record in records.values():
        validator.validate(record)
    assert code == (EXIT_FAKE if any(r["verdict"] == "fake" for r in records.values()) else EXIT_OK)

    classifier = Classifier.default()
    threshold = classifier.card.scan.threshold
    scores = score_items(classifier, items, cache_root=tmp_path / "cache", workers=1, progress=False)
    correct = []
    for s in scores:
        record = records[Path(s.item.path).resolve()]
        assert record["error"] is None and record["verdict"] != "no_face", record["path"]
        # Same recipe, decode, faces, crops, model, calibration and judge: the same number and verdict.
        assert record["fake_probability"] == pytest.approx(s.score, abs=1e-4), record["path"]
        assert (record["verdict"], tuple(record["reasons"])) == (s.verdict, s.reasons), record["path"]
        assert record["kind"] == s.kind, record["path"]  # the same judge names the same kind (null: no kind head)
        if record["verdict"] in ("fake", "real"):
            correct.append((record["verdict"] == "fake") == bool(s.item.label))
    decided = [(s.score >= threshold) == bool(s.item.label) for s in scores
               if records[Path(s.item.path).resolve()]["verdict"] in ("fake", "real")]
    assert correct == decided  # a confident verdict is right exactly when the evaluation says so
