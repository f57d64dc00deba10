"""`rungo run -watch` as a user drives it: real files edited, real programs restarted, real signals;
rungo's stdout is read line by line as it comes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator, Mapping

import pytest

from conftest import RUNGO, write_tree

START_TIMEOUT = 120.0       # the first build may have to prepare the standard library's export data
RESTART_TIMEOUT = 30.0
QUIET = 1.2                 # how long "nothing happens" is watched for

GO_MOD = "module example.com/w\n\ngo 1.22\n"


def forever(imports: list[str], body: str) -> str:
    """A main package that runs body, then sleeps (a server, as far as the watch can tell)."""
    lines = "".join(f'\t"{imp}"\n' for imp in sorted({*imports, "time"}))
    return f"package main\n\nimport (\n{lines})\n\nfunc main() {{\n{body}\tfor {{\n\t\ttime.Sleep(time.Hour)\n\t}}\n}}\n"


ECHO_MAIN = forever(["bufio", "fmt", "os"], """\
\tfmt.Println("version %s pid", os.Getpid())
\ts := bufio.NewScanner(os.Stdin)
\tfor s.Scan() {
\t\tfmt.Println("version %s got", s.Text())
\t}
""")


def echo_main(version: str) -> str:
    return ECHO_MAIN % (version, version)


class Watching:
    """A running `rungo run -watch`; its stdout and stderr lines are collected as they come."""

    def __init__(self, args: list[str], cwd: Path, env: Mapping[str, str]) -> None:
        self.proc = subprocess.Popen([*RUNGO, "run", "-watch", *args], cwd=cwd, env=dict(env), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._cond = threading.Condition()
        for stream, into in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, into), daemon=True).start()

    def _read(self, stream: object, into: list[str]) -> None:
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            with self._cond:
                into.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, pattern: str, timeout: float = RESTART_TIMEOUT, *, stream: str = "out",
                 after: int = 0) -> re.Match[str]:
        """The first line from index `after` on that matches pattern."""
        lines = self.out if stream == "out" else self.err
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in lines[after:]:
                    m = re.search(pattern, line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"no line matching {pattern!r} in {stream}:\n"
                                         f"stdout: {self.out}\nstderr: {self.err}")
                self._cond.wait(min(left, 0.2))

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def end(self) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
        try:
            return self.proc.wait(30)
        finally:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)   # whatever a failed test left
            except OSError:
                pass


@pytest.fixture
def watch_env(base_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """base_env with a TMPDIR of this test's own, to see that nothing is left in it."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return dict(base_env, TMPDIR=str(tmp))


@pytest.fixture
def watching(module: Path, watch_env: dict[str, str]) -> Iterator[list[Watching]]:
    started: list[Watching] = []
    yield started
    for w in started:
        w.end()


def start(started: list[Watching], args: list[str], cwd: Path, env: Mapping[str, str]) -> Watching:
    w = Watching(args, cwd, env)
    started.append(w)
    return w


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp~")
    tmp.write_text(text)
    os.rename(tmp, path)


