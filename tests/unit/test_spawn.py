"""How rungo starts the tools: a child dies with the thread that started it (PR_SET_PDEATHSIG),
through setpriv where there is one, and a program that cannot be started fails with the system's
words either way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rungo.process import Runner, _with_death_signal

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


def test_a_tool_starts_through_setpriv_and_a_missing_one_fails_with_the_systems_words(tmp_path: Path) -> None:
    argv, setup = _with_death_signal(["/bin/true"], os.environ)
    if shutil.which("setpriv"):
        assert argv[:4] == [shutil.which("setpriv"), "--pdeathsig", "KILL", "--"] and setup is None
    missing = str(tmp_path / "no-such-tool")
    argv, setup = _with_death_signal([missing], os.environ)
    assert argv == [missing] and setup is not None
    got = Runner(env=dict(os.environ)).run([missing])
    assert got.returncode == 127 and got.stderr.decode() == f"{missing}: No such file or directory\n"
    ok = Runner(env=dict(os.environ)).run(["sh", "-c", "echo hi; echo oops >&2; exit 3"])
    assert (ok.returncode, ok.stdout, ok.stderr) == (3, b"hi\n", b"oops\n")


def test_a_child_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """A rungo killed with SIGKILL leaves no tool running: its child is killed by the kernel."""
    pidfile = tmp_path / "pid"
    script = (
        "import sys; from rungo.process import Runner; "
        f"Runner(env={{'PATH': '/usr/bin:/bin'}}).run(['sh', '-c', 'echo $$ > {pidfile}; exec sleep 60'])"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    deadline = time.monotonic() + 20
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pidfile.read_text())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{child}/stat") as f:
            if f.read().split(") ", 1)[1].startswith("Z"):
                break
        time.sleep(0.05)
    else:
        os.kill(child, 9)
        pytest.fail("the child outlived the process that started it")
