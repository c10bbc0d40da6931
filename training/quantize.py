"""Post-training int8 quantisation of an exported classifier (ONNX Runtime static QDQ), for CPU scans.

    deepfake quantize models/deepfake-detector.onnx --data ../shared/data/MANIFEST.csv --out models/int8/

EfficientNet-Lite was designed to be quantised (ReLU6, no squeeze-excite, Tan & Le 2019's "Lite" notes), and
on a CPU with int8 dot products (AVX-512 VNNI, AVX-VNNI, ARM dot-product) ONNX Runtime runs it faster
(``benchmarks/classifier.py``; figures in ``benchmarks/README.md``). Weights are quantised per output
channel (symmetric int8; 7-bit for the full convolutions, see :func:`_saturation_safe_weights`), activations
per tensor (uint8) from a calibration pass over aligned training faces,
real and fake alike (the same ``detector.preprocess`` path as every scan). The graph keeps its float input
and ``logit`` / ``probability`` outputs, so the card's calibration and the scan recipe carry over; the card is
named ``<name>-int8`` (results say which file scored them) and records the quantisation and the largest
probability change measured on the calibration faces. Not the default: on unseen media int8 moves the scores
(see the model README's Speed section).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from detector.classifier import Classifier
from detector.modelcard import ModelCard
from detector.preprocess import to_input
from detector.runtime import sha256_file


def calibration_crops(classifier: Classifier, data: Sequence[str], *, split: str | None, cache: str | Path,
                      n: int = 256, seed: int = 0) -> np.ndarray:
    """``n`` aligned faces from ``data`` (one per item, items drawn at random, both labels), through the
    classifier's own face stage and crop cache."""
    from .crops import CropCache, CropCacheConfig
    from .data import load_datasets

    items = load_datasets(data, split=split)
    if not items:
        raise ValueError(f"no items in {list(data)} (split {split!r})")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(items))
    cache_config = CropCacheConfig.from_recipe(classifier.card.scan)
    store = CropCache(cache, cache_config)
    crops: list[np.ndarray] = []
    for start in range(0, len(order), n):
        chosen = [items[i] for i in order[start:start + n]]
        store.build(chosen, progress=False)
        for item in chosen:
            faces = store.load(item)
            if faces is not None and len(faces):
                crops.append(faces.crops[int(rng.integers(len(faces)))])
            if len(crops) == n:
                return np.stack(crops)
    if not crops:
        raise ValueError("no faces found in the calibration data")
    return np.stack(crops)


class _Reader:
    """ONNX Runtime's calibration-data protocol over preprocessed batches."""

    def __init__(self, batches: list[np.ndarray]) -> None:
        self._it: Iterator[np.ndarray] = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._it, None)
        return None if batch is None else {"input": batch}