def edit(path: Path, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def test_an_edit_restarts_the_program_and_stdin_reaches_the_new_one(module: Path, watch_env: dict[str, str],
                                                                      watching: list[Watching]) -> None:
    write_tree(module, {"go.mod": GO_MOD, "main.go": echo_main("1")})
    w = start(watching, ["."], module, watch_env)
    old_pid = int(w.wait_for(r"version 1 pid (\d+)", START_TIMEOUT).group(1))
    w.send("hello\n")
    w.wait_for(r"version 1 got hello")
    edit(module / "main.go", echo_main("2"))
    w.wait_for(r"version 2 pid (\d+)")
    assert gone(old_pid)
    w.send("again\n")
    w.wait_for(r"version 2 got again")
    assert not any("version 1 got again" in line for line in w.out)
    w.wait_for(r"\[rebuilt in \d+ ms · restarted\]", stream="err")


def test_files_the_build_does_not_read_do_not_restart_it(module: Path, watch_env: dict[str, str],
                                                         watching: list[Watching]) -> None:
    write_tree(module, {"go.mod": GO_MOD, "main.go": echo_main("1"), "other/other.go": "package other\n",
                        "notes.txt": "x\n"})
    w = start(watching, ["."], module, watch_env)
    w.wait_for(r"version 1 pid", START_TIMEOUT)
    edit(module / "other" / "other.go", "package other\n\nfunc F() {}\n")      # a package main does not import
    (module / "other" / "new.go").write_text("package other\n")
    (module / ".main.go.swp").write_bytes(b"\0swap")                          # an editor's swap file
    (module / "main.go~").write_text(echo_main("backup"))                     # an editor's backup file
    (module / "program.log").write_text("a log the program writes\n")
    edit(module / "notes.txt", "y\n")
    time.sleep(QUIET)
    assert [line for line in w.out if "pid" in line] == [w.out[0]]
    assert not any("rebuilt" in line for line in w.err)
    edit(module / "main.go", echo_main("2"))
    w.wait_for(r"version 2 pid")


def test_an_atomic_save_restarts_it_once(module: Path, watch_env: dict[str, str], watching: list[Watching]) -> None:
    write_tree(module, {"go.mod": GO_MOD, "main.go": echo_main("1")})
    w = start(watching, ["."], module, watch_env)
    w.wait_for(r"version 1 pid", START_TIMEOUT)
    atomic_write(module / "main.go", echo_main("2"))
    w.wait_for(r"version 2 pid")
    atomic_write(module / "main.go", echo_main("3"))        # the watch survived the rename
    w.wait_for(r"version 3 pid")
    time.sleep(QUIET)
    assert [line.split(" pid")[0] for line in w.out if " pid " in line] == ["version 1", "version 2", "version 3"]


def test_a_failed_build_keeps_the_old_program(module: Path, watch_env: dict[str, str],
                                              watching: list[Watching]) -> None:
    write_tree(module, {"go.mod": GO_MOD, "main.go": echo_main("1")})
    w = start(watching, ["."], module, watch_env)
    pid = int(w.wait_for(r"version 1 pid (\d+)", START_TIMEOUT).group(1))
    edit(module / "main.go", echo_main("2").replace("func main() {", "func main() {\n\tundefined()"))
    w.wait_for(r"^\./main\.go:\d+:\d+: undefined: undefined$", stream="err")
    w.wait_for(r"^# example\.com/w$", stream="err")
    w.wait_for(r"\[build failed · the program keeps running\]", stream="err")
    assert alive(pid)
    w.send("still\n")
    w.wait_for(r"version 1 got still")
    edit(module / "main.go", echo_main("3"))
    w.wait_for(r"version 3 pid")
    assert gone(pid)


def test_on_error_stop_stops_the_old_program(module: Path, watch_env: dict[str, str],
                                             watching: list[Watching]) -> None:
    write_tree(module, {"go.mod": GO_MOD, "main.go": echo_main("1")})
    w = start(watching, ["-watch-on-error=stop", "."], module, watch_env)
    pid = int(w.wait_for(r"version 1 pid (\d+)", START_TIMEOUT).group(1))
    edit(module / "main.go", "package main\n\nfunc main() {\n")
    w.wait_for(r"\[build failed · program stopped\]", stream="err")
    assert gone(pid)


def test_a_new_package_and_import_are_watched(module: Path, watch_env: dict[str, str],
                                              watching: list[Watching]) -> None:
    """The inputs change with the build: a new import of a new package is watched from then on."""
    write_tree(module, {"go.mod": GO_MOD, "main.go": echo_main("1")})
    w = start(watching, ["."], module, watch_env)
    w.wait_for(r"version 1 pid", START_TIMEOUT)
    write_tree(module, {"lib/lib.go": 'package lib\n\nconst Word = "alpha"\n'})
    time.sleep(0.3)
    edit(module / "main.go", echo_main("2").replace('"time"\n', '"time"\n\n\t"example.com/w/lib"\n')
         .replace("func main() {\n", "func main() {\n\tfmt.Println(lib.Word)\n"))
    w.wait_for(r"^alpha$")
    edit(module / "lib" / "lib.go", 'package lib\n\nconst Word = "beta"\n')
    w.wait_for(r"^beta$")


def test_a_program_that_exits_prints_its_status_and_the_watch_goes_on(module: Path, watch_env: dict[str, str],
                                                                      watching: list[Watching]) -> None:
    main = 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n\tfmt.Println("run %s")\n\tos.Exit(3)\n}\n'
    write_tree(module, {"go.mod": GO_MOD, "main.go": main % "1"})
    w = start(watching, ["-watch-poll", "."], module, watch_env)      # and the polling fallback sees edits
    w.wait_for(r"^run 1$", START_TIMEOUT)
    w.wait_for(r"^\[exit 3 · \d+ ms\]$", stream="err")
    assert w.proc.poll() is None
    edit(module / "main.go", main % "2")
    w.wait_for(r"^run 2$")


