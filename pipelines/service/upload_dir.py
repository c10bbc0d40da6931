"""The service's private upload directory, held under a lock while the service lives; stale ones swept at start.

A service stopped cleanly removes its directory. One killed with SIGKILL (or by the OOM killer, or a crash) runs
no cleanup, so its directory and the uploads in it stayed in ``--tmp-dir`` for good, and a restart created a new
one beside it. So each service holds an exclusive ``flock`` on its own directory for its whole life (the kernel
drops it when the process dies, however it dies), and at start removes every ``deepfake-uploads-*`` directory in
the same parent whose lock it can take: nobody holds it, so its service is gone. That is safe with several
services sharing one ``--tmp-dir``: a directory another running service holds is locked and left alone. Only
directories with that name, owned by this user and not symlinks, are ever removed; other files are never touched.

A lock on the directory rather than a pid in its name: pids are reused (in a container the service is pid 1 after
every restart), a lock dies with its process.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no advisory locks, so nothing can tell a stale directory from a live one
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("deepfake.service")

PREFIX = "deepfake-uploads-"
# A fresh directory can be swept by another service starting at the same moment (after mkdtemp, before flock):
# the creator then notices and makes another. Two losses in a row need two starts in a microsecond window.
_CREATE_TRIES = 5


class UploadDirectory:
    """A 0700 directory named ``deepfake-uploads-*``, locked until :meth:`remove`.

    Example:
        >>> uploads = UploadDirectory.create("/var/tmp")  # doctest: +SKIP
        >>> uploads.path  # doctest: +SKIP
        PosixPath('/var/tmp/deepfake-uploads-k2j8x0ab')
        >>> uploads.remove()  # doctest: +SKIP
    """

    def __init__(self, path: Path, lock_fd: int | None) -> None:
        self.path = path
        self._lock_fd = lock_fd

    @classmethod
    def create(cls, parent: str | os.PathLike[str] | None = None) -> UploadDirectory:
        """Make and lock a new directory in ``parent`` (None: the system temp dir)."""
        for _ in range(_CREATE_TRIES):
            # mkdtemp: mode 0700 and a fresh name; uploads inside get mkstemp's 0600 files.
            path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
            if fcntl is None:
                return cls(path, None)
            fd = _lock(path)
            if fd is not None:
                return cls(path, fd)
        raise OSError(f"could not create a private upload directory in {parent or tempfile.gettempdir()}")

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _lock(path: Path) -> int | None:
    """An fd holding ``path``'s exclusive lock; None if another process holds it or ``path`` is no longer there
    (a sweeper removed it between ``mkdtemp`` and the lock)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        here, held = os.stat(path, follow_symlinks=False), os.fstat(fd)
        if (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino):
            return fd
    except OSError:  # BlockingIOError: someone holds it; FileNotFoundError: it was removed meanwhile
        pass
    os.close(fd)
    return None


def sweep_stale(parent: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the upload directories in ``parent`` that no running service holds; returns what was removed."""
    if fcntl is None:
        return []
    parent = Path(parent or tempfile.gettempdir())
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:  # the parent does not exist (yet): mkdtemp will say so
        return []
    uid = os.geteuid()
    for entry in entries:
        try:
            if not (entry.name.startswith(PREFIX) and entry.is_dir(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_uid == uid):
                continue
        except OSError:
            continue
        fd = _lock(Path(entry.path))
        if fd is None:  # a running service holds it
            continue
        try:
            shutil.rmtree(entry.path, ignore_errors=True)
        finally:
            os.close(fd)
        removed.append(Path(entry.path))
    if removed:
        log.info("removed %d upload director%s left by services that did not stop cleanly: %s", len(removed),
                 "y" if len(removed) == 1 else "ies", ", ".join(p.name for p in removed))
    return removed


__all__ = ["PREFIX", "UploadDirectory", "sweep_stale"]
