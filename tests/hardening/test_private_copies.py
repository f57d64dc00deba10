"""The private copies the compiler reads never show: file names in panics, in compile errors and in
`runtime.Caller` are the package's own, with and without -trimpath, as with `go run`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import gorun, rungo, write_tree

TREE = {
    "go.mod": "module example.com/copies\n\ngo 1.22\n",
    "main.go": """
        package main

        import (
        	"fmt"
        	"runtime"

        	"example.com/copies/sub"
        )

        func main() {
        	_, file, line, _ := runtime.Caller(0)
        	fmt.Println(file, line)
        	fmt.Println(sub.Where())
        	panic("here")
        }
        """,
    "sub/sub.go": """
        package sub

        import (
        	"fmt"
        	"runtime"
        )

        func Where() string {
        	_, file, line, _ := runtime.Caller(0)
        	return fmt.Sprint(file, " ", line)
        }
        """,
}


def _trace_files(stderr: str) -> list[str]:
    return re.findall(r"^\t(\S+\.go):\d+", stderr, re.M)


@pytest.mark.parametrize("flags", [[], ["-trimpath"]])
def test_file_names_are_the_packages_own(module: Path, base_env: dict[str, str], go_exe: str,
                                          tmp_path: Path, flags: list[str]) -> None:
    env = base_env | {"RUNGO_CACHE": str(tmp_path / "cache")}
    write_tree(module, TREE)
    want = gorun(go_exe, [*flags, "."], module, env)
    got = rungo(["run", *flags, "."], module, env)
    assert got.stdout == want.stdout and "rungo-build" not in got.stdout
    assert got.returncode == 2
    assert _trace_files(got.stderr) == _trace_files(want.stderr) != []


def test_compile_errors_name_the_packages_files(module: Path, base_env: dict[str, str], go_exe: str,
                                                tmp_path: Path) -> None:
    env = base_env | {"RUNGO_CACHE": str(tmp_path / "cache")}
    write_tree(module, {**TREE, "sub/bad.go": "package sub\n\nfunc Where() int { return 1 }\n"})
    want = gorun(go_exe, ["."], module, env)
    got = rungo(["run", "."], module, env)
    assert got.returncode == 125
    assert got.stderr == want.stderr
