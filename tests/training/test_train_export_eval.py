"""A tiny end-to-end run: folders of real/fake images -> crop cache -> train -> export (ONNX parity) ->
classifier runtime -> evaluation report. Small enough for the normal suite (< 2 min on 2 cores)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from detector.classifier import Classifier
from detector.errors import ConfigError, ModelIntegrityError
from training.export import export
from training.train import TrainConfig, apply_overrides, train


@pytest.fixture(scope="module")
def folder_dataset(tmp_path_factory, astronaut, cameraman):
    """12 real photos (shifted/scaled astronaut and cameraman) and 12 'fakes' (same, smoothed and tinted)."""
    root = tmp_path_factory.mktemp("ds")
    rng = np.random.default_rng(0)
    for i in range(12):
        base = astronaut if i % 3 else cameraman
        s = rng.uniform(0.8, 1.1)
        m = np.array([[s, 0, rng.uniform(-30, 30)], [0, s, rng.uniform(-20, 20)]])
        real = cv2.warpAffine(base, m, (512, 512), borderMode=cv2.BORDER_REFLECT)
        fake = cv2.GaussianBlur(real, (0, 0), 2.0)
        fake = np.clip(fake.astype(int) + [25, -10, 5], 0, 255).astype(np.uint8)
        for label, img in (("real", real), ("fake", fake)):
            (root / label / f"p{i}").mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / label / f"p{i}" / f"{i}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return root


@pytest.fixture(scope="module")
def run(tmp_path_factory, folder_dataset):
    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(data=(str(folder_dataset),), data_split=None, out=str(out / "run"),
                         cache=str(out / "cache"), arch="mobilenetv3_small_050", pretrained=False, align_size=64, epochs=2,
                         batch_size=8, faces_per_item=1, val_fraction=0.3, workers=0, patience=5, seed=0, grad_clip=1.0,
                         domains={})
    summary = train(config, progress=False)
    return config, summary, out


def test_training_writes_checkpoints_config_and_log(run):
    config, summary, out = run
    run_dir = out / "run"
    assert (run_dir / "best.pt").exists() and (run_dir / "last.pt").exists()
    assert TrainConfig.load(run_dir / "config.json") == config
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in log] == [1, 2]
    assert all(np.isfinite(e["train_loss"]) for e in log)
    # Self-blended fakes are swaps: the kind head was scored on them (the folder's own fakes are of unknown kind).
    assert all(0 <= e["val"]["kind_accuracy"] <= 1 and e["val"]["kind_fakes"] > 0 for e in log)
    assert summary["epochs"] == 2 and summary["data"]["train_items"] > 0 and summary["data"]["val_items"] > 0
    # Domain balancing was on (every source its own domain): inside each, reals and fakes weigh the same.
    shares = summary["data"]["domains"]
    for domain in {k.split(":", 1)[1] for k in shares}:
        assert shares.get(f"real:{domain}", 0) == pytest.approx(shares.get(f"fake:{domain}", 0), abs=2e-4)


def test_resume_continues_from_last_checkpoint(run):
    config, _, _ = run
    more = apply_overrides(config, ["epochs=3"])
    summary = train(more, progress=False)
    assert summary["epochs"] == 3 and summary["steps"] > 0


def test_export_parity_card_and_runtime(run, folder_dataset):
    config, _, out = run
    onnx_path, card_path = export(out / "run" / "best.pt", out / "model", name="tiny", version="0.0.1")
    card = json.loads(card_path.read_text())
    assert card["input_size"] == 64 and card["scan"]["align"]["version"] == config.align_spec().version
    assert card["recipe"]["parity_max_abs_diff"] <= 1e-4
    clf = Classifier.load(onnx_path)
    crops = np.random.default_rng(0).integers(0, 255, (5, 64, 64, 3), dtype=np.uint8)
    p = clf.predict(crops)
    assert p.shape == (5,) and ((p > 0) & (p < 1)).all()
    # Same numbers as the torch model on the same preprocessing.
    from detector.preprocess import to_input
    from training.export import load_checkpoint

    model, _, _ = load_checkpoint(out / "run" / "best.pt")
    with torch.no_grad():
        ref = torch.sigmoid(model(torch.from_numpy(to_input(crops, size=64))).reshape(-1)).numpy()
    np.testing.assert_allclose(p, ref, atol=1e-4)
    # The shipped recipe trains a kind head: exported as kind_logits (N, 3), the torch head's numbers.
    import onnxruntime as ort

    from training.model import model_heads

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["logit", "probability", "kind_logits"]
    x = to_input(crops, size=64)
    (kinds,) = session.run(["kind_logits"], {"input": x})
    with torch.no_grad():
        _, ref_kinds = model_heads(model, torch.from_numpy(x))
    assert kinds.shape == (5, 3)
    np.testing.assert_allclose(kinds, ref_kinds.numpy(), atol=1e-4)
    # A corrupted file is refused at load.
    data = bytearray(onnx_path.read_bytes())
    data[-10] ^= 0xFF
    onnx_path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError):
        Classifier.load(onnx_path)


def test_evaluation_report(run, folder_dataset, tmp_path):
    from training.evaluate import main as eval_main

    _, _, out = run
    onnx_path, _ = export(out / "run" / "best.pt", tmp_path / "m", name="tiny")
    report_path = tmp_path / "report.json"
    assert eval_main(["--model", str(onnx_path), "--data", str(folder_dataset), "--cache", str(tmp_path / "c"),
                      "--out", str(report_path)]) == 0
    rep = json.loads(report_path.read_text())
    assert rep["n_items"] == 24 and rep["n_no_face"] == 0
    assert rep["image_level"]["n"] == 24 and rep["image_level"]["auc"] is not None
    assert len(rep["items"]) == 24 and all(0 <= i["score"] <= 1 for i in rep["items"])


def test_config_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="unknown"):
        TrainConfig.from_dict({"lr": 0.1, "learning_rate": 0.1})
    with pytest.raises(ConfigError):
        apply_overrides(TrainConfig(), ["nope=1"])


def test_default_model_recipe_end_to_end(run, folder_dataset, tmp_path, monkeypatch):
    """``python -m training.default_model`` (without --ship) on the tiny folder dataset: train, export, calibrate
    on validation, choose where to abstain on "held-out" data, evaluate, and a card that records it all."""
    import training.default_model as dm
    from training.default_model import main

    measured_with = []
    real_measure = dm._measure

    def measure(clf, *args, **kwargs):
        measured_with.append(clf.card.scan.verdict.max_novelty)
        return real_measure(clf, *args, **kwargs)

    monkeypatch.setattr(dm, "_measure", measure)
    config, _, _ = run
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(apply_overrides(config, [f"out={tmp_path / 'run'}", "epochs=1"]).to_dict()))
    out = tmp_path / "export"
    assert main(["--config", str(config_path), "--eval-data", str(folder_dataset), "--eval-split", "",
                 "--version", "9.9.9", "--out", str(out), "--abstain-on", str(folder_dataset)]) == 0
    clf = Classifier.load(out / "deepfake-detector-default.onnx")
    card = clf.card
    # The abstention was chosen (and written) before eval was measured: the card's verdicts are the shipped rules'.
    chosen = card.recipe["abstention"]["chosen"]
    assert card.recipe["abstention"]["data"] == [str(folder_dataset)]
    assert card.scan.verdict.max_novelty == chosen["max_novelty"] and measured_with == [chosen["max_novelty"]]
    assert len(card.recipe["abstention"]["sweep"]) > 1
    assert card.version == "9.9.9" and card.calibration.temperature > 0
    assert set(card.metrics) == {"validation", "eval"}
    assert card.metrics["eval"]["item_level"]["n"] == 24  # 12 real + 12 fake folders, all with a face
    assert card.training_data["summary"]["items"] > 0
    assert card.recipe["command"] == "python -m training.default_model"


def test_recalibrate_refits_an_exported_model_for_its_scan_recipe(run, folder_dataset, tmp_path):
    """``--recalibrate``: an exported model with a stale calibration (here a deliberately wrong temperature) and a
    changed scan recipe (mirrored images) gets the temperature a fresh fit on its card's validation groups gives,
    scored as the scan now runs; the graph is copied unchanged, the old calibration recorded, metrics refreshed."""
    from dataclasses import replace

    from detector.modelcard import Calibration, ModelCard
    from detector.recipe import ClassifySpec
    from training.crops import TRAIN_FACES_PER_FRAME
    from training.data import group_split
    from training.default_model import NAME, calibrate_on, main
    from training.evaluate import score_items
    from training.train import load_items

    config, _, out = run
    onnx_path, card_path = export(out / "run" / "best.pt", tmp_path / "stale", name="stale", version="1.0.0",
                                  calibration=Calibration(temperature=5.0))
    card = ModelCard.load(card_path)
    replace(card, scan=replace(card.scan, classify=ClassifySpec(mirror_images=True))).save(card_path)
    assert main(["--recalibrate", str(onnx_path), "--eval-data", str(folder_dataset), "--eval-split", "",
                 "--version", "1.0.1", "--out", str(tmp_path / "fresh")]) == 0

    fresh = Classifier.load(tmp_path / "fresh" / f"{NAME}.onnx").card
    val_items = group_split(load_items(config), val_fraction=config.val_fraction,
                            seed=config.validation_seed)["val"]
    expected = calibrate_on(score_items(Classifier.load(onnx_path), val_items, cache_root=config.cache,
                                        config=config.scan,
                                        max_faces_per_frame=TRAIN_FACES_PER_FRAME))
    assert fresh.calibration.temperature == pytest.approx(expected.temperature, rel=1e-6)
    assert abs(fresh.calibration.temperature - 5.0) > 0.5  # the fit moved it
    assert fresh.version == "1.0.1" and fresh.sha256 == ModelCard.load(card_path).sha256 and fresh.scan.mirror("image")
    assert fresh.recipe["recalibrated"]["previous_calibration"]["temperature"] == 5.0
    assert set(fresh.metrics) == {"validation", "eval"} and fresh.metrics["eval"]["item_level"]["n"] == 24


def test_recalibrate_changes_the_card_s_scan_recipe_first_and_records_it(run, folder_dataset, tmp_path):
    """``--scan KEY=VALUE``: how v1.2.4 was made from v1.2.3's card (``combine_persons=mean_odds``); here the other way
    round, since a card exported today already combines persons by their odds."""
    from detector.errors import ConfigError
    from detector.modelcard import ModelCard
    from training.default_model import NAME, main

    _, _, out = run
    onnx_path, card_path = export(out / "run" / "best.pt", tmp_path / "old", name="old", version="1.0.0")
    old = ModelCard.load(card_path)
    assert (old.scan.verdict.combine_persons, old.scan.verdict.min_face_px) == ("mean_odds", 40)  # TrainConfig()'s
    assert main(["--recalibrate", str(onnx_path), "--scan", "combine_persons=max", "min_face_px=64",
                 "--eval-data", str(folder_dataset), "--eval-split", "", "--version", "1.0.1",
                 "--out", str(tmp_path / "new")]) == 0
    new = Classifier.load(tmp_path / "new" / f"{NAME}.onnx").card
    assert (new.scan.verdict.combine_persons, new.scan.verdict.min_face_px) == ("max", 64)
    assert new.recipe["recalibrated"]["scan_changes"] == {"combine_persons": "max", "min_face_px": 64}
    assert "--scan combine_persons=max min_face_px=64 --version 1.0.1" in new.recipe["recalibrated"]["command"]
    assert new.scan.sampling == old.scan.sampling and new.scan.align == old.scan.align  # the rest kept
    assert ModelCard.load(card_path) == old  # the card recalibrated from is not touched
    with pytest.raises(ConfigError, match="--scan expects KEY=VALUE"):
        main(["--recalibrate", str(onnx_path), "--scan", "combine=mean_odds", "--out", str(tmp_path / "bad")])
    with pytest.raises(ConfigError, match="combine_persons"):
        main(["--recalibrate", str(onnx_path), "--scan", "combine_persons=median", "--out", str(tmp_path / "bad")])


def test_recalibrate_refuses_a_card_without_its_training_config(run, folder_dataset, tmp_path):
    from dataclasses import replace

    from detector.modelcard import ModelCard
    from training.default_model import main, recalibrate

    _, _, out = run
    onnx_path, card_path = export(out / "run" / "best.pt", tmp_path / "m", name="m")
    card = ModelCard.load(card_path)
    replace(card, recipe={k: v for k, v in card.recipe.items() if k != "train_config"}).save(card_path)
    with pytest.raises(ValueError, match="no training config"):
        recalibrate(onnx_path, eval_data=[str(folder_dataset)], eval_split="", version="1", out_dir=tmp_path / "o")
    with pytest.raises(SystemExit):  # the two ways to skip training exclude each other
        main(["--recalibrate", str(onnx_path), "--checkpoint", str(out / "run" / "best.pt")])


def test_split_seed_keeps_the_validation_groups_of_another_seed(run):
    """Several seeds of one recipe train on one validation split (``split_seed``), so their draws compare."""
    from training.train import prepare_faces

    config, _, _ = run
    def val_ids(*overrides):
        _, val, _ = prepare_faces(apply_overrides(config, list(overrides)), progress=False)
        return sorted(f.item.path for f in val)
    base = val_ids()
    assert val_ids("seed=7", "split_seed=0") == base
    assert val_ids("seed=7") != base  # without it, the seed moves the split (checked for this fixture)


def test_attack_cli_on_the_exported_model(run, folder_dataset, tmp_path):
    """``deepfake attack`` end to end: parity check of checkpoint against its export, white-box FGSM/PGD in both
    directions, and ``--transfer`` (attack the photo, re-scan, as is and after JPEG 90), all in the JSON."""
    from training.robustness.attack_cli import main as attack_main

    _, _, out = run
    onnx_path, _ = export(out / "run" / "best.pt", tmp_path / "m", name="tiny")
    result = tmp_path / "attack.json"
    assert attack_main(["--checkpoint", str(out / "run" / "best.pt"), "--model", str(onnx_path), "--data",
                        str(folder_dataset), "--eps", "8", "--steps", "2", "--cache", str(tmp_path / "c"),
                        "--transfer", "--out", str(result)]) == 0
    report = json.loads(result.read_text())
    assert report["crops"] == 24 and report["parity"] <= 1e-2
    assert {(r["attack"], r["direction"]) for r in report["results"]} == {
        (a, d) for a in ("fgsm-eps8", "pgd2-eps8") for d in ("evasion", "framing")}
    assert all(r["n"] == 12 and 0 <= r["robust_accuracy"] <= 1 for r in report["results"])
    rows = report["transfer"]
    assert {(r["jpeg"], r["direction"]) for r in rows} == {(q, d) for q in (None, 90) for d in ("evasion", "framing")}
    assert all(r["n"] == 12 and r["max_linf"] > 0 for r in rows)
    # The budget holds on the photo itself (warping a crop's change back does not enlarge it); JPEG's own error
    # comes on top of it, so rows after JPEG are not bounded by eps.
    assert all(r["max_linf"] <= 8 for r in rows if r["jpeg"] is None)


def test_quantize_cli_on_the_exported_model(run, folder_dataset, tmp_path):
    """``deepfake quantize``: calibration faces from a dataset through the model's own face stage and crop cache,
    an int8 file beside its card, loadable and recording what it was made from."""
    from pipelines.cli import main as cli_main

    _, _, out = run
    onnx_path, _ = export(out / "run" / "best.pt", tmp_path / "m", name="tiny")
    assert cli_main(["quantize", str(onnx_path), "--data", str(folder_dataset), "--split", "", "--cache",
                     str(tmp_path / "c"), "--faces", "12", "--out", str(tmp_path / "q")]) == 0
    q = Classifier.load(tmp_path / "q" / "tiny-int8.onnx")
    record = q.card.recipe["quantization"]
    assert record["calibration_faces"] == 12 and 0 <= record["max_abs_probability_change_on_them"] < 1
    assert record["float_model_sha256"] == Classifier.load(onnx_path).card.sha256


