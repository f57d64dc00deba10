"""The go command's error messages (rungo exits 125 where go exits 1), rungo's exit-status contract,
signals, and the promise to leave nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import RUNGO, gorun, rungo, write_tree

TREE = {
    "go.mod": "module example.com/beh\n\ngo 1.22\n",
    "main.go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("ok") }\n',
    "lib/lib.go": "package lib\n\nfunc F() {}\n",
    "empty/README": "nothing here\n",
    "excluded/x.go": "//go:build ignore\n\npackage main\n\nfunc main() {}\n",
    "twomain/a.go": "package main\n\nfunc main() {}\n",
    "twomain/b.go": "package main\n\nfunc main() {}\n",
    "files/a.go": "package main\n\nfunc main() {}\n",
    "files/b/b.go": "package main\n",
    "files/x_test.go": "package main\n",
    "multi/one/main.go": "package main\n\nfunc main() {}\n",
    "multi/two/main.go": "package main\n\nfunc main() {}\n",
    "typeerr/main.go": 'package main\n\nfunc main() {\n\tvar s string = 1\n\t_ = s\n\tundefined()\n}\n',
    "syntaxerr/main.go": "package main\n\nfunc main() {\n\tfor {\n}\n",
    "badimport/main.go": 'package main\n\nimport _ "example.com/nowhere/pkg"\n\nfunc main() {}\n',
    "internalimp/main.go": 'package main\n\nimport _ "internal/abi"\n\nfunc main() {}\n',
    "nostd/main.go": 'package main\n\nimport _ "nosuch/pkg"\n\nfunc main() {}\n',
    "mixed/a.go": "package a\n",
    "mixed/b.go": "package b\n",
}

CASES = [
    (".", ["./lib"]),
    (".", ["./empty"]),
    (".", ["./excluded"]),
    (".", ["./twomain"]),
    ("twomain", ["."]),
    ("files", ["a.go", "b/b.go"]),
    ("files", ["x_test.go"]),
    (".", ["./multi/..."]),
    (".", []),
    (".", ["./typeerr"]),
    (".", ["./syntaxerr"]),
    (".", ["./badimport"]),
    (".", ["./internalimp"]),
    (".", ["./nostd"]),
    (".", ["./mixed"]),
    (".", ["./doesnotexist"]),
    (".", ["nothere.go"]),
    (".", ["fmt"]),
    (".", ["-foo", "."]),
]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("beh") / "beh", TREE)


@pytest.mark.parametrize("where,args", CASES, ids=[" ".join(a) or "(nothing)" for _, a in CASES])
def test_error_matches_go(tree: Path, base_env: dict[str, str], go_exe: str, where: str, args: list[str]) -> None:
    want = gorun(go_exe, args, tree / where, base_env)
    got = rungo(["run", *args], tree / where, base_env)
    assert want.returncode in (1, 2), want
    assert got.returncode == 125
    if args[:1] == ["-foo"]:
        assert got.stderr.splitlines()[0] == want.stderr.splitlines()[0]
    else:
        assert got.stderr == want.stderr


def test_malformed_go_mod(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(tmp_path, {"go.mod": "module m\n\nfoo bar\n", "main.go": "package main\n\nfunc main() {}\n"})
    want = gorun(go_exe, ["."], tmp_path, base_env)
    got = rungo(["run", "."], tmp_path, base_env)
    assert got.returncode == 125
    assert got.stderr == want.stderr


def test_newer_go_required(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(tmp_path, {"go.mod": "module m\n\ngo 1.999\n", "main.go": "package main\n\nfunc main() {}\n"})
    want = gorun(go_exe, ["."], tmp_path, base_env)
    got = rungo(["run", "."], tmp_path, base_env)
    assert got.returncode == 125
    assert got.stderr == want.stderr
    assert "requires go >= 1.999" in got.stderr


def test_not_utf8_source(tmp_path: Path, base_env: dict[str, str]) -> None:
    write_tree(tmp_path, {"go.mod": "module m\n\ngo 1.22\n"})
    (tmp_path / "main.go").write_bytes(b'package main\n\nfunc main() { println("\xff\xfe") }\n')
    got = rungo(["run", "."], tmp_path, base_env)
    assert got.returncode == 125
    assert "invalid UTF-8" in got.stderr
    assert "Traceback" not in got.stderr




PROGRAMS = {
    "go.mod": "module example.com/st\n\ngo 1.22\n",
    "exit3/main.go": 'package main\n\nimport "os"\n\nfunc main() { os.Exit(3) }\n',
    "panics/main.go": 'package main\n\nfunc main() { panic("boom") }\n',
    "killself/main.go": 'package main\n\nimport "syscall"\n\nfunc main() { syscall.Kill(syscall.Getpid(), syscall.SIGKILL) }\n',
    "trap/main.go": """package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	fmt.Println("ready")
	s := <-c
	fmt.Println("got", s)
	os.Exit(7)
}
""",
    "echo/main.go": """package main

