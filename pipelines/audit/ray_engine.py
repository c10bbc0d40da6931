"""The Ray engine: the same per-file work on a Ray cluster, through Ray Data (extra ``ray``).

    file list --from_items--> [decode (CPU tasks) --map_batches-->] scan (actor pool) --> driver --> ledger

* Scanning runs in an actor pool: each actor loads its detector once and keeps its ONNX sessions.
* With GPUs in the cluster, decoding runs as stateless CPU tasks (:func:`pipelines.audit.work.decode`
  samples the frames exactly as ``Detector.scan`` does and ships them, or the decode error, on) and the
  scanning actors take one GPU each (``num_gpus=1``; ``onnxruntime-gpu`` then runs on CUDA).
* Without GPUs there is one actor per CPU and each decodes its own files: splitting would only copy
  frames between processes on the same CPUs (``split_decode=True`` forces the split anyway).
* Only the driver touches the ledger: results stream back and are committed as they arrive, so the
  ledger's guarantees (resume, crash safety, no double counting) are the local engine's. A stop returns
  everything not yet committed to ``pending``.

Every node must see the media at the same paths (a shared mount) and have ``deepfake-detector[ray]``
(with ``cpu`` or ``gpu``) installed; ``--model`` must also be a path all nodes can read.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Sequence
from typing import Any

from detector.errors import DetectorError, MissingExtraError
from detector.recipe import ScanConfig
from detector.runtime import usable_cores

from .work import FileScanner, Outcome, ScannerSpec, WorkItem, decode, resolved

log = logging.getLogger("deepfake.audit")

# Files per block: each block is one Ray task, and its results come back together. 8 keeps results
# streaming (and the ETA honest) while the per-task overhead stays small; at least two blocks per actor
# keep every actor busy on small lists, and 1,000 blocks at most bound the scheduling on huge archives.
_FILES_PER_BLOCK = 8
_MAX_BLOCKS = 1000


class RayEngineError(DetectorError):
    """The Ray job failed as a whole (what was committed before it stays in the ledger)."""

    code = "ray_error"


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # the extra installs it; fail here, not inside a worker
    except ImportError as exc:
        raise MissingExtraError("ray[data]", extra="ray") from exc
    return ray


def _decode_batch(batch: dict[str, Any], settings: ScanConfig) -> dict[str, list[bytes]]:
    items = [pickle.loads(b) for b in batch["item"]]
    return {"item": list(batch["item"]), "decoded": [pickle.dumps(decode(i, settings), protocol=5) for i in items]}


def _claim_core() -> Any:
    """Pin this actor to one core that no other audit actor on this node holds; returns the held lock.

    ``detector.runtime`` gives each ONNX session as many threads as the process may use cores, and Ray
    does not pin actors, so N actors on N cores would run N x N threads. Ray assigns no core ids either,
    so actors on a node share them out through one ``flock`` per core (released by the kernel when an
    actor dies). With more actors than cores the rest stay unpinned.
    """
    import fcntl
    import tempfile

    if not hasattr(os, "sched_getaffinity"):
        return None
    directory = os.path.join(tempfile.gettempdir(), f"deepfake-audit-cores-{os.getuid()}")
    os.makedirs(directory, exist_ok=True)
    for core in sorted(os.sched_getaffinity(0)):
        lock = open(os.path.join(directory, f"{core}.lock"), "a+b")  # noqa: SIM115  (held for the actor's life)
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        os.sched_setaffinity(0, {core})
        return lock
    return None


class _ScanActor:
    """Decodes and scans (CPU-only clusters): one process per file, no frames through the object store."""

    def __init__(self, spec: ScannerSpec) -> None:
        self._core = _claim_core()
        self.scanner = FileScanner.load(spec)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[bytes]]:
        outcomes = [self.scanner.scan(pickle.loads(item)) for item in batch["item"]]
        return {"outcome": [pickle.dumps(o, protocol=5) for o in outcomes]}


class _ScanDecodedActor(_ScanActor):
    """Scans frames the decode tasks sampled (GPU actors)."""

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[bytes]]:
        outcomes = [self.scanner.scan_decoded(pickle.loads(item), pickle.loads(decoded))
                    for item, decoded in zip(batch["item"], batch["decoded"])]
        return {"outcome": [pickle.dumps(o, protocol=5) for o in outcomes]}


class RayEngine:
    """Example:
        >>> engine = RayEngine(ScannerSpec(), address="auto")  # doctest: +SKIP
        >>> engine.run(items, on_outcomes=print, should_stop=lambda: False)  # doctest: +SKIP

    Uses the Ray instance already initialised in this process if there is one; otherwise connects to
    ``address``, or starts a local instance sized to this machine's usable cores.

    ``split_decode``: decode in CPU tasks and scan in actors (default: when the cluster has GPUs). Without
    GPUs the split only ships frames between processes, so by default each CPU actor decodes and scans.
    """

    name = "ray"

    def __init__(self, spec: ScannerSpec, *, address: str | None = None, split_decode: bool | None = None) -> None:
        self.spec = spec
        self.address = address
        self.split_decode = split_decode
        self.workers = 0  # decided by the cluster's resources at run time

    def run(self, items: Sequence[WorkItem], *, on_outcomes: Callable[[list[Outcome]], None],
            should_stop: Callable[[], bool]) -> None:
        if not items:
            return
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
            if self.address:
                ray.init(address=self.address, **quiet)
            else:
                ray.init(num_cpus=usable_cores(), include_dashboard=False, **quiet)
        try:
            self._run(ray, items, on_outcomes, should_stop)
        except ray.exceptions.RayError as exc:
            raise RayEngineError(f"the Ray job failed: {exc}") from exc
        finally:
            if started_here:
                ray.shutdown()

    def _run(self, ray: Any, items: Sequence[WorkItem], on_outcomes: Callable[[list[Outcome]], None],
             should_stop: Callable[[], bool]) -> None:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # ours is on stderr already
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # its per-dataset INFO lines would break our bar
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
        split = gpus > 0 if self.split_decode is None else self.split_decode
        blocks = min(_MAX_BLOCKS, len(items), max(2 * (gpus or cpus), -(-len(items) // _FILES_PER_BLOCK)))
        ds = ray.data.from_items([{"item": pickle.dumps(i, protocol=5)} for i in items], override_num_blocks=blocks)
        if split:
            # Half the CPUs decode when there are no GPUs to take the scanning off them.
            self.workers = gpus or max(1, cpus // 2)
            ds = ds.map_batches(_decode_batch, fn_kwargs={"settings": resolved(self.spec.settings, self.spec.card())}, batch_size=1, num_cpus=1)
            ds = ds.map_batches(_ScanDecodedActor, fn_constructor_kwargs={"spec": self.spec}, batch_size=1,
                                compute=ray.data.ActorPoolStrategy(size=self.workers), num_cpus=1,
                                num_gpus=1 if gpus else 0)
        else:
            self.workers = cpus
            ds = ds.map_batches(_ScanActor, fn_constructor_kwargs={"spec": self.spec}, batch_size=1,
                                compute=ray.data.ActorPoolStrategy(size=self.workers), num_cpus=1)
        log.info("ray: %d CPUs, %d GPUs: %d scanning actors%s", cpus, gpus, self.workers,
                 ", decoding in CPU tasks" if split else "")
        for row in ds.iter_rows():
            on_outcomes([pickle.loads(row["outcome"])])
            if should_stop():
                log.warning("stopping: files not yet returned by the cluster stay pending")
                return
