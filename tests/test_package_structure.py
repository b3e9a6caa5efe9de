"""The package imports one way, has no import cycles and keeps its files small.

Every ``import`` in every module of ``medusa_zoo`` counts: module level, inside functions and
under ``TYPE_CHECKING``. The only imports left out are those inside an
``if __name__ == "__main__":`` block, which run only when a module is started as a program
(the older ``python -m`` entry points forwarding to the command line) and never when it is imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "medusa_zoo"

LAYERS: dict[str, int] = {
    "errors": 0,
    "limits": 1, "bounds": 1,
    "registry": 2, "labels": 2, "files": 2, "preprocessing": 2, "devices": 2, "resize": 2,
    "fetch": 3, "metrics": 3, "inputs": 3,
    "backbones": 4,
    "heads": 5, "tasks": 5,
    "models": 6, "data": 6,
    "hub": 7, "losses": 7, "pictures": 7,
    "training": 8,
    "api": 9, "embeddings": 9, "benchmarks": 9,
    "cli": 10,
    "__main__": 11, "train": 11, "evaluate": 11, "ufl": 11,  # entry points: python -m medusa_zoo[.train|.evaluate|.ufl]
    "__init__": 12,
}  # fmt: skip
"""Each unit (top-level module or sub-package of medusa_zoo) may import only units of a lower layer
(and itself): Hub downloads, metrics <- backbones <- heads, tasks <- models <- hub <- training <- the public
API <- the command line <- its entry points. Units on one layer never import each other (models and data are
independent; so are heads and tasks)."""


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _is_main_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return (
        isinstance(node, ast.If)
        and isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if _is_main_block(child):
            continue
        yield child
        yield from _walk(child)


def _imports(name: str, path: Path) -> set[str]:
    """The medusa_zoo modules ``name`` imports (submodules resolved where a name is one)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in _walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t == "medusa_zoo" or t.startswith("medusa_zoo."))
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_unit_has_a_layer() -> None:
    units = {_unit(m) for m in MODULES}
    assert units == set(LAYERS), f"units without a layer: {units - set(LAYERS)}; stale: {set(LAYERS) - units}"


def test_imports_go_one_way() -> None:
    violations = []
    for module, targets in GRAPH.items():
        source = _unit(module)
        for target in targets:
            unit = _unit(target)
            if unit != source and LAYERS[unit] >= LAYERS[source]:
                violations.append(f"{module} (layer {LAYERS[source]}) imports {target} (layer {LAYERS[unit]})")
    assert not violations, "upward or sideways imports:\n" + "\n".join(sorted(violations))


def test_models_import_nothing_from_data_hub_or_training() -> None:
    leaks = [(m, t) for m, ts in GRAPH.items() if _unit(m) == "models" for t in ts
             if _unit(t) in {"data", "hub", "training", "api", "cli", "__init__"}]  # fmt: skip
    assert not leaks


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return cycles


def test_there_are_no_import_cycles() -> None:
    assert not _cycles(GRAPH), f"import cycles: {_cycles(GRAPH)}"


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    """The checks above are not vacuous: an upward import inside a function is seen."""
    source = tmp_path / "leak.py"
    source.write_text("def f():\n    from ..hub import load_manifest\n    return load_manifest\n")
    MODULES["medusa_zoo.models.leak"] = source
    try:
        targets = _imports("medusa_zoo.models.leak", source)
    finally:
        del MODULES["medusa_zoo.models.leak"]
    assert targets == {"medusa_zoo.hub"} and LAYERS[_unit("medusa_zoo.hub")] > LAYERS["models"]
    main_block = tmp_path / "entry.py"
    main_block.write_text('if __name__ == "__main__":\n    from ..cli import main\n')
    assert _imports("medusa_zoo.training.entry", main_block) == set()
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_files_stay_under_500_lines(module: str) -> None:
    lines = MODULES[module].read_text().count("\n")
    assert lines < 500, f"{module} has {lines} lines; split it by role"
