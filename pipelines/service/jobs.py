"""Asynchronous scan jobs: ids, states, owners, and results that expire ``ttl_s`` after they finish.

A job belongs to the token that created it: the store keeps that token's SHA-256 digest (never the token) and
answers :meth:`JobStore.get` only for the same digest, so another client cannot tell the job from an unknown id.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

JobStatus = Literal["queued", "running", "done", "failed"]


class StoreFull(Exception):
    """``max_jobs`` jobs are queued, running or waiting to expire."""


@dataclass(frozen=True)
class Job:
    """One job. ``result`` is the ``MediaResult`` dict once finished (``failed``: its verdict is ``error``)."""

    id: str
    status: JobStatus
    filename: str
    created_at: float
    owner: bytes = field(repr=False)  # SHA-256 of the creating token; never in to_dict() or a log
    started_at: float | None = None
    finished_at: float | None = None
    expires_at: float | None = None
    result: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "filename": self.filename,
                "created_at": _iso(self.created_at), "started_at": _iso(self.started_at),
                "finished_at": _iso(self.finished_at), "expires_at": _iso(self.expires_at), "result": self.result}


class JobStore:
    """Thread-safe: workers move jobs along while request handlers read them.

    Expired jobs are purged whenever the store is touched, so no sweeper thread is needed.
    """

    def __init__(self, *, ttl_s: float, max_jobs: int, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s = ttl_s
        self.max_jobs = max_jobs
        self._clock = clock
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._purge()
            return len(self._jobs)

    def create(self, filename: str, *, owner: bytes) -> Job:
        """A queued job owned by ``owner`` (the creating token's digest)."""
        if not owner:
            raise ValueError("a job needs an owner")
        with self._lock:
            self._purge()
            if len(self._jobs) >= self.max_jobs:
                raise StoreFull
            # 128 random bits: ids are unguessable, and a leaked one is still useless without its token.
            job = Job(secrets.token_urlsafe(16), "queued", filename, self._clock(), owner=owner)
            self._jobs[job.id] = job
            return job

    def get(self, job_id: str, *, owner: bytes) -> Job | None:
        """The job, or None when it is unknown, expired or owned by another token (indistinguishable)."""
        with self._lock:
            self._purge()
            job = self._jobs.get(job_id)
        if job is None or not hmac.compare_digest(job.owner, owner):
            return None
        return job

    def remove(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def start(self, job_id: str) -> None:
        self._update(job_id, status="running", started_at=self._clock())

    def finish(self, job_id: str, result: dict[str, Any]) -> None:
        now = self._clock()
        status: JobStatus = "failed" if result.get("verdict") == "error" else "done"
        self._update(job_id, status=status, finished_at=now, expires_at=now + self.ttl_s, result=result)

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id] = replace(self._jobs[job_id], **changes)

    def _purge(self) -> None:
        now = self._clock()
        for job_id in [j.id for j in self._jobs.values() if j.expires_at is not None and j.expires_at <= now]:
            del self._jobs[job_id]


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
