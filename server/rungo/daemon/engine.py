"""The warm engine: a long-lived per-user rungo process that builds for `rungo run` and hands the
program back to the client, which execs it in place.

It keeps what a process keeps: its modules imported and the remote cache's connection; it builds
with the command line's own pipeline (rungo/start.py, orchestrate.py) and rungo/scheduling.py's
cancellable runner. It listens on a unix socket in the user's private directory (daemon/wire.py),
serves each client in a thread of its own, checks every peer's user and privileges, and exits
after IDLE_SECONDS without a client, when told to (`rungo engine stop`), or when its own code
changes on disk. One engine per socket: a second one started meanwhile finds the lock taken and
exits. A client that goes away mid-build cancels that build (its subprocesses are killed).
"""

from __future__ import annotations

import fcntl
import os
import select
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, TextIO, cast

from rungo import __version__
from rungo.daemon import wire

if TYPE_CHECKING:
    from rungo.daemon.ahead import Ahead, AheadRun
    from rungo.orchestrate import Prepared

IDLE_SECONDS = 15 * 60.0


def _log(text: str) -> None:
    """A line of the engine's log (its standard error: `engine-<key>.log` beside its socket)."""
    try:
        sys.stderr.write(time.strftime("%Y-%m-%d %H:%M:%S ") + text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class _ClientText:
    """A text stream whose writes reach the client's standard error (ERR messages)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self.gone = False

    def write(self, text: str) -> int:
        with self._lock:
            if not self.gone:
                try:
                    self._sock.sendall(wire.encode("ERR", text))
                except OSError:
                    self.gone = True
        return len(text)

    def flush(self) -> None:
        pass


class EngineServer:
    def __init__(self, directory: str, key: str, idle_seconds: float = IDLE_SECONDS) -> None:
        self.directory = directory
        self.key = key
        self.idle_seconds = idle_seconds
        self.path = wire.socket_path(directory, key)
        self._lock = threading.Lock()
        self._active = 0
        self._last = time.monotonic()
        self._stop = threading.Event()
        self.started = time.time()
        self.runs = 0
        self._code: dict[str, tuple[int, int, int]] = {}    # rungo's source files as the engine loaded them
        self.ahead: Ahead | None = None

    # -- the listening loop -----------------------------------------------------------------------

    def serve(self) -> int:
        if not wire.private_dir(self.directory, create=True):
            _log(f"{self.directory} is not a directory only this user can reach")
            return 1
        lock_fd = os.open(self.path[: -len(".sock")] + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock_fd)
            _log(f"another engine serves {self.path}")
            return 0
        _log(f"serving {self.path} (pid {os.getpid()}; exits after {self.idle_seconds:.0f}s without a client)")
        import rungo.orchestrate  # noqa: F401  (what a run needs, imported before the first client)
        import rungo.scheduling  # noqa: F401
        import rungo.start  # noqa: F401
        import rungo.work.workdir  # noqa: F401

        self._stale()          # the code as loaded: a later change ends the engine
        from rungo.daemon.ahead import Ahead

        self.ahead = Ahead(build_ahead, _log)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                os.unlink(self.path)     # a socket left by an engine that died
            except FileNotFoundError:
                pass
            old = os.umask(0o177)
            try:
                listener.bind(self.path)
            finally:
                os.umask(old)
            listener.listen(64)
            self._loop(listener)
        finally:
            listener.close()
            try:
                os.unlink(self.path)
            except OSError:
                pass
            self.ahead.close()
            os.close(lock_fd)
        return 0

    def _loop(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([listener], [], [], 1.0)
            if ready:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                with self._lock:
                    self._active += 1
                threading.Thread(target=self._client, args=(conn,), daemon=True).start()
                continue
            with self._lock:
                idle = self._active == 0 and time.monotonic() - self._last >= self.idle_seconds
            if idle:
                _log("idle: exiting")
                return
        _log("stopped")

    def _stale(self) -> str:
        """Why this engine must not build any more (its own code changed on disk: it ends), or ""."""
        changed = ""
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None) if name.startswith("rungo") else None
            if not path:
                continue
            try:
                st = os.stat(path)
                now = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                now = (0, 0, 0)
            with self._lock:
                seen = self._code.setdefault(path, now)
            if seen != now:
                changed = path
                break
        if changed:
            _log(f"{changed} changed: exiting")
            self._stop.set()
            return "the engine's code changed"
        return ""

    # -- one client ---------------------------------------------------------------------------------

    def _client(self, conn: socket.socket) -> None:
        try:
            self._converse(conn)
        except Exception:      # a broken client or a bug: that client's run is built in-process
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass
            with self._lock:
                self._active -= 1
                self._last = time.monotonic()

    def _converse(self, conn: socket.socket) -> None:
        peer_pid, peer_uid = wire.peer(conn)
        if peer_uid != os.getuid():
            return
        conn.settimeout(10.0)
        hello = wire.receive(conn)
        if hello is None or hello[:2] != ["HELLO", wire.PROTOCOL]:
            return
        conn.sendall(wire.encode("HELLO", wire.PROTOCOL, __version__, self.key, str(os.getpid())))
        if hello[2:4] != [__version__, self.key]:
            return
        request = wire.receive(conn)
        conn.settimeout(None)
        if not request:
            return
        if request[0] == "RUN":
            why = ("the client runs with other privileges (groups, capabilities or umask)"
                   if _privileges(peer_pid) != _privileges(os.getpid()) else self._stale())
            if why:
                conn.sendall(wire.encode("LOCAL", why))
                return
        if request[0] == "STATUS":
            with self._lock:
                active = self._active - 1
            ahead = self.ahead
            conn.sendall(wire.encode("INFO", f"pid={os.getpid()}", f"version={__version__}", f"key={self.key}",
                                     f"socket={self.path}", f"uptime={time.time() - self.started:.0f}s",
                                     f"runs={self.runs}", f"busy={active}", f"idle-exit={self.idle_seconds:.0f}s",
                                     f"built-ahead={ahead.built if ahead else 0}",
                                     f"joined={ahead.joined if ahead else 0}"))
        elif request[0] == "STOP":
            self._stop.set()
            conn.sendall(wire.encode("INFO", f"pid={os.getpid()}", "stopping"))
        elif request[0] == "RUN" and len(request) >= 3:
            n = int(request[2])
            args = request[3:3 + n]
            env = dict(e.split("=", 1) for e in request[3 + n:] if "=" in e)
            with self._lock:
                self.runs += 1
            serve_run(conn, request[1], args, env, self.ahead)


def _privileges(pid: int) -> tuple[str, ...]:
    """What a process may do besides its user: its group ids, groups, capabilities and umask."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return ("unknown", str(pid))
    keep = ("Gid:", "Groups:", "CapEff:", "CapPrm:", "Umask:")
    return tuple(line for line in lines if line.startswith(keep))


def _watch_peer(conn: socket.socket, done: threading.Event, cancel: Any) -> None:
    """Cancels the build when the client goes away (its socket reads end-of-file)."""
    while not done.wait(0.2):
        try:
            ready, _, _ = select.select([conn], [], [], 0)
            if ready and not conn.recv(1, socket.MSG_PEEK):
                cancel()
                return
        except (OSError, ValueError):
            cancel()
            return


def serve_run(conn: socket.socket, cwd: str, args: list[str], env: Mapping[str, str], ahead: Ahead | None = None) -> None:
    """One `rungo run args` in cwd with env, as the command line builds it; the client execs the
    program (EXEC), or prints the failure (ERR, then EXIT), or builds in-process (LOCAL). A build
    ahead of this run (daemon/ahead.py) is joined instead of building again."""
    from rungo.scheduling import CancelToken, EngineRunner
    from rungo.orchestrate import RunError, Troubles, build, open_session, remembers
    from rungo.run.execute import EXIT_BUILD_FAILED, command_line
    from rungo.start import Refused, maybe_trim, noexec, remember_run, start_run
    from rungo.work.workdir import WorkDir, remove_abandoned

    out = _ClientText(conn)
    started = start_run(args, env, Path(cwd))
    if isinstance(started, Refused):
        out.write(started.message.rstrip("\n") + "\n")
        conn.sendall(wire.encode("EXIT", str(started.status)))
        return
    inv, flags = started.invocation, started.invocation.flags
    if started.watching.on:
        conn.sendall(wire.encode("LOCAL", "-watch runs in this process"))
        return
    if flags.chdir:
        conn.sendall(wire.encode("LOCAL", "-C changes this process's directory"))
        return
    config, tc = started.config, started.toolchain
    tmp_parent = _tmp_parent(config.env)

    def announce(line: str) -> None:
        out.write(line + "\n")

    work = WorkDir(tmp_parent, keep=flags.work, announce=announce)
    remove_abandoned(tmp_parent)
    if flags.work:
        _ = work.path
    token = CancelToken()
    runner = None if (flags.x or flags.n) else EngineRunner(env=config.child_env(), token=token)
    session = open_session(config, tc, work, flags=flags, out=cast(TextIO, out), runner=runner)
    def tell(text: str) -> None:
        out.write(f"rungo: {text}\n")

    troubles = Troubles(tell)
    done = threading.Event()
    threading.Thread(target=_watch_peer, args=(conn, done, token.cancel), daemon=True).start()
    key = _ahead_key(inv, str(config.cwd), env) if ahead is not None and remembers(inv) else ""
    try:
        try:
            joined = ahead.join(key, lambda: token.cancelled) if ahead is not None and key else None
            if joined is not None:
                prepared = joined
            elif ahead is not None and key:
                with ahead.building(key):
                    prepared = build(session, inv)
            else:
                prepared = build(session, inv)
        except RunError as e:
            troubles.finish(session.store, detach=True)
            out.write(e.text.rstrip("\n") + "\n")
            conn.sendall(wire.encode("EXIT", str(EXIT_BUILD_FAILED)))
            return
        finally:
            done.set()
        troubles.finish(session.store, detach=True)
        if prepared.messages:
            out.write(prepared.messages)
        if prepared.temporary or noexec(prepared.binary):
            conn.sendall(wire.encode("LOCAL", "the program can only run from the build's work directory"))
            return
        argv_run = command_line(prepared.binary, inv.args, prepared.exec_argv)
        if flags.n or flags.x:
            session.runner.show(" ".join(argv_run))
        if flags.n:
            conn.sendall(wire.encode("EXIT", "0"))
            return
        if remembers(inv) and prepared.rememberable and joined is None:     # a build ahead remembered it
            remember_run(session, inv, prepared, env)
        maybe_trim(config.cache_dir)
        conn.sendall(wire.encode("EXEC", "1" if prepared.exec_argv else "0", str(tc.goroot / "bin"), *argv_run))
        if ahead is not None and key and prepared.rememberable:
            ahead.ran(key, args, cwd, env, tmp_parent, prepared.watched,
                      (str(tc.goroot), tc.env.get("GOMODCACHE", ""), str(config.cache_dir)))
    finally:
        work.close()


def _tmp_parent(env: Mapping[str, str]) -> str:
    """The client's temporary directory, not this process's: GOTMPDIR, else TMPDIR as tempfile reads it."""
    return env.get("GOTMPDIR") or next(
        (d for d in (env.get(k, "") for k in ("TMPDIR", "TEMP", "TMP")) if os.path.isdir(d)), "/tmp")


def _ahead_key(inv: Any, cwd: str, env: Mapping[str, str]) -> str:
    """What identifies a run for its builds ahead: its rerun record's key."""
    from rungo import fastpath
    from rungo.start import record_prefix

    return fastpath.run_key(record_prefix(inv), cwd, dict(env))


def build_ahead(run: AheadRun, cancellable: Callable[[Callable[[], None]], None]) -> tuple[Prepared, int] | None:
    """A run built as a client would have it built, with nobody to tell: its program and rerun record
    when it builds, None when it fails or is cancelled (the run that follows builds and reports)."""
    import io

    from rungo.orchestrate import RunError, build, open_session
    from rungo.scheduling import CancelToken, EngineRunner
    from rungo.start import Refused, remember_run, start_run
    from rungo.work.workdir import WorkDir

    started = start_run(run.args, run.env, Path(run.cwd))
    if isinstance(started, Refused) or started.watching.on or started.invocation.flags.chdir:
        return None
    config, tc, inv = started.config, started.toolchain, started.invocation
    token = CancelToken(background=True)      # the lowest priority: it never slows what the user runs
    cancellable(token.cancel)
    read_ns = time.time_ns()
    work = WorkDir(run.tmp_parent, keep=False, announce=lambda line: None)
    try:
        session = open_session(config, tc, work, flags=inv.flags, out=io.StringIO(),
                               runner=EngineRunner(env=config.child_env(), token=token))
        try:
            prepared = build(session, inv)
        except RunError:
            return None
        if token.cancelled or prepared.temporary or not prepared.rememberable:
            return None
        remember_run(session, inv, prepared, run.env)
        return prepared, read_ns
    finally:
        work.close()


def serve(env: Mapping[str, str], idle_seconds: float | None = None) -> int:
    """`rungo engine serve`: this user's engine for this rungo and toolchain, until idle or stopped."""
    if idle_seconds is None:
        try:
            idle_seconds = float(env.get("RUNGO_ENGINE_IDLE", "") or IDLE_SECONDS)
        except ValueError:
            idle_seconds = IDLE_SECONDS
    server = EngineServer(wire.runtime_dir(dict(env)), wire.engine_key(__version__, dict(env)), idle_seconds)
    return server.serve()


def ask(env: Mapping[str, str], what: str) -> tuple[list[str] | None, str]:
    """The engine's answer to STATUS or STOP; None and why when no engine answers."""
    from rungo.daemon.client import connect

    sock, why = connect(dict(env), create=False)
    if sock is None:
        return None, why
    try:
        sock.sendall(wire.encode(what))
        got = wire.receive(sock)
        return got, "" if got is not None else "the engine went away"
    except OSError as e:
        return None, f"the engine went away ({e.strerror or e})"
    finally:
        sock.close()
