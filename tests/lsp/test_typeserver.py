"""The long-lived type checker: built by rungo's own pipeline with the toolchain in use, it answers a
keystroke's check with the same errors the compiler reports (go build -gcflags=-e), on the same
lines and in the same words; a syntax error is left to the compiler's own words; a checker that dies
is replaced, and the check is answered all the same."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import write_tree
from rungo.lsp.engine import Engine
from rungo.orchestrate import PackageCheck

HEADER = '''package main

import (
	"fmt"
	"strings"

	"example.com/ts/lib"
)

'''

BROKEN = HEADER + '''type T struct{ a int }

func f(a int, b string) int { return a }

func main() {
	x := 1 + "a"
	var t T
	t.b = 3
	fmt.Println(x, strings.ToUpper(3), f(1), t.a.b, lib.Name(1))
	y := 5
	var s []int = map[string]int{}
	_ = s
	var ch chan<- int
	<-ch
	for i := range 3 {
		_ = i
	}
	if x := 3; x {
	}
	var _ lib.Alias = "s"
}

func f() {}
'''

MODULE = {
    "go.mod": "module example.com/ts\n\ngo 1.21\n",
    "lib/lib.go": "package lib\n\n// Alias names an int.\ntype Alias = int\n\n// Name is the library's name.\n"
                  "func Name() string { return \"lib\" }\n",
    "main.go": HEADER + "func main() {\n\tfmt.Println(strings.ToUpper(lib.Name()))\n}\n",
}

_MESSAGE = re.compile(r"^(?:\./)?([^:\s]+\.go):(\d+):\d+: (.*)$")
_CONTINUATION = re.compile(r"^\t(?:\./)?([^:\s]+\.go)(:\d+:\d+: .*)$")


def lines_and_words(report: str) -> list[tuple[str, int, str]]:
    """(file name, line, message) of each compiler-style error, continuation lines joined."""
    out: list[tuple[str, int, str]] = []
    for line in report.splitlines():
        m = _MESSAGE.match(line)
        if m:
            out.append((Path(m.group(1)).name, int(m.group(2)), m.group(3)))
        elif line.startswith("\t") and out:
            name, n, text = out[-1]
            cont = _CONTINUATION.match(line)
            out[-1] = (name, n, text + "\n" + (f"\t{Path(cont.group(1)).name}:{cont.group(2)}" if cont else line))
    return out


def report_of(check: PackageCheck) -> str:
    return "".join(text for _, text in check.compile_outputs)


def check(engine: Engine, d: Path, overlays: dict[Path, bytes], quick: bool) -> PackageCheck:
    return engine.check(d, overlays, env_extra={}, flags=(), go_path="", quick=quick)


def ready(engine: Engine, d: Path) -> Any:
    """The check's type checker, built and started (waits for the background build)."""
    env = engine.env_for({}, check=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        server, _ = engine._typeserver(env, d, "")
        if server is not None:
            return server
        time.sleep(0.2)
    raise AssertionError("the type checker was not built")


@pytest.fixture
def engine(toolchain_env: dict[str, str]) -> Any:
    e = Engine(toolchain_env)
    yield e
    e.shutdown()


def test_agrees_with_the_compiler(engine: Engine, tmp_path: Path, toolchain_env: dict[str, str]) -> None:
    root = write_tree(tmp_path / "m", MODULE)
    main = root / "main.go"
    assert not check(engine, root, {}, quick=False).compile_outputs
    server = ready(engine, root)
    assert "typeserver-" in server.program.name
    assert any("type checking in memory" in n for n in engine.typeservers.take_notes())

    broken = check(engine, root, {main: BROKEN.encode()}, quick=True)
    assert broken.in_memory and broken.types_only
    main.write_text(BROKEN)
    go_exe = str(engine.toolchain(engine.env_for({}, check=True), root, "").go)
    go = subprocess.run([go_exe, "build", "-gcflags=-e", "-o", os.devnull, "."], cwd=root, env=toolchain_env,
                        capture_output=True, text=True)
    assert go.returncode != 0
    want = lines_and_words(go.stderr)
    assert len(want) >= 10, go.stderr
    assert lines_and_words(report_of(broken)) == want
    main.write_text(MODULE["main.go"])
    assert not check(engine, root, {}, quick=False).compile_outputs      # the disk changed: a full check

    fine = check(engine, root, {main: MODULE["main.go"].replace("lib.Name()))", "lib.Name()), 1)").encode()},
                 quick=True)
    assert fine.in_memory and not fine.compile_outputs


def test_a_syntax_error_is_the_compilers(engine: Engine, tmp_path: Path) -> None:
    root = write_tree(tmp_path / "m", MODULE)
    main = root / "main.go"
    check(engine, root, {}, quick=False)
    ready(engine, root)
    got = check(engine, root, {main: MODULE["main.go"].replace("fmt.Println(strings.ToUpper(lib.Name()))", "fmt.Println(").encode()},
                quick=True)
    assert got.types_only and not got.in_memory
    assert "syntax error" in report_of(got), report_of(got)


def test_a_dead_checker_is_replaced(engine: Engine, tmp_path: Path) -> None:
    root = write_tree(tmp_path / "m", MODULE)
    main = root / "main.go"
    check(engine, root, {}, quick=False)
    first = ready(engine, root)
    os.kill(first._proc.pid, signal.SIGKILL)
    first._proc.wait()
    edit = {main: MODULE["main.go"].replace("lib.Name()", 'lib.Name() + 1').encode()}
    got = check(engine, root, edit, quick=True)
    assert "mismatched types" in report_of(got) or "cannot convert" in report_of(got), report_of(got)
    second = ready(engine, root)
    assert second is not first and second._proc.poll() is None
    again = check(engine, root, edit, quick=True)
    assert again.in_memory and lines_and_words(report_of(again)) == lines_and_words(report_of(got))


def test_shutdown_ends_the_checker(toolchain_env: dict[str, str], tmp_path: Path) -> None:
    engine = Engine(toolchain_env)
    root = write_tree(tmp_path / "m", MODULE)
    check(engine, root, {}, quick=False)
    proc = ready(engine, root)._proc
    engine.shutdown()
    assert proc.wait(timeout=10) is not None
