"""Finding 4: no silent failure, no traceback. Each of these prints one clear line (go's words where go
has them) and exits with the status the README gives, side by side with `go run`."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Iterator

import pytest

from conftest import RUNGO, gorun, run, rungo, write_tree
from hardkit import Mount, can_mount, unprivileged

MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("ran") }\n'


@pytest.fixture
def env(base_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return base_env | {"RUNGO_CACHE": str(tmp_path / "rungo-cache")}


def _needs_setpriv() -> None:
    if os.geteuid() != 0:
        pytest.skip("the permission tests drop root's file-access capabilities; not running as root")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")


@pytest.mark.parametrize("unreadable", ["lib", "lib/lib.go"])
def test_unreadable_imported_package(module: Path, env: dict[str, str], go_exe: str, unreadable: str) -> None:
    _needs_setpriv()
    write_tree(module, {
        "go.mod": "module example.com/unread\n\ngo 1.22\n",
        "main.go": 'package main\n\nimport "example.com/unread/lib"\n\nfunc main() { lib.F() }\n',
        "lib/lib.go": "package lib\n\nfunc F() {}\n",
    })
    target = module / unreadable
    os.chmod(target, 0)
    try:
        want = run(unprivileged([go_exe, "run", "."]), module, env)
        got = run(unprivileged([*RUNGO, "run", "."]), module, env)
    finally:
        os.chmod(target, 0o755 if target.is_dir() else 0o644)
    assert want.returncode == 1 and "permission denied" in want.stderr, want
    assert "Traceback" not in got.stderr
    assert (got.returncode, got.stdout, got.stderr) == (125, "", want.stderr)


def test_relative_rungo_cache_is_refused(module: Path, env: dict[str, str]) -> None:
    write_tree(module, {"go.mod": "module example.com/rel\n\ngo 1.22\n", "main.go": MAIN})
    renv = env | {"RUNGO_CACHE": "relcache"}
    for args in (["run", "."], ["cache", "stats"]):
        got = rungo(args, module, renv)
        assert got.returncode == 125, got
        assert got.stderr == "build cache is required, but could not be located: RUNGO_CACHE is not an absolute path\n"
    assert sorted(p.name for p in module.iterdir()) == ["go.mod", "main.go"]


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[list[Mount]]:
    why = can_mount()
    if why:
        pytest.skip(why)
    made: list[Mount] = []
    yield made
    for m in made:
        m.close()


def test_rungo_cache_on_a_noexec_mount(module: Path, env: dict[str, str], go_exe: str, tmp_path: Path,
                                       mounts: list[Mount]) -> None:
    mounts.append(Mount(tmp_path / "noexec", "noexec,size=64m"))
    write_tree(module, {"go.mod": "module example.com/nx\n\ngo 1.22\n", "main.go": MAIN})
    renv = env | {"RUNGO_CACHE": str(tmp_path / "noexec" / "cache")}
    want = gorun(go_exe, ["."], module, env | {"GOCACHE": str(tmp_path / "noexec" / "gocache")})
    assert want.stdout == "ran\n"
    for _ in range(3):
        got = rungo(["run", "."], module, renv)
        assert (got.returncode, got.stdout, got.stderr) == (0, "ran\n", ""), got
    assert list(Path(env["TMPDIR"]).glob("rungo-build*")) == []


def test_tmpdir_on_a_noexec_mount(module: Path, env: dict[str, str], go_exe: str, tmp_path: Path,
                                  mounts: list[Mount]) -> None:
    mounts.append(Mount(tmp_path / "noexec", "noexec,size=64m"))
    # A workspace is built through the go command, into the work directory under TMPDIR; with -a
    # nothing is remembered, so the program runs from there.
    write_tree(module, {"go.mod": "module example.com/nxw\n\ngo 1.22\n", "main.go": MAIN, "go.work": "go 1.22\n\nuse .\n"})
    renv = env | {"TMPDIR": str(tmp_path / "noexec")}
    want = gorun(go_exe, ["."], module, renv)
    assert want.returncode == 1 and "permission denied" in want.stderr, want
    got = rungo(["run", "-a", "."], module, renv)
    assert got.returncode == 126, got
    lines = got.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fork/exec ") and "permission denied" in lines[0], got
    assert "noexec" in lines[0] and "GOTMPDIR" in lines[0]
    # What it says to do works.
    fixed = rungo(["run", "-a", "."], module, renv | {"GOTMPDIR": str(tmp_path)})
    assert (fixed.returncode, fixed.stdout) == (0, "ran\n"), fixed
    # Without -a the program is kept in rungo's cache and runs from there.
    cached = rungo(["run", "."], module, renv)
    assert (cached.returncode, cached.stdout) == (0, "ran\n"), cached


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_program_run_as_a_child_dies_of_its_signal(module: Path, env: dict[str, str], go_exe: str, sig: str) -> None:
    # A workspace is built through the go command and run as rungo's child; rungo then dies as it did.
    write_tree(module, {
        "go.mod": "module example.com/sig\n\ngo 1.22\n",
        "go.work": "go 1.22\n\nuse .\n",
        "main.go": f'package main\n\nimport "syscall"\n\nfunc main() {{\n\tsyscall.Kill(syscall.Getpid(), syscall.{sig})\n\tselect {{}}\n}}\n',
    })
    got = rungo(["run", "."], module, env)
    assert "Traceback" not in got.stderr
    assert got.returncode == -getattr(signal, sig), got
