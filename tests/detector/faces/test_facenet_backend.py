"""The ``facenet`` backend: facenet-pytorch's MTCNN behind the ``FaceDetector`` interface, its options passed
through, its object arrays and ``None``s turned into ``Detections``. Needs torch and facenet-pytorch (the
``train`` extra); its parity with the ONNX backend is in ``test_mtcnn.py``, its missing-extra error in
``test_backends.py``."""

from __future__ import annotations

import numpy as np
import pytest

from detector.faces.backends import create_detector
from detector.faces.detections import Detections


@pytest.fixture(scope="module")
def facenet():
    pytest.importorskip("torch")
    pytest.importorskip("facenet_pytorch")
    from detector.faces.facenet_backend import FacenetMTCNN

    detector = create_detector("facenet", device="cpu")
    assert isinstance(detector, FacenetMTCNN)
    return detector


def test_options_reach_facenet_pytorch():
    pytest.importorskip("facenet_pytorch")
    # The ONNX backend's own options (providers, threads) are accepted and ignored, so callers can pass
    # one set of options whatever the backend.
    detector = create_detector("facenet", device="cpu", min_face_size=48.0, thresholds=[0.5, 0.6, 0.9], factor=0.6,
                               providers=["CPUExecutionProvider"], intra_op_threads=1)
    mtcnn = detector._mtcnn
    assert detector.name == "facenet"
    assert (mtcnn.min_face_size, list(mtcnn.thresholds), mtcnn.factor, str(mtcnn.device)) == (48.0, [0.5, 0.6, 0.9],
                                                                                              0.6, "cpu")
    assert mtcnn.keep_all and mtcnn.select_largest  # every face, largest first
    with pytest.raises(TypeError, match="min_face"):
        create_detector("facenet", device="cpu", min_face=48.0)  # a misspelt option is an error, not ignored


def test_a_batch_gives_one_detections_per_image(facenet, astronaut):
    batch = [astronaut, astronaut[:, ::-1].copy(), np.full_like(astronaut, 128)]
    found = facenet.detect(batch)
    assert [type(d) for d in found] == [Detections] * 3
    assert [len(d) for d in found] == [1, 1, 0]
    for dets in found:
        assert dets.boxes.dtype == dets.scores.dtype == dets.landmarks.dtype == np.float32
    empty = found[2]
    assert empty.boxes.shape == (0, 4) and empty.landmarks.shape == (0, 5, 2)  # arrays, never None
    box, lm = found[0].boxes[0], found[0].landmarks[0]
    assert 0.9 < found[0].scores[0] <= 1.0
    assert (lm[:, 0] > box[0]).all() and (lm[:, 0] < box[2]).all() and (lm[:, 1] > box[1]).all()
    assert lm[0, 0] < lm[1, 0] and lm[0, 1] < lm[2, 1] < lm[3, 1]  # (x, y): left eye, right eye, nose, mouth
    # The mirrored photo's face is the mirror of the first.
    np.testing.assert_allclose(found[1].boxes[0, [2, 0]], astronaut.shape[1] - box[[0, 2]], atol=3)


def test_two_faces_largest_first(facenet, astronaut):
    small = astronaut[::2, ::2]
    canvas = np.full((512, 768, 3), 90, np.uint8)
    canvas[:, :512] = astronaut
    canvas[:256, 512:] = small
    [dets] = facenet.detect([canvas])
    assert len(dets) == 2
    areas = (dets.boxes[:, 2] - dets.boxes[:, 0]) * (dets.boxes[:, 3] - dets.boxes[:, 1])
    assert areas[0] > areas[1] and dets.boxes[1, 0] > 512


def test_nothing_in_nothing_out(facenet):
    assert facenet.detect([]) == []
