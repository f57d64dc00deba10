"""The stages' layering: load, work, cache and run never import the command line, the language
server or the orchestration above them; cache knows nothing about Go; load does not reach into work."""

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
