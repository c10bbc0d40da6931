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
