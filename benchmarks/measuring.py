"""What the benchmarks' figures are measured with: wall-clock timing, the share of the CPU other processes took
meanwhile (a concurrent job on a shared 2-core machine halves the figures), and the machine and package versions
a report records.

Imported by ``benchmarks/faces.py``; not a benchmark itself.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any, Self

import av
import numpy as np

# -- environment -----------------------------------------------------------------------------------------------

def package_version(dist: str) -> str:
    # Read versions from metadata so --skip-facenet never imports torch just to print its version.
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment() -> dict[str, Any]:
    from detector.runtime import available_providers

    try:
        affinity: int | None = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = None
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "onnxruntime": package_version("onnxruntime"),
        "onnxruntime_providers": available_providers(),
        "torch": package_version("torch"),
        "facenet_pytorch": package_version("facenet-pytorch"),
        "av": av.__version__,
        "numpy": np.__version__,
        # Other work on the machine skews every figure; see also the per-measurement OtherLoad notes.
        "load_average": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def print_environment(env: dict[str, Any]) -> None:
    print("== environment")
    for key, value in env.items():
        print(f"  {key:22s} {value}")


# -- timing ----------------------------------------------------------------------------------------------------

class OtherLoad:
    """Share of the machine's CPU that *other* processes used while a block ran (Linux; ``None`` elsewhere).

    On a shared 2-core box a concurrent test run halves the figures; this says when a number is contaminated.
    It is the machine's busy time (``/proc/stat``) minus this process's own CPU time, over wall time x cores.
    """

    def __init__(self) -> None:
        self.share: float | None = None

    @staticmethod
    def _busy_s() -> float | None:
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")

    def start(self) -> Self:
        self._busy0, self._self0, self._wall0 = self._busy_s(), time.process_time(), time.perf_counter()
        return self

    def stop(self) -> float | None:
        busy1 = self._busy_s()
        wall = time.perf_counter() - self._wall0
        if busy1 is not None and self._busy0 is not None and wall > 0:
            others = (busy1 - self._busy0) - (time.process_time() - self._self0)
            self.share = max(0.0, others / (wall * (os.cpu_count() or 1)))
        return self.share

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    return statistics.median(timed(fn)[0] for _ in range(max(1, repeats)))


def load_note(share: float | None) -> str:
    """The warning a printed figure carries when other processes took ``share`` of the CPU meanwhile."""
    # Only worth a word when another process took a noticeable part of the CPU during the measurement.
    return f"; OTHER PROCESSES USED {100 * share:.0f}% CPU" if share is not None and share >= 0.05 else ""
