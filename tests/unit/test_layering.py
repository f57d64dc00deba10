"""The stages' layering: load, work, cache and run never import the command line, the language
server or the orchestration above them; cache knows nothing about Go; load does not reach into work;
no module imports one that imports it back, even for types only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "server" / "rungo"

FORBIDDEN = {
    "load": ("rungo.cli", "rungo.lsp", "rungo.orchestrate", "rungo.work", "rungo.run"),
    "work": ("rungo.cli", "rungo.lsp", "rungo.orchestrate", "rungo.run"),
    "cache": ("rungo.cli", "rungo.lsp", "rungo.orchestrate", "rungo.work", "rungo.load", "rungo.run",
              "rungo.toolchain", "rungo.invocation", "rungo.syntax", "rungo.fastpath", "rungo.keys"),
    "run": ("rungo.cli", "rungo.lsp", "rungo.orchestrate", "rungo.work", "rungo.load"),
    "daemon": ("rungo.cli", "rungo.lsp"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_stage_imports_nothing_above_it(stage: str) -> None:
    files = sorted((PKG / stage).glob("*.py"))
    assert files
    bad = [(f.name, m) for f in files for m in sorted(_imports(f))
           if any(m == x or m.startswith(x + ".") for x in FORBIDDEN[stage])]
    assert bad == []


def test_engine_never_imports_the_editor_protocol() -> None:
    engine = [p for p in PKG.rglob("*.py") if "lsp" not in p.parts]
    bad = [(str(f.relative_to(PKG)), m) for f in engine for m in sorted(_imports(f))
           if m.split(".")[0] in ("pygls", "lsprotocol", "cattrs")]
    assert bad == []


def _module_graph() -> dict[str, set[str]]:
    """Each rungo module and the rungo modules it imports (type-only imports included)."""
    mods: dict[str, Path] = {}
    for p in PKG.rglob("*.py"):
        parts = ("rungo", *p.relative_to(PKG).with_suffix("").parts)
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    graph: dict[str, set[str]] = {}
    for name, p in mods.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    deps.add(full if full in mods else node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def test_no_import_circle() -> None:
    graph = _module_graph()
    circles: list[list[str]] = []
    for start in graph:
        stack, seen = [(start, [start])], {start}
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    circles.append(path)
                elif nxt not in seen and nxt > start:      # each circle found once, from its least module
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert circles == []
