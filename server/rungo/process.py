"""The one runner through which rungo starts every subprocess, echoing it under -x / -n."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence, TextIO


_PR_SET_PDEATHSIG = 1
_prctl: "list[Callable[..., int] | None]" = []


def die_with_parent() -> Callable[[], None] | None:
    """A function for a child to call between fork and exec so that the kernel kills it when the
    process that started it dies (Linux PR_SET_PDEATHSIG); None where that does not exist. A compile
    or link never outlives a rungo killed with SIGKILL."""
    if not _prctl:
        _prctl.append(_find_prctl())
    prctl = _prctl[0]
    if prctl is None:
        return None
    import os
    import signal

    parent = os.getpid()
    kill = int(signal.SIGKILL)

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return setup


_SETPRIV: list[str | None] = []


def _with_death_signal(argv: list[str], env: Mapping[str, str]) -> tuple[list[str], Callable[[], None] | None]:
    """argv started so that it dies with the thread that starts it: through util-linux's
    `setpriv --pdeathsig KILL` where there is one (the child is then started with vfork, which costs
    a fraction of a fork of this process running Python code before exec), else with
    die_with_parent's preexec function. A program that cannot be started takes the second way, so
    that the error is the system's own."""
    if not _SETPRIV:
        import shutil

        found = shutil.which("setpriv") if sys.platform.startswith("linux") else None
        _SETPRIV.append(found if found and _find_prctl() is not None else None)
    setpriv = _SETPRIV[0]
    if setpriv is not None:
        import os
        import shutil

        prog = argv[0]
        if os.path.isabs(prog) and os.access(prog, os.X_OK) \
                or "/" not in prog and shutil.which(prog, path=env.get("PATH")) is not None:
            return [setpriv, "--pdeathsig", "KILL", "--", *argv], None
    return argv, die_with_parent()


def _find_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        fn: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return fn
    except (OSError, AttributeError, ImportError):
        return None


@dataclass(frozen=True, slots=True)
class Completed:
    """What a finished subprocess left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes


def shell_quote(argv: Sequence[str]) -> str:
    """A command line as a POSIX shell would need it typed, the way -x prints it."""
    import shlex

    return " ".join(shlex.quote(a) for a in argv)


@dataclass(slots=True)
class Runner:
    """Starts subprocesses; when `echo` is set, prints each command first (-x), or only prints it (-n).

    `env` is the complete environment every child gets; callers add to it per call.
    `rewrite` turns absolute paths in echoed commands into readable ones ($WORK, ...).
    """

    env: Mapping[str, str]
    echo: TextIO | None = None
    dry_run: bool = False
    rewrite: Callable[[str], str] = field(default=lambda s: s)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_dir: str | None = None

    def show(self, line: str) -> None:
        """Prints one -x/-n line (already formatted) if echoing."""
        if self.echo is not None:
            with self._lock:
                self.echo.write(self.rewrite(line) + "\n")
                self.echo.flush()

    def _announce(self, argv: Sequence[str], cwd: Path | None, env_extra: Mapping[str, str] | None) -> None:
        if self.echo is None:
            return
        import shlex

        prefix = ""
        if env_extra:
            prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env_extra.items()) + " "
        with self._lock:
            if cwd is not None and str(cwd) != self._last_dir:
                self.echo.write(self.rewrite("cd " + shlex.quote(str(cwd))) + "\n")
                self._last_dir = str(cwd)
            self.echo.write(self.rewrite(prefix + shell_quote(argv)) + "\n")
            self.echo.flush()

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env_extra: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        quiet: bool = False,
    ) -> Completed:
        """Runs argv to completion and captures its output. `quiet` keeps it out of -x (internal queries)."""
        if not quiet:
            self._announce(argv, cwd, env_extra)
        if self.dry_run and not quiet:
            return Completed(tuple(argv), 0, b"", b"")
        import subprocess

        env = dict(self.env)
        if env_extra:
            env.update(env_extra)
        full, setup = _with_death_signal(list(argv), env)
        try:
            proc = subprocess.run(
                full,
                cwd=str(cwd) if cwd is not None else None,
                env=env,
                input=stdin,
                stdin=subprocess.DEVNULL if stdin is None else None,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                check=False,
                preexec_fn=setup,
            )
        except OSError as e:
            return Completed(tuple(argv), 127, b"", f"{argv[0]}: {e.strerror}\n".encode())
        return Completed(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