def quantize_classifier(onnx_path: str | Path, crops: np.ndarray, out_dir: str | Path, *,
                        name: str | None = None, batch: int = 16) -> tuple[Path, Path]:
    """Write ``out_dir/<name>.onnx`` (int8 QDQ) and its card; returns both paths.

    ``crops``: ``(N, size, size, 3)`` uint8 aligned faces for the activation ranges (and for the drift check).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source = Classifier.load(onnx_path)
    card = source.card
    x = to_input(crops, size=card.input_size, mean=card.mean, std=card.std)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or f"{Path(onnx_path).stem}-int8"
    target = out_dir / f"{name}.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Shape inference and graph clean-up first: ONNX Runtime's documented step before static quantisation.
        quant_pre_process(str(onnx_path), str(prepared), skip_symbolic_shape=True)
        kept_float = _kept_float(prepared)
        seven_bit = _saturation_safe_weights(prepared, kept_float)
        quantize_static(str(prepared), str(target), _Reader([x[i:i + batch] for i in range(0, len(x), batch)]),
                        quant_format=QuantFormat.QDQ, per_channel=True, weight_type=QuantType.QInt8,
                        activation_type=QuantType.QUInt8, calibrate_method=CalibrationMethod.MinMax,
                        nodes_to_exclude=kept_float, extra_options={"TensorQuantOverrides": {
                            w: [{"axis": 0, "reduce_range": True}] for w in seven_bit}})
    quantized = replace(card, name=f"{card.name}-int8", sha256=sha256_file(target))
    drift = float(np.abs(Classifier(target, quantized).predict(crops) - source.predict(crops)).max())
    quantized = replace(quantized, recipe={**card.recipe, "quantization": {
        "method": "onnxruntime static QDQ, int8 per-channel weights (7-bit range for full convolutions, "
                  "against u8s8 saturation on CPUs without VNNI), uint8 per-tensor activations (MinMax)",
        "calibration_faces": len(crops), "max_abs_probability_change_on_them": drift,
        "float_model_sha256": card.sha256}})
    return target, quantized.save(out_dir / f"{name}.json")


def _kept_float(model_path: Path) -> list[str]:
    """Nodes left in float: the first convolution (it sees the image itself), the last one and the head (the
    logit's own precision), and the sigmoid (calibration is the card's business): on held-out faces keeping them
    in float brought the int8 logits measurably closer to float for about 8 % of the network's multiply-adds
    (``training/EXPERIMENTS.md``)."""
    import onnx

    graph = onnx.load(str(model_path)).graph
    if any(n.op_type in ("Shape", "Ceil") for n in graph.node):
        raise ValueError(f"{model_path.name} computes its padding at run time (exported before static padding, "
                         "training.export.static_same_padding): re-export it from its checkpoint first")
    convs = [n.name for n in graph.node if n.op_type == "Conv"]
    head = [n.name for n in graph.node if n.op_type in ("Gemm", "MatMul", "Sigmoid")]
    return convs[:1] + convs[-1:] + head


def _saturation_safe_weights(model_path: Path, kept_float: Sequence[str]) -> list[str]:
    """Weights of the quantised full (``group == 1``) convolutions, to be quantised to 7 bits (``reduce_range``).

    On x86 CPUs without VNNI (AVX2, AVX-512 without VNNI) ONNX Runtime's u8 x s8 matrix kernel multiplies with
    VPMADDUBSW, which adds pairs of products into int16 and saturates there (255 * 127 * 2 > 32767). With full
    8-bit weights the integer kernels then depart from the quantised model's own arithmetic: on an AMD EPYC
    with AVX2 only (torch 2.15, onnxruntime 1.32, 2026-12) the test Lite0's int8 logits moved by 0.73 on average
    (max 2.3, logit SD 1.1) from ONNX Runtime's unfused reference of the same QDQ graph, the pooled features by
    38 % instead of 14 %, and the logits' rank correlation with float fell to 0.73 (0.93 without saturation).
    7-bit weights cannot saturate (255 * 64 * 2 < 32767); with them the kernels match the reference to 0.06
    (mean |logit change|) and the rank correlation is about 0.90 on every CPU. Depthwise convolutions run on
    another kernel that does not saturate and keep 8 bits (7 bits there too cost 0.02 of rank correlation for
    nothing). The price on VNNI CPUs, where 8 bits would not saturate: pooled-feature error 14 % -> 23 %
    (median rank correlation over 500 random heads 0.977 -> 0.948); U8U8 would keep 16 % but ran slower
    than float (10.8 against 4.5 ms per face, one thread on that AVX2 CPU)."""
    import onnx

    kept = set(kept_float)
    return [n.input[1] for n in onnx.load(str(model_path)).graph.node
            if n.op_type == "Conv" and n.name not in kept
            and next((a.i for a in n.attribute if a.name == "group"), 1) == 1]


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepfake quantize", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="an exported classifier (.onnx with its .json card)")
    parser.add_argument("--data", nargs="+", required=True, help="datasets for the calibration faces")
    parser.add_argument("--split", default="train")
    parser.add_argument("--cache", default="~/.cache/deepfake-detector/crops")
    parser.add_argument("--faces", type=int, default=256)
    parser.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    source = Classifier.load(args.model)
    crops = calibration_crops(source, args.data, split=args.split or None, cache=Path(args.cache).expanduser(),
                              n=args.faces)
    onnx_path, card_path = quantize_classifier(args.model, crops, args.out)
    print(f"{onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB), card {card_path}: "
          f"max |dp| on {len(crops)} calibration faces "
          f"{ModelCard.load(card_path).recipe['quantization']['max_abs_probability_change_on_them']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
