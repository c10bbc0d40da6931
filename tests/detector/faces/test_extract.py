from __future__ import annotations

import numpy as np
import pytest

from detector import FaceConfig, FaceExtractor, Frame
from detector.faces.align import AlignSpec
from detector.faces.extract import drop_short_tracks
from detector.faces.track import box_iou
from detector.recipe import DetectionSpec, SamplingSpec


@pytest.fixture(scope="module")
def extractor() -> FaceExtractor:
    return FaceExtractor()


def test_demo_clip_gives_one_track_through_every_frame(extractor, demo_clip):
    result = extractor.extract(demo_clip, sampling=SamplingSpec(frames=16))
    assert result.media.kind == "video" and result.n_frames == 16
    assert len(result.faces) == 16 and len(result.tracks) == 1
    assert result.tracks[0].n_faces == 16
    times = [f.timestamp for f in result.faces]
    assert times == sorted(times) and len(set(times)) == 16
    for f in result.faces:
        assert f.crop.shape == (224, 224, 3) and f.crop.dtype == np.uint8
        x1, y1, x2, y2 = f.box
        assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
        q = f.quality
        assert q.score >= 0.9 and 0.0 <= q.frontalness <= 1.0 and q.sharpness > 0 and q.size_px > 40
    assert set(result.timings) >= {"decode", "detect", "align", "total"}
    d = result.to_dict()
    assert d["n_faces"] == 16 and d["tracks"][0]["n_faces"] == 16 and "crop" not in d["faces"][0]
    # The person as a scan reports it, before classification: the scan's keys, no probability yet.
    track = result.tracks[0]
    assert (track.first_time, track.last_time) == (times[0], times[-1]) and track.fake_probability is None
    assert track.box == max(result.faces, key=lambda f: f.quality.size_px).box
    assert list(d["tracks"][0]) == ["track_id", "first_time", "last_time", "n_faces", "fake_probability", "box",
                                    "mean_size_px", "kind", "kind_probability"]
    assert d["tracks"][0]["kind"] is None and d["tracks"][0]["kind_probability"] is None


def test_still_image(extractor, tmp_path, astronaut):
    import cv2

    path = tmp_path / "a.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    result = extractor.extract(path)
    assert result.media.kind == "image" and result.n_frames == 1
    assert len(result.faces) == 1 and result.faces[0].track_id == 0


def test_no_face_gives_empty_result_not_none(extractor, tmp_path, video_writer):
    path = video_writer(tmp_path / "blank.mp4", [np.full((120, 160, 3), 90, np.uint8)] * 10)
    result = extractor.extract(path)
    assert result.faces == () and result.tracks == () and result.n_frames == 10


def test_downscaled_detection_maps_back_to_full_resolution(astronaut):
    big = np.ascontiguousarray(np.kron(astronaut, np.ones((3, 3, 1), np.uint8)))  # 1536 x 1536
    frame = [Frame(0, 0.0, big)]
    full = FaceExtractor(FaceConfig(DetectionSpec(detect_long_side=0))).extract_frames(frame)
    small = FaceExtractor(FaceConfig(DetectionSpec(detect_long_side=512))).extract_frames(frame)
    assert len(full) == len(small) == 1
    assert box_iou(np.array([full[0].box]), np.array([small[0].box]))[0, 0] > 0.85
    assert np.abs(np.array(full[0].landmarks) - np.array(small[0].landmarks)).max() < 12


def test_crop_spec_is_configurable(demo_clip):
    ex = FaceExtractor(FaceConfig(align=AlignSpec(size=112, margin=0.1)))
    result = ex.extract(demo_clip, sampling=SamplingSpec(frames=2))
    assert result.faces[0].crop.shape == (112, 112, 3)


def test_facenet_backend_gives_the_same_faces(demo_clip):
    pytest.importorskip("facenet_pytorch")
    # Full detection on every frame: facenet-pytorch has no ``refine`` (tracking-guided frames).
    a = FaceExtractor(FaceConfig(DetectionSpec(redetect_every=1), backend="onnx")).extract(demo_clip, sampling=SamplingSpec(frames=4))
    b = FaceExtractor(FaceConfig(backend="facenet")).extract(demo_clip, sampling=SamplingSpec(frames=4))
    assert len(a.faces) == len(b.faces) == 4
    for fa, fb in zip(a.faces, b.faces):
        np.testing.assert_allclose(fa.box, fb.box, atol=0.5)
        np.testing.assert_allclose(fa.landmarks, fb.landmarks, atol=0.5)


def test_unknown_backend_suggests_a_name():
    from detector.errors import ConfigError

    with pytest.raises(ConfigError, match="did you mean 'onnx'"):
        FaceExtractor(FaceConfig(backend="onxx"))


def test_short_tracks_are_dropped_and_ids_renumbered(extractor, demo_clip):
    faces = list(extractor.extract(demo_clip, sampling=SamplingSpec(frames=4)).faces)
    from dataclasses import replace

    noisy = faces[:2] + [replace(faces[2], track_id=7)] + [replace(f, track_id=3) for f in faces[2:]]
    kept, dropped = drop_short_tracks(noisy, n_frames=4, min_faces=2)
    assert dropped == 1 and {f.track_id for f in kept} == {0, 1}
    # A single still image keeps its single face.
    kept, dropped = drop_short_tracks(faces[:1], n_frames=1, min_faces=2)
    assert len(kept) == 1 and dropped == 0


@pytest.mark.data
@pytest.mark.slow
def test_real_eval_clips_give_one_track_per_person(shared_data):
    # Every real eval clip shows one person, except the DeepFaceLive demo with two people side by side.
    persons = {"dfl_Ava_de_Addario_0_L_real.mp4": 2}
    extractor = FaceExtractor()
    clips = sorted((shared_data / "eval" / "videos" / "real").glob("*.mp4"))
    assert clips
    for clip in clips:
        result = extractor.extract(clip)
        assert len(result.tracks) == persons.get(clip.name, 1), (clip.name, result.tracks)
        for track in result.tracks:
            assert track.n_faces >= 0.9 * result.n_frames, (clip.name, track)
