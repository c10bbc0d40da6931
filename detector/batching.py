"""Classifying faces as they arrive, in exactly the batches one classifier call over all of them would run.

A scan used to keep every face's aligned crop (224 x 224 x 3 bytes) until its file was fully searched, then
classify them all at once: memory grew with the sampled frames (1.5 GB at 3,000 of them). :class:`FaceBatcher`
takes faces one by one and runs the classifier whenever a batch is full, so only a batch of crops waits at any time.

It reproduces :meth:`detector.classifier.Classifier.score` over the whole group of faces it was given since its last
:meth:`FaceBatcher.flush` bit for bit, batch composition included (an accelerator's kernels may round differently
for another batch): the faces' own views in batches of ``batch_size`` from the first, then, at the flush, the
last partial batch followed by the mirror images of the faces classified mirrored (the still images' faces, when
the card says so), whose two views are averaged as ``score`` averages them. Those mirrored faces keep their crop
until the flush; they are few (a group ends once it holds a batch of faces, and a still image has one frame).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .classifier import Classifier, CropScores, average_views, mirror_image


class ScoreSink(Protocol):
    """Where a face's scores go once all its views are classified (:class:`detector.scanned.ScannedFaces`)."""

    def receive(self, indices: Sequence[int], crops: Sequence[np.ndarray], scores: CropScores,
                seconds: float) -> None:
        """Faces ``indices`` (the sink's own numbering) with their crops and scores; ``seconds``: their share of
        the classifier's time."""


@dataclass(frozen=True, eq=False)
class _View:
    sink: ScoreSink
    index: int
    crop: np.ndarray  # the face's own crop (also for its mirror view: mirrored when run)
    role: str  # "own", "own_mirrored" (its mirror view comes at the flush) or "mirror"


class FaceBatcher:
    """Example:
        >>> batcher = FaceBatcher(classifier)  # doctest: +SKIP
        >>> for face in faces:  # doctest: +SKIP
        ...     batcher.add(face.crop, mirror=False, sink=scanned, index=scanned.add(face))
        >>> batcher.flush()  # every face given so far has reached its sink  # doctest: +SKIP
    """

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self.batch_size = classifier.batch_size
        self._pending: list[_View] = []  # own views not yet run
        self._mirrors: list[_View] = []  # mirror views, run at the flush, in the order the faces came
        # Own view's outputs (and time) of mirrored faces, awaiting their mirror view: by (sink, index).
        self._waiting: dict[tuple[int, int], tuple[dict[str, np.ndarray], float]] = {}

    def add(self, crop: np.ndarray, *, mirror: bool, sink: ScoreSink, index: int) -> None:
        """One face's aligned crop; its scores reach ``sink.receive`` as face ``index`` when its batch runs (for a
        mirrored face: at the next :meth:`flush`)."""
        self._pending.append(_View(sink, index, crop, "own_mirrored" if mirror else "own"))
        if mirror:
            self._mirrors.append(_View(sink, index, crop, "mirror"))
        if len(self._pending) >= self.batch_size:
            self._run(self._pending)
            self._pending = []

    def flush(self) -> None:
        """Classify what is left: the last partial batch, then the mirror views (one :meth:`Classifier.outputs`
        call batches them as ``score`` would). Ends the group: the next face starts new batches."""
        views = self._pending + self._mirrors
        self._pending, self._mirrors = [], []
        if views:
            self._run(views)
        assert not self._waiting, "a mirrored face never got its mirror view"

    def _run(self, views: list[_View]) -> None:
        t0 = time.perf_counter()
        outputs = self.classifier.outputs([mirror_image(v.crop) if v.role == "mirror" else v.crop for v in views])
        share = (time.perf_counter() - t0) / len(views)  # each view's share of this run
        completed: dict[int, _Completed] = {}  # per sink, the faces whose every view has now run
        for j, view in enumerate(views):
            key = id(view.sink)
            row = {name: values[j] for name, values in outputs.items()}
            if view.role == "own_mirrored":
                self._waiting[(key, view.index)] = (row, share)
                continue
            seconds = share
            if view.role == "mirror":
                own, earlier = self._waiting.pop((key, view.index))
                row, seconds = average_views(own, row), earlier + share
            done = completed.setdefault(key, _Completed(view.sink))
            done.indices.append(view.index)
            done.crops.append(view.crop)
            done.rows.append(row)
            done.seconds += seconds
        for done in completed.values():
            scores = self.classifier.scores({name: np.stack([r[name] for r in done.rows]) for name in outputs})
            done.sink.receive(done.indices, done.crops, scores, done.seconds)


@dataclass(eq=False)
class _Completed:
    sink: ScoreSink
    indices: list[int] = field(default_factory=list)
    crops: list[np.ndarray] = field(default_factory=list)
    rows: list[dict[str, np.ndarray]] = field(default_factory=list)
    seconds: float = 0.0
