"""A program as a child in its own process group, on rungo's terminal: started with the terminal's
foreground handed to it (so it reads stdin and gets the terminal's Ctrl-C as if run directly), waited
for by a thread, and stopped as a whole: a signal to its group, SIGKILL after a grace period, then a
wait until every process of the group, and every descendant seen, is gone (a server's port is free).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from rungo.run.pty import descendants, group_members

GONE_TIMEOUT_SECONDS = 5.0      # after SIGKILL: how long to wait for the group to disappear
_POLL_SECONDS = 0.005


@dataclass(frozen=True, slots=True)
class ProgramExit:
    """How a program ended: its status or the signal that killed it, and how long it ran."""

    exit_code: int | None        # None when a signal ended it
    signal: int | None
    duration_ms: int

    def line(self) -> str:
        """`[exit 3 · 84 ms]`, `[signal: interrupt · 84 ms]` (the signal in go's words)."""
        what = f"exit {self.exit_code}" if self.signal is None else f"signal: {signal_words(self.signal)}"
        return f"[{what} · {format_ms(self.duration_ms)}]"


def signal_words(signum: int) -> str:
    """A signal as go names it in `signal: killed`: the system's description, in lower case."""
    try:
        text = signal.strsignal(signum)
    except ValueError:
        text = None
    return (text or f"signal {signum}").lower()


def format_ms(ms: int) -> str:
    return f"{ms} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


class Terminal:
    """rungo's controlling terminal, when rungo is in its foreground: lends the foreground to a
    program's process group and takes it back. Without one (a pipe, a background job) it does nothing."""

    def __init__(self, fd: int = 0) -> None:
        self.fd = fd
        self.home = os.getpgrp()
        try:
            self.owned = os.isatty(fd) and os.tcgetpgrp(fd) == self.home
        except OSError:
            self.owned = False

    def _set(self, pgid: int) -> None:
        if not self.owned:
            return
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)   # setting it from the background is allowed then
        try:
            os.tcsetpgrp(self.fd, pgid)
        except OSError:
            pass
        finally:
            signal.signal(signal.SIGTTOU, old)

    def lend(self, pgid: int) -> None:
        self._set(pgid)

    def take_back(self) -> None:
        self._set(self.home)


def _stopped(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"T"
    except (OSError, IndexError):
        return False


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


class GroupProcess:
    """One program in its own process group; `on_exit` is called from a waiter thread when it ends."""

    def __init__(self, proc: subprocess.Popen[bytes], terminal: Terminal,
                 on_exit: Callable[["GroupProcess"], None]) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.terminal = terminal
        self.started = time.monotonic()
        self.ended: ProgramExit | None = None
        self.stopped_by_us = False
        self._done = threading.Event()
        self._on_exit = on_exit
        self._known: set[int] = set()
        threading.Thread(target=self._wait, name=f"wait-{self.pid}", daemon=True).start()

    @classmethod
    def start(cls, argv: Sequence[str], env: Mapping[str, str], terminal: Terminal,
              on_exit: Callable[["GroupProcess"], None], executable: str | None = None) -> "GroupProcess":
        """Starts the program (stdin, stdout and stderr are rungo's) in a new process group and lends
        it the terminal. Raises OSError when it cannot be started."""
        proc = subprocess.Popen(list(argv), executable=executable, env=dict(env), process_group=0, close_fds=True)
        terminal.lend(proc.pid)
        if _stopped(proc.pid):          # it read the terminal before it was lent the foreground
            try:
                os.killpg(proc.pid, signal.SIGCONT)
            except OSError:
                pass
        return cls(proc, terminal, on_exit)

    def _wait(self) -> None:
        code = self.proc.wait()
        ms = int((time.monotonic() - self.started) * 1000)
        self.ended = ProgramExit(None, -code, ms) if code < 0 else ProgramExit(code, None, ms)
        self._done.set()
        self._on_exit(self)

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def stop(self, sig: int, grace_s: float) -> None:
        """Sends sig to the program's group; after it exits, or after grace_s, SIGKILL to what is left
        of the group and every descendant seen; returns when all of them are gone."""
        if self.running:
            self.stopped_by_us = True
            self._known |= descendants(self.pid)
            self._signal_group(sig)
            if sig == signal.SIGSTOP or not self._done.wait(grace_s):
                self._known |= descendants(self.pid)
        self._signal_group(signal.SIGKILL)
        self._signal_group(signal.SIGCONT)
        for pid in self._known:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + GONE_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not self.running and not group_members(self.pid) and not any(_alive(p) for p in self._known):
                break
            time.sleep(_POLL_SECONDS)
        self._done.wait(GONE_TIMEOUT_SECONDS)
        self.terminal.take_back()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except OSError:
            pass
