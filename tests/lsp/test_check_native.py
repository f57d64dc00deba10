"""A check never links and never takes the go command's path for a reason that does not change type
checking: a `default.pgo` main package, and every build flag rungo leaves to the go command for a run
but that only changes code generation, the link or what go prints, are checked natively. What does
need the go command to type-check goes there without linking (`go list -export`).

The go the server runs is a wrapper that logs every command line and execs the real go; a linked
program would land in the test's own rungo cache as `<xx>/<output>-x/<name>`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from conftest import write_tree
from lspkit import CLIENTS, Session, end_session, start_session

WRAPPER = """package main

import (
	"os"
	"strings"
	"syscall"
)

const realGo = REAL_GO
const logFile = LOG_FILE

func main() {
	f, err := os.OpenFile(logFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		f.WriteString(strings.Join(os.Args[1:], "\\t") + "\\n")
		f.Close()
	}
	syscall.Exec(realGo, append([]string{realGo}, os.Args[1:]...), os.Environ())
}
"""

TYPE_ERROR = 'cannot use "s" (untyped string constant) as int value in variable declaration'

MAIN = {
    "go.mod": "module example.com/m\n\ngo 1.22\n",
    "main.go": """
        package main

        import "fmt"

        var x int = "s"

        func main() { fmt.Println(x) }
        """,
}


@pytest.fixture(params=CLIENTS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def logging_go(go_exe: str, base_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A go binary that appends its arguments (tab-separated, one line per call) to a log, then execs the real go."""
    where = tmp_path_factory.mktemp("logging-go")
    goroot = subprocess.run([go_exe, "env", "GOROOT"], env=base_env, capture_output=True, text=True, check=True).stdout
    real = Path(goroot.strip()) / "bin" / "go"
    log = where / "argv.log"
    src = where / "src"
    src.mkdir()
    (src / "go.mod").write_text("module wrapper\n\ngo 1.22\n")
    (src / "main.go").write_text(WRAPPER.replace("REAL_GO", json.dumps(str(real))).replace("LOG_FILE", json.dumps(str(log))))
    out = where / "bin" / "go"
    subprocess.run([str(real), "build", "-o", str(out), "."], cwd=src, env=base_env, check=True, capture_output=True)
    return out, log


