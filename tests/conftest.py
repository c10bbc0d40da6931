"""Shared fixtures: small clips and images built from scikit-image's public-domain photos.

Nothing here reads ../shared/data; tests that do carry the ``data`` marker and skip when it is absent.
"""

from __future__ import annotations

import os
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import av
import numpy as np
import pytest

from detector.outputs.demo import load_photo, pan_zoom_frames, write_video

# albumentations (training tests) otherwise checks PyPI for updates at import.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DEEPFAKE_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true",
                     help="run every test, the slow tier too (what CI runs); default: the fast tier")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Two tiers. Plain ``pytest`` is the fast tier: tests marked ``slow`` (fresh venvs, notebooks, Ray,
    crash loops, live-server floods, the shared data set) are deselected. ``pytest --full`` (the README's test
    command, CI) runs everything; an explicit ``-m`` expression also selects on its own."""
    # Markers, not item.keywords: keywords hold every folder name too, and tests/training/data/ is a folder.
    if not SHARED_DATA.is_dir():
        skip = pytest.mark.skip(reason=f"shared data not found at {SHARED_DATA}")
        for item in items:
            if item.get_closest_marker("data"):
                item.add_marker(skip)
    if config.getoption("--full") or config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
        config.stash[_SLOW_DESELECTED] = len(slow)


_SLOW_DESELECTED = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    n = config.stash.get(_SLOW_DESELECTED, 0)
    if n:
        terminalreporter.write_line(f"fast tier: {n} slow tests deselected; `pytest --full` runs them (CI does)")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (research data, never copied into the project); tests using it are marked ``data``."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return load_photo("astronaut.png")


@pytest.fixture(scope="session")
def cameraman() -> np.ndarray:
    return load_photo("camera.png")


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def demo_clip(clip_dir: Path, astronaut: np.ndarray) -> Path:
    """2 s, 25 fps, 640 x 360 pan/zoom over the astronaut: one person throughout."""
    frames = pan_zoom_frames(astronaut, width=640, height=360, n_frames=50)
    return write_video(clip_dir / "demo.mp4", frames, fps=25)


def write_frames(path: Path, frames: list[np.ndarray], *, fps: int = 25, codec: str = "libx264",
                 pix_fmt: str = "yuv420p", pts: list[int] | None = None, time_base: Fraction | None = None,
                 rotation: int | None = None, options: dict[str, str] | None = None) -> Path:
    """Encode frames with full control over timestamps, codec and rotation metadata."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if options:
            stream.options = options
        if time_base is not None:
            stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(frames):
            fmt = "gray" if image.ndim == 2 else "rgb24"
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def numbered_frames(n: int, size: tuple[int, int] = (64, 48)) -> list[np.ndarray]:
    """Frames whose brightness encodes their number: 20 + 8*(i % 25) on the left, 20 + 8*(i // 25) on the right.

    Steps of 8 survive lossy coding and YUV rounding; ``frame_number`` reads them back (up to 625 frames).
    """
    w, h = size
    frames = []
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[:, : w // 2] = 20 + 8 * (i % 25)
        img[:, w // 2:] = 20 + 8 * (i // 25)
        frames.append(img)
    return frames


def frame_number(image: np.ndarray) -> int:
    w = image.shape[1]
    low = round((float(image[:, 2: w // 2 - 2].mean()) - 20) / 8)
    high = round((float(image[:, w // 2 + 2: -2].mean()) - 20) / 8)
    return high * 25 + low


@pytest.fixture(scope="session")
def video_writer():
    """The :func:`write_frames` helper, as a fixture (test modules are imported in importlib mode)."""
    return write_frames


@pytest.fixture(scope="session")
def numbered():
    return numbered_frames


@pytest.fixture(scope="session")
def read_number():
    return frame_number


@pytest.fixture(scope="session")
def shared_data_or_none() -> Path | None:
    return SHARED_DATA if SHARED_DATA.is_dir() else None


TINY_MODEL_SIZE = 64  # crop side: small enough that classifying is negligible next to decoding and detection


def build_tiny_model(out_dir: Path, *, seed: int = 0, bias: float = 0.0, kinds: bool = False,
                     kind_bias: tuple[float, float, float] | None = None, novelty_value: float | None = None,
                     novelty_spread: float = 0.0, max_novelty: float | None = None, name: str = "tiny") -> Path:
    """A random-weights classifier with the real model's interface (``input`` -> ``logit``) and a card.

    Behaviour tests (verdict rules, batching, errors, reports, the service, the audit) run on it, so they do
    not depend on how good the shipped model is; the shipped model keeps its golden-output tests. Conv 3->8
    (3x3, stride 2) -> ReLU -> global average -> linear 8->1; ``bias`` shifts every logit, e.g. to make every
    face "fake".

    The optional heads of a newer model (:mod:`detector.classifier`): ``kinds`` adds ``kind_logits`` (N, 3), a
    random linear 8->3 of the same features plus ``kind_bias`` (e.g. ``(0, 9, 0)``: every face a reenactment),
    and names :data:`detector.kinds.FAKE_KINDS` in the card. ``novelty_value`` adds ``novelty`` (N,):
    ``novelty_value + novelty_spread * |random linear 8->1|`` (spread 0: the same value for every face).
    ``max_novelty`` goes into the card's verdict rules. ``name``: the file's stem (several models in one folder).
    """
    import hashlib

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from detector.faces.align import AlignSpec
    from detector.kinds import FAKE_KINDS
    from detector.modelcard import Calibration, ModelCard
    from detector.recipe import ScanRecipe, VerdictRules

    rng = np.random.default_rng(seed)
    weights = [
        numpy_helper.from_array(rng.normal(0, 0.5, (8, 3, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, (8,)).astype(np.float32), "conv_b"),
        numpy_helper.from_array(rng.normal(0, 1.0, (8, 1)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(np.array([bias], np.float32), "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], ["conv"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logit"]),
    ]
    outputs = [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["N", 1])]
    # The extra heads draw from their own generator: the logit head stays the same model whatever is added.
    extra = np.random.default_rng([seed, 1])
    if kinds:
        weights += [numpy_helper.from_array(extra.normal(0, 1.0, (8, 3)).astype(np.float32), "kind_w"),
                    numpy_helper.from_array(np.asarray(kind_bias or (0, 0, 0), np.float32), "kind_b")]
        nodes.append(helper.make_node("Gemm", ["flat", "kind_w", "kind_b"], ["kind_logits"]))
        outputs.append(helper.make_tensor_value_info("kind_logits", TensorProto.FLOAT, ["N", 3]))
    if novelty_value is not None:
        weights += [numpy_helper.from_array(extra.normal(0, 1.0, (8, 1)).astype(np.float32), "nov_w"),
                    numpy_helper.from_array(np.array([novelty_spread], np.float32), "nov_scale"),
                    numpy_helper.from_array(np.array([novelty_value], np.float32), "nov_base"),
                    numpy_helper.from_array(np.array([-1], np.int64), "flat_shape")]
        nodes += [helper.make_node("MatMul", ["flat", "nov_w"], ["nov_lin"]),
                  helper.make_node("Abs", ["nov_lin"], ["nov_abs"]),
                  helper.make_node("Mul", ["nov_abs", "nov_scale"], ["nov_scaled"]),
                  helper.make_node("Add", ["nov_scaled", "nov_base"], ["nov_col"]),
                  helper.make_node("Reshape", ["nov_col", "flat_shape"], ["novelty"])]
        outputs.append(helper.make_tensor_value_info("novelty", TensorProto.FLOAT, ["N"]))
    size = TINY_MODEL_SIZE
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size, size])],
        outputs, initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every onnxruntime the cpu extra allows (>= 1.18)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.onnx"
    onnx.save(model, path)
    spec = AlignSpec(size=size, margin=0.3)
    card = ModelCard(
        name="tiny-random-test-model", version="0", sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        arch="tiny-random-cnn", input_size=size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
        scan=ScanRecipe(align=spec, verdict=VerdictRules(max_novelty=max_novelty)), calibration=Calibration(),
        licence="test fixture: random weights, no training data", kinds=FAKE_KINDS if kinds else ())
    card.save(path.with_suffix(".json"))
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``.onnx`` of :func:`build_tiny_model` (its card beside it); needs the ``onnx`` package (train extra)."""
    pytest.importorskip("onnx")
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_model_builder():
    """:func:`build_tiny_model`, for tests that need another seed or bias."""
    pytest.importorskip("onnx")
    return build_tiny_model


class HtmlCells(HTMLParser):
    """An HTML page's text per table row (each row a list of its cells' text) and all of its text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse_html_cells(html: str) -> HtmlCells:
    cells = HtmlCells()
    cells.feed(html)
    return cells


@pytest.fixture(scope="session")
def html_cells():
    """:func:`parse_html_cells`: the reports' tables and text, as a reader sees them."""
    return parse_html_cells
