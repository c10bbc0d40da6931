"""Face detector backends by name: ``create_detector`` builds the named backend with its options, an unknown name
is a ``ConfigError`` with a did-you-mean hint, and ``backend_names`` lists what can be chosen."""

from __future__ import annotations

import sys

import pytest

from detector.errors import ConfigError, MissingExtraError
from detector.faces import backends
from detector.faces.backends import backend_names, create_detector
from detector.faces.mtcnn import MTCNN


def test_backend_names():
    assert backend_names() == ["facenet", "onnx"]


def test_onnx_is_the_default_and_takes_its_options():
    detector = create_detector()
    assert isinstance(detector, MTCNN) and detector.name == "onnx"
    tuned = create_detector("onnx", min_face_size=40.0, thresholds=[0.5, 0.6, 0.8], factor=0.6)
    assert tuned.name == "onnx"
    assert (tuned.config.min_face_size, tuned.config.thresholds, tuned.config.factor) == (40.0, (0.5, 0.6, 0.8), 0.6)


def test_options_reach_the_named_factory(monkeypatch):
    calls = []

    def fake(**kwargs):
        calls.append(kwargs)
        return "a detector"

    monkeypatch.setitem(backends.BACKENDS, "fake", fake)
    assert create_detector("fake", min_face_size=33.0) == "a detector"
    assert calls == [{"min_face_size": 33.0}]
    assert "fake" in backend_names()


@pytest.mark.parametrize("name, hint", [("onxx", "onnx"), ("ONNX", "onnx"), ("facenett", "facenet"),
                                        ("retinaface", None), ("", None)])
def test_unknown_backend_is_a_config_error_with_a_hint(name, hint):
    with pytest.raises(ConfigError) as err:
        create_detector(name)
    message = err.value.message
    assert err.value.code == "invalid_config" and isinstance(err.value, ValueError)
    assert f"unknown face detector backend {name!r}" in message and "['facenet', 'onnx']" in message
    if hint:
        assert message.endswith(f"did you mean {hint!r}?")
    else:
        assert "did you mean" not in message


def test_facenet_without_the_train_extra_names_it(monkeypatch):
    # As on a core install: neither imports (and the test need not wait for torch to load).
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "facenet_pytorch", None)
    with pytest.raises(MissingExtraError) as err:
        create_detector("facenet", device="cpu")
    assert err.value.extra == "train" and "facenet" in err.value.message
