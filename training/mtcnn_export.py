"""Export facenet-pytorch's bundled MTCNN nets (PNet, RNet, ONet) to ONNX.

The weights ship inside the facenet-pytorch wheel (``facenet_pytorch/data/*.pt``), so this runs offline.
The cascade glue around the nets (pyramid, NMS, regression) lives in numpy in ``detector.faces.mtcnn``;
only the three conv nets go to ONNX.

Reproduce the files shipped in ``detector/models/mtcnn``::

    python -m training.mtcnn_export --out detector/models/mtcnn

It writes ``pnet.onnx``, ``rnet.onnx``, ``onet.onnx`` and ``manifest.json`` (sha256 of each file, the
facenet-pytorch and torch versions, the opset). The runtime checks those hashes at load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import warnings
from importlib.metadata import version
from pathlib import Path

import torch

# 17: supported by every onnxruntime >= 1.14 we allow, and enough for conv/prelu/maxpool/softmax.
OPSET = 17


def _nets() -> dict[str, tuple[torch.nn.Module, tuple[int, ...], list[str], dict]]:
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

    # PNet is fully convolutional: dynamic batch and spatial size (one call per pyramid level, all
    # frames at once). RNet/ONet take fixed 24/48 px crops with a dynamic batch.
    return {
        "pnet": (
            PNet(),
            (1, 3, 64, 80),
            ["reg", "prob"],
            {"input": {0: "batch", 2: "height", 3: "width"}, "reg": {0: "batch", 2: "oh", 3: "ow"},
             "prob": {0: "batch", 2: "oh", 3: "ow"}},
        ),
        "rnet": (RNet(), (2, 3, 24, 24), ["reg", "prob"],
                 {"input": {0: "batch"}, "reg": {0: "batch"}, "prob": {0: "batch"}}),
        "onet": (
            ONet(),
            (2, 3, 48, 48),
            ["reg", "landmarks", "prob"],
            {"input": {0: "batch"}, "reg": {0: "batch"}, "landmarks": {0: "batch"}, "prob": {0: "batch"}},
        ),
    }


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, (net, shape, outputs, dynamic_axes) in _nets().items():
        net.eval()
        path = out_dir / f"{name}.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            # The TorchScript exporter gives small, plain graphs for these 2016-era nets and is
            # deterministic: re-running the command reproduces the same bytes.
            torch.onnx.export(
                net,
                (torch.zeros(shape),),
                str(path),
                input_names=["input"],
                output_names=outputs,
                dynamic_axes=dynamic_axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        files[name] = {"file": path.name, "sha256": sha256_file(path), "outputs": outputs}
    manifest = {
        "source": "facenet-pytorch MTCNN weights (facenet_pytorch/data/{p,r,o}net.pt), MIT licence",
        "facenet_pytorch": version("facenet-pytorch"),
        "torch": version("torch"),
        "opset": OPSET,
        "nets": files,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "detector/models/mtcnn")
    args = parser.parse_args(argv)
    manifest = export(args.out)
    for name, entry in manifest["nets"].items():
        print(f"{name}: {args.out / entry['file']} sha256={entry['sha256']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
