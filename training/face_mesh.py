"""Dense face landmarks for the crop cache: MediaPipe's 478-point face mesh on every cached crop.

Self-blended fakes (:mod:`training.synth.sbi`) need a mask shaped like a real swap's: the SBI paper draws the
convex hull of 68/81 dlib landmarks, which follows the jaw line and the pose. MTCNN's five points give only an
ellipse around eyes and mouth. This module adds a sidecar to a crop cache, ``<cache dir>/mesh/<id>.npz`` with
``points`` of shape ``(n faces, 478, 2)`` in crop pixels (NaN where no mesh was found or it disagreed with
the cached five points), next to ``faces/<id>.npz``.

MediaPipe 0.10.21 needs numpy < 2 and the project runs numpy 2, so this file imports nothing but numpy, the
standard library and mediapipe, and runs in a throwaway environment (:func:`ensure_meshes` does it with uv)::

    uv run --no-project --with mediapipe==0.10.21 --with "numpy<2" python -m training.face_mesh CACHE_DIR

The mesh is computed once per cache (about 8 ms a face on one core; the held-out training split's 5,161 faces
take under a minute) and is resumable: ids already done are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MEDIAPIPE_REQUIREMENT = "mediapipe==0.10.21"
N_POINTS = 478
# Iris centres of the refined mesh (MediaPipe's face_mesh landmark map).
IRIS_CENTRES = (468, 473)
# A mesh whose iris centres lie farther than this share of the inter-eye distance from MTCNN's eyes is taken to be
# of another face, or wrong, and that face keeps the five-point hull. Measured on every 10th item of the held-out
# training split (258 faces with a mesh, 2026-12-02): median 0.09, 80th percentile 0.28, 95th 0.45; the large
# errors are small, tightly cut face-only photos whose mesh still covers the face, so the cut is at half the
# inter-eye distance (another face would be a whole one away).
MAX_EYE_ERROR = 0.5


def mesh_dir(cache_dir: str | os.PathLike[str]) -> Path:
    return Path(cache_dir) / "mesh"


def eye_error(points: np.ndarray, landmarks: np.ndarray) -> float:
    """Distance between the mesh's iris centres and the five-point eyes, as a share of the inter-eye distance."""
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    iris = np.asarray(points, np.float64)[list(IRIS_CENTRES)]
    eye_gap = max(float(np.linalg.norm(lm[1] - lm[0])), 1.0)
    straight = np.linalg.norm(iris - lm[:2], axis=1).max()
    crossed = np.linalg.norm(iris[::-1] - lm[:2], axis=1).max()
    return float(min(straight, crossed) / eye_gap)


def _mesh_one(face_mesh, crop: np.ndarray) -> np.ndarray | None:
    result = face_mesh.process(np.ascontiguousarray(crop))
    if not result.multi_face_landmarks:
        return None
    h, w = crop.shape[:2]
    marks = result.multi_face_landmarks[0].landmark
    return np.array([[p.x * w, p.y * h] for p in marks], np.float32)


def build(cache_dir: str | os.PathLike[str], *, progress: bool = True) -> dict[str, int]:
    """Write ``mesh/<id>.npz`` for every ``faces/<id>.npz`` of a crop cache that has none yet."""
    import mediapipe as mp

    faces_dir = Path(cache_dir) / "faces"
    out_dir = mesh_dir(cache_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps({"mediapipe": mp.__version__, "points": N_POINTS,
                                                     "max_eye_error": MAX_EYE_ERROR}, indent=2) + "\n")
    todo = [p for p in sorted(faces_dir.glob("*.npz"))
            if not p.name.endswith(".tmp.npz") and not (out_dir / p.name).exists()]
    counts = {"items": len(todo), "faces": 0, "meshed": 0, "no_mesh": 0, "disagree": 0}
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True) as fm:
        for n, path in enumerate(todo, start=1):
            with np.load(path) as data:
                crops, landmarks = data["crops"], data["landmarks"]
            points = np.full((len(crops), N_POINTS, 2), np.nan, np.float32)
            for i, (crop, lm) in enumerate(zip(crops, landmarks)):
                counts["faces"] += 1
                mesh = _mesh_one(fm, crop)
                if mesh is None:
                    counts["no_mesh"] += 1
                elif eye_error(mesh, lm) > MAX_EYE_ERROR:
                    counts["disagree"] += 1
                else:
                    points[i] = mesh
                    counts["meshed"] += 1
            tmp = out_dir / f"{path.stem}.tmp.npz"
            np.savez(tmp, points=points)
            os.replace(tmp, out_dir / path.name)
            if progress and (n % 200 == 0 or n == len(todo)):
                print(f"face mesh: {n}/{len(todo)} items, {counts['meshed']}/{counts['faces']} faces meshed",
                      file=sys.stderr, flush=True)
    return counts


def find_uv() -> str | None:
    """The uv executable: on PATH, or beside this interpreter (the ``train`` extra installs it into the venv)."""
    return shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))


def ensure_meshes(cache_dir: str | os.PathLike[str]) -> None:
    """Build the cache's mesh sidecar in a separate numpy<2 environment (uv), unless every item has one.

    Raises:
        MissingExtraError: uv is not installed (the ``train`` extra has it).
        RuntimeError: the build failed.
    """
    faces = {p.name for p in (Path(cache_dir) / "faces").glob("*.npz") if not p.name.endswith(".tmp.npz")}
    meshes = {p.name for p in mesh_dir(cache_dir).glob("*.npz")}  # none if the folder is not there yet
    if faces <= meshes:
        return
    uv = find_uv()
    if uv is None:
        from detector.errors import MissingExtraError  # here, not at the top: the numpy<2 side imports only this file

        raise MissingExtraError("uv", extra="train", hint="sbi_mask 'mesh' runs MediaPipe in its own numpy<2 "
                                "environment made by uv; or use sbi_mask 'hull'")
    root = Path(__file__).resolve().parent.parent
    cmd = [uv, "run", "--no-project", "--quiet", "--python", sys.executable, "--with", MEDIAPIPE_REQUIREMENT,
           "--with", "numpy<2", "python", "-m", "training.face_mesh", str(Path(cache_dir).resolve())]
    # Only this file is imported there: keep the project's own environment out of that interpreter's path.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(cmd, check=False, cwd=root, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"face mesh build failed (exit {done.returncode}): {' '.join(cmd)}")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training.face_mesh",
                                     description="Add MediaPipe 478-point meshes to a crop cache (needs numpy<2).")
    parser.add_argument("cache_dir", type=Path, help="one crop cache key folder (the one holding faces/)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    if not (args.cache_dir / "faces").is_dir():
        print(f"{args.cache_dir}: no faces/ folder: not a crop cache key folder", file=sys.stderr)
        return 2
    counts = build(args.cache_dir)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
