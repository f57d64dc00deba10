"""The warm engine: `rungo run` hands the build to a long-lived per-user process and still execs the
program in place (same pid, exit status, signals, stdin, terminal); it never makes a run fail (off,
killed mid-build, of another version, of another user: the run is built in-process); it exits when
idle and when told to."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import RUNGO, rungo, stop_engines, write_tree
from rungo import __version__
from rungo.daemon import wire

PROGRAM = '''package main

import (
	"bufio"
	"fmt"
	"os"
	"syscall"
)

const edit = 0

func main() {
	fmt.Printf("pid=%d edit=%d args=%v tty=%v\\n", os.Getpid(), edit, os.Args[1:], isTerminal())
	if len(os.Args) > 1 && os.Args[1] == "read" {
		line, _ := bufio.NewReader(os.Stdin).ReadString('\\n')
		fmt.Printf("read=%q\\n", line)
	}
	if len(os.Args) > 1 && os.Args[1] == "term" {
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {}
	}
	os.Exit(3)
}

func isTerminal() bool {
	st, err := os.Stdin.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
'''

SIMPLE = '''package main

import (
	"fmt"
	"os"
)

const edit = 0

func main() {
	fmt.Printf("pid=%d edit=%d dir=%s\\n", os.Getpid(), edit, NAME)
	os.Exit(3)
}
'''


@pytest.fixture
def engine_env(base_env: dict[str, str], tmp_path: Path) -> Any:
    """An environment whose engines are this test's own (a private runtime directory)."""
    env = dict(base_env)
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
    (tmp_path / "run").mkdir(mode=0o700)
    env["RUNGO_ENGINE_IDLE"] = "60"
    yield env
    stop_engines(env)


def module(root: Path, name: str = "m") -> Path:
    src = SIMPLE.replace("NAME", f'"{name}"')
    return write_tree(root / name, {"go.mod": f"module example.com/{name}\n\ngo 1.22\n", "main.go": src})


def edit(d: Path, n: int) -> None:
    p = d / "main.go"
    p.write_text(re.sub(r"const edit = \d+", f"const edit = {n}", p.read_text()))


LAST: list[Any] = []


def status(env: dict[str, str]) -> dict[str, str] | None:
    r = rungo(["engine", "status"], Path("/"), env)
    LAST[:] = [r]
    if r.returncode != 0:
        return None
    return dict(w.split("=", 1) for w in r.stdout.split()[2:] if "=" in w)


def wait_engine(env: dict[str, str], timeout: float = 60) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = status(env)
        if got is not None:
            return got
        time.sleep(0.1)
    raise AssertionError("no engine started")


def runs(env: dict[str, str]) -> int:
    got = status(env)
    assert got is not None
    return int(got["runs"])


def started(d: Path, env: dict[str, str]) -> dict[str, str]:
    """The engine running, after a first (in-process) run that starts it."""
    first = rungo(["run", "-v", "."], d, env)
    assert first.returncode == 3, first.stderr
    try:
        return wait_engine(env)
    except AssertionError:
        logs = [p.read_text() for p in Path(wire.runtime_dir(env)).glob("*.log")]
        raise AssertionError(f"no engine started after: {first.stderr}; engine log: {logs}; {LAST}") from None


