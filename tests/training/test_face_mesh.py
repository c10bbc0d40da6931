from __future__ import annotations

import cv2
import numpy as np
import pytest

from detector.faces.align import AlignSpec
from training.crops import CachedFaces, CropCache, CropCacheConfig
from training.data import MediaItem
from training.dataset import FaceCropDataset
from training.face_mesh import IRIS_CENTRES, MAX_EYE_ERROR, N_POINTS, ensure_meshes, eye_error, find_uv, mesh_dir
from training.synth.sbi import mesh_hull
from training.train import ConfigError, TrainConfig


def _mesh_with_irises(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    points = np.zeros((N_POINTS, 2))
    points[IRIS_CENTRES[0]], points[IRIS_CENTRES[1]] = left, right
    return points


def test_eye_error_is_relative_to_the_eye_gap_and_ignores_which_iris_is_which():
    lm = np.array([[80, 100], [140, 100], [110, 130], [88, 160], [132, 160]], float)
    assert eye_error(_mesh_with_irises(lm[0], lm[1]), lm) == 0.0
    assert eye_error(_mesh_with_irises(lm[1], lm[0]), lm) == 0.0  # MediaPipe numbers the subject's eyes
    shifted = _mesh_with_irises(lm[0] + [0, 30], lm[1] + [0, 30])  # half the 60 px eye gap
    assert eye_error(shifted, lm) == pytest.approx(0.5)


@pytest.fixture
def astronaut_cache(tmp_path, astronaut):
    img = tmp_path / "a.png"
    cv2.imwrite(str(img), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    item = MediaItem(path=img, label=0, group="a", manipulation="none", source="t", media="image")
    cache = CropCache(tmp_path / "cache", CropCacheConfig(align=AlignSpec(size=224)))
    cache.build([item], workers=1, progress=False)
    return cache, item


@pytest.mark.skipif(find_uv() is None, reason="needs uv to make MediaPipe's numpy<2 environment")
def test_ensure_meshes_adds_a_mesh_of_the_same_face(astronaut_cache):
    cache, item = astronaut_cache
    assert cache.load(item).mesh is None  # no sidecar yet
    ensure_meshes(cache.dir)  # runs MediaPipe in its own environment (uv)
    faces = cache.load(item)
    assert faces.mesh is not None and faces.mesh.shape == (1, N_POINTS, 2)
    mesh, lm = faces.mesh[0], faces.landmarks[0]
    assert np.isfinite(mesh).all()
    # The same face: its irises sit on MTCNN's eyes (measured 0.04 of the eye gap here; the build's own cut is 0.5).
    assert eye_error(mesh, lm) < MAX_EYE_ERROR / 2
    # And the mesh outline holds all five points inside it, with room to spare towards the chin and brow.
    hull = mesh_hull(mesh).astype(np.float32)
    assert all(cv2.pointPolygonTest(hull, (float(x), float(y)), True) > 5 for x, y in lm)
    # Built once: a second call finds every item meshed and leaves the file alone.
    path = mesh_dir(cache.dir) / next(mesh_dir(cache.dir).glob("*.npz")).name
    before = path.stat().st_mtime_ns
    ensure_meshes(cache.dir)
    assert path.stat().st_mtime_ns == before


def test_a_mesh_sidecar_of_another_face_count_is_refused(astronaut_cache):
    cache, item = astronaut_cache
    [face_file] = (cache.dir / "faces").glob("*.npz")
    mesh_dir(cache.dir).mkdir()
    np.savez(mesh_dir(cache.dir) / face_file.name, points=np.zeros((3, N_POINTS, 2), np.float32))
    with pytest.raises(ValueError, match="3 meshes for 1 faces"):
        cache.load(item)


def test_dataset_self_blends_through_the_mesh_only_when_asked(astronaut_cache):
    cache, item = astronaut_cache
    faces = cache.load(item)
    # A mesh much wider than the five-point ellipse, so the two masks cannot agree.
    rng = np.random.default_rng(0)
    mesh = np.stack([rng.uniform(20, 204, N_POINTS), rng.uniform(20, 204, N_POINTS)], 1)[None].astype(np.float32)
    meshed = CachedFaces(**{**faces.__dict__, "mesh": mesh})
    plain = FaceCropDataset([meshed], size=224, sbi_mesh=False)
    dense = FaceCropDataset([meshed], size=224, sbi_mesh=True)
    [k] = [i for i, s in enumerate(plain.samples) if s.sbi]
    assert not np.array_equal(plain.image(k), dense.image(k))
    assert np.array_equal(plain.image(k), FaceCropDataset([faces], size=224, sbi_mesh=True).image(k))


def test_config_refuses_an_unknown_mask_and_maps_the_known_ones():
    with pytest.raises(ConfigError, match="sbi_mask"):
        TrainConfig(sbi_mask="dlib")
    assert TrainConfig(sbi_mask="hull").sbi_config().mask_mix == TrainConfig(sbi_mask="mesh").sbi_config().mask_mix
    assert len(set(TrainConfig(sbi_mask="mixed").sbi_config().mask_mix)) == 1


def test_without_uv_the_error_names_the_extra(astronaut_cache, monkeypatch):
    from detector.errors import MissingExtraError
    from training import face_mesh

    cache, _ = astronaut_cache
    monkeypatch.setattr(face_mesh, "find_uv", lambda: None)
    with pytest.raises(MissingExtraError, match=r"deepfake-detector\[train\]"):
        face_mesh.ensure_meshes(cache.dir)
