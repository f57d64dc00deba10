"""Cross-compilation: GOOS/GOARCH select the target; the binary runs through -exec or a
go_$GOOS_$GOARCH_exec found on PATH, as with `go run`; without either, exec fails as go's does."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from conftest import gorun, rungo, write_tree

HELLO = 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n\tfmt.Println("hello", os.Args[1:])\n}\n'

FAKE_EXEC = """#!/bin/sh
# Records how it was called and what it was given to run, instead of emulating the target.
out="$RECORD"
echo "argc=$#" > "$out"
for a in "$@"; do echo "arg=$a" >> "$out"; done
head -c 20 "$1" | od -An -tx1 | tr -d ' \\n' >> "$out"
echo >> "$out"
echo "ran under the fake $(basename "$0")"
exit 7
"""

EM_AARCH64 = "b700"   # e_machine of an arm64 ELF binary (little-endian 183), bytes 18-19 of the header


def _fake_exec(bindir: Path) -> Path:
    bindir.mkdir()
    p = bindir / "go_linux_arm64_exec"
    p.write_text(FAKE_EXEC)
    p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return p


def test_arm64_build_runs_through_go_linux_arm64_exec_on_path(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    proj = write_tree(tmp_path / "proj", {"go.mod": "module example.com/hello\n\ngo 1.22\n", "main.go": HELLO})
    _fake_exec(tmp_path / "bin")
    record = tmp_path / "record.txt"
    env = {**base_env, "GOOS": "linux", "GOARCH": "arm64", "RECORD": str(record),
           "PATH": str(tmp_path / "bin") + os.pathsep + base_env["PATH"]}

    got = rungo(["run", ".", "a", "b c"], proj, env)
    assert got.returncode == 7, got.stderr
    assert got.stdout == "ran under the fake go_linux_arm64_exec\n"
    lines = record.read_text().splitlines()
    assert lines[0] == "argc=3"
    binary = lines[1].removeprefix("arg=")
    assert os.path.basename(binary) == "hello"
    assert lines[2:4] == ["arg=a", "arg=b c"]
    header = lines[4]
    assert header.startswith("7f454c46"), header                 # an ELF file...
    assert header[36:40] == EM_AARCH64, header                   # ...for arm64

    # go run does the same: the same exec program, the same arguments after the binary.
    want = gorun(go_exe, [".", "a", "b c"], proj, env)
    assert want.stdout == got.stdout
    assert record.read_text().splitlines()[2:4] == ["arg=a", "arg=b c"]

    # The rerun takes the shortcut and still goes through the exec program.
    record.unlink()
    again = rungo(["run", ".", "x"], proj, env)
    assert again.returncode == 7 and record.read_text().splitlines()[2] == "arg=x"


def test_explicit_exec_wins_over_the_path_lookup(tmp_path: Path, base_env: dict[str, str]) -> None:
    proj = write_tree(tmp_path / "proj", {"go.mod": "module example.com/hello\n\ngo 1.22\n", "main.go": HELLO})
    _fake_exec(tmp_path / "bin")
    record = tmp_path / "record.txt"
    env = {**base_env, "GOARCH": "arm64", "RECORD": str(record), "PATH": base_env["PATH"]}
    got = rungo(["run", f"-exec={tmp_path / 'bin' / 'go_linux_arm64_exec'}", ".", "z"], proj, env)
    assert got.returncode == 7, got.stderr
    assert record.read_text().splitlines()[2] == "arg=z"


def test_cross_build_without_an_exec_program_fails_to_execute(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    proj = write_tree(tmp_path / "proj", {"go.mod": "module example.com/hello\n\ngo 1.22\n", "main.go": HELLO})
    env = {**base_env, "GOARCH": "arm64"}
    got = rungo(["run", "."], proj, env)
    want = gorun(go_exe, ["."], proj, env)
    assert "exec format error" in want.stderr
    assert got.returncode == 126
    assert got.stderr.startswith("fork/exec ") and got.stderr.rstrip().endswith(": exec format error"), got.stderr