def test_the_program_is_execd_in_place(engine_env: dict[str, str], tmp_path: Path) -> None:
    d = module(tmp_path)
    started(d, engine_env)
    before = runs(engine_env)
    edit(d, 1)
    time.sleep(1.1)     # an input changed within the last second is not remembered for a rerun
    r = subprocess.run(["sh", "-c", 'echo "shell=$$"; exec "$@"', "sh", *RUNGO, "run", ".", "x"], cwd=d,
                       env=engine_env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 3, r.stderr
    shell = re.search(r"shell=(\d+)", r.stdout)
    pid = re.search(r"pid=(\d+) edit=1", r.stdout)
    assert shell and pid and shell.group(1) == pid.group(1), r.stdout
    assert runs(engine_env) == before + 1          # built by the engine
    again = rungo(["run", "."], d, engine_env)     # the rerun shortcut: the engine is not asked
    assert again.returncode == 3 and "edit=1" in again.stdout
    assert runs(engine_env) == before + 1


def test_a_build_failure_is_told_as_go_tells_it(engine_env: dict[str, str], tmp_path: Path) -> None:
    d = module(tmp_path)
    started(d, engine_env)
    (d / "main.go").write_text(SIMPLE.replace("NAME", "undefinedName"))
    before = runs(engine_env)
    r = rungo(["run", "."], d, engine_env)
    here = rungo(["run", "."], d, {**engine_env, "RUNGO_ENGINE": "off"})
    assert runs(engine_env) == before + 1
    assert "undefined: undefinedName" in r.stderr and r.stderr.startswith("# example.com/m\n")
    assert (r.returncode, r.stdout, r.stderr) == (here.returncode, here.stdout, here.stderr)
    (d / "main.go").write_text(SIMPLE.replace("NAME", '"m"'))
    for flags in (["-n"], ["-x"], ["-v", "-a"]):
        via = rungo(["run", *flags, "."], d, engine_env)
        off = rungo(["run", *flags, "."], d, {**engine_env, "RUNGO_ENGINE": "off"})
        assert via.returncode == off.returncode, (flags, via.stderr, off.stderr)
        assert via.stdout.split("pid=")[0] == off.stdout.split("pid=")[0]
        assert bool(via.stderr) == bool(off.stderr), flags
    assert runs(engine_env) == before + 4


def test_signals_stdin_and_terminal_reach_the_program(engine_env: dict[str, str], tmp_path: Path) -> None:
    env = engine_env
    d = write_tree(tmp_path / "p", {"go.mod": "module example.com/p\n\ngo 1.22\n", "main.go": PROGRAM})
    tidy = rungo(["run", ".", "none"], d, env)
    assert tidy.returncode == 3, tidy.stderr
    wait_engine(env)
    before = runs(env)
    edit(d, 2)
    term = rungo(["run", ".", "term"], d, env)
    assert term.returncode == -signal.SIGTERM, (term.returncode, term.stderr)
    edit(d, 3)
    read = subprocess.run([*RUNGO, "run", ".", "read"], cwd=d, env=env, input="hello\n",
                          capture_output=True, text=True, timeout=300)
    assert 'read="hello\\n"' in read.stdout and read.returncode == 3
    import pty

    edit(d, 4)
    out = b""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(d)
        os.execve(RUNGO[0], [*RUNGO, "run", ".", "tty"], env)
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status_ = os.waitpid(pid, 0)
    assert b"tty=true" in out, out
    assert os.waitstatus_to_exitcode(status_) == 3
    assert runs(env) == before + 3


def test_concurrent_clients_in_several_directories(engine_env: dict[str, str], tmp_path: Path) -> None:
    dirs = [module(tmp_path, f"m{i}") for i in range(4)]
    started(dirs[0], engine_env)
    results: dict[int, Any] = {}

    def go(i: int, n: int) -> None:
        edit(dirs[i], n)
        results[(i, n)] = rungo(["run", "."], dirs[i], engine_env)

    for n in (1, 2):
        threads = [threading.Thread(target=go, args=(i, n)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for (i, n), r in results.items():
        assert r.returncode == 3, r.stderr
        assert f"edit={n} dir=m{i}" in r.stdout, r.stdout


def test_an_engine_killed_mid_build_leaves_the_run_to_finish_here(engine_env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    big = "".join(f"func f{i}(x int) int {{ if x > {i} {{ return x * {i} }}; return x + {i} }}\n" for i in range(30000))
    d = module(tmp_path)
    (d / "big.go").write_text("package main\n\n" + big)
    eng = started(d, engine_env)
    edit(d, 5)
    proc = subprocess.Popen([*RUNGO, "run", "."], cwd=d, env=engine_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = status(engine_env)
        if got is not None and got["busy"] != "0":
            break
        time.sleep(0.05)
    os.kill(int(eng["pid"]), signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 3, err
    assert "edit=5" in out
    time.sleep(0.5)
    assert not list(Path(engine_env["TMPDIR"]).glob("rungo-build*")), "a work dir was left behind"


def test_a_client_of_another_version_is_not_served(engine_env: dict[str, str], tmp_path: Path) -> None:
    d = module(tmp_path)
    eng = started(d, engine_env)
    path = eng["socket"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(wire.encode("HELLO", wire.PROTOCOL, "0.0.0-other", eng["key"]))
        hello = wire.receive(s)
        assert hello is not None and hello[2] != "0.0.0-other"    # the engine says what it is
        try:
            s.sendall(wire.encode("RUN", str(d), "1", "."))
        except BrokenPipeError:
            pass                                                  # already closed
        assert wire.receive(s) is None                            # and serves nothing


PROBE = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
body = "\\0".join(["HELLO", sys.argv[2], sys.argv[3], sys.argv[4]]).encode()
s.sendall(len(body).to_bytes(4, "big") + body)
try:
    print(repr(s.recv(4096)))
except ConnectionResetError:
    print(repr(b""))
"""


def test_the_socket_of_another_user_is_refused(engine_env: dict[str, str], tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to act as another user")
    import shutil
    import tempfile

    d = module(tmp_path)
    shared = Path(tempfile.mkdtemp(prefix="rungo-engine-test-", dir="/tmp"))
    try:
        os.chmod(shared, 0o755)
        env = {**engine_env, "XDG_RUNTIME_DIR": str(shared)}
        eng = started(d, env)
        # Another user cannot reach the private directory; opened up, the engine still checks who asks.
        os.chmod(shared / "rungo", 0o755)
        os.chmod(eng["socket"], 0o666)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                            PROBE, eng["socket"], wire.PROTOCOL, eng["version"], eng["key"]],
                           capture_output=True, text=True, timeout=60, cwd="/")
        assert r.stdout.strip() == "b''", (r.stdout, r.stderr)        # closed without a word
        os.chmod(shared / "rungo", 0o700)
        assert status(env) is not None                                # and still serves its user
        # A directory another user owns is not used: the run is built here.
        os.chown(shared / "rungo", 65534, 65534)
        edit(d, 6)
        r = rungo(["run", "-v", "."], d, env)
        assert r.returncode == 3 and "edit=6" in r.stdout
        assert "is not a directory only this user can reach; building in this process" in r.stderr
        os.chown(shared / "rungo", 0, 0)
        stop_engines(env)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_idle_exit_stop_and_off(engine_env: dict[str, str], tmp_path: Path) -> None:
    d = module(tmp_path)
    env = {**engine_env, "RUNGO_ENGINE_IDLE": "2"}
    first = rungo(["run", "."], d, env)           # starts an engine that exits after 2 s without a client
    assert first.returncode == 3, first.stderr
    log = Path(wire.runtime_dir(env)) / f"engine-{wire.engine_key(__version__, env)}.log"
    deadline = time.monotonic() + 60
    while "idle: exiting" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.2)
    text = log.read_text()
    assert "idle: exiting" in text, text
    pid = int(re.search(r"\(pid (\d+);", text).group(1))  # type: ignore[union-attr]
    deadline = time.monotonic() + 20
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists(), "the idle engine is still there"
    assert status(env) is None

    edit(d, 8)                # not a rerun: the run asks for an engine, and starts one
    started(d, engine_env)
    stop = rungo(["engine", "stop"], d, engine_env)
    assert stop.returncode == 0 and "stopping" in stop.stdout
    deadline = time.monotonic() + 10
    while status(engine_env) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status(engine_env) is None

    off = {**engine_env, "RUNGO_ENGINE": "off"}
    edit(d, 7)
    r = rungo(["run", "."], d, off)
    assert r.returncode == 3 and "edit=7" in r.stdout
    time.sleep(1)
    assert status(engine_env) is None                 # nothing was started


def built_ahead(env: dict[str, str], at_least: int, timeout: float = 120) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = status(env)
        if got is not None and int(got["built-ahead"]) >= at_least:
            return got
        time.sleep(0.05)
    raise AssertionError(f"nothing built ahead: {LAST}")


def served(d: Path, env: dict[str, str], n: int) -> None:
    """A run of d built by the engine (which builds it ahead from then on)."""
    before = runs(env)
    edit(d, n)
    r = rungo(["run", "."], d, env)
    assert r.returncode == 3 and f"edit={n}" in r.stdout, r.stderr
    assert runs(env) == before + 1
    time.sleep(0.5)          # its inputs are watched once the client has its program


def test_an_edit_is_built_ahead_and_the_run_after_it_execs_at_once(engine_env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    d = module(tmp_path)
    started(d, engine_env)
    served(d, engine_env, 1)
    before = runs(engine_env)
    edit(d, 2)
    built_ahead(engine_env, 1)
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "rungo", "run", "."], cwd=d, env=engine_env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 3 and "edit=2" in p.stdout, p.stderr
    assert "rungo.daemon" not in p.stderr and "rungo.orchestrate" not in p.stderr    # the rerun shortcut
    assert runs(engine_env) == before
    # A file the build does not read (a log beside the sources) builds nothing.
    (d / "run.log").write_text("x")
    time.sleep(1.0)
    assert int(status(engine_env)["built-ahead"]) == 1     # type: ignore[index]


def slow_module(tmp_path: Path, env: dict[str, str]) -> Path:
    """A module whose main package takes a while to compile, run once through the engine."""
    big = "".join(f"func f{i}(x int) int {{ if x > {i} {{ return x * {i} }}; return x + {i} }}\n" for i in range(12000))
    d = module(tmp_path)
    (d / "big.go").write_text("package main\n\n" + big)
    started(d, env)
    served(d, env, 1)
    return d


def test_a_run_joins_the_build_ahead_in_flight(engine_env: dict[str, str], tmp_path: Path) -> None:
    d = slow_module(tmp_path, engine_env)
    before = runs(engine_env)
    edit(d, 2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and list(Path(engine_env["TMPDIR"]).glob("rungo-build*")) == []:
        time.sleep(0.01)                     # the build ahead has its work directory: it is in flight
    r = rungo(["run", "."], d, engine_env)
    assert r.returncode == 3 and "edit=2" in r.stdout, r.stderr
    got = status(engine_env)
    assert got is not None and (int(got["runs"]), got["joined"], got["built-ahead"]) == (before + 1, "1", "1")


def test_a_change_during_the_build_ahead_is_built_too(engine_env: dict[str, str], tmp_path: Path) -> None:
    d = slow_module(tmp_path, engine_env)
    for n in range(2, 8):                    # saves faster than a build: each cancels the build before it
        edit(d, n)
        time.sleep(0.15)
    r = rungo(["run", "."], d, engine_env)
    assert r.returncode == 3 and "edit=7" in r.stdout, r.stderr
    (d / "main.go").write_text(SIMPLE.replace("NAME", "undefinedName"))    # a build ahead that fails
    time.sleep(0.5)
    r = rungo(["run", "."], d, engine_env)
    here = rungo(["run", "."], d, {**engine_env, "RUNGO_ENGINE": "off"})
    assert "undefined: undefinedName" in r.stderr and (r.returncode, r.stderr) == (here.returncode, here.stderr)
