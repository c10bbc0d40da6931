"""``degrade_before_blend``: the old-photo treatment moves from the augmentation to before self-blending, so a
self-blended fake's traces lie over the treated face instead of being blurred away with it."""

from __future__ import annotations

import numpy as np
import pytest

from detector.errors import ConfigError
from detector.faces.align import AlignSpec, alignment_matrix, transform_points
from detector.faces.extract import FaceExtractor
from detector.media import Frame
from training.augment import build_old_photo
from training.crops import CachedFaces
from training.data.items import MediaItem
from training.dataset import FaceCropDataset
from training.train import TrainConfig, augment_config, pre_blend_transform


@pytest.fixture(scope="module")
def real_face(astronaut, tmp_path_factory) -> CachedFaces:
    [f] = FaceExtractor().extract_frames([Frame(0, 0.0, astronaut)])
    lm = transform_points(np.asarray(f.landmarks), alignment_matrix(np.asarray(f.landmarks), AlignSpec()))
    item = MediaItem(tmp_path_factory.mktemp("faces") / "real.png", 0, "real", "none", "src", "image")
    return CachedFaces(item=item, crops=f.crop[None], landmarks=lm[None].astype(np.float32),
                       track_ids=np.zeros(1, np.int64), timestamps=np.zeros(1), scores=np.ones(1),
                       sizes=np.array([float(f.crop.shape[0])], np.float32))


def test_the_treatment_moves_out_of_the_augmentation_when_it_goes_before_blending():
    inside = TrainConfig(augment_degrade=0.3)
    before = TrainConfig(augment_degrade=0.3, degrade_before_blend=True)
    assert augment_config(inside).p_degrade == 0.3 and pre_blend_transform(inside) is None
    assert augment_config(before).p_degrade == 0.0 and pre_blend_transform(before) is not None
    with pytest.raises(ConfigError, match="augment_degrade"):
        TrainConfig(degrade_before_blend=True)


def test_every_crop_is_treated_before_it_is_blended(real_face):
    seen: list[np.ndarray] = []

    def record(*, image: np.ndarray) -> dict[str, np.ndarray]:
        seen.append(image.copy())
        return {"image": 255 - image}  # an unmistakable treatment

    ds = FaceCropDataset([real_face], size=224, faces_per_item=1, sbi=True, pre_blend=record)
    plain = FaceCropDataset([real_face], size=224, faces_per_item=1, sbi=True)
    assert [s.sbi for s in ds.samples] == [False, True]
    real, fake = ds.image(0), ds.image(1)
    # The treatment sees the cached crop itself, for the real and for its self-blended fake: never a blend.
    assert len(seen) == 2 and all(np.array_equal(s, real_face.crops[0]) for s in seen)
    assert np.array_equal(real, 255 - real_face.crops[0])
    # The fake is the blend of the treated crop: closer to the treated real than to the untreated blend.
    assert np.abs(fake.astype(int) - real).mean() < np.abs(fake.astype(int) - plain.image(1)).mean()


def test_old_photo_alone_treats_every_crop_at_one_and_none_at_zero(real_face):
    crop = real_face.crops[0]
    treat = build_old_photo(1.0)
    outs = [treat(image=crop)["image"] for _ in range(10)]
    assert all(o.shape == crop.shape and o.dtype == np.uint8 and not np.array_equal(o, crop) for o in outs)
    assert np.array_equal(build_old_photo(0.0)(image=crop)["image"], crop)
