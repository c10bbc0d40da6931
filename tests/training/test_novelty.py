"""Novelty: the fit, its score, and the graph output that computes it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.export import check_parity, export_onnx
from training.model import build_model
from training.novelty import NoveltyFit, face_batches, features_of, fit_novelty


def test_typical_training_rows_score_about_one_and_outliers_far_more():
    rng = np.random.default_rng(0)
    # Features with a few strong directions, as pooled CNN features have.
    basis = rng.standard_normal((8, 64))
    train = rng.standard_normal((2000, 8)) * [9, 7, 5, 4, 3, 2, 1, 0.5] @ basis + rng.standard_normal((2000, 64)) * 0.1
    fit = fit_novelty(train, components=8)
    assert fit.components.shape == (8, 64) and np.allclose(fit.components @ fit.components.T, np.eye(8), atol=1e-8)
    assert np.mean(fit.score(train)) == pytest.approx(1.0, rel=0.01)  # by construction: whitened, mean over k
    fresh = rng.standard_normal((500, 8)) * [9, 7, 5, 4, 3, 2, 1, 0.5] @ basis
    far = fresh + 40 * basis[-1]  # pushed along a direction training barely varies in
    assert np.median(fit.score(fresh)) < 1.5
    assert np.median(fit.score(far)) > 10


def test_too_few_rows_are_refused():
    with pytest.raises(ValueError, match="at least"):
        fit_novelty(np.zeros((10, 64)), components=8)


def test_the_exported_graph_computes_the_fit(tmp_path):
    model = build_model("mobilenetv3_small_050", kinds=3).eval()
    rng = np.random.default_rng(1)
    batches = [torch.from_numpy(rng.standard_normal((32, 3, 64, 64)).astype(np.float32)) for _ in range(3)]
    fit = fit_novelty(features_of(model, batches), components=16)
    path = export_onnx(model, tmp_path / "m.onnx", size=64, novelty=fit)
    assert check_parity(model, path, size=64, novelty=fit) <= 1e-4
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["logit", "probability", "kind_logits", "novelty"]
    broken = NoveltyFit(fit.mean + 1.0, fit.components, fit.inv_std)  # not what the graph computes
    with pytest.raises(RuntimeError, match="novelty"):
        check_parity(model, path, size=64, novelty=broken)


class _Faces:
    def __init__(self, n: int, value: int) -> None:
        self.crops = np.full((n, 8, 8, 3), value, np.uint8)

    def __len__(self) -> int:
        return len(self.crops)


def test_face_batches_spread_the_budget_over_items():
    faces = [_Faces(10, 0), _Faces(1, 100), _Faces(3, 200)]
    batches = list(face_batches(faces, size=8, mean=(0.5,) * 3, std=(0.5,) * 3, max_faces=6, batch=4))
    x = torch.cat(batches)
    assert x.shape == (6, 3, 8, 8)
    values = sorted(round(float(v), 3) for v in x[:, 0, 0, 0])
    # One face of each item (3), then a second of the two items that have one (5), then the first item's third.
    assert [values.count(round(v / 255 / 0.5 - 1, 3)) for v in (0, 100, 200)] == [3, 1, 2]


def test_choose_keeps_the_fakes_it_is_told_to():
    from training.novelty import choose_max_novelty

    sweep = [{"max_novelty": None, "real_called_fake": 0.3, "fake_called_fake": 0.8},
             {"max_novelty": 4.0, "real_called_fake": 0.2, "fake_called_fake": 0.78},
             {"max_novelty": 2.0, "real_called_fake": 0.1, "fake_called_fake": 0.6},
             {"max_novelty": 3.0, "real_called_fake": 0.2, "fake_called_fake": 0.79}]
    assert choose_max_novelty(sweep, max_fake_loss=0.05)["max_novelty"] == 4.0  # tie at 0.2: the least abstention
    assert choose_max_novelty(sweep, max_fake_loss=0.25)["max_novelty"] == 2.0
    assert choose_max_novelty(sweep, max_fake_loss=0.0)["max_novelty"] is None


def test_choose_cli_writes_the_threshold_into_the_card(tmp_path, astronaut, cameraman, tiny_model_builder, capsys):
    import json

    import cv2

    from detector.classifier import Classifier
    from training.novelty import main

    root = tmp_path / "held"
    rng = np.random.default_rng(0)
    for i in range(6):
        for label, base in (("real", astronaut), ("fake", cameraman)):
            s = rng.uniform(0.8, 1.1)
            m = np.array([[s, 0, rng.uniform(-20, 20)], [0, s, rng.uniform(-20, 20)]])
            img = cv2.warpAffine(base, m, (384, 384), borderMode=cv2.BORDER_REFLECT)
            (root / label).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / label / f"{i}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    model = tiny_model_builder(tmp_path / "m", bias=6.0, kinds=True, novelty_value=1.0, novelty_spread=3.0)
    assert main(["--model", str(model), "--data", str(root), "--cache", str(tmp_path / "cache"),
                 "--max-fake-loss", "1", "--write"]) == 0
    out = json.loads(capsys.readouterr().out.split("\nmax_novelty")[0])
    base = next(r for r in out["sweep"] if r["max_novelty"] is None)
    assert base["real_called_fake"] == 1.0  # bias 6: every face fake before abstaining
    chosen = out["chosen"]
    assert chosen["max_novelty"] is not None and chosen["real_called_fake"] < 1.0
    card = Classifier.load(model).card
    assert card.scan.verdict.max_novelty == chosen["max_novelty"] and card.recipe["abstention"]["chosen"] == chosen
