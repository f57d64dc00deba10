"""The command line's side of the warm engine: hand a `rungo run` to the engine and exec what it
built in place (this process's pid, signals, stdin, terminal and exit status), or answer None: the
run is then built in-process, as without an engine.

On the hot path after the rerun shortcut: it imports os, socket and daemon.wire. When no engine
answers, it starts one in the background (for the next run) and this run is built in-process.
"""

from __future__ import annotations

import os
import socket
import sys

from rungo import __version__
from rungo.daemon import wire

OFF = ("off", "0", "false", "no")

# go run's build flags that take a value as the next argument (the rest are booleans).
_VALUE_FLAGS = frozenset(("C", "asmflags", "buildmode", "compiler", "covermode", "coverpkg", "exec", "gccgoflags",
                          "gcflags", "installsuffix", "ldflags", "mod", "modfile", "overlay", "p", "pgo", "pkgdir",
                          "tags", "toolexec", "debug-actiongraph", "debug-runtime-trace", "debug-trace"))


def verbose(args: list[str]) -> bool:
    """Whether the build flags (before the package or files) hold -v."""
    it = iter(args)
    for a in it:
        if not a.startswith("-") or a in ("-", "--"):
            return False
        name, eq, _ = a.lstrip("-").partition("=")
        if name == "v" and not eq:
            return True
        if name in _VALUE_FLAGS and not eq:
            next(it, None)
    return False


def _say(args: list[str], text: str) -> None:
    if verbose(args):
        os.write(2, f"rungo: {text}; building in this process\n".encode("utf-8", "replace"))


def connect(env: "dict[str, str] | os._Environ[str]", *, create: bool) -> "tuple[socket.socket | None, str]":
    """A connection to this user's engine for this rungo and toolchain, handshake done; or None and why."""
    directory = wire.runtime_dir(env)
    if not wire.private_dir(directory, create=create):
        return None, f"{directory} is not a directory only this user can reach"
    key = wire.engine_key(__version__, env)
    path = wire.socket_path(directory, key)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(2.0)
        sock.connect(path)
        if wire.peer(sock)[1] != os.getuid():
            sock.close()
            return None, f"the engine's socket {path} belongs to another user"
        sock.sendall(wire.encode("HELLO", wire.PROTOCOL, __version__, key))
        hello = wire.receive(sock)
    except OSError as e:
        sock.close()
        return None, f"no engine ({e.strerror or e})"
    if hello is None or hello[:4] != ["HELLO", wire.PROTOCOL, __version__, key]:
        sock.close()
        return None, "the engine is of another rungo or toolchain"
    sock.settimeout(None)
    return sock, ""


def start_engine(env: "dict[str, str] | os._Environ[str]") -> None:
    """Starts an engine in the background, detached from this process (which will exec a program);
    what it prints goes to `engine-<key>.log` beside its socket."""
    directory = wire.runtime_dir(env)
    log = os.path.join(directory, f"engine-{wire.engine_key(__version__, env)}.log")
    try:
        pid = os.fork()
    except OSError:
        return
    if pid:
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        fd = os.open(os.devnull, os.O_RDWR)
        os.dup2(fd, 0)
        try:
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError:
            out = fd
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.closerange(3, 1 << 16)
        os.chdir("/")
        os.execve(sys.executable, [sys.executable, "-m", "rungo", "engine", "serve"], dict(env))
    except BaseException:
        pass
    os._exit(0)


def run_via_engine(args: list[str], cwd: str, env: "dict[str, str] | os._Environ[str]") -> "int | None":
    """`rungo run args` through the engine: execs the program (never returns then), returns the exit
    status of a failed build, or None to build in this process."""
    if env.get("RUNGO_ENGINE", "").strip().lower() in OFF:
        return None
    sock, why = connect(env, create=True)
    if sock is None:
        start_engine(env)
        _say(args, why)
        return None
    try:
        sock.sendall(wire.encode("RUN", cwd, str(len(args)), *args, *(f"{k}={v}" for k, v in env.items())))
        while True:
            msg = wire.receive(sock)
            if msg is None:
                _say(args, "the engine went away")
                return None
            kind = msg[0]
            if kind == "ERR":
                os.write(2, "\0".join(msg[1:]).encode("utf-8", "surrogateescape"))
            elif kind == "EXIT":
                return int(msg[1])
            elif kind == "LOCAL":
                _say(args, msg[1] if len(msg) > 1 else "the engine declined")
                return None
            elif kind == "EXEC":
                sock.close()
                return _exec(msg[1] == "1", msg[2], msg[3:])
            else:
                _say(args, f"the engine said {kind!r}")
                return None
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError, IndexError):
        _say(args, "the engine failed")
        return None
    finally:
        sock.close()


def _exec(via_exec: bool, goroot_bin: str, argv: list[str]) -> int:
    """Replaces this process with the program, as the in-process run does."""
    from rungo import fastpath

    initial = fastpath.initial_environ()
    env = fastpath.program_env(initial, goroot_bin)
    if not via_exec and argv[0].startswith("/"):
        try:
            os.execve(argv[0], argv, env)
        except OSError:
            pass    # the in-process path words the failure
    from rungo.run.execute import exec_in_place
    from rungo.start import exec_trouble

    failure = exec_in_place(argv, env, via_exec=via_exec, search_path=initial.get("PATH", os.defpath))
    os.write(2, (exec_trouble(failure.message, argv[0]).rstrip("\n") + "\n").encode("utf-8", "replace"))
    return failure.status
