"""What the build cache promises: an unchanged rerun builds nothing, an edit rebuilds only what it must,
and a damaged cache entry is a miss, never a wrong program."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import rungo, write_tree

TREE = {
    "go.mod": "module example.com/cache\n\ngo 1.22\n",
    "main.go": """
        package main

        import (
        	"fmt"

        	"example.com/cache/a"
        	"example.com/cache/b"
        )

        func main() { fmt.Println(a.A(), b.B()) }
        """,
    "a/a.go": """
        package a

        func A() string { return "a1" }
        """,
    "b/b.go": """
        package b

        func B() string { return "b1" }
        """,
}


def compiled(stderr: str) -> list[str]:
    """The -p values of the compile commands -x printed for the main module's packages (with the
    whole graph rungo's, a first run may compile the standard library too)."""
    return [p for p in re.findall(r"/compile .*?-p (\S+)", stderr) if p == "main" or p.startswith("example.com/")]


def linked(stderr: str) -> bool:
    return re.search(r"/link ", stderr) is not None


@pytest.fixture
def env(base_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return base_env | {"RUNGO_CACHE": str(tmp_path / "own-cache")}


def test_unchanged_rerun_builds_nothing(module: Path, env: dict[str, str]) -> None:
    write_tree(module, TREE)
    first = rungo(["run", "-x", "."], module, env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "a1 b1\n"
    assert sorted(compiled(first.stderr)) == ["example.com/cache/a", "example.com/cache/b", "main"]
    assert linked(first.stderr)
    second = rungo(["run", "-x", "."], module, env)
    assert second.stdout == "a1 b1\n"
    assert "/compile " not in second.stderr and not linked(second.stderr), second.stderr


def test_edit_rebuilds_the_package_and_its_importers(module: Path, env: dict[str, str]) -> None:
    # What an edit makes the next run compile; a warm engine would have compiled it ahead, on the
    # save (tests/cli/test_engine.py), and this run would find it done.
    env = env | {"RUNGO_ENGINE": "off"}
    write_tree(module, TREE)
    assert rungo(["run", "."], module, env).stdout == "a1 b1\n"
    (module / "a" / "a.go").write_text('package a\n\nfunc A() string { return "a2" }\n')
    got = rungo(["run", "-x", "."], module, env)
    assert got.stdout == "a2 b1\n"
    assert sorted(compiled(got.stderr)) == ["example.com/cache/a", "main"]
    assert linked(got.stderr)
    # Editing b recompiles b and what imports it, not a.
    (module / "b" / "b.go").write_text('package b\n\nfunc B() string { return "b2" }\n')
    got = rungo(["run", "-x", "."], module, env)
    assert got.stdout == "a2 b2\n"
    assert sorted(compiled(got.stderr)) == ["example.com/cache/b", "main"]


def test_new_file_and_removed_file_are_seen(module: Path, env: dict[str, str]) -> None:
    write_tree(module, TREE)
    assert rungo(["run", "."], module, env).stdout == "a1 b1\n"
    (module / "extra.go").write_text('package main\n\nfunc init() { println("init from extra") }\n')
    got = rungo(["run", "."], module, env)
    assert got.stderr == "init from extra\n"
    (module / "extra.go").unlink()
    got = rungo(["run", "."], module, env)
    assert got.stderr == ""


def _damage(root: Path, how: str) -> int:
    n = 0
    for p in root.rglob("*"):
        if not p.is_file() or p.parent.name == "fast":
            continue
        if how == "truncate":
            data = p.read_bytes()
            p.write_bytes(data[: len(data) // 2])
        else:
            p.write_bytes(b"\x00garbage\xff" * 7)
        n += 1
    return n


@pytest.mark.parametrize("how", ["truncate", "garble"])
def test_damaged_cache_is_rebuilt(module: Path, env: dict[str, str], how: str) -> None:
    write_tree(module, TREE)
    assert rungo(["run", "."], module, env).stdout == "a1 b1\n"
    assert _damage(Path(env["RUNGO_CACHE"]), how) > 0
    got = rungo(["run", "-x", "."], module, env)
    assert got.returncode == 0, got.stderr
    assert got.stdout == "a1 b1\n"
    assert linked(got.stderr)
    again = rungo(["run", "."], module, env)
    assert (again.returncode, again.stdout) == (0, "a1 b1\n")


def test_cache_commands(module: Path, env: dict[str, str]) -> None:
    write_tree(module, TREE)
    assert rungo(["run", "."], module, env).returncode == 0
    stats = rungo(["cache", "stats"], module, env)
    assert stats.returncode == 0
    assert re.search(r"entries:\s+[1-9]", stats.stdout), stats.stdout
    trim = rungo(["cache", "trim", "--max-age=1s", "--max-size=0"], module, env)
    assert trim.returncode == 0, trim.stderr
    bad = rungo(["cache", "trim", "--max-size=lots"], module, env)
    assert bad.returncode == 125 and "invalid size" in bad.stderr
    clean = rungo(["cache", "clean"], module, env)
    assert clean.returncode == 0
    stats = rungo(["cache", "stats"], module, env)
    assert re.search(r"entries:\s+0\b", stats.stdout), stats.stdout
    assert rungo(["run", "."], module, env).stdout == "a1 b1\n"