HTTP_MAIN = """\
package main

import (
\t"fmt"
\t"net"
\t"net/http"
\t"os"
)

func main() {
\tln, err := net.Listen("tcp", "127.0.0.1:%d")
\tif err != nil {
\t\tfmt.Println("LISTEN FAILED:", err)
\t\tos.Exit(1)
\t}
\tfmt.Println("serving %d")
\thttp.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "%d") }))
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_server_on_a_fixed_port_restarts_20_times(module: Path, watch_env: dict[str, str],
                                                    watching: list[Watching]) -> None:
    import urllib.request

    port = free_port()
    write_tree(module, {"go.mod": GO_MOD, "main.go": HTTP_MAIN % (port, 0, 0)})
    w = start(watching, ["-watch-debounce=10ms", "."], module, watch_env)
    w.wait_for(r"^serving 0$", START_TIMEOUT)
    for i in range(1, 21):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:     # a live connection too
            assert r.read() == str(i - 1).encode()
        edit(module / "main.go", HTTP_MAIN % (port, i, i))
        w.wait_for(rf"^serving {i}$")
    assert not any("LISTEN FAILED" in line or "address already in use" in line for line in w.out + w.err)


TRAP_MAIN = forever(["fmt", "os", "os/signal"], """\
\tsignal.Ignore(os.Interrupt)
\tfmt.Println("stubborn %s pid", os.Getpid())
""")


def test_a_program_that_traps_sigint_is_killed_after_the_grace(module: Path, watch_env: dict[str, str],
                                                               watching: list[Watching]) -> None:
    write_tree(module, {"go.mod": GO_MOD, "main.go": TRAP_MAIN % "1"})
    w = start(watching, ["-watch-grace=700ms", "-watch-debounce=10ms", "."], module, watch_env)
    pid = int(w.wait_for(r"stubborn 1 pid (\d+)", START_TIMEOUT).group(1))
    saved = time.monotonic()
    edit(module / "main.go", TRAP_MAIN % "2")
    w.wait_for(r"stubborn 2 pid")
    assert time.monotonic() - saved >= 0.7
    assert not alive(pid)


CHILDREN_MAIN = forever(["fmt", "os", "os/exec", "syscall"], """\
\tsame := exec.Command("sleep", "1000")
\tsame.Start()
\tgroup := exec.Command("sleep", "1001")
\tgroup.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
\tgroup.Start()
\tfmt.Println("children %s", os.Getpid(), same.Process.Pid, group.Process.Pid)
""")


def test_the_programs_children_are_gone_after_a_restart(module: Path, watch_env: dict[str, str],
                                                        watching: list[Watching]) -> None:
    write_tree(module, {"go.mod": GO_MOD, "main.go": CHILDREN_MAIN % "1"})
    w = start(watching, ["."], module, watch_env)
    pids = [int(p) for p in w.wait_for(r"children 1 (\d+) (\d+) (\d+)", START_TIMEOUT).groups()]
    edit(module / "main.go", CHILDREN_MAIN % "2")
    new = [int(p) for p in w.wait_for(r"children 2 (\d+) (\d+) (\d+)").groups()]
    assert [p for p in pids if alive(p)] == []
    assert all(alive(p) for p in new)
    assert w.end() == -signal.SIGINT
    assert [p for p in new if gone(p)] == new


def test_ctrl_c_ends_everything_and_leaves_nothing(module: Path, watch_env: dict[str, str],
                                                   watching: list[Watching]) -> None:
    write_tree(module, {"go.mod": GO_MOD, "main.go": CHILDREN_MAIN % "1"})
    w = start(watching, ["-work=false", "."], module, watch_env)
    pids = [int(p) for p in w.wait_for(r"children 1 (\d+) (\d+) (\d+)", START_TIMEOUT).groups()]
    edit(module / "main.go", CHILDREN_MAIN % "2")        # a build that needed a work dir, then a restart
    pids = [int(p) for p in w.wait_for(r"children 2 (\d+) (\d+) (\d+)").groups()]
    os.kill(w.proc.pid, signal.SIGINT)
    assert w.proc.wait(30) == -signal.SIGINT
    assert [p for p in pids if not gone(p)] == []
    assert os.listdir(watch_env["TMPDIR"]) == []
    with pytest.raises(ProcessLookupError):
        os.killpg(w.proc.pid, 0)          # nothing is left in rungo's own process group either


TTY_MAIN = """\
package main

import (
\t"bufio"
\t"fmt"
\t"os"
)

func main() {
\tfi, _ := os.Stdin.Stat()
\tfmt.Println("terminal", fi.Mode()&os.ModeCharDevice != 0)
\ts := bufio.NewScanner(os.Stdin)
\tfor s.Scan() {
\t\tfmt.Println("typed", s.Text())
\t}
}
"""


def _controlling_terminal() -> None:
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_on_a_terminal_the_program_has_it_and_ctrl_c_ends_the_watch(module: Path, watch_env: dict[str, str]) -> None:
    """Under a terminal, the program is its foreground: it sees a tty, reads what is typed, and the
    typed Ctrl-C ends it and the watch."""
    import select

    write_tree(module, {"go.mod": GO_MOD, "main.go": TTY_MAIN})
    master, slave = os.openpty()
    proc = subprocess.Popen([*RUNGO, "run", "-watch", "."], cwd=module, env=watch_env, stdin=slave, stdout=slave,
                            stderr=slave, start_new_session=True, preexec_fn=_controlling_terminal)
    os.close(slave)
    seen = b""

    def read_until(needle: bytes, timeout: float) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while needle not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([master], [], [], 0.1)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        assert needle in seen, seen

    try:
        read_until(b"terminal true", START_TIMEOUT)
        os.write(master, b"hello\n")
        read_until(b"typed hello", RESTART_TIMEOUT)
        os.write(master, b"\x03")
        assert proc.wait(30) == -signal.SIGINT
    finally:
        os.close(master)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert os.listdir(watch_env["TMPDIR"]) == []
