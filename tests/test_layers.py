"""The arrows of the code: no module reaches itself through its imports, and the hub's contract
in pyproject.toml names every ward module that is not shared (so a new ward module cannot slip
past it). ``lint-imports`` (run by .ci/run) checks the contracts themselves."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import grimp

import wardapp

ROOT = Path(__file__).parent.parent
PACKAGES = ("kernel", "wardapp", "city_hub", "demo")
# What the hub may import of the ward app: the wire format, the record schema and the database
# object the schema is declared on (docs/architecture.md, "Layers").
SHARED = {
    "wardapp",
    "wardapp.extensions",
    "wardapp.roles",
    "wardapp.sync",
    "wardapp.sync.protocol",
    "wardapp.sync.shape",
    "wardapp.sync.records",
    "wardapp.sync.package",
    "wardapp.sync.faults",
}


def import_circles(graph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return circles


def test_no_module_imports_itself_round_a_circle():
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    assert import_circles(graph) == []


def test_a_circle_is_found_when_there_is_one():
    class TwoModules:
        modules = {"a", "b", "c"}

        @staticmethod
        def find_modules_directly_imported_by(module):
            return {"a": {"b"}, "b": {"a"}, "c": {"a"}}[module]

    assert import_circles(TwoModules()) == [["a", "b"]]


def test_every_ward_module_is_shared_or_closed_to_the_hub():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    forbidden = next(c for c in config["contracts"] if c["type"] == "forbidden")
    assert forbidden["source_modules"] == ["city_hub"]
    closed = set(forbidden["forbidden_modules"])
    modules = {"wardapp"} | {
        info.name for info in pkgutil.walk_packages(wardapp.__path__, "wardapp.")
    }

    def covered(module: str) -> bool:
        return module in SHARED or any(module == c or module.startswith(c + ".") for c in closed)

    assert sorted(m for m in modules if not covered(m)) == []
    assert not SHARED & closed
