"""Export a trained checkpoint to ONNX with its model card: ``deepfake export CHECKPOINT --out DIR``.

Writes ``DIR/<name>.onnx`` (inputs ``input`` (N,3,S,S) float32 with a dynamic batch; outputs ``logit`` and
``probability``, uncalibrated) and ``DIR/<name>.json`` (:class:`detector.modelcard.ModelCard`: sha256 of the
ONNX file, preprocessing, alignment version, backbone and the origin of its starting weights, calibration,
threshold, aggregation, data summary, licence, metrics). The export is checked against torch before it is
written out: max |p_onnx - p_torch| <= 1e-4.
"""

from __future__ import annotations

import argparse
import copy
import json
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from detector.modelcard import Calibration, ModelCard
from detector.recipe import ScanConfig
from detector.runtime import create_session, sha256_file

from .model import WithKindHead, WithSigmoid, backbone_record, build_model, checkpoint_backbone
from .novelty import NoveltyFit, NoveltyHead, features_of
from .train import TrainConfig

OPSET = 17
PARITY_ATOL = 1e-4


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, TrainConfig, dict[str, Any]]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    config = TrainConfig.from_record(ckpt["config"])
    # The checkpoint holds every weight: no pretrained load needed.
    model = build_model(config.arch, kinds=len(config.kinds))
    model.load_state_dict(ckpt["model"])
    return model.eval(), config, ckpt


def static_same_padding(model: torch.nn.Module, size: int) -> torch.nn.Module:
    """A copy of ``model`` whose TensorFlow-style "SAME" paddings are constants for ``size`` x ``size`` inputs.

    timm's TF ports (``tf_efficientnet_lite0``…) compute each stride-2 convolution's padding from the input's
    shape at run time, which exports as about 150 shape-arithmetic nodes (Shape, Div, Ceil, Sub, Clip…) around
    five Pads. The classifier's input size is fixed by its card, so those pads are constants; and int8
    quantisation puts quantise/dequantise pairs on that arithmetic, which shifted the pads and lowered the
    int8 logits' rank correlation with float (``training/EXPERIMENTS.md``). timm's export form
    (``Conv2dSameExport``) fixes the pads on its first forward, run here. Same numbers (the parity check).
    """
    from timm.layers.conv2d_same import Conv2dSame, Conv2dSameExport

    model = copy.deepcopy(model)
    same = [m for m in model.modules() if type(m) is Conv2dSame]
    for m in same:
        m.__class__ = Conv2dSameExport
        m.pad, m.pad_input_size = None, (0, 0)
    if same:
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size))
    return model


def export_onnx(model: torch.nn.Module, path: Path, *, size: int, batch: int = 2,
                novelty: NoveltyFit | None = None) -> Path:
    """Outputs ``logit`` and ``probability`` (N,), ``kind_logits`` (N, K) for a model with a kind head, and
    ``novelty`` (N,) given a fit (:mod:`training.novelty`)."""
    head = NoveltyHead(novelty) if novelty is not None else None
    wrapped = WithSigmoid(static_same_padding(model, size), head).eval()
    names = (["logit", "probability"] + (["kind_logits"] if isinstance(model, WithKindHead) else [])
             + (["novelty"] if novelty is not None else []))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(wrapped, (torch.zeros(batch, 3, size, size),), str(path), input_names=["input"],
                          output_names=names, opset_version=OPSET, do_constant_folding=True,
                          dynamic_axes={"input": {0: "batch"}, **{n: {0: "batch"} for n in names}}, dynamo=False)
    return path


