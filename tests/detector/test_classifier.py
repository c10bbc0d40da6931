"""The ONNX classifier: loads a model with its card (sha256, normalisation, alignment, calibration all from the
card), batches crops, and refuses broken models with ``ModelIntegrityError``. Runs on the random-weights
``tiny_model``, so nothing here depends on how good the shipped model is."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

import detector.classifier as classifier_module
from detector.classifier import Classifier
from detector.errors import ModelIntegrityError
from detector.modelcard import Calibration, ModelCard
from detector.preprocess import to_input
from detector.recipe import ScanConfig


@pytest.fixture(scope="module")
def clf(tiny_model) -> Classifier:
    return Classifier.load(tiny_model)


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (7, 64, 64, 3), dtype=np.uint8)


def copy_model(tiny_model, dest, **card_changes):
    """The tiny model and its card copied to ``dest``, the card changed as asked."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(tiny_model, dest / "model.onnx")
    card = replace(ModelCard.load(tiny_model.with_suffix(".json")), **card_changes)
    card.save(dest / "model.json")
    return dest / "model.onnx"


def test_load_reads_the_card_beside_the_model(clf, tiny_model):
    assert clf.card == ModelCard.load(tiny_model.with_suffix(".json"))
    assert clf.align == clf.card.scan.align and clf.align.size == clf.card.input_size
    assert clf.path == tiny_model and "CPUExecutionProvider" in clf.providers


