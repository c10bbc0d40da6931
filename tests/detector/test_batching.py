"""Faces classified as they come give bit for bit what one ``Classifier.score`` call over all of them gives, in the
same batches."""

from __future__ import annotations

import numpy as np
import pytest

from detector.batching import FaceBatcher
from detector.classifier import Classifier, CropScores


class _Sink:
    def __init__(self) -> None:
        self.got: dict[int, tuple[np.ndarray, float, np.ndarray | None, float | None]] = {}
        self.seconds = 0.0

    def receive(self, indices, crops, scores: CropScores, seconds: float) -> None:
        for k, (i, crop) in enumerate(zip(indices, crops)):
            assert i not in self.got
            kinds = None if scores.kind_probs is None else scores.kind_probs[k]
            novelty = None if scores.novelty is None else scores.novelty[k]
            self.got[i] = (crop, scores.probabilities[k], kinds, novelty)
            assert scores.logits.dtype == np.float32
        self.seconds += seconds


@pytest.fixture(scope="module")
def classifier(tiny_model_builder, tmp_path_factory) -> Classifier:
    path = tiny_model_builder(tmp_path_factory.mktemp("batching"), kinds=True, novelty_value=1.0, novelty_spread=2.0)
    return Classifier.load(path, batch_size=8)


def _recording(classifier: Classifier, monkeypatch) -> list[list[np.ndarray]]:
    calls: list[list[np.ndarray]] = []
    outputs = Classifier.outputs
    monkeypatch.setattr(classifier, "outputs", lambda crops: calls.append(list(crops)) or outputs(classifier, crops))
    return calls


@pytest.mark.parametrize("n, mirrored", [(3, []), (8, []), (21, []), (21, [0, 5, 20]), (9, list(range(9)))])
def test_the_batcher_scores_a_group_as_one_score_call(classifier, monkeypatch, n, mirrored):
    rng = np.random.default_rng(n)
    size = classifier.card.input_size
    crops = list(rng.integers(0, 256, (n, size, size, 3), np.uint8))
    flags = np.isin(np.arange(n), mirrored)
    calls = _recording(classifier, monkeypatch)
    whole = classifier.score(np.stack(crops), mirror=flags)
    [one_call] = calls
    calls.clear()
    # Two files' faces interleaved in one group, as scan_many feeds them.
    sinks = (_Sink(), _Sink())
    batcher = FaceBatcher(classifier)
    for i in range(n):
        batcher.add(crops[i], mirror=bool(flags[i]), sink=sinks[i % 2], index=i)
    batcher.flush()
    got = {**sinks[0].got, **sinks[1].got}
    assert sorted(got) == list(range(n))
    assert np.array_equal(np.array([got[i][1] for i in range(n)]), whole.probabilities)
    assert np.array_equal(np.stack([got[i][2] for i in range(n)]), whole.kind_probs)
    assert np.array_equal(np.array([got[i][3] for i in range(n)]), whole.novelty)
    assert all(got[i][0] is crops[i] for i in range(n))  # the own crop comes back, for evidence
    # The same views in the same batches: full batches as they fill, then the rest with the mirror images.
    views = [v for call in calls for v in call]
    assert len(views) == len(one_call) and all(np.array_equal(a, b) for a, b in zip(views, one_call))
    assert all(len(call) == classifier.batch_size for call in calls[:-1])
    assert sinks[0].seconds > 0


def test_a_flush_with_nothing_given_runs_nothing(classifier, monkeypatch):
    calls = _recording(classifier, monkeypatch)
    FaceBatcher(classifier).flush()
    assert calls == []


def test_only_a_batch_of_crops_waits(classifier):
    size = classifier.card.input_size
    batcher = FaceBatcher(classifier)
    sink = _Sink()
    for i in range(3 * classifier.batch_size + 2):
        batcher.add(np.zeros((size, size, 3), np.uint8), mirror=False, sink=sink, index=i)
        assert len(sink.got) == (i + 1) // classifier.batch_size * classifier.batch_size
