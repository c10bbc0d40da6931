"""Read files out of a local bare git mirror by commit, without a work tree.

The search tool's ``fetch`` (and ``git clone --mirror``) leave one bare repository per upstream; the build
reads blobs straight from it, so what is materialised is exactly what that commit holds, whatever branch moved
since.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from detector.errors import ConfigError

# A Git LFS pointer is a small text blob standing in for the real file; it is not media.
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"


@dataclass(frozen=True)
class TreeEntry:
    """One file of a commit's tree."""

    path: str
    blob: str
    size: int


def find_mirror(root: str | os.PathLike[str], repo: str) -> Path:
    """The bare git directory holding ``owner/name`` under ``root``.

    Accepts the layouts ``root/owner+name/repo`` (what ``fetch`` writes; for some repositories it writes a work
    tree there, with the git directory in ``repo/.git``), ``root/owner+name`` and ``root/owner/name(.git)``.

    Raises:
        ConfigError: none of them is a git directory.
    """
    base = Path(root)
    owner, name = repo.split("/", 1)
    candidates = (base / f"{owner}+{name}" / "repo", base / f"{owner}+{name}" / "repo" / ".git",
                  base / f"{owner}+{name}", base / owner / name, base / owner / f"{name}.git")
    for candidate in candidates:
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    raise ConfigError(f"no git mirror of {repo} under {base} (looked for {', '.join(str(c) for c in candidates)})",
                      path=str(base))


class GitMirror:
    """Blob and tree reads from one bare repository."""

    def __init__(self, git_dir: str | os.PathLike[str]) -> None:
        self.git_dir = Path(git_dir)

    def _git(self, *args: str, stdin: bytes | None = None) -> bytes:
        proc = subprocess.run(["git", "--git-dir", str(self.git_dir), *args], input=stdin, capture_output=True,
                              check=False)
        if proc.returncode != 0:
            raise ConfigError(f"git {' '.join(args[:2])} in {self.git_dir} failed: "
                              f"{proc.stderr.decode(errors='replace').strip()}", path=str(self.git_dir))
        return proc.stdout

    def head(self) -> str:
        """The 40-hex commit HEAD points at."""
        return self._git("rev-parse", "HEAD^{commit}").decode().strip()

    def tree(self, commit: str) -> list[TreeEntry]:
        """Every file (blob) of ``commit``'s tree, recursively, with sizes."""
        out = self._git("ls-tree", "-r", "-l", "-z", commit)
        entries: list[TreeEntry] = []
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, path = record.split(b"\t", 1)
            _mode, kind, blob, size = meta.split()
            # A partial mirror lists blobs it does not hold with the size "BAD": they cannot be read, so skip them.
            if kind != b"blob" or not size.isdigit():
                continue
            entries.append(TreeEntry(path=path.decode("utf-8", "surrogateescape"), blob=blob.decode(),
                                     size=int(size)))
        return entries

    def read(self, commit: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``commit``; ``None`` when the tree lacks it or the blob is absent locally.

        A shallow or partial mirror may list a blob whose object it does not hold (its largest files).
        """
        proc = subprocess.run(["git", "--git-dir", str(self.git_dir), "cat-file", "blob", f"{commit}:{path}"],
                              capture_output=True, check=False)
        return proc.stdout if proc.returncode == 0 else None
