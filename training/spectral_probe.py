"""Does a native-resolution frequency fingerprint tell generated faces from real ones on *unseen* sources?

GAN and diffusion up-samplers leave periodic traces in the high frequencies of their pixels (Durall et al.,
CVPR 2020, "Watch your up-convolution": the azimuthal mean of the power spectrum and a linear classifier),
and resizing a face to the classifier's 224 px erases them. Before a native-resolution branch is built, this
probe asks whether the training data holds such a cue that transfers: the central ``PATCH`` x ``PATCH`` pixels
of each grey photo, never resized, windowed; the azimuthal mean of the log power spectrum, minus its level;
a class-balanced logistic regression on the training manifest's still images (portrait reals only, so that
grey 250 px LFW or 200 px UTKFace photos do not make "resolution" the cue), each photo also re-saved once
at a random JPEG quality in [60, 95], both classes alike; scored out-of-fold on the training sources and
then on the held-out manifest, as is and re-saved at JPEG 80.

``python -m training.spectral_probe runs/holdout/train.csv runs/holdout/holdout.csv``
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .data import load_dataset
from .data.items import MediaItem
from .robustness.perturbations import jpeg

PATCH = 128  # the smallest still image in the data (the seeprettyface tiles) is 128 px
# The training manifest's studio-quality real sources (the config's "portrait photo" domain, reals only).
PORTRAIT_REALS = frozenset({"dinablachman/realorfake", "ageitgey/face_recognition", "ai-forever/ghost",
                            "KwaiVGI/LivePortrait", "yuval-alaluf/hyperstyle", "TencentARC/PhotoMaker",
                            "Tengfei-Wang/HFGI", "serengil/deepface", "deepinsight/insightface"})


def spectral_profile(rgb: np.ndarray, patch: int = PATCH) -> np.ndarray | None:
    """Azimuthal mean of the log power spectrum of the central grey patch (``patch // 2`` radii), minus the
    mean of its lowest quarter: the shape of the fall-off, not the image's contrast. None if the image is
    smaller than the patch (never resized: resizing is what erases the fingerprint)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    h, w = grey.shape
    if min(h, w) < patch:
        return None
    y, x = (h - patch) // 2, (w - patch) // 2
    block = grey[y:y + patch, x:x + patch]
    block = (block - block.mean()) * np.outer(np.hanning(patch), np.hanning(patch))
    power = np.log(np.abs(np.fft.fftshift(np.fft.fft2(block))) ** 2 + 1e-6)
    yy, xx = np.meshgrid(np.arange(patch) - patch // 2, np.arange(patch) - patch // 2, indexing="ij")
    radius = np.hypot(yy, xx).astype(int).ravel()
    bins = patch // 2
    profile = (np.bincount(radius, power.ravel(), minlength=patch)[:bins]
               / np.bincount(radius, minlength=patch)[:bins])
    return profile - profile[: bins // 4].mean()


def read_photos(manifest: str | Path, *, portrait_reals_only: bool) -> list[MediaItem]:
    """Still images of a dataset manifest (``training.data``), without the non-portrait reals if asked."""
    items = [it for it in load_dataset(manifest) if it.media == "image"]
    return [it for it in items if not (portrait_reals_only and it.label == 0 and it.source not in PORTRAIT_REALS)]


def features(photos: Iterable[MediaItem], *, resave: bool = False, quality: int | None = None,
             seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[MediaItem]]:
    """Profiles of every photo big enough; ``resave`` adds a copy re-saved at a random JPEG quality in
    [60, 95]; ``quality`` re-saves every photo at that quality instead of using it as is."""
    rng = np.random.default_rng(seed)
    X, y, kept = [], [], []
    for photo in photos:
        rgb = np.asarray(Image.open(photo.path).convert("RGB"))
        versions = [rgb if quality is None else jpeg(rgb, quality, rng)]
        if resave:
            versions.append(jpeg(rgb, int(rng.uniform(60, 95)), rng))
        for version in versions:
            profile = spectral_profile(version)
            if profile is not None:
                X.append(profile)
                y.append(photo.label == 1)
                kept.append(photo)
    return np.array(X), np.array(y, bool), kept


def _probe():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000))


def held_out_report(model, photos: Sequence[MediaItem], *, quality: int | None) -> dict[str, float | str]:
    """AUC per generated-face family against every held-out real; reals called real at 0.5."""
    from sklearn.metrics import roc_auc_score

    X, y, kept = features(photos, quality=quality)
    p = model.predict_proba(X)[:, 1]
    source = np.array([ph.source for ph in kept])
    out: dict[str, float | str] = {"all": float(roc_auc_score(y, p))}
    for src in sorted({ph.source for ph in kept if ph.label == 1}):
        mask = (source == src) | ~y
        out[src] = float(roc_auc_score(y[mask], p[mask]))
    out["reals called real"] = f"{int((p[~y] < 0.5).sum())} of {int((~y).sum())}"
    return out


def run(train_manifest: str | Path, holdout_manifest: str | Path) -> dict[str, object]:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    X, y, _ = features(read_photos(train_manifest, portrait_reals_only=True), resave=True)
    model = _probe().fit(X, y)
    # Out-of-fold on the originals only (every even row; its re-saved copy follows it), i.e. on training sources.
    oof = cross_val_predict(_probe(), X[::2], y[::2], cv=5, method="predict_proba")[:, 1]
    holdout = read_photos(holdout_manifest, portrait_reals_only=False)
    return {"train_photos": int(len(X) // 2), "fake_share": float(y.mean()),
            "training_sources_out_of_fold_auc": float(roc_auc_score(y[::2], oof)),
            "held_out": held_out_report(model, holdout, quality=None),
            "held_out_jpeg80": held_out_report(model, holdout, quality=80)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.spectral_probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train", type=Path, help="training manifest (e.g. runs/holdout/train.csv)")
    parser.add_argument("holdout", type=Path, help="held-out manifest (e.g. runs/holdout/holdout.csv)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.train, args.holdout), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
