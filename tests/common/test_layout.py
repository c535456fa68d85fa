"""The import rules of the layout: what ships never imports what only tests."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ("agent", "backend")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_runtime_never_imports_test_tooling() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for directory in RUNTIME
        for path in (ROOT / directory).rglob("*.py")
        for name in _imports(path)
        if name.startswith("parley_common.testing") or name.startswith("tests")
    ]
    assert not offenders, offenders


def test_agent_and_backend_never_import_each_other() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for directory, other in (("agent", "parley_backend"), ("backend", "parley_agent"))
        for path in (ROOT / directory).rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] == other
    ]
    assert not offenders, offenders


def test_common_imports_neither_agent_nor_backend() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "common").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in ("parley_agent", "parley_backend")
    ]
    assert not offenders, offenders
