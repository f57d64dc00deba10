"""A package whose imports are not built yet (a workspace opened with cold caches) is checked from
source, compiling nothing: the long-lived type checker checks its imports (the standard library, the
module's own packages, unsaved buffers among them) from source, as gopls does, and reports the errors
`go build -gcflags=-e` reports, on the same lines and in the same words. A syntax error gets the
compiler's words. A save (`build`) compiles the package and its imports, and then the keystrokes use
their export data."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import asyncio

import pytest
from lsprotocol import types as lsp

from conftest import write_tree
from lspkit import Session, lsp_env, session_factory  # noqa: F401  (fixtures)
from rungo.lsp.engine import Engine
from test_typeserver import lines_and_words, ready, report_of

MODULE = {
    "go.mod": "module example.com/src\n\ngo 1.21\n",
    "lib/lib.go": "package lib\n\nimport \"net/http\"\n\n// Handler answers.\n"
                  "type Handler struct{ Mux *http.ServeMux }\n\n// New makes one.\n"
                  "func New() *Handler { return &Handler{Mux: http.NewServeMux()} }\n",
    "main.go": "package main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n\n\t\"example.com/src/lib\"\n)\n\n"
               "func main() {\n\th := lib.New()\n\tfmt.Println(h.Mux != nil, http.StatusOK)\n}\n",
}

BROKEN = MODULE["main.go"].replace(
    "\tfmt.Println(h.Mux != nil, http.StatusOK)\n",
    "\tvar s string = h.Mux\n\tvar n int = http.StatusText(1)\n\th.Missing()\n\tfmt.Println(s, n)\n")


def archives(d: Path) -> list[Path]:
    """Compiled package archives written under d."""
    out: list[Path] = []
    for root, _, names in os.walk(d):
        for n in names:
            p = Path(root, n)
            try:
                with p.open("rb") as f:
                    if f.read(8) == b"!<arch>\n":
                        out.append(p)
            except OSError:
                pass
    return out


@pytest.fixture
def engine(toolchain_env: dict[str, str]) -> Any:
    e = Engine(toolchain_env)
    yield e
    e.shutdown()


def go_errors(root: Path, text: str, env: dict[str, str], engine: Engine) -> list[tuple[str, int, str]]:
    main = root / "main.go"
    main.write_text(text)
    try:
        go_exe = str(engine.toolchain(engine.env_for({}, check=True), root, "").go)
        got = subprocess.run([go_exe, "build", "-gcflags=-e", "-o", os.devnull, "."], cwd=root, env=env,
                             capture_output=True, text=True)
    finally:
        main.write_text(MODULE["main.go"])
    assert got.returncode != 0
    return lines_and_words(got.stderr)


def test_checked_from_source_compiling_nothing(engine: Engine, tmp_path: Path, toolchain_env: dict[str, str]) -> None:
    root = write_tree(tmp_path / "m", MODULE)
    main = root / "main.go"
    ready(engine, root)
    gocache = tmp_path / "cold-gocache"
    cold = {"GOCACHE": str(gocache)}

    first = engine.check(root, {}, env_extra=cold, flags=(), go_path="", build=False)
    assert first.unbuilt and first.in_memory, first
    assert not first.compile_outputs and not first.message
    assert archives(gocache) == []

    want = go_errors(root, BROKEN, toolchain_env, engine)
    assert len(want) == 3, want
    typed = engine.check(root, {main: BROKEN.encode()}, env_extra=cold, flags=(), go_path="", quick=True,
                         build=False)
    assert typed.unbuilt and typed.in_memory
    assert lines_and_words(report_of(typed)) == want

    # An unsaved buffer of the imported package is what the package is checked against.
    lib = root / "lib" / "lib.go"
    renamed = MODULE["lib/lib.go"].replace("func New()", "func Make()")
    other = engine.check(root, {lib: renamed.encode()}, env_extra=cold, flags=(), go_path="", quick=True,
                         build=False)
    assert other.unbuilt
    assert [w for _, _, w in lines_and_words(report_of(other))] == ["undefined: lib.New"]

    syntax = MODULE["main.go"].replace("h := lib.New()", "h := lib.New(")
    want = go_errors(root, syntax, toolchain_env, engine)
    got = engine.check(root, {main: syntax.encode()}, env_extra=cold, flags=(), go_path="", quick=True, build=False)
    assert got.unbuilt
    assert lines_and_words(report_of(got)) == want and "syntax error" in want[0][2]
    assert archives(gocache) == []

    # A save builds: the package and its imports are compiled, and the keystrokes use their export data.
    saved = engine.check(root, {main: BROKEN.encode()}, env_extra=cold, flags=(), go_path="", build=True)
    assert not saved.unbuilt and not saved.in_memory
    assert lines_and_words(report_of(saved)) == go_errors(root, BROKEN, toolchain_env, engine)
    assert archives(gocache)
    after = engine.check(root, {main: BROKEN.encode()}, env_extra=cold, flags=(), go_path="", quick=True, build=False)
    assert after.in_memory and not after.unbuilt
    assert lines_and_words(report_of(after)) == lines_and_words(report_of(saved))


def test_a_cgo_package_is_built(engine: Engine, tmp_path: Path) -> None:
    """A package that uses cgo itself is not checked from source (its C declarations need cgo)."""
    root = write_tree(tmp_path / "c", {
        "go.mod": "module example.com/c\n\ngo 1.21\n",
        "main.go": "package main\n\n// int two(void) { return 2; }\nimport \"C\"\n\nimport \"fmt\"\n\n"
                   "func main() { fmt.Println(C.two()) }\n",
    })
    ready(engine, root)
    got = engine.check(root, {}, env_extra={}, flags=(), go_path="", build=False)
    assert not got.unbuilt and not got.compile_outputs and not got.message


async def test_opening_compiles_nothing_until_a_save(session_factory: Any, lsp_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    """In the editor: an opened file's type errors come from source, and they stay so while typing and
    after a pause; the first save compiles the package and its imports."""
    prebuilt = Engine(lsp_env)
    try:
        ready(prebuilt, tmp_path)       # the type checker, built once per toolchain
    finally:
        prebuilt.shutdown()
    gocache = tmp_path / "cold-gocache"
    s: Session = await session_factory({**MODULE, "main.go": BROKEN}, {"env": {"GOCACHE": str(gocache)}})
    uri = s.open("main.go")
    diags = await s.diagnostics(uri, lambda ds: len(ds) == 3, "the type errors, from source")
    assert "cannot use h.Mux" in diags[0].message
    s.change(uri, MODULE["main.go"])
    await s.diagnostics(uri, lambda ds: not ds, "the errors cleared while typing")
    await asyncio.sleep(3)              # past the pause after which a built package is compiled
    assert archives(gocache) == []
    s.client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(uri=uri)))
    deadline = asyncio.get_running_loop().time() + 240
    while not archives(gocache) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
    assert archives(gocache), "the save compiled nothing"


def test_the_first_session_waits_for_its_type_checker(toolchain_env: dict[str, str], tmp_path: Path) -> None:
    """The first session with a toolchain has no type checker yet: a check whose imports are not built
    waits for its build (which nothing holds back meanwhile) rather than compile every import."""
    e = Engine(dict(toolchain_env, RUNGO_CACHE=str(tmp_path / "fresh-rungo-cache")))
    try:
        root = write_tree(tmp_path / "m", MODULE)
        want = go_errors(root, BROKEN, toolchain_env, e)
        gocache = tmp_path / "cold-gocache"
        got = e.check(root, {root / "main.go": BROKEN.encode()}, env_extra={"GOCACHE": str(gocache)}, flags=(),
                      go_path="", build=False)
        assert got.unbuilt and got.in_memory, got
        assert lines_and_words(report_of(got)) == want
        assert e.typeservers.built == 1
        assert archives(gocache) == []
    finally:
        e.shutdown()