@pytest.fixture
def env(base_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A rungo cache of the test's own: a program linked during the test would be found there."""
    return {**base_env, "RUNGO_CACHE": str(tmp_path / "rungo-cache")}


def go_calls(log: Path) -> list[list[str]]:
    try:
        return [line.split("\t") for line in log.read_text().splitlines()]
    except FileNotFoundError:
        return []


def linked(env: dict[str, str]) -> list[str]:
    return [p.name for p in Path(env["RUNGO_CACHE"]).glob("*/*-x/*")]


async def checked(kind: str, root: Path, env: dict[str, str], go: Path, flags: list[str],
                  expect: Any, what: str) -> list[lsp.Diagnostic]:
    """Opens main.go with the build flags set and waits for the publish `expect` accepts."""
    s: Session = await start_session(kind, root, env, {"goPath": str(go), "buildFlags": flags, "warmStart": "off"})
    try:
        uri = s.open("main.go")
        return await s.diagnostics(uri, expect, what, timeout=120)
    finally:
        await end_session(s)


def assert_native(log: Path, env: dict[str, str]) -> None:
    calls = go_calls(log)
    assert calls, "the logging go never ran"
    commands = sorted({c[0] for c in calls})
    assert set(commands) <= {"env", "list", "version"}, calls
    for c in calls:
        if c[0] == "list" and "-export" in c:
            assert "-deps" in c, f"a check's own compile went to the go command: {c}"
    assert linked(env) == []


def shows_type_error(diags: list[lsp.Diagnostic]) -> bool:
    return any(d.message == TYPE_ERROR and d.range.start.line == 4 for d in diags)


async def test_a_default_pgo_main_package_is_checked_natively(kind: str, env: dict[str, str],
                                                            logging_go: tuple[Path, Path], tmp_path: Path) -> None:
    go, log = logging_go
    log.unlink(missing_ok=True)
    root = write_tree(tmp_path / "ws", MAIN)
    (root / "default.pgo").write_bytes(b"")
    diags = await checked(kind, root, env, go, [], shows_type_error, "the compiler's type error")
    assert [d.message for d in diags] == [TYPE_ERROR]
    assert_native(log, env)


# Each flag makes a run go through the go command (rungo does not implement it), and none changes
# what the compiler type-checks: a check compiles natively without it.
SKIPPED = [
    ["-pgo=prof.pgo"],
    ["-cover"],
    ["-cover", "-covermode=atomic", "-coverpkg=./..."],
    ["-buildmode=pie"],
    ["-toolexec=/bin/false"],
    ["-buildvcs=true"],
    ["-linkshared"],
    ["-msan"],
    ["-asan"],
    ["-json"],
    ["-pkgdir=pkgdir"],
    ["-installsuffix=x"],
    ["-debug-actiongraph=graph.json"],
    ["-debug-trace=trace.json"],
    ["-debug-runtime-trace=rt.trace"],
]


@pytest.mark.parametrize("flags", SKIPPED, ids=lambda f: " ".join(f))
async def test_a_flag_that_does_not_change_type_checking_keeps_the_check_native(
        kind: str, env: dict[str, str], logging_go: tuple[Path, Path], tmp_path: Path, flags: list[str]) -> None:
    go, log = logging_go
    log.unlink(missing_ok=True)
    root = write_tree(tmp_path / "ws", MAIN)
    diags = await checked(kind, root, env, go, flags, shows_type_error, "the compiler's type error")
    assert [d.message for d in diags] == [TYPE_ERROR]
    assert_native(log, env)
    assert not (root / "trace.json").exists() and not (root / "graph.json").exists()


async def test_what_needs_the_go_command_compiles_there_without_linking(
        kind: str, env: dict[str, str], logging_go: tuple[Path, Path], tmp_path: Path) -> None:
    """A C file in a package without cgo: the go command refuses the package in its own words (and
    .S, Fortran or SWIG files change what gets compiled): `go list -export` compiles, nothing links."""
    go, log = logging_go
    log.unlink(missing_ok=True)
    root = write_tree(tmp_path / "ws", {**MAIN, "helper.c": "int helper(void) { return 1; }\n"})
    said = "C source files not allowed when not using cgo or SWIG: helper.c"
    diags = await checked(kind, root, env, go, [], lambda d: any(said in x.message for x in d), "go's refusal")
    assert any(x.message == f"package example.com/m: {said}" for x in diags), diags
    calls = go_calls(log)
    assert [c for c in calls if c[0] not in ("env", "list", "version")] == [], calls
    assert any(c[0] == "list" and "-export" in c and "-deps" not in c for c in calls), calls
    assert linked(env) == []


async def test_a_go_command_check_shows_the_compilers_errors_at_their_lines(
        kind: str, env: dict[str, str], logging_go: tuple[Path, Path], tmp_path: Path) -> None:
    """A .S file in a package without cgo goes to the go command, which compiles the Go files: their
    type errors come back at their lines, and nothing is linked."""
    go, log = logging_go
    log.unlink(missing_ok=True)
    root = write_tree(tmp_path / "ws", {**MAIN, "asm_amd64.S": "// nothing\n"})
    diags = await checked(kind, root, env, go, [], shows_type_error, "the compiler's type error")
    assert [d.message for d in diags] == [TYPE_ERROR]
    calls = go_calls(log)
    assert [c for c in calls if c[0] not in ("env", "list", "version")] == [], calls
    assert any(c[0] == "list" and "-export" in c and "-deps" not in c for c in calls), calls
    assert linked(env) == []


@pytest.mark.parametrize("extra", [{}, {"asm_amd64.S": "// nothing\n"}], ids=["native", "go command"])
async def test_a_check_never_runs_a_toolexec_program_from_goflags(
        kind: str, env: dict[str, str], logging_go: tuple[Path, Path], tmp_path: Path, extra: dict[str, str]) -> None:
    """$GOFLAGS's -toolexec (like -cover or -pgo there) is left out of every go command a check starts."""
    go, log = logging_go
    log.unlink(missing_ok=True)
    marker = tmp_path / "toolexec-ran"
    tool = tmp_path / "toolexec.sh"
    tool.write_text(f'#!/bin/sh\ntouch "{marker}"\nexec "$@"\n')
    tool.chmod(0o755)
    root = write_tree(tmp_path / "ws", {**MAIN, **extra})
    diags = await checked(kind, root, {**env, "GOFLAGS": f"-toolexec={tool} -cover"}, go, [], shows_type_error,
                          "the compiler's type error")
    assert [d.message for d in diags] == [TYPE_ERROR]
    assert not marker.exists()
    assert all(c[0] in ("env", "list", "version") for c in go_calls(log)), go_calls(log)
    assert linked(env) == []


async def test_another_compiler_is_asked_through_the_go_command_without_linking(
        kind: str, env: dict[str, str], logging_go: tuple[Path, Path], tmp_path: Path) -> None:
    """-compiler=gccgo type-checks with gccgo's front end and build tags: the go command compiles with it
    (`go list -export -compiler=gccgo`), and whatever it says is shown; nothing is linked."""
    go, log = logging_go
    log.unlink(missing_ok=True)
    root = write_tree(tmp_path / "ws", MAIN)
    diags = await checked(kind, root, env, go, ["-compiler=gccgo"], lambda d: len(d) > 0, "gccgo's answer")
    assert diags
    calls = go_calls(log)
    assert [c for c in calls if c[0] not in ("env", "list", "version")] == [], calls
    assert any(c[0] == "list" and "-export" in c and "-compiler=gccgo" in c for c in calls), calls
    assert linked(env) == []
