"""FGSM / PGD on a small torch classifier: budgets hold, the attack pushes the right way, PGD beats FGSM."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from detector.modelcard import Calibration
from training.robustness.attacks import Attack, evaluate, logits, perturb


class Brightness(torch.nn.Module):
    """Logit = 8 * (mean brightness - 0.5), in the model's normalised input: a model one can reason about."""

    def forward(self, x):  # x normalised with mean = std = 0.5: pixel = x * 0.5 + 0.5
        return (8.0 * ((x * 0.5 + 0.5).mean(dim=(1, 2, 3)) - 0.5)).unsqueeze(1)


@pytest.fixture
def crops():
    rng = np.random.default_rng(0)
    bright = rng.integers(135, 145, (6, 16, 16, 3)).astype(np.uint8)  # "fake": logit ~ +0.3
    dark = rng.integers(110, 120, (6, 16, 16, 3)).astype(np.uint8)  # "real": logit ~ -0.4
    return np.concatenate([bright, dark]), np.array([1] * 6 + [0] * 6)


def test_the_budget_holds_and_pixels_stay_in_range(crops):
    x, y = crops
    for attack in (Attack.fgsm(4), Attack(eps=4, steps=5)):
        adv = perturb(Brightness(), x, y, attack)
        assert adv.dtype == np.uint8 and adv.shape == x.shape
        assert np.abs(adv.astype(int) - x).max() <= 4 + 1  # eps, plus rounding to uint8


def test_attacks_push_each_crop_away_from_its_label(crops):
    x, y = crops
    model = Brightness()
    before = logits(model, x)
    after = logits(model, perturb(model, x, y, Attack.fgsm(8)))
    assert (after[y == 1] < before[y == 1]).all()  # evasion: fakes look more real
    assert (after[y == 0] > before[y == 0]).all()  # framing: reals look more fake
    assert np.array_equal(perturb(model, x, y, Attack.fgsm(0)), x)


def test_results_flip_the_model_with_enough_budget(crops):
    x, y = crops
    small, big = (evaluate(Brightness(), x, y, [Attack(eps=e, steps=5)], calibration=Calibration(), threshold=0.5)
                  for e in (0.5, 16))
    assert {r.direction for r in big} == {"evasion", "framing"}
    assert all(r.clean_accuracy == 1.0 for r in big)
    assert all(r.robust_accuracy == 0.0 and r.success_rate == 1.0 for r in big)  # 16/255 moves the mean past 0.5
    assert all(r.robust_accuracy == 1.0 for r in small)  # half a grey level cannot
    assert all(r.mean_linf <= 16 + 1 for r in big)


def test_names_and_default_step():
    assert Attack.fgsm(2).name == "fgsm-eps2" and Attack(eps=2, steps=10).name == "pgd10-eps2"
    assert Attack(eps=4, steps=10).step_size == pytest.approx(1.0)


