"""Dropping tracks seen in too few sampled frames, as the faces stream in.

A track the detector saw in a single sampled frame is noise (a patterned shirt, headphones at 0.96), so the face
stage drops tracks with fewer than ``DetectionSpec.min_track_faces`` faces and renumbers the rest by first
appearance. Whether a track is that short is known as soon as it has enough faces (kept), or once the tracker has
closed it (dropped): a few sampled frames after its last face. :class:`ShortTrackFilter` passes faces on in frame
order as soon as their track's fate is known, so a scan never has to hold a whole video's faces to apply the rule,
and gives exactly what :func:`drop_short_tracks` gives for the whole list.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Generic, Protocol, TypeVar


class _Tracked(Protocol):
    track_id: int


F = TypeVar("F", bound=_Tracked)


class ShortTrackFilter(Generic[F]):
    """Feed it each sampled frame's faces with :meth:`add`, then call :meth:`finish` once; each returns the faces
    now known to be kept, in frame order, renumbered.

    Example:
        >>> keep = ShortTrackFilter(min_faces=2)
        >>> kept = keep.add(faces_of_frame, frames=1, open_tracks=tracker.open_tracks())  # doctest: +SKIP
        >>> kept += keep.finish(frames=n_sampled)  # doctest: +SKIP
    """

    def __init__(self, min_faces: int) -> None:
        self.min_faces = min_faces
        self._waiting: deque[F] = deque()  # faces not yet passed on, in frame order
        self._counts: dict[int, int] = {}
        self._kept: set[int] = set()
        self._dropped: set[int] = set()
        self._renumber: dict[int, int] = {}

    @property
    def dropped(self) -> int:
        """Tracks dropped so far (all of them after :meth:`finish`)."""
        return len(self._dropped)

    def add(self, faces: Sequence[F], *, frames: int, open_tracks: Collection[int] | None) -> list[F]:
        """One sampled frame's faces (any number of frames' at once when ``open_tracks`` is ``None``).

        ``frames``: sampled frames seen so far, these included. ``open_tracks``: the tracks the tracker may still
        extend (:meth:`detector.faces.track.FaceTracker.open_tracks`); ``None`` when not known, which holds back
        every short track until :meth:`finish`.
        """
        for face in faces:
            self._waiting.append(face)
            n = self._counts[face.track_id] = self._counts.get(face.track_id, 0) + 1
            if n >= self.min_faces:
                self._kept.add(face.track_id)
        # A closed short track can be dropped early only once the media has enough sampled frames for the rule to
        # apply at all (fewer than min_faces, a still image: everything is kept).
        if open_tracks is not None and frames >= self.min_faces:
            self._dropped.update(t for t in self._counts
                                 if t not in self._kept and t not in self._dropped and t not in open_tracks)
        return self._release()

    def finish(self, *, frames: int) -> list[F]:
        """The faces still held back, once all ``frames`` sampled frames have been added."""
        short = {t for t in self._counts if t not in self._kept}
        if frames < self.min_faces:
            self._kept |= short
        else:
            self._dropped |= short
        return self._release()

    def _release(self) -> list[F]:
        out: list[F] = []
        while self._waiting:
            tid = self._waiting[0].track_id
            if tid in self._kept:
                face = self._waiting.popleft()
                new_id = self._renumber.setdefault(tid, len(self._renumber))
                out.append(face if new_id == tid else replace(face, track_id=new_id))  # type: ignore[type-var]
            elif tid in self._dropped:
                self._waiting.popleft()
            else:  # its fate is not known yet, and order is kept: wait
                break
        return out


def drop_short_tracks(faces: Sequence[F], n_frames: int, min_faces: int) -> tuple[tuple[F, ...], int]:
    """Remove tracks with fewer than ``min_faces`` faces and renumber the rest by first appearance.

    Returns the kept faces and how many tracks were dropped. Media with fewer sampled frames than
    ``min_faces`` (a still image) keep everything.
    """
    keep: ShortTrackFilter[F] = ShortTrackFilter(min_faces)
    kept = keep.add(faces, frames=n_frames, open_tracks=None) + keep.finish(frames=n_frames)
    return tuple(kept), keep.dropped
