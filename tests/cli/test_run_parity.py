"""What go run decides beyond the build: the language version of named files and the program's
environment, side by side with the real go run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import Toolchains, gorun, rungo, write_tree

RANGE_FUNC = {
    "go.mod": """
        module example.com/lang

        go 1.22
        """,
    "gen.go": """
        package main

        import "fmt"

        func seq(yield func(int) bool) {
        	for i := 0; i < 3; i++ {
        		if !yield(i) {
        			return
        		}
        	}
        }

        func main() {
        	for i := range seq {
        		fmt.Print(i)
        	}
        	fmt.Println()
        }
        """,
}


def test_named_files_use_the_toolchains_language_version(module: Path, toolchain_env: dict[str, str],
                                                         go_exe: str) -> None:
    write_tree(module, RANGE_FUNC)
    got = rungo(["run", "gen.go"], module, toolchain_env)
    assert (got.returncode, got.stdout, got.stderr) == (0, "012\n", "")
    # The package itself still compiles at go.mod's version, and fails as go run fails.
    pkg = rungo(["run", "."], module, toolchain_env)
    assert pkg.returncode == 125
    assert "requires go1.23 or later (-lang was set to go1.22; check go.mod)" in pkg.stderr


def test_named_files_language_matches_go_run(module: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(module, RANGE_FUNC)
    want = gorun(go_exe, ["gen.go"], module, base_env)
    got = rungo(["run", "gen.go"], module, base_env)
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout) == (0, "012\n")


ENVIRON = {
    "go.mod": """
        module example.com/environ

        go 1.22
        """,
    "main.go": """
        package main

        import (
        	"fmt"
        	"os"
        )

        func main() {
        	for _, e := range os.Environ() {
        		fmt.Println(e)
        	}
        }
        """,
}


def test_program_environment_is_go_runs(module: Path, base_env: dict[str, str], toolchains: Toolchains) -> None:
    if not toolchains.path_go:
        pytest.skip("no go binary on PATH on this machine")
    write_tree(module, ENVIRON)
    # The go binary itself (a wrapper script would add to the environment), no locale at all (Python
    # would coerce one into its own environment), PATH in the middle, names in their order.
    go = toolchains.path_go
    env = {k: v for k, v in base_env.items() if not k.startswith(("LC_", "LANG"))}
    env["PATH"] = str(Path(go).parent) + os.pathsep + env["PATH"]
    env = {"ZZ_FIRST": "1", **env, "AA_LAST": "2"}
    want = gorun(go, ["."], module, env)
    assert want.returncode == 0, want.stderr
    assert want.stdout.splitlines()[-1].startswith("PATH=")
    for attempt in ("first run", "rerun"):
        got = rungo(["run", "."], module, env)
        assert got.returncode == 0, got.stderr
        assert got.stdout == want.stdout, attempt


def test_a_new_main_package_under_a_wildcard_is_seen(module: Path, base_env: dict[str, str]) -> None:
    """`rungo run ./cmd/...` remembered with one main package; a second one appearing makes the next
    run fail as go run does (the pattern matches multiple packages), not rerun the old program."""
    import time

    write_tree(module, {
        "go.mod": "module example.com/wild\n\ngo 1.22\n",
        "cmd/one/main.go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("one") }\n',
    })
    time.sleep(1.1)
    for _ in range(2):
        got = rungo(["run", "./cmd/..."], module, base_env)
        assert (got.returncode, got.stdout) == (0, "one\n"), got.stderr
    write_tree(module, {"cmd/two/main.go": 'package main\n\nfunc main() {}\n'})
    got = rungo(["run", "./cmd/..."], module, base_env)
    assert got.returncode == 125
    assert "matches multiple packages" in got.stderr, got.stderr