def test_logits_use_the_cards_normalisation(clf, tiny_model, crops):
    """Same numbers as running the ONNX file by hand on ``to_input`` with the card's mean/std (the tiny card's
    0.5/0.5, not the ImageNet defaults)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(tiny_model), providers=["CPUExecutionProvider"])
    x = to_input(crops, size=64, mean=clf.card.mean, std=clf.card.std)
    (expected,) = session.run(["logit"], {"input": x})
    logits = clf.logits(crops)
    assert logits.shape == (7,) and logits.dtype == np.float32
    np.testing.assert_allclose(logits, expected.reshape(-1), rtol=1e-5, atol=1e-6)
    assert not np.allclose(logits, session.run(["logit"], {"input": to_input(crops, size=64)})[0].reshape(-1))


@pytest.mark.parametrize("batch_size", [1, 3, 7, 100])
def test_batching_does_not_change_the_numbers(tiny_model, clf, crops, batch_size):
    small = Classifier.load(tiny_model, batch_size=batch_size)
    np.testing.assert_allclose(small.logits(crops), clf.logits(crops), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(small.logits(list(crops)), clf.logits(crops), rtol=1e-5, atol=1e-6)  # a list works


def test_crops_of_another_size_are_resized(clf, crops):
    big = np.repeat(np.repeat(crops, 2, axis=1), 2, axis=2)  # 128 px: every pixel doubled
    assert clf.logits(big).shape == (7,)
    np.testing.assert_allclose(clf.logits(big), clf.logits(crops), atol=1e-4)  # area-shrinking undoes the doubling


def test_no_crops_no_scores(clf):
    assert clf.logits(np.zeros((0, 64, 64, 3), np.uint8)).shape == (0,)
    p = clf.predict([])
    assert p.shape == (0,) and p.dtype == np.float64


def test_predict_applies_the_cards_calibration(tmp_path, tiny_model, clf, crops):
    p = clf.predict(crops)
    assert p.dtype == np.float64 and ((p > 0) & (p < 1)).all()
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-clf.logits(crops).astype(np.float64))), rtol=1e-6)
    hot = Classifier.load(copy_model(tiny_model, tmp_path, calibration=Calibration(temperature=2.0, bias=0.5)))
    np.testing.assert_allclose(hot.predict(crops), 1 / (1 + np.exp(-(clf.logits(crops) / 2.0 + 0.5))), rtol=1e-6)


def test_explicit_card_path(tmp_path, tiny_model, crops, clf):
    card = ModelCard.load(tiny_model.with_suffix(".json"))
    onnx_path = copy_model(tiny_model, tmp_path / "m", scan=ScanConfig(threshold=0.7).apply(card.scan))
    card_path = shutil.move(onnx_path.with_suffix(".json"), tmp_path / "elsewhere.json")
    with pytest.raises(ModelIntegrityError, match="cannot read model card"):
        Classifier.load(onnx_path)  # nothing beside it
    loaded = Classifier.load(onnx_path, card_path)
    assert loaded.card.scan.threshold == 0.7


def test_missing_model_is_reported_as_the_model_not_its_card(tmp_path):
    with pytest.raises(ModelIntegrityError, match="model file not found") as err:
        Classifier.load(tmp_path / "typo.onnx")
    assert err.value.path == str(tmp_path / "typo.onnx") and err.value.code == "model_integrity"


def test_a_model_that_does_not_match_its_card_is_refused(tmp_path, tiny_model):
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch"):
        Classifier.load(copy_model(tiny_model, tmp_path / "a", sha256="0" * 64))
    dest = tmp_path / "b"
    data = ModelCard.load(copy_model(tiny_model, dest).with_suffix(".json")).to_dict()
    data["scan"]["align"]["version"] = "align-v0-s64-m0.30"  # crops made by an older alignment
    (dest / "model.json").write_text(json.dumps(data))
    with pytest.raises(ModelIntegrityError, match="retrain"):
        Classifier.load(dest / "model.onnx")


def test_a_model_without_a_logit_output_is_refused(tmp_path, tiny_model):
    onnx = pytest.importorskip("onnx")
    model = onnx.load(tiny_model)
    model.graph.output[0].name = "prob"
    model.graph.node[-1].output[0] = "prob"
    path = tmp_path / "prob.onnx"
    onnx.save(model, path)
    card = replace(ModelCard.load(tiny_model.with_suffix(".json")), sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    card.save(path.with_suffix(".json"))
    with pytest.raises(ModelIntegrityError, match="no 'logit' output"):
        Classifier.load(path)


def test_default_is_the_bundled_model(monkeypatch, tmp_path, tiny_model):
    monkeypatch.setattr(classifier_module, "DEFAULT_MODEL", tmp_path / "gone" / "model.onnx")
    with pytest.raises(ModelIntegrityError, match="bundled default model is missing"):
        Classifier.default()
    monkeypatch.setattr(classifier_module, "DEFAULT_MODEL", tiny_model)
    assert Classifier.default(batch_size=2).card.name == "tiny-random-test-model"


def test_mirror_averages_each_flagged_crop_with_its_mirror_image(tiny_model, crops):
    """``mirror``: the flagged crops' logits are the mean of the crop's and its left-right mirror's, in the same
    batches as the rest; unflagged crops are untouched, whatever the batch size."""
    flags = np.array([True, False, True, True, False, False, True])
    for batch_size in (1, 3, 32):
        clf = Classifier.load(tiny_model, batch_size=batch_size)
        plain, mirrored = clf.logits(crops), clf.logits(crops[:, :, ::-1])
        mixed = clf.logits(crops, mirror=flags)
        np.testing.assert_allclose(mixed[flags], (plain[flags] + mirrored[flags]) / 2, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(mixed[~flags], plain[~flags], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(clf.logits(crops, mirror=True), (plain + mirrored) / 2, rtol=1e-5, atol=1e-6)
    # Random crops are not symmetric, so a mirror that did nothing would be seen.
    assert not np.allclose(mixed[flags], plain[flags], atol=1e-4)
    np.testing.assert_allclose(clf.predict(crops, mirror=flags), clf.card.calibration.apply(mixed), rtol=1e-6)
    assert clf.logits(np.zeros((0, 64, 64, 3), np.uint8), mirror=True).shape == (0,)
    # A list of crops of another size (resized on the way in) mirrors the same way.
    big = [np.repeat(np.repeat(c, 2, axis=0), 2, axis=1) for c in crops]
    np.testing.assert_allclose(clf.logits(big, mirror=flags), mixed, atol=1e-4)


# -- the optional heads: kind of fake and novelty ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def headed(tiny_model_builder, tmp_path_factory):
    """The tiny model with a kind head and a novelty output that varies per face."""
    return tiny_model_builder(tmp_path_factory.mktemp("headed"), kinds=True, novelty_value=1.0, novelty_spread=1.0)


def _softmax(z):
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def test_a_model_without_the_heads_scores_as_before(clf, crops):
    s = clf.score(crops)
    assert s.kind_probs is None and s.novelty is None and not clf.has_kinds and not clf.has_novelty
    np.testing.assert_array_equal(s.logits, clf.logits(crops))
    np.testing.assert_array_equal(s.probabilities, clf.predict(crops))


def test_kind_probabilities_and_novelty_come_from_the_same_run(headed, tiny_model, crops):
    """Softmax of ``kind_logits`` and ``novelty`` as the ONNX file gives them, from one run per batch; the logit head
    is the plain tiny model's (the heads do not change it)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(headed), providers=["CPUExecutionProvider"])
    clf = Classifier.load(headed, batch_size=3)
    x = to_input(crops, size=64, mean=clf.card.mean, std=clf.card.std)
    logit, kind_logits, novelty = session.run(["logit", "kind_logits", "novelty"], {"input": x})
    calls = []
    run = clf._session.run
    clf._session = type("Counting", (), {"run": lambda self, names, feed: calls.append(names) or run(names, feed)})()
    s = clf.score(crops)
    assert calls == [["logit", "kind_logits", "novelty"]] * 3  # 7 crops in batches of 3: three runs, all outputs
    assert s.kind_probs.shape == (7, 3) and s.novelty.shape == (7,)
    np.testing.assert_allclose(s.logits, logit.reshape(-1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s.kind_probs, _softmax(kind_logits.astype(np.float64)), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(s.kind_probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(s.novelty, novelty, rtol=1e-6)
    assert np.ptp(s.novelty) > 0.01  # varies per face, so the mirror test below can see averaging
    np.testing.assert_array_equal(s.logits, Classifier.load(tiny_model).logits(crops))
    part = s[2:5]
    assert len(part) == 3 and part.kind_probs.shape == (3, 3)
    np.testing.assert_array_equal(part.novelty, s.novelty[2:5])


def test_mirror_averages_kind_probabilities_and_novelty(headed, crops):
    """A mirrored face's kind is the mean of its two views' *probabilities* (not the softmax of mean logits), and
    its novelty the mean of the two novelties, whatever the batch size."""
    flags = np.array([True, False, True, True, False, False, True])
    for batch_size in (1, 3, 32):
        clf = Classifier.load(headed, batch_size=batch_size)
        plain, mirrored = clf.score(crops), clf.score(crops[:, :, ::-1])
        mixed = clf.score(crops, mirror=flags)
        np.testing.assert_allclose(mixed.kind_probs[flags], (plain.kind_probs[flags] + mirrored.kind_probs[flags]) / 2,
                                   rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(mixed.kind_probs[~flags], plain.kind_probs[~flags], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(mixed.novelty[flags], (plain.novelty[flags] + mirrored.novelty[flags]) / 2,
                                   rtol=1e-6)
        np.testing.assert_allclose(mixed.novelty[~flags], plain.novelty[~flags], rtol=1e-6)
    assert not np.allclose(mixed.kind_probs[flags], plain.kind_probs[flags], atol=1e-4)
    assert not np.allclose(mixed.novelty[flags], plain.novelty[flags], atol=1e-4)
    empty = clf.score(np.zeros((0, 64, 64, 3), np.uint8), mirror=True)
    assert empty.kind_probs.shape == (0, 3) and empty.novelty.shape == (0,)


def test_a_card_naming_kinds_needs_the_kind_output(tiny_model, tmp_path):
    from detector.kinds import FAKE_KINDS

    path = copy_model(tiny_model, tmp_path, kinds=FAKE_KINDS)
    with pytest.raises(ModelIntegrityError, match="names the kinds .* no 'kind_logits' output"):
        Classifier.load(path)


def test_a_card_that_abstains_needs_the_novelty_output(tiny_model, tmp_path):
    card = ModelCard.load(tiny_model.with_suffix(".json"))
    path = copy_model(tiny_model, tmp_path, scan=replace(card.scan, verdict=replace(card.scan.verdict, max_novelty=2.0)))
    with pytest.raises(ModelIntegrityError, match="max_novelty 2.0 but the model has no 'novelty' output"):
        Classifier.load(path)


def test_a_kind_output_the_card_does_not_name_is_not_read(headed, tmp_path, crops):
    """The card is the contract: without ``kinds`` a ``kind_logits`` output means nothing to the library."""
    clf = Classifier.load(copy_model(headed, tmp_path, kinds=()))
    assert not clf.has_kinds and clf.score(crops).kind_probs is None and clf.has_novelty
