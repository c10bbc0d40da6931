"""The house rules, checked from the source: imports run one way, no module imports itself back through another,
the inference core stays apart from its outputs, and every module of ``detector/`` has its own tests file."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("detector", "training", "pipelines")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules ``name`` imports anywhere in its body (module level or inside functions)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # ``from pkg import sub`` imports the submodule ``pkg.sub`` when there is one.
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan). A package's ``__init__`` re-exporting
    its submodules is not a circle: edges into a package from its own submodules are left out."""
    edges = {a: {b for b in bs if not a.startswith(b + ".")} for a, bs in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_imports_of_every_kind():
    graph = _graph()
    assert "detector.judge" in graph["detector.api"]  # from .judge import ...
    assert "training.train" in graph["pipelines.cli.delegated"]  # a lazy import inside a function
    assert "detector.faces.mtcnn" in graph["detector.faces.backends"]


def test_no_import_circles():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_circles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_run_one_way():
    for name, imported in _graph().items():
        if name.startswith("detector"):
            assert not {m for m in imported if m.split(".")[0] != "detector"}, name
        if name.startswith("training"):
            assert not {m for m in imported if m.startswith("pipelines")}, name


def test_the_inference_core_does_not_import_its_outputs():
    for name, imported in _graph().items():
        if name.startswith("detector") and not name.startswith("detector.outputs"):
            assert not {m for m in imported if m.startswith("detector.outputs")}, name


def test_every_detector_module_has_its_tests_file():
    missing = []
    for name, path in _modules().items():
        if not name.startswith("detector") or path.name == "__init__.py":
            continue
        parts = name.split(".")
        expected = REPO / "tests" / Path(*parts[:-1]) / f"test_{parts[-1]}.py"
        if not expected.exists():
            missing.append(str(expected.relative_to(REPO)))
    assert missing == []


# Modules allowed past ~500 lines, each one idea that would read worse cut in two. Empty today.
LONG_MODULES: dict[str, str] = {}
MAX_LINES = 500


def _source_files() -> dict[str, Path]:
    """Every Python module of the product and of the benchmarks and tests that check it."""
    out = dict(_modules())
    for folder in ("benchmarks", "tests"):
        out.update({_module_name(p): p for p in sorted((REPO / folder).rglob("*.py"))})
    return out


def test_no_module_is_over_500_lines():
    long = {name: n for name, path in _source_files().items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES and name not in LONG_MODULES}
    assert long == {}


def _broad_handlers(path: Path) -> list[int]:
    """Lines of ``except Exception`` / ``except BaseException`` / bare ``except:`` handlers in ``path`` that keep the
    exception (clean-up handlers ending in a bare ``raise`` let it through and are not boundaries)."""
    broad = {"Exception", "BaseException"}
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.ExceptHandler):
            continue
        caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        reraises = isinstance(node.body[-1], ast.Raise) and node.body[-1].exc is None
        if not reraises and (node.type is None or any(isinstance(t, ast.Name) and t.id in broad for t in caught)):
            lines.append(node.lineno)
    return lines


# Where catching everything is right, and why. Per-file failures have exactly one boundary: detector.errors.attempt.
BROAD_HANDLERS = {
    "detector.errors": "the per-file boundary (attempt): a broken file becomes an error result, the batch goes on",
    "detector.runtime": "onnxruntime raises untyped errors for a bad model file; re-raised as ModelIntegrityError",
    "pipelines.service.pool": "a worker that cannot start reports it and stays not-ready instead of taking work",
    "detector.prefetch": "the producer thread hands its exception to the consumer, which raises it",
}


def test_one_boundary_catches_everything():
    found = {name: lines for name, path in _modules().items() if (lines := _broad_handlers(path))}
    assert set(found) == set(BROAD_HANDLERS)
    assert len(found["detector.errors"]) == 1


def test_the_broad_handler_finder_sees_every_spelling(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("try:\n    pass\nexcept:\n    pass\ntry:\n    pass\nexcept (ValueError, Exception):\n    pass\n"
                      "try:\n    pass\nexcept ValueError:\n    pass\ntry:\n    pass\nexcept BaseException:\n    raise\n")
    assert _broad_handlers(source) == [3, 7]
