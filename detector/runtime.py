"""ONNX Runtime sessions: the one place that imports ``onnxruntime``.

``onnxruntime`` (extra ``cpu``) and ``onnxruntime-gpu`` (extra ``gpu``) install the same ``onnxruntime``
module and overwrite each other's files, so exactly one of them must be present. Importing the runtime
without either raises :class:`~detector.errors.MissingExtraError` naming both extras.

Telemetry is off. Official onnxruntime wheels (1.32 measured) record 1DS telemetry events (process info,
session creation, device ids) into ``~/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db`` and may
upload them. A moderation tool handles sensitive media on closed machines, so :func:`onnxruntime` sets
``ORT_DISABLE_TELEMETRY=1`` before the runtime first loads (onnxruntime's Privacy.md: "prevents the
uploader, events, and persistent device identifier from being created for the process lifetime") and calls
``disable_telemetry_events()`` as well, for a host application that imported onnxruntime before us: there
the runtime may already have written its one initialisation event, and nothing after it. An explicit
``ORT_DISABLE_TELEMETRY`` in the environment is respected.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import MissingExtraError, ModelIntegrityError

_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu")
TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"


def _installed_distributions() -> list[str]:
    found = []
    for name in _DISTRIBUTIONS:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        found.append(name)
    return found


@lru_cache(maxsize=1)
def onnxruntime() -> ModuleType:
    """Import and return the ``onnxruntime`` module, with an install hint when it is missing."""
    disable_telemetry()
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise MissingExtraError(
            "onnxruntime", extra="cpu", hint="or 'deepfake-detector[gpu]' for onnxruntime-gpu on CUDA machines"
        ) from exc
    if len(_installed_distributions()) > 1:
        # Both wheels write into the same package directory; whichever was installed last wins, partly.
        raise MissingExtraError(
            "exactly one of onnxruntime / onnxruntime-gpu",
            extra="cpu",
            hint="both are installed and break each other: pip uninstall -y onnxruntime onnxruntime-gpu, "
            "then install one extra, [cpu] or [gpu]",
        )
    ort.set_default_logger_severity(3)  # errors only: the runtime's warnings go to stderr unasked
    if hasattr(ort, "disable_telemetry_events"):  # non-essential events, when the runtime loaded before us
        ort.disable_telemetry_events()
    return ort


def disable_telemetry() -> None:
    """Keep onnxruntime from recording or sending telemetry in this process and the processes it starts.

    Must run before onnxruntime is first imported to cover everything; :func:`onnxruntime` calls it, and
    so does ``import detector``. Audit and Ray workers inherit the environment variable.
    """
    os.environ.setdefault(TELEMETRY_ENV, "1")


def available_providers() -> list[str]:
    return list(onnxruntime().get_available_providers())


def resolve_providers(providers: Sequence[str] | None = None) -> list[str]:
    """Pick execution providers: the caller's list, else CUDA when available, always CPU last."""
    available = available_providers()
    if providers:
        unknown = [p for p in providers if p not in available]
        if unknown:
            raise ValueError(f"execution providers {unknown} are not available; available: {available}")
        chosen = list(providers)
    else:
        chosen = [p for p in ("CUDAExecutionProvider",) if p in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


def usable_cores() -> int:
    """Cores this process may use (CPU affinity, e.g. a container's cpuset), not the host's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: str | os.PathLike[str], expected: str) -> None:
    path = Path(path)
    if not path.is_file():
        raise ModelIntegrityError(f"model file not found: {path}", path=str(path))
    actual = sha256_file(path)
    if actual != expected:
        raise ModelIntegrityError(
            f"sha256 mismatch for {path.name}: expected {expected}, got {actual} (file corrupt or replaced)",
            path=str(path),
        )


def create_session(
    path: str | os.PathLike[str],
    *,
    expected_sha256: str | None = None,
    providers: Sequence[str] | None = None,
    intra_op_threads: int | None = None,
) -> Any:
    """Open an ``InferenceSession``, checking the file's sha256 first when one is given.

    Args:
        path: the ``.onnx`` file.
        expected_sha256: hex digest recorded at export; a mismatch raises ``ModelIntegrityError``.
        providers: execution providers in priority order (default: CUDA if available, then CPU).
        intra_op_threads: threads per operator; default the cores this process may run on.
    """
    ort = onnxruntime()
    if expected_sha256 is not None:
        verify_sha256(path, expected_sha256)
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads or usable_cores()
    options.inter_op_num_threads = 1
    # No busy-waiting between ops: a scan decodes in another thread on the same cores, and spinning ORT
    # workers steal its time. Measured here under load (2 cores): RNet on 10 crops 1.51 ms spinning vs
    # 0.73 ms not, ONet 6.5 vs 3.8 ms.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=resolve_providers(providers))
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        if isinstance(exc, ValueError) and "providers" in str(exc):
            raise
        raise ModelIntegrityError(f"cannot load ONNX model {path}: {exc}", path=str(path)) from exc
