"""The kind-of-fake head: its outputs, its targets, and recorded configs from before it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from detector.kinds import FAKE_KINDS
from training.config import TrainConfig
from training.crops import CachedFaces
from training.data import MediaItem
from training.dataset import FaceCropDataset
from training.model import WithKindHead, build_model, model_heads
from training.train import new_model


def test_kind_head_beside_the_real_fake_logit():
    model = build_model("mobilenetv3_small_050", kinds=3).eval()
    x = torch.randn(2, 3, 64, 64)
    logit, kinds = model_heads(model, x)
    assert logit.shape == (2,) and kinds.shape == (2, 3)
    assert torch.equal(model(x).reshape(-1), logit)  # forward stays the plain real/fake logit
    assert torch.count_nonzero(kinds) == 0  # zero-initialised: every kind equally likely at the start
    plain = build_model("mobilenetv3_small_050")
    assert not isinstance(plain, WithKindHead) and model_heads(plain.eval(), x)[1] is None


def test_recorded_configs_from_before_the_head_have_none():
    assert TrainConfig().kinds == FAKE_KINDS
    record = {k: v for k, v in TrainConfig().to_dict().items() if k != "kind_weight"}
    assert TrainConfig.from_record(record).kinds == ()
    assert TrainConfig.from_dict(record).kinds == FAKE_KINDS  # an override file: today's recipe
    with pytest.raises(Exception, match="kind_weight"):
        TrainConfig(kind_weight=-1)


def _faces(tmp_path, name: str, label: int, manipulation: str, family: str = "") -> CachedFaces:
    item = MediaItem(path=tmp_path / f"{name}.jpg", label=label, group=name, manipulation=manipulation, source="s",
                     media="image", family=family)
    crops = np.zeros((1, 32, 32, 3), np.uint8)
    return CachedFaces(item=item, crops=crops, landmarks=np.zeros((1, 5, 2), np.float32),
                       track_ids=np.zeros(1, np.int64), timestamps=np.zeros(1), scores=np.ones(1, np.float32),
                       sizes=np.full(1, 100.0, np.float32))


def test_kind_targets(tmp_path):
    items = [_faces(tmp_path, "r", 0, "none"), _faces(tmp_path, "g", 1, "stylegan2"),
             _faces(tmp_path, "l", 1, "lip-sync(Wav2Lip)"), _faces(tmp_path, "u", 1, "mystery")]
    ds = FaceCropDataset(items, size=32, sbi=True)
    targets = ds.kind_targets(FAKE_KINDS)
    by_sample = {(ds.items[s.item].item.path.stem, s.sbi): int(t) for s, t in zip(ds.samples, targets)}
    assert by_sample == {("r", False): -1, ("r", True): FAKE_KINDS.index("swap"),
                         ("g", False): FAKE_KINDS.index("synthetic"), ("l", False): FAKE_KINDS.index("reenactment"),
                         ("u", False): -1}


def test_fine_tuning_a_checkpoint_without_a_kind_head(tmp_path):
    old = build_model("mobilenetv3_small_050")
    config = TrainConfig(arch="mobilenetv3_small_050", pretrained=False)
    model = new_model(config, {"model": old.state_dict()})
    assert isinstance(model, WithKindHead)
    for key, value in old.state_dict().items():
        assert torch.equal(model.model.state_dict()[key], value)


def test_the_card_names_the_source_manifests_it_was_trained_on(tmp_path):
    from training.data.sources import read_all
    from training.default_model import source_manifests

    row = read_all()[0]
    used = [MediaItem(path=tmp_path / f"{i}.jpg", label=0 if row.label == "real" else 1, group="g",
                      manipulation="none" if row.label == "real" else row.generator, source=row.repo, media="image")
            for i in range(2)]
    other = MediaItem(path=tmp_path / "x.jpg", label=0, group="g", manipulation="none", source="MANIFEST", media="image")
    listed = source_manifests([*used, other])
    assert list(listed) == [row.repo]
    assert listed[row.repo]["files_used"] == 2 and listed[row.repo]["manifest"].startswith("training/data/sources/")
    assert len(listed[row.repo]["sha256"]) == 64


def test_the_card_names_the_source_manifests_as_of_the_pinned_commit(tmp_path):
    """A manifest that changed after the pinned commit is recorded as it was then (the recipe built its data from
    that version), not as the working tree holds it."""
    import hashlib
    import subprocess

    from training.default_model import REPO, source_manifests
    from training.recipe_data import SOURCES_COMMIT

    changed = "training/data/sources/manifests/Bernard3073__FaceSwap.csv"  # changed after the pinned commit (rows added)
    then = subprocess.run(["git", "-C", str(REPO), "show", f"{SOURCES_COMMIT}:{changed}"], check=False, capture_output=True)
    if then.returncode != 0:
        pytest.skip("a shallow clone without the pinned commit")
    item = MediaItem(path=tmp_path / "0.jpg", label=0, group="g", manipulation="none", source="Bernard3073/FaceSwap",
                     media="image")
    pinned = source_manifests([item], commit=SOURCES_COMMIT)["Bernard3073/FaceSwap"]
    assert pinned["sha256"] == hashlib.sha256(then.stdout).hexdigest() and pinned["commit"] == SOURCES_COMMIT
    today = source_manifests([item])["Bernard3073/FaceSwap"]
    assert today["sha256"] == hashlib.sha256((REPO / changed).read_bytes()).hexdigest() != pinned["sha256"]