import (
	"bufio"
	"fmt"
	"os"
)

func main() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fmt.Println("echo:", sc.Text())
	}
}
""",
}


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("st") / "st", PROGRAMS)


def test_exit_status_is_the_programs(programs: Path, base_env: dict[str, str]) -> None:
    assert rungo(["run", "./exit3"], programs, base_env).returncode == 3
    p = rungo(["run", "./panics"], programs, base_env)
    assert p.returncode == 2 and "panic: boom" in p.stderr and "exit status" not in p.stderr
    assert rungo(["run", "./killself"], programs, base_env).returncode == -signal.SIGKILL


def test_stdin_is_the_programs(programs: Path, base_env: dict[str, str]) -> None:
    got = rungo(["run", "./echo"], programs, base_env, stdin="one\ntwo\n")
    assert got.stdout == "echo: one\necho: two\n"


def test_sigterm_reaches_the_program(programs: Path, base_env: dict[str, str]) -> None:
    for sig, name in ((signal.SIGTERM, "terminated"), (signal.SIGINT, "interrupt")):
        p = subprocess.Popen([*RUNGO, "run", "./trap"], cwd=programs, env=base_env, stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None
        assert p.stdout.readline() == "ready\n"
        p.send_signal(sig)
        out, _ = p.communicate(timeout=30)
        assert out == f"got {name}\n"
        assert p.returncode == 7


def test_exec_statuses(programs: Path, base_env: dict[str, str], tmp_path: Path) -> None:
    got = rungo(["run", "-exec", "no-such-program-xyz", "./exit3"], programs, base_env)
    assert got.returncode == 127
    assert "no-such-program-xyz" in got.stderr
    notexec = tmp_path / "notexec"
    notexec.write_text("#!/bin/sh\n")
    notexec.chmod(0o644)
    got = rungo(["run", "-exec", str(notexec), "./exit3"], programs, base_env)
    assert got.returncode == 126
    got = rungo(["run", "-exec", "echo", "./exit3", "a", "b"], programs, base_env)
    assert got.returncode == 0
    words = got.stdout.split()
    assert Path(words[0]).name == "exit3" and words[1:] == ["a", "b"]


def _listing(root: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, n), root))
    return out


def test_nothing_left_behind(programs: Path, base_env: dict[str, str], tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env = base_env | {"TMPDIR": str(tmpdir)}
    rungo(["run", "./exit3"], programs, env)
    before_tree = _listing(programs)
    for i in range(50):
        which = ["./exit3", "./panics", "./killself", "./echo"][i % 4]
        if i % 10 == 9:
            p = subprocess.Popen([*RUNGO, "run", "./trap"], cwd=programs, env=env, stdout=subprocess.PIPE, text=True)
            assert p.stdout is not None
            p.stdout.readline()
            p.send_signal(signal.SIGTERM)
            p.communicate(timeout=30)
            continue
        if i == 25:
            (programs / "exit3" / "extra.go").write_text("package main\n\nvar _ = 1\n")
        rungo(["run", which], programs, env, stdin="x\n")
    (programs / "exit3" / "extra.go").unlink()
    assert _listing(tmpdir) == set()
    assert _listing(programs) == before_tree


def test_dash_n_runs_nothing(programs: Path, base_env: dict[str, str]) -> None:
    got = rungo(["run", "-n", "./exit3"], programs, base_env)
    assert got.returncode == 0
    assert "exit3" in got.stderr


def test_dash_work_keeps_the_work_dir(programs: Path, base_env: dict[str, str]) -> None:
    got = rungo(["run", "-work", "./exit3"], programs, base_env)
    assert got.returncode == 3
    line = got.stderr.splitlines()[0]
    assert line.startswith("WORK=")
    work = Path(line[len("WORK="):])
    assert work.is_dir()
    import shutil

    shutil.rmtree(work)


def test_rerun_shortcut_imports_nothing_else(programs: Path, base_env: dict[str, str]) -> None:
    """A warm rerun of an unchanged program execs the cached binary before loading the pipeline."""
    import sys

    rungo(["run", "./exit3"], programs, base_env)
    time.sleep(1.1)  # inputs younger than a second are not trusted by mtime
    rungo(["run", "./exit3"], programs, base_env)
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "rungo", "run", "./exit3"],
                       cwd=programs, env=base_env, capture_output=True, text=True)
    assert p.returncode == 3
    assert "rungo.fastpath" in p.stderr
    assert "rungo.orchestrate" not in p.stderr and "tree_sitter" not in p.stderr
    assert "rungo.daemon" not in p.stderr           # nor asks the warm engine
    (programs / "exit3" / "main.go").write_text('package main\n\nimport "os"\n\nfunc main() { os.Exit(4) }\n')
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "rungo", "run", "./exit3"],
                       cwd=programs, env={**base_env, "RUNGO_ENGINE": "off"}, capture_output=True, text=True)
    assert p.returncode == 4
    assert "rungo.orchestrate" in p.stderr           # a miss, built in this process
    (programs / "exit3" / "main.go").write_text('package main\n\nimport "os"\n\nfunc main() { os.Exit(5) }\n')
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "rungo", "run", "./exit3"],
                       cwd=programs, env=base_env, capture_output=True, text=True)
    assert p.returncode == 5
    if "rungo.orchestrate" not in p.stderr:          # built by the warm engine: its client imports little else
        assert "rungo.daemon.client" in p.stderr and "tree_sitter" not in p.stderr
    (programs / "exit3" / "main.go").write_text(PROGRAMS["exit3/main.go"])


def test_an_edit_undone_runs_the_program_built_before_at_once(programs: Path, base_env: dict[str, str]) -> None:
    """Back to a version already built (an edit undone, a branch checked out again): the rerun
    shortcut finds that build by the content of the files that changed, with nothing built."""
    import sys

    main = programs / "exit3" / "main.go"
    env = {**base_env, "RUNGO_ENGINE": "off"}
    try:
        for code in (6, 7):
            main.write_text(f'package main\n\nimport "os"\n\nfunc main() {{ os.Exit({code}) }}\n')
            assert rungo(["run", "./exit3"], programs, env).returncode == code
        main.write_text('package main\n\nimport "os"\n\nfunc main() { os.Exit(6) }\n')
        p = subprocess.run([sys.executable, "-X", "importtime", "-m", "rungo", "run", "./exit3"],
                           cwd=programs, env=env, capture_output=True, text=True)
        assert p.returncode == 6
        assert "rungo.orchestrate" not in p.stderr and "rungo.daemon" not in p.stderr
        main.write_text('package main\n\nimport "os"\n\nfunc main() { os.Exit(8) }\n')   # new content: built
        p = subprocess.run([sys.executable, "-X", "importtime", "-m", "rungo", "run", "./exit3"],
                           cwd=programs, env=env, capture_output=True, text=True)
        assert p.returncode == 8 and "rungo.orchestrate" in p.stderr
    finally:
        main.write_text(PROGRAMS["exit3/main.go"])
