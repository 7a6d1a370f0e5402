"""CONTRIBUTING.md follows one order through the layers, naming `file.py::function` at each
step: every name must exist, so the page stays true when code moves."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "CONTRIBUTING.md"
REFERENCE = re.compile(r"`([\w/]+\.py)::([\w.]+)`")


def references() -> list[tuple[str, str]]:
    return REFERENCE.findall(GUIDE.read_text())


def defines(tree: ast.Module, qualname: str) -> bool:
    """Whether the module defines `qualname`: a function, a class, or one nested in either
    (`Class.method`, `outer.inner`)."""
    scope: list[ast.stmt] = tree.body
    for part in qualname.split("."):
        found = next(
            (
                node
                for node in scope
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and node.name == part
            ),
            None,
        )
        if found is None:
            return False
        scope = found.body
    return True


def test_the_guide_names_the_path_of_one_order_through_every_layer() -> None:
    files = {path for path, _ in references()}

    for layer in ("/api/", "/events/", "usecases", "/domain/", "/store/"):
        assert any(layer in path for path in files), f"no step in {layer}"


def test_every_function_the_guide_names_exists() -> None:
    missing = []
    for path, qualname in references():
        source = ROOT / path
        if not source.is_file():
            missing.append(f"{path} (no such file)")
        elif not defines(ast.parse(source.read_text()), qualname):
            missing.append(f"{path}::{qualname}")

    assert not missing, f"CONTRIBUTING.md names what is not there; update it: {missing}"


def test_a_reference_to_a_moved_function_is_caught() -> None:
    tree = ast.parse(
        "class Order:\n    def place(self) -> None: ...\n\ndef checkout() -> None: ...\n"
    )

    assert defines(tree, "Order.place")
    assert defines(tree, "checkout")
    assert not defines(tree, "Order.cancel")
    assert not defines(tree, "place")