def test_adversarial_training_batch_replaces_its_share_within_the_budget(crops):
    from training.experiments.adversarial import adversarial_batch

    x_u8, y_np = crops
    x = (torch.from_numpy(x_u8).permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.5
    y = torch.from_numpy(y_np.astype(np.float32))
    model = Brightness()
    loss_fn = torch.nn.BCEWithLogitsLoss()
    torch.manual_seed(0)
    out = adversarial_batch(model, x, y, share=0.5, eps=4.0, mean=(0.5,) * 3, std=(0.5,) * 3, loss_fn=loss_fn)
    assert out.shape == x.shape
    changed = (out - x).abs().reshape(len(x), -1).amax(dim=1) * 0.5 * 255  # back to the 0..255 scale
    assert (changed[:6] > 0).all() and (changed[6:] == 0).all()  # the first half: 6 of 12
    assert (changed <= 4.0 + 1e-3).all()
    before = torch.nn.functional.binary_cross_entropy_with_logits(model(x[:6]).reshape(-1), y[:6])
    after = torch.nn.functional.binary_cross_entropy_with_logits(model(out[:6]).reshape(-1), y[:6])
    assert after > before
    assert adversarial_batch(model, x, y, share=0.0, eps=4.0, mean=(0.5,) * 3, std=(0.5,) * 3,
                             loss_fn=loss_fn) is x


def test_n_fgsm_starts_wider_and_is_not_projected_back(crops):
    from training.experiments.adversarial import adversarial_batch

    x_u8, y_np = crops
    # Mid-grey pixels, so clamping to 0..255 cannot hide how far the perturbation went.
    x = torch.zeros((len(x_u8), 3, *x_u8.shape[1:3]))
    y = torch.from_numpy(y_np.astype(np.float32))
    model, loss_fn = Brightness(), torch.nn.BCEWithLogitsLoss()
    kw = {"share": 1.0, "eps": 4.0, "mean": (0.5,) * 3, "std": (0.5,) * 3, "loss_fn": loss_fn}
    torch.manual_seed(0)
    wide = ((adversarial_batch(model, x, y, method="n-fgsm", **kw) - x).abs() * 0.5 * 255).amax()
    torch.manual_seed(0)
    ball = ((adversarial_batch(model, x, y, method="fgsm-rs", **kw) - x).abs() * 0.5 * 255).amax()
    assert ball <= 4.0 + 1e-3  # FGSM-RS is projected into the eps ball
    assert 4.0 + 1.0 < wide <= 3 * 4.0 + 1e-3  # N-FGSM: noise up to 2 eps plus an eps step, no projection
    with pytest.raises(ValueError, match="unknown adversarial method"):
        adversarial_batch(model, x, y, method="cw", **kw)


def test_pgd_training_examples_stay_in_the_ball_and_beat_a_single_step(crops):
    from training.experiments.adversarial import adversarial_batch

    x_u8, y_np = crops
    x = (torch.from_numpy(x_u8).permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.5
    y = torch.from_numpy(y_np.astype(np.float32))
    model, loss_fn = Brightness(), torch.nn.BCEWithLogitsLoss()
    kw = {"share": 1.0, "eps": 4.0, "mean": (0.5,) * 3, "std": (0.5,) * 3, "loss_fn": loss_fn}
    torch.manual_seed(0)
    pgd = adversarial_batch(model, x, y, method="pgd", steps=5, **kw)
    assert ((pgd - x).abs() * 0.5 * 255).amax() <= 4.0 + 1e-3  # projected into the eps ball after every step
    clean = torch.nn.functional.binary_cross_entropy_with_logits(model(x).reshape(-1), y)
    attacked = torch.nn.functional.binary_cross_entropy_with_logits(model(pgd).reshape(-1), y)
    assert attacked > clean


def test_training_config_builds_adversarial_training_as_a_plug_in():
    from detector.errors import ConfigError
    from training.experiments import AdversarialTraining, build_experiments
    from training.train import TrainConfig

    config = TrainConfig(experiments={"adversarial": {"method": "n-fgsm"}})
    assert build_experiments(config.experiments) == [AdversarialTraining(method="n-fgsm")]
    with pytest.raises(ConfigError, match="method"):
        TrainConfig.from_dict({"experiments": {"adversarial": {"method": "nfgsm"}}})
    with pytest.raises(ConfigError, match="steps"):
        TrainConfig(experiments={"adversarial": {"method": "pgd", "steps": 0}})
    with pytest.raises(ConfigError, match="unknown experiments.adversarial keys"):
        TrainConfig(experiments={"adversarial": {"epsilon": 2}})
    with pytest.raises(ConfigError, match="unknown training experiments"):
        TrainConfig(experiments={"mixup": {}})
    # A run config recorded before the plug-in existed keeps meaning what it meant.
    legacy = TrainConfig.from_dict({"adversarial_share": 0.5, "adversarial_eps": 1.0, "adversarial_method": "pgd",
                                    "adversarial_steps": 3})
    assert legacy.experiments == {"adversarial": {"share": 0.5, "eps": 1.0, "method": "pgd", "steps": 3}}
    assert TrainConfig.from_dict({"adversarial_share": 0.0, "adversarial_eps": 2.0}).experiments == {}


def test_adversarial_plug_in_replaces_its_share_of_a_batch(crops):
    from training.experiments import AdversarialTraining, BatchContext

    x_u8, y_np = crops
    x = (torch.from_numpy(x_u8).permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.5
    y = torch.from_numpy(y_np.astype(np.float32))
    context = BatchContext(loss_fn=torch.nn.BCEWithLogitsLoss(), mean=(0.5,) * 3, std=(0.5,) * 3)
    torch.manual_seed(0)
    out = AdversarialTraining(share=0.25, eps=4.0).transform_batch(Brightness(), x, y, context)
    changed = (out - x).abs().reshape(len(x), -1).amax(dim=1) * 0.5 * 255
    assert (changed[:3] > 0).all() and (changed[3:] == 0).all()  # a quarter of 12
    assert (changed <= 4.0 + 1e-3).all()


def test_attacking_the_photo_changes_only_the_face_within_the_budget(astronaut, tiny_model):
    from detector.api import Detector
    from detector.media import Frame
    from training.robustness.transfer import attack_photo, transfer

    detector = Detector.load(tiny_model)
    image = np.ascontiguousarray(astronaut)
    attacked = attack_photo(detector, Brightness(), image, 1, Attack(eps=4, steps=3))
    assert attacked.shape == image.shape and attacked.dtype == np.uint8
    change = np.abs(attacked.astype(int) - image).max(axis=2)
    assert 0 < change.max() <= 4 + 1  # the budget, plus rounding; bilinear warping cannot exceed it
    ys, xs = np.nonzero(change)
    face = max(detector.faces.extract_frames([Frame(0, 0.0, image)]), key=lambda f: f.quality.size_px)
    x1, y1, x2, y2 = face.box
    side = max(x2 - x1, y2 - y1)  # the crop reaches a margin beyond the box, not across the photo
    assert xs.min() > x1 - side and xs.max() < x2 + side and ys.min() > y1 - side and ys.max() < y2 + side
    out = transfer(detector, Brightness(), image, 1, Attack(eps=4, steps=3), jpeg_quality=90)
    assert out.clean_probability is not None and out.attacked_probability is not None and out.linf > 0
    # A clean scan the caller already has is used as given, not redone (a marked copy shows which was used).
    from dataclasses import replace

    marked = replace(detector.scan_image(image), fake_probability=0.123)
    again = transfer(detector, Brightness(), image, 1, Attack(eps=4, steps=3), jpeg_quality=90, clean=marked)
    assert again.clean_probability == 0.123 and again.attacked_probability == out.attacked_probability
    assert attack_photo(detector, Brightness(), np.full((200, 300, 3), 90, np.uint8), 1, Attack.fgsm(4)) is None


def test_direction_stats_counts_each_direction_and_leaves_empty_ones_none():
    """Evasion is judged on fakes, framing on reals; success counts only items the model had right."""
    from training.robustness.attacks import direction_stats

    labels = np.array([1, 1, 1, 1, 0, 0])
    clean_right = np.array([1, 1, 1, 0, 1, 0], bool)
    robust_right = np.array([0, 1, 1, 0, 1, 0], bool)
    evasion, framing = direction_stats(labels, clean_right, robust_right)
    assert (evasion.direction, evasion.label, evasion.n, evasion.clean_accuracy, evasion.robust_accuracy) == (
        "evasion", 1, 4, 0.75, 0.5)
    assert evasion.success_rate == pytest.approx(1 / 3)
    assert (framing.n, framing.clean_accuracy, framing.robust_accuracy, framing.success_rate) == (2, 0.5, 0.5, 0.0)
    only_fakes = direction_stats(np.array([1]), np.array([False]), np.array([False]))
    assert only_fakes[0].success_rate is None  # nothing was right to begin with
    assert only_fakes[1].n == 0 and only_fakes[1].clean_accuracy is None and only_fakes[1].robust_accuracy is None
