"""Turning a built binary into the running program, with rungo's exit-status contract."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

EXIT_BUILD_FAILED = 125
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127


@dataclass(frozen=True, slots=True)
class ExecFailure:
    """Why the program could not be started, and the status rungo exits with."""

    message: str
    status: int


def command_line(binary: Path, args: Sequence[str], exec_cmd: Sequence[str]) -> list[str]:
    """The argv that runs the program: `xprog binary args...` with -exec, else `binary args...`."""
    return [*exec_cmd, str(binary), *args] if exec_cmd else [str(binary), *args]


def find_exec_cmd(exec_cmd: Sequence[str], goos: str, goarch: str, hostos: str, hostarch: str,
                  path_var: str) -> tuple[str, ...]:
    """The program that runs the binary, as the go command picks it: -exec when given; when
    cross-compiling, go_$GOOS_$GOARCH_exec from PATH if there is one; else none."""
    if exec_cmd:
        return tuple(exec_cmd)
    if (goos, goarch) == (hostos, hostarch) or not goos or not goarch:
        return ()
    from shutil import which

    found = which(f"go_{goos}_{goarch}_exec", path=path_var)
    return (found,) if found else ()


def resolve_program(argv0: str, path_var: str) -> str | None:
    if os.sep in argv0:
        return argv0
    from shutil import which

    return which(argv0, path=path_var)


def exec_in_place(argv: Sequence[str], env: Mapping[str, str], via_exec: bool,
                  search_path: str | None = None) -> ExecFailure:
    """Replaces this process with the program. Returns only when that was impossible. The -exec
    program is looked up in search_path (rungo's own PATH), else in env's PATH."""
    prog = resolve_program(argv[0], search_path if search_path is not None else env.get("PATH", os.defpath))
    if prog is None:
        return ExecFailure(f'exec: "{argv[0]}": executable file not found in $PATH'
                           if via_exec else f"fork/exec {argv[0]}: no such file or directory",
                           EXIT_NOT_FOUND if via_exec else EXIT_CANNOT_EXECUTE)
    try:
        os.execve(prog, list(argv), dict(env))
    except FileNotFoundError:
        return ExecFailure(f"fork/exec {prog}: no such file or directory",
                           EXIT_NOT_FOUND if via_exec else EXIT_CANNOT_EXECUTE)
    except OSError as e:
        return ExecFailure(f"fork/exec {prog}: {e.strerror.lower() if e.strerror else e}", EXIT_CANNOT_EXECUTE)
    raise AssertionError("unreachable")


def run_child(argv: Sequence[str], env: Mapping[str, str], cleanup: Callable[[], None],
              search_path: str | None = None, report: Callable[[str], object] | None = None) -> int:
    """Runs the program as a child (when exec in place is impossible): relays every catchable signal,
    returns its status (a signal death is re-raised on rungo itself), and always runs cleanup.
    When the program cannot be started, `report` gets go's one-line reason."""
    relayed = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
               signal.SIGUSR2, signal.SIGWINCH, signal.SIGCONT, signal.SIGTSTP]
    old: dict[int, object] = {}
    prog = resolve_program(argv[0], search_path if search_path is not None else env.get("PATH", os.defpath))
    try:
        import subprocess

        proc = subprocess.Popen(list(argv), executable=prog or argv[0], env=dict(env))
    except OSError as e:
        if report is not None:
            reason = e.strerror.lower() if e.strerror else str(e)
            report(f"fork/exec {prog or argv[0]}: {reason}")
        cleanup()
        return EXIT_NOT_FOUND if isinstance(e, FileNotFoundError) else EXIT_CANNOT_EXECUTE

    def relay(signum: int, _frame: object) -> None:
        try:
            proc.send_signal(signum)
        except OSError:
            pass

    for relayed_sig in relayed:
        try:
            old[relayed_sig] = signal.signal(relayed_sig, relay)
        except (OSError, ValueError):
            pass
    try:
        status = proc.wait()
    finally:
        for num, handler in old.items():
            signal.signal(num, handler)  # type: ignore[arg-type]
        cleanup()
    if status < 0:
        signum = -status
        try:
            signal.signal(signum, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL and SIGSTOP cannot be handled, nor need to be
        os.kill(os.getpid(), signum)
        return 128 + signum
    return status
