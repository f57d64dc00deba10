"""A real repository, no false alarm: files of go.starlark.net (from the Go module proxy, which
tools/setup_test_tools.py puts under .cache/lspscale with its modules in the test module cache) are valid
Go, so opening them publishes no Error; a type error typed into one shows, and goes when it is removed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import AsyncIterator

import pytest
import pytest_asyncio
from lsprotocol import types as lsp

from lspkit import CLIENTS, Session, end_session, start_session

ROOT = Path(__file__).resolve().parent.parent.parent
STARLARK = ROOT / ".cache" / "lspscale" / "starlark"
MODCACHE = ROOT / ".cache" / "realworld" / "gomodcache"

SAMPLE = [   # a main package, the interpreter, the parser, a library with a dependency outside the module
    "cmd/starlark/starlark.go",
    "starlark/eval.go",
    "syntax/scan.go",
    "starlarkstruct/struct.go",
    "lib/proto/proto.go",
]


@pytest_asyncio.fixture(params=CLIENTS)
async def starlark(request: pytest.FixtureRequest, base_env: dict[str, str],
                   tmp_path: Path) -> AsyncIterator[Session]:
    if not (STARLARK.parent / "starlark.ready").is_file():
        pytest.skip(f"{STARLARK} is not there: tools/setup_test_tools.py did not fetch go.starlark.net")
    root = tmp_path / "starlark"
    shutil.copytree(STARLARK, root)
    env = dict(base_env, GOMODCACHE=str(MODCACHE))
    s = await start_session(request.param, root, env)
    yield s
    await end_session(s)


def errors(diags: list[lsp.Diagnostic]) -> list[str]:
    return [f"{d.range.start.line + 1}: {d.message}" for d in diags
            if d.severity in (None, lsp.DiagnosticSeverity.Error)]


async def test_valid_files_of_a_real_repository_get_no_error(starlark: Session) -> None:
    s = starlark
    uris = {rel: s.open(rel) for rel in SAMPLE}
    for rel, uri in uris.items():
        await s.diagnostics(uri, lambda d: True, f"a publish for {rel}", timeout=300)
    for rel, uri in uris.items():   # every publish so far, the first and any later one, is clean
        found = [e for p in s.rec.publishes if p.uri == uri for e in errors(list(p.diagnostics))]
        assert not found, f"{rel} is valid Go, yet: {found}"

    rel, uri = "starlark/eval.go", uris["starlark/eval.go"]
    good = (s.root / rel).read_text()
    head = "func (prog *Program) Write(out io.Writer) error {\n"
    assert head in good
    s.change(uri, good.replace(head, head + '\tvar _ int = "x"\n', 1))
    shown = await s.diagnostics(uri, lambda d: any('cannot use "x"' in m for m in errors(d)),
                                "the type error typed into eval.go", timeout=120)
    assert [e for e in errors(shown) if 'cannot use "x"' not in e] == []
    s.change(uri, good)
    await s.diagnostics(uri, lambda d: not errors(d), "eval.go clean again", timeout=120)
