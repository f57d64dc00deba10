"""Never silent: a package that does not build shows why, at the line, in the go command's words, and
the compiler's errors in the rest of the package still show beside (as gopls shows them).

Each case is compared with what the real `go build` prints for the same files: the load error's text
is go's, at the position go gives when it gives one.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from conftest import gorun, rungo, write_tree
from lspkit import Session, lsp_env, session_factory  # noqa: F401  (fixtures)

GO_MOD = "module example.com/m\n\ngo 1.22\n"
TYPE_ERROR = 'cannot use "s" (untyped string constant) as int value in variable declaration'
MAIN = """package main

import "fmt"

var x int = "s"

func main() { fmt.Println(x) }
"""


@dataclass(frozen=True)
class Case:
    files: dict[str, str]
    load: list[tuple[str, int, int, str]]            # file, 0-based line and character, message
    types: list[tuple[str, str, str]]                # file, the line's text, the compiler's message
    go_positions: bool = True                        # go prints the load errors with these positions
    go_says: list[str] = field(default_factory=list)   # what go build prints (default: the messages)
    run_says_all: bool = True                        # `rungo run` prints all of what `go run` prints


CASES: dict[str, Case] = {
    "invalid import path": Case(
        {"main.go": 'package main\n\nimport (\n\t"fmt"\n\t"a!b"\n)\n\nvar x int = "s"\n\nfunc main() { fmt.Println(x) }\n'},
        [("main.go", 4, 1, "invalid import path: a!b")],
        [("main.go", 'var x int = "s"', TYPE_ERROR)],
    ),
    "invalid import paths in two files": Case(
        {"a.go": 'package main\n\nimport (\n\t"fmt"\n\t"a!b"\n)\n\nvar x int = "s"\n\nfunc main() { fmt.Println(x, y) }\n',
         "b.go": 'package main\n\nimport "e!f"\n\nvar y int = "t"\n\nvar z = undefinedName\n'},
        [("a.go", 4, 1, "invalid import path: a!b"), ("b.go", 2, 7, "invalid import path: e!f")],
        [("a.go", 'var x int = "s"', TYPE_ERROR),
         ("b.go", 'var y int = "t"', 'cannot use "t" (untyped string constant) as int value in variable declaration'),
         ("b.go", "var z = undefinedName", "undefined: undefinedName")],
        go_says=["a.go:5:2: invalid import path: a!b"],     # go stops at the first
    ),
    "missing packages": Case(
        {"main.go": 'package main\n\nimport (\n\t"fmt"\n\t"example.com/m/nothere"\n\t"github.com/nope/nope"\n)\n\n'
                    'var x int = "s"\n\nfunc main() { fmt.Println(x, nothere.X, nope.Y) }\n'},
        [("main.go", 4, 1, "no required module provides package example.com/m/nothere; to add it:\n"
                           "\tgo get example.com/m/nothere"),
         ("main.go", 5, 1, "no required module provides package github.com/nope/nope; to add it:\n"
                           "\tgo get github.com/nope/nope")],
        [("main.go", 'var x int = "s"', TYPE_ERROR)],
        run_says_all=False,   # rungo run stops at the main module's missing package before asking about others
    ),
    "a missing package below an import": Case(
        {"main.go": 'package main\n\nimport "example.com/m/d"\n\nvar x int = "s"\n\nfunc main() { d.F() }\n',
         "d/d.go": 'package d\n\nimport "example.com/m/gone"\n\nfunc F() { gone.G() }\n'},
        [("d/d.go", 2, 7, "no required module provides package example.com/m/gone; to add it:\n\tgo get example.com/m/gone"),
         ("main.go", 2, 7, "d/d.go:3:8: no required module provides package example.com/m/gone; to add it:\n"
                           "\tgo get example.com/m/gone")],
        [("main.go", 'var x int = "s"', TYPE_ERROR)],
        go_says=["d/d.go:3:8: no required module provides package example.com/m/gone; to add it:\n"
                 "\tgo get example.com/m/gone"],
    ),
    "a malformed //go:build below an import": Case(
        {"main.go": 'package main\n\nimport "example.com/m/d"\n\nvar x int = "s"\n\nfunc main() { d.F() }\n',
         "d/d.go": "package d\n\nfunc F() {}\n", "d/bad.go": "//go:build linux &&\n\npackage d\n"},
        [("main.go", 2, 7, "bad.go: parsing //go:build line: unexpected end of expression")],
        [("main.go", 'var x int = "s"', TYPE_ERROR)],
    ),
    "file names equal but for case below an import": Case(
        {"main.go": 'package main\n\nimport "example.com/m/d"\n\nvar x int = "s"\n\nfunc main() { d.F() }\n',
         "d/d.go": "package d\n\nfunc F() {}\n", "d/X.go": "package d\n", "d/x.go": "package d\n"},
        [("main.go", 2, 7, 'package example.com/m\n\timports example.com/m/d: case-insensitive file name collision: '
                           '"X.go" and "x.go"'),
         ("d/x.go", 0, 8, 'case-insensitive file name collision: "X.go" and "x.go"')],
        [("main.go", 'var x int = "s"', TYPE_ERROR)],
        go_says=['package example.com/m\n\timports example.com/m/d: case-insensitive file name collision: '
                 '"X.go" and "x.go"'],
    ),
    "import cycle": Case(
        {"main.go": 'package main\n\nimport "example.com/m/a"\n\nvar x int = "s"\n\nfunc main() { a.F() }\n',
         "a/a.go": 'package a\n\nimport "example.com/m/b"\n\nfunc F() { b.G() }\n',
         "b/b.go": 'package b\n\nimport "example.com/m/a"\n\nfunc G() { a.F() }\n'},
        [("main.go", 2, 7, "package example.com/m\n\timports example.com/m/a from main.go\n"
                           "\timports example.com/m/b from a.go\n\timports example.com/m/a from b.go: import cycle not allowed")],
        [("main.go", 'var x int = "s"', TYPE_ERROR)],
        go_positions=False,
    ),
    "file names equal but for case": Case(
        {"main.go": MAIN, "A.go": "package main\n", "a.go": "package main\n"},
        [("a.go", 0, 8, 'case-insensitive file name collision: "A.go" and "a.go"')],
        [("main.go", 'var x int = "s"', TYPE_ERROR)],
        go_positions=False,
    ),
    "a file name that could pass for a flag": Case(
        {"main.go": MAIN, "-x.go": "package main\n"},
        [("-x.go", 0, 8, 'invalid input file name "-x.go"')],
        [("main.go", 'var x int = "s"', TYPE_ERROR)],
        go_positions=False,
    ),
    "malformed //go:build": Case(
        {"main.go": MAIN, "bad.go": "//go:build linux &&\n\npackage main\n"},
        [("bad.go", 0, 0, "parsing //go:build line: unexpected end of expression")],
        [("main.go", 'var x int = "s"', TYPE_ERROR)],
        go_positions=False,
    ),
}


def go_build(go: str, root: Path, env: dict[str, str]) -> str:
    res = subprocess.run([go, "build", "-o", os.devnull, "."], cwd=root, env=env, capture_output=True, text=True)
    assert res.returncode != 0
    return res.stdout + res.stderr


def found(diags: list[lsp.Diagnostic], line: int, character: int | None, message: str) -> bool:
    return any(d.range.start.line == line and (character is None or d.range.start.character == character)
               and d.message == message for d in diags)


@pytest.mark.parametrize("name", list(CASES))
async def test_a_load_error_shows_at_its_line_beside_the_compilers_errors(
        session_factory: Any, go_exe: str, base_env: dict[str, str], name: str) -> None:
    case = CASES[name]
    s: Session = await session_factory({"go.mod": GO_MOD, **case.files}, {"warmStart": "off"})
    said = go_build(go_exe, s.root, base_env)
    for expected in case.go_says or [m for _, _, _, m in case.load]:
        assert expected in said, (expected, said)
    if case.go_positions and not case.go_says:
        for file, line, character, message in case.load:
            assert f"{file}:{line + 1}:{character + 1}: {message}" in said, said

    opened = next(iter(case.files)) if "main.go" not in case.files else "main.go"
    s.open(opened)
    wanted: dict[str, list[tuple[int, int | None, str]]] = {}
    for file, line, character, message in case.load:
        wanted.setdefault(file, []).append((line, character, message))
    for file, text, message in case.types:
        line = case.files[file].splitlines().index(text)
        wanted.setdefault(file, []).append((line, None, message))
    for file, expected in wanted.items():
        diags = await s.diagnostics(s.uri(file), lambda d: all(found(d, *e) for e in expected),
                                    f"{file}: {expected}", timeout=120)
        for d in diags:     # the compiler's own word on the import the load error is about is not repeated
            assert not d.message.startswith(("could not import ", "invalid import path (")), d.message
            assert d.range.start != lsp.Position(0, 0) or any(
                (line, character) == (0, 0) for line, character, _ in expected if character is not None), d


async def test_the_load_errors_stay_while_typing(session_factory: Any) -> None:
    """A keystroke's check (the compiler alone, over the inputs the last full check kept) keeps the load
    errors that check placed, and the compiler's own word on the import they are about stays out."""
    case = CASES["invalid import path"]
    s: Session = await session_factory({"go.mod": GO_MOD, **case.files}, {"warmStart": "off"})
    uri = s.open("main.go")
    text = case.files["main.go"]
    await s.diagnostics(uri, lambda d: found(d, 4, 1, "invalid import path: a!b"), "the load error", timeout=120)
    edited = text.replace("func main() {", "var y int = 1.5\n\nfunc main() {")
    s.change(uri, edited)
    diags = await s.diagnostics(uri, lambda d: any("1.5" in x.message for x in d), "the new type error", timeout=120)
    assert found(diags, 4, 1, "invalid import path: a!b"), diags
    assert not any(d.message.startswith("invalid import path (") for d in diags), diags


@pytest.mark.parametrize("name", list(CASES))
def test_the_command_line_prints_what_go_run_prints(go_exe: str, base_env: dict[str, str], tmp_path: Path,
                                                    name: str) -> None:
    """A check compiles beside these errors; `rungo run` still stops at them, in go's words."""
    root = write_tree(tmp_path / "m", {"go.mod": GO_MOD, **CASES[name].files})
    ours, theirs = rungo(["run", "."], root, base_env), gorun(go_exe, ["."], root, base_env)
    assert (ours.returncode, theirs.returncode) == (125, 1)
    if CASES[name].run_says_all:
        assert ours.stderr == theirs.stderr
    else:
        assert ours.stderr and ours.stderr in theirs.stderr, (ours.stderr, theirs.stderr)