def check_parity(model: torch.nn.Module, onnx_path: Path, *, size: int, n: int = 6, seed: int = 0,
                 novelty: NoveltyFit | None = None) -> float:
    """Max |probability difference| between torch and ONNX Runtime on random inputs (batch sizes 1 and n).

    With a novelty fit, the graph's ``novelty`` must also match :meth:`NoveltyFit.score` of torch's features to
    within 1e-3 relative (float32 in the graph, float64 in the fit), else this raises.
    """
    session = create_session(onnx_path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    worst = 0.0
    for b in (1, n):
        x = rng.standard_normal((b, 3, size, size)).astype(np.float32)
        with torch.no_grad():
            ref = torch.sigmoid(model(torch.from_numpy(x)).reshape(-1)).numpy()
        (prob,) = session.run(["probability"], {"input": x})
        worst = max(worst, float(np.abs(prob.reshape(-1) - ref).max()))
        if novelty is not None:
            (score,) = session.run(["novelty"], {"input": x})
            expected = novelty.score(features_of(model, [torch.from_numpy(x)]))
            if not np.allclose(score, expected, rtol=1e-3, atol=1e-6):
                raise RuntimeError(f"ONNX novelty disagrees with the fit: {score} vs {expected}")
    return worst


def build_card(*, name: str, version: str, onnx_path: Path, config: TrainConfig, calibration: Calibration,
               training_data: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None,
               licence: str = "research and non-commercial use only (trained on data under non-commercial terms)",
               backbone: dict[str, Any] | None = None) -> ModelCard:
    """``backbone``: the checkpoint's record (:func:`training.model.backbone_record`); its mean/std, the
    normalisation training used, become the card's preprocessing. The scan recipe is the training config's
    (:meth:`TrainConfig.scan_recipe`): videos sampled and faces cropped as its training crops were."""
    backbone = backbone or backbone_record(config.arch, pretrained=config.pretrained)
    return ModelCard(
        name=name, version=version, sha256=sha256_file(onnx_path), arch=config.arch, input_size=config.align_size,
        mean=tuple(backbone["mean"]), std=tuple(backbone["std"]), calibration=calibration,
        training_data=training_data or {}, licence=licence, metrics=metrics or {},
        recipe={"train_config": config.to_dict()}, backbone=backbone, scan=config.scan_recipe(), kinds=config.kinds,
    )


def export(checkpoint: str | Path, out_dir: str | Path, *, name: str = "deepfake-detector", version: str = "0.0.0",
           calibration: Calibration | None = None, threshold: float | None = None,
           extra: dict[str, Any] | None = None, novelty: NoveltyFit | None = None) -> tuple[Path, Path]:
    """Export ``checkpoint`` to ``out_dir/<name>.onnx`` + ``.json``; raises if ONNX disagrees with torch.

    ``novelty``: a fit on this checkpoint's training features, computed in the graph as output ``novelty``.
    """
    model, config, ckpt = load_checkpoint(checkpoint)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = export_onnx(model, out_dir / f"{name}.onnx", size=config.align_size, novelty=novelty)
    diff = check_parity(model, onnx_path, size=config.align_size, novelty=novelty)
    if diff > PARITY_ATOL:
        onnx_path.unlink()
        raise RuntimeError(f"ONNX export disagrees with torch: max |dp| = {diff:.2e} > {PARITY_ATOL}")
    extra = extra or {}
    card = build_card(name=name, version=version, onnx_path=onnx_path, config=config,
                      calibration=calibration or Calibration(), training_data=extra.get("training_data"),
                      metrics=extra.get("metrics", {"val": ckpt.get("val")}), backbone=checkpoint_backbone(ckpt))
    card = replace(card, recipe={**card.recipe, "parity_max_abs_diff": diff, "checkpoint_epoch": ckpt.get("epoch")})
    if threshold is not None:
        card = replace(card, scan=ScanConfig(threshold=threshold).apply(card.scan))
    card_path = card.save(out_dir / f"{name}.json")
    return onnx_path, card_path


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, help="best.pt / last.pt from deepfake train")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--name", default="deepfake-detector")
    parser.add_argument("--version", default="0.0.0")
    parser.add_argument("--calibration", type=Path, help="JSON with temperature/bias (from deepfake eval --fit)")
    parser.add_argument("--threshold", type=float, default=0.5)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    calibration = Calibration(**json.loads(args.calibration.read_text())) if args.calibration else None
    onnx_path, card_path = export(args.checkpoint, args.out, name=args.name, version=args.version,
                                  calibration=calibration, threshold=args.threshold)
    print(f"{onnx_path}\n{card_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
