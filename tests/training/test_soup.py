"""Model soups (``training.soup``): the mean of fine-tuned checkpoints, one net at export."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from detector.classifier import Classifier
from detector.errors import ConfigError
from training.export import export, load_checkpoint
from training.model import build_model
from training.soup import main, make_soup, soup_state
from training.train import TrainConfig

ARCH, SIZE = "mobilenetv3_small_050", 64


def _checkpoint(path, seed: int, **config) -> str:
    """A checkpoint as training writes ``best.pt``: weights and batch-norm statistics that differ per seed."""
    torch.manual_seed(seed)
    model = build_model(config.get("arch", ARCH))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
        model.train()(torch.randn(4, 3, SIZE, SIZE) * (seed + 1))  # moves the BN running statistics
    cfg = TrainConfig(**{"arch": ARCH, "align_size": SIZE, "seed": seed, **config}).to_dict()
    torch.save({"model": model.state_dict(), "config": cfg, "epoch": seed + 1, "val": {"auc": 0.5 + seed / 10}}, path)
    return str(path)


def test_soup_state_is_the_mean_of_floats_and_keeps_integer_buffers_of_the_first():
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(7)}
    out = soup_state([a, b])
    torch.testing.assert_close(out["w"], torch.tensor([2.0, 4.0]))
    assert int(out["n"]) == 3 and out["w"].dtype == torch.float32
    with pytest.raises(ValueError):
        soup_state([])


def test_soup_of_two_checkpoints_exports_as_one_net(tmp_path):
    paths = [_checkpoint(tmp_path / f"{s}.pt", s) for s in (0, 1)]
    soup = make_soup(paths)
    a, b = (torch.load(p, weights_only=False)["model"] for p in paths)
    for key in ("conv_stem.weight", "bn1.running_mean", "bn1.running_var", "classifier.weight"):
        torch.testing.assert_close(soup["model"][key], (a[key] + b[key]) / 2)
    assert torch.equal(soup["model"]["bn1.num_batches_tracked"], a["bn1.num_batches_tracked"])
    assert [i["seed"] for i in soup["soup"]] == [0, 1] and [i["epoch"] for i in soup["soup"]] == [1, 2]
    assert all(len(i["sha256"]) == 64 for i in soup["soup"]) and soup["soup"][1]["val_auc"] == pytest.approx(0.6)
    torch.save(soup, tmp_path / "soup.pt")
    model, config, _ = load_checkpoint(tmp_path / "soup.pt")  # loads with the first ingredient's config
    assert config.align_size == SIZE and config.seed == 0
    onnx_path, _ = export(tmp_path / "soup.pt", tmp_path / "m", name="soup")  # parity with torch checked inside
    assert Classifier.load(onnx_path).card.input_size == SIZE
    # The soup is a third model, not one of its ingredients.
    x = torch.randn(2, 3, SIZE, SIZE)
    ingredient, _, _ = load_checkpoint(paths[0])
    with torch.no_grad():
        assert not torch.allclose(model(x), ingredient(x))


@pytest.mark.parametrize("change, message", [({"align_size": 96}, "align_size"), ({"align_margin": 0.5}, "align_margin"),
                                             ({"arch": "mobilenetv3_small_075"}, "arch")])
def test_ingredients_must_share_architecture_and_input(tmp_path, change, message):
    first = _checkpoint(tmp_path / "a.pt", 0)
    other = _checkpoint(tmp_path / "b.pt", 1, **change)
    with pytest.raises(ConfigError, match=message):
        make_soup([first, other])


def test_a_soup_needs_two_ingredients_and_the_cli_says_why(tmp_path, capsys):
    one = _checkpoint(tmp_path / "a.pt", 0)
    with pytest.raises(ConfigError, match="at least two"):
        make_soup([one])
    assert main([one, "--out", str(tmp_path / "s.pt")]) == 2
    assert "at least two" in capsys.readouterr().err and not (tmp_path / "s.pt").exists()
    two = _checkpoint(tmp_path / "b.pt", 1)
    assert main([one, two, "--out", str(tmp_path / "out" / "s.pt")]) == 0
    assert len(torch.load(tmp_path / "out" / "s.pt", weights_only=False)["soup"]) == 2


def test_split_seed_fixes_the_validation_groups_across_seeds():
    assert TrainConfig(seed=3).validation_seed == 3
    assert TrainConfig(seed=3, split_seed=0).validation_seed == 0
