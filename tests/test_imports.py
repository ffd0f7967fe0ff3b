"""The shape of the package, checked: no import circle, and every import points down.

Floors, top to bottom (a module may import its own floor and those below it):
  commands   ``cli.py``, ``*/command.py``: argument parsing, printing, exit codes
  web        the browser viewer: handed a running service
  service    the live service (server, dispatcher, handlers, streaming, sinks)
  the rest   model, layout, optimize, data, ... and the leaf libraries ``osc/`` (the wire format and
             the control table) and ``audio/`` (the player and its back-ends), which import nothing
             of the floors above.

Every ``import`` counts, also those inside functions (a lazy import is still a dependency).
"""
from __future__ import annotations

import ast
import os

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "immersions_osc")


def _module_name(path: str) -> str:
    rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
    return rel[: -len(".__init__")] if rel.endswith(".__init__") else rel


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    files = {}
    for folder, _, names in os.walk(PACKAGE):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                files[_module_name(path)] = path
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        package = mod if path.endswith("__init__.py") else mod.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                deps.add(target)
                deps.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in files)
        graph[mod] = {d for d in deps if d in files and d != mod}
    return graph


def is_command(mod: str) -> bool:
    return mod == "immersions_osc.cli" or mod.endswith(".command") or mod == "immersions_osc.__main__"


def floor(mod: str) -> int:
    if is_command(mod):
        return 3
    if mod.startswith("immersions_osc.web"):
        return 2
    if mod.startswith("immersions_osc.service"):
        return 1
    return 0


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    # service/server.py opens the audio back-end inside a method, with a relative import
    assert "immersions_osc.audio.backends" in graph["immersions_osc.service.server"]
    assert "immersions_osc.errors" in graph["immersions_osc.audio.jack"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_circle():
    cycle = find_cycle(import_graph())
    assert not cycle, "import circle: " + " -> ".join(cycle)


def test_every_import_points_down():
    upward = [f"{mod} -> {dep}" for mod, deps in import_graph().items() for dep in deps
              if floor(dep) > floor(mod) and not mod.endswith("__main__")]
    assert not upward, "imports into a floor above: " + "; ".join(sorted(upward))


def test_no_command_imports_another_command():
    # a command's helpers that another command needs live in a library module below both
    crossing = [f"{mod} -> {dep}" for mod, deps in import_graph().items() for dep in deps
                if is_command(mod) and is_command(dep) and mod not in ("immersions_osc.cli", "immersions_osc.__main__")]
    assert not crossing, "; ".join(sorted(crossing))


def test_audio_and_osc_are_leaf_libraries():
    leaves = ("immersions_osc.audio", "immersions_osc.osc")
    above = ("immersions_osc.service", "immersions_osc.web", "immersions_osc.cli", "immersions_osc.layout",
             "immersions_osc.optimize", "immersions_osc.model", "immersions_osc.data")
    bad = [f"{mod} -> {dep}" for mod, deps in import_graph().items() if mod.startswith(leaves)
           for dep in deps if dep.startswith(above)]
    assert not bad, "; ".join(sorted(bad))
    # the client decoder is what TouchDesigner imports: plain Python + numpy, nothing of ours but the wire format
    assert import_graph()["immersions_osc.osc.decoder"] <= {"immersions_osc.osc.protocol", "immersions_osc.osc"}
