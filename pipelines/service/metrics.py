"""Prometheus text-format metrics, kept by hand: five families do not justify a client library.

Route labels are route templates (``/v1/jobs/{job_id}``), never raw paths, so label cardinality stays bounded
whatever clients send.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Iterable, Mapping

# Seconds; from a cached image (~0.1 s) to a long synchronous video scan at the default 60 s deadline.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """``verdicts`` and ``drop_reasons`` are reported from zero, so a rate over them exists before the first."""

    def __init__(self, verdicts: Iterable[str] = (), drop_reasons: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self._verdicts: Counter[str] = Counter(dict.fromkeys(verdicts, 0))
        self._drops: Counter[str] = Counter(dict.fromkeys(drop_reasons, 0))
        self._buckets: dict[str, list[int]] = {}
        self._sums: Counter[str] = Counter()
        self._counts: Counter[str] = Counter()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, status)] += 1
            buckets = self._buckets.setdefault(route, [0] * (len(LATENCY_BUCKETS) + 1))
            buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self._sums[route] += seconds
            self._counts[route] += 1

    def count_verdict(self, verdict: str) -> None:
        with self._lock:
            self._verdicts[verdict] += 1

    def count_connection_drop(self, reason: str) -> None:
        with self._lock:
            self._drops[reason] += 1

    def render(self, gauges: Mapping[str, tuple[str, float]]) -> str:
        """The exposition text; ``gauges`` maps a metric name to (help, value), read at scrape time."""
        lines = ["# HELP deepfake_http_requests_total HTTP requests by method, route template and status.",
                 "# TYPE deepfake_http_requests_total counter"]
        with self._lock:
            for (method, route, status), n in sorted(self._requests.items()):
                lines.append(f'deepfake_http_requests_total{{method="{method}",route="{_esc(route)}",'
                             f'status="{status}"}} {n}')
            lines += ["# HELP deepfake_http_request_duration_seconds Request latency by route template.",
                      "# TYPE deepfake_http_request_duration_seconds histogram"]
            for route, buckets in sorted(self._buckets.items()):
                label = f'route="{_esc(route)}"'
                cumulative = 0
                for bound, n in zip((*LATENCY_BUCKETS, float("inf")), buckets):
                    cumulative += n
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    lines.append(f'deepfake_http_request_duration_seconds_bucket{{{label},le="{le}"}} {cumulative}')
                lines.append(f"deepfake_http_request_duration_seconds_sum{{{label}}} {self._sums[route]:.6f}")
                lines.append(f"deepfake_http_request_duration_seconds_count{{{label}}} {self._counts[route]}")
            lines += ["# HELP deepfake_verdicts_total Scan verdicts (synchronous scans and jobs).",
                      "# TYPE deepfake_verdicts_total counter"]
            lines += [f'deepfake_verdicts_total{{verdict="{v}"}} {n}' for v, n in sorted(self._verdicts.items())]
            lines += ["# HELP deepfake_connections_dropped_total Connections closed without a request: "
                      + "header_timeout, evicted (for a new one at the cap) or refused (at the cap, none idle).",
                      "# TYPE deepfake_connections_dropped_total counter"]
            lines += [f'deepfake_connections_dropped_total{{reason="{r}"}} {n}' for r, n in sorted(self._drops.items())]
        for name, (help_text, value) in gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
