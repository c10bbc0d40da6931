"""What a scan keeps of one file's faces: the few facts of each that the verdict needs, their scores as the
classifier gives them, and the crops of only the most suspicious ones.

The face stage makes a 224 x 224 x 3 crop per face; keeping them all until the verdict made a scan's memory grow
with the sampled frames (1.5 GB for 3,000). Here each face leaves behind a :class:`FaceNote` (track, time, box,
quality: a few hundred bytes) and its scores, and only the ``evidence`` most suspicious crops a report asked for
are held, chosen as the scores arrive.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .classifier import CropScores
from .faces.quality import FaceQuality
from .judge import FaceFacts
from .recipe import VerdictRules
from .results import FaceEvidence


@dataclass(frozen=True)
class FaceNote:
    """One face as a scan remembers it after classifying it: what the judge
    (:class:`detector.judge.FaceFacts`), the persons (:func:`detector.faces.extract.summarize_tracks`) and the
    timeline read of a :class:`detector.faces.extract.Face`, without its crop and landmarks."""

    track_id: int
    timestamp: float
    box: tuple[float, float, float, float]
    quality: FaceQuality

    @classmethod
    def of(cls, face: object) -> FaceNote:
        """From a :class:`detector.faces.extract.Face`."""
        return cls(face.track_id, face.timestamp, face.box, face.quality)  # type: ignore[attr-defined]


class ScannedFaces:
    """One file's faces, in the order the face stage gave them, as they are classified
    (a :class:`detector.batching.ScoreSink`).

    ``evidence``: how many of the most suspicious usable faces keep their crops (reports); ``rules``: the verdict
    rules, which say which faces are usable.
    """

    def __init__(self, *, evidence: int, rules: VerdictRules) -> None:
        self.notes: list[FaceNote] = []
        self.classify_seconds = 0.0
        self._rules = rules
        self._evidence = max(0, evidence)
        self._parts: list[tuple[list[int], CropScores]] = []
        # The most suspicious faces so far as min-heaps of (probability, -index, crop): the root is the least
        # suspicious kept (ties: the later face). Usable faces, and all faces for a file where none is usable.
        self._top_usable: list[tuple[float, int, np.ndarray]] = []
        self._top_any: list[tuple[float, int, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self.notes)

    def add(self, face: object) -> int:
        """Remember a :class:`detector.faces.extract.Face` (not its crop); returns its index, for its scores."""
        self.notes.append(FaceNote.of(face))
        return len(self.notes) - 1

    def receive(self, indices: Sequence[int], crops: Sequence[np.ndarray], scores: CropScores,
                seconds: float) -> None:
        self._parts.append((list(indices), scores))
        self.classify_seconds += seconds
        if not self._evidence:
            return
        for index, crop, probability in zip(indices, crops, scores.probabilities):
            entry = (float(probability), -index, crop)
            if FaceFacts.of(self.notes[index]).usable(self._rules):
                self._keep(self._top_usable, entry)
            self._keep(self._top_any, entry)

    def _keep(self, top: list[tuple[float, int, np.ndarray]], entry: tuple[float, int, np.ndarray]) -> None:
        if len(top) < self._evidence:
            heapq.heappush(top, entry)
        elif entry[:2] > top[0][:2]:
            heapq.heapreplace(top, entry)

    def scores(self) -> CropScores | None:
        """Every face's scores in face order (``None`` without faces). Raises ``ValueError`` if a face was never
        classified (its batch not flushed)."""
        n = len(self.notes)
        if not n:
            return None
        order = np.concatenate([np.asarray(idx, np.intp) for idx, _ in self._parts]) if self._parts else np.zeros(0, np.intp)
        if len(order) != n or len(np.unique(order)) != n:
            raise ValueError(f"{n} faces but {len(order)} classified: flush the batcher before judging")

        def gather(values: list[np.ndarray]) -> np.ndarray:
            joined = np.concatenate(values)
            out = np.empty_like(joined)
            out[order] = joined
            return out

        parts = [s for _, s in self._parts]
        kinds = None if parts[0].kind_probs is None else gather([s.kind_probs for s in parts])  # type: ignore[misc]
        novelty = None if parts[0].novelty is None else gather([s.novelty for s in parts])  # type: ignore[misc]
        return CropScores(gather([s.logits for s in parts]), gather([s.probabilities for s in parts]), kinds, novelty)

    def evidence(self, probabilities: np.ndarray) -> tuple[FaceEvidence, ...]:
        """The crops of the ``evidence`` most suspicious usable faces, most suspicious first (ties: earlier
        first); every face counts as usable when none is, as in the judge."""
        any_usable = any(FaceFacts.of(n).usable(self._rules) for n in self.notes)
        top = sorted(self._top_usable if any_usable else self._top_any, key=lambda e: (-e[0], -e[1]))
        out = []
        for _, minus_index, crop in top:
            note = self.notes[-minus_index]
            out.append(FaceEvidence(note.track_id, note.timestamp, float(probabilities[-minus_index]), note.box, crop))
        return tuple(out)
