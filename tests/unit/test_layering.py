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


EDGES = {"cli.py", "fastpath.py"}     # the command line and its rerun shortcut: where a process starts
WRITES = ("setdefault", "update", "pop", "clear", "__setitem__", "__delitem__")


def _os_attr(node: ast.AST, *names: str) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in names \
        and isinstance(node.value, ast.Name) and node.value.id == "os"


def test_only_the_edge_reads_the_environment_and_none_but_its_set_up_writes_it() -> None:
    readers, writers = [], []
    for p in sorted(PKG.rglob("*.py")):
        rel = str(p.relative_to(PKG))
        for node in ast.walk(ast.parse(p.read_text())):
            if _os_attr(node, "environ") and rel not in EDGES:
                readers.append(f"{rel}:{node.lineno}")
            if _os_attr(node, "putenv", "unsetenv"):
                writers.append(f"{rel}:{node.lineno}")
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                if any(isinstance(t, ast.Subscript) and _os_attr(t.value, "environ") for t in targets):
                    writers.append(f"{rel}:{node.lineno}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in WRITES and _os_attr(node.func.value, "environ"):
                writers.append(f"{rel}:{node.lineno}")
    assert readers == []
    set_up = next(n for n in ast.walk(ast.parse((PKG / "cli.py").read_text()))
                  if isinstance(n, ast.FunctionDef) and n.name == "_quiet_libraries")
    lines = range(set_up.lineno, (set_up.end_lineno or set_up.lineno) + 1)
    assert [w for w in writers if not (w.startswith("cli.py:") and int(w.split(":")[1]) in lines)] == []


def test_no_function_over_100_lines() -> None:
    long = [f"{p.relative_to(PKG)}:{n.lineno} {n.name} ({(n.end_lineno or n.lineno) - n.lineno + 1} lines)"
            for p in sorted(PKG.rglob("*.py")) if "reapi" not in p.parts
            for n in ast.walk(ast.parse(p.read_text()))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and (n.end_lineno or n.lineno) - n.lineno + 1 > 100]
    assert long == []
