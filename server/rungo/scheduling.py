"""Subprocesses that can be cancelled and that give way: what the language server and the warm engine
run their builds with.

A CancelToken kills the process group of every subprocess it started, and makes every later one fail
at once. A background token's subprocesses run at the lowest CPU and I/O priority and are stopped
(SIGSTOP) while interactive work runs (Activity). `go list -export` runs once per configuration at a
time, and identical calls in flight share one answer (ListGate). EngineRunner is the Runner that does
all three.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from rungo.process import Completed, Runner


CANCELLED = b"rungo: cancelled\n"


class CancelToken:
    """Cancels one check or build: kills the process group of every subprocess it started, and makes
    every later one fail at once. A background token's subprocesses run at the lowest CPU and I/O
    priority, and are stopped (SIGSTOP) while interactive work runs (see Engine.interactive)."""

    def __init__(self, *, background: bool = False, deferred: bool = False) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[bytes]] = set()
        self.cancelled = False
        self.preempted = False
        self.background = background
        self.deferred = deferred      # interactive, but after the active document's checks (Activity.wait_turn)

    def adopt(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            if not self.cancelled:
                self._procs.add(proc)
                return
        _kill_group(proc)

    def release(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.discard(proc)

    def cancel(self, *, preempted: bool = False) -> None:
        """Ends the work; `preempted` says interactive work needed what it held (retry it later)."""
        with self._lock:
            if not self.cancelled:
                self.preempted = preempted
            self.cancelled = True
            procs = list(self._procs)
            self._procs.clear()
        for p in procs:
            _kill_group(p)

    def signal_all(self, sig: int) -> None:
        """Sends sig to the process group of every subprocess running for this token."""
        with self._lock:
            procs = list(self._procs)
        for p in procs:
            try:
                os.killpg(p.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


_IOPRIO_SET = {"x86_64": 251, "aarch64": 30, "i686": 289, "armv7l": 314, "ppc64le": 273, "s390x": 282}
_IOPRIO_CLASS_IDLE = 3


def lowest_priority() -> None:
    """In a child before exec: the lowest CPU priority (nice 19) and the idle I/O class, as
    `nice -n 19 ionice -c 3` would set them. Best effort: a system that refuses keeps the defaults."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 19)
    except OSError:
        pass
    number = _IOPRIO_SET.get(os.uname().machine)
    if number is None:
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).syscall(number, 1, 0, _IOPRIO_CLASS_IDLE << 13)
    except (OSError, AttributeError):
        pass


class Activity:
    """The one order of the server's work: the active document's checks, then the other interactive
    work (other documents' checks, runs), then background work. While any interactive job runs,
    background tokens' subprocesses are stopped (SIGSTOP) and new ones wait to start, and continue
    (SIGCONT) when the last one ends; while an active document's check runs, deferred checks wait
    before each subprocess they start."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = 0
        self._active = 0
        self._background: set[CancelToken] = set()

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._busy > 0

    def begin(self, *, active: bool = True) -> None:
        with self._cond:
            self._busy += 1
            self._active += active
            if self._busy == 1:
                for t in self._background:
                    t.signal_all(signal.SIGSTOP)

    def end(self, *, active: bool = True) -> None:
        with self._cond:
            self._busy -= 1
            self._active -= active
            if self._busy == 0:
                for t in self._background:
                    t.signal_all(signal.SIGCONT)
            if self._busy == 0 or self._active == 0:
                self._cond.notify_all()

    def wait_turn(self, token: CancelToken) -> None:
        """The next step of token's work waits here for its turn (or until it is cancelled): a
        background job's while any interactive work runs, a deferred check's while an active
        document's check runs."""
        if not (token.background or token.deferred):
            return
        with self._cond:
            while (self._busy if token.background else self._active) > 0 and not token.cancelled:
                self._cond.wait(0.5)

    def started(self, proc: subprocess.Popen[bytes]) -> None:
        """A background subprocess just started: stopped at once if interactive work began meanwhile."""
        with self._cond:
            if self._busy > 0:
                try:
                    os.killpg(proc.pid, signal.SIGSTOP)
                except (ProcessLookupError, PermissionError):
                    pass

    def adopt(self, token: CancelToken) -> None:
        with self._cond:
            self._background.add(token)

    def release(self, token: CancelToken) -> None:
        with self._cond:
            self._background.discard(token)


@dataclass(eq=False)
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    result: Completed | None = None
    token: CancelToken | None = None


class ListGate:
    """One `go list -export` per configuration (go binary, flags, module directory) at a time, so two
    never compile the same packages at once (the second finds them in GOCACHE); a call identical to
    one in flight (same packages, same environment) waits for it and shares its answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config_locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._flights: dict[tuple[Any, ...], _Flight] = {}
        self._holders: dict[tuple[Any, ...], _Flight] = {}    # configuration -> the call running it
        self.started = 0     # go list processes actually run (for tests and the benchmark)
        self.shared = 0      # calls answered by another call's result

    @staticmethod
    def applies(argv: Sequence[str]) -> bool:
        return len(argv) > 2 and argv[1] == "list" and "-export" in argv

    def run(self, argv: Sequence[str], cwd: Path | None, env: Mapping[str, str], token: CancelToken | None,
            spawn: Callable[[], Completed]) -> Completed:
        """Runs spawn as the one go list of its configuration. Interactive work never waits behind
        background work: a background call in its way is cancelled (preempted, to be retried)."""
        head = tuple(argv[:argv.index("--")]) if "--" in argv else tuple(argv)
        config = (head, str(cwd))     # waiting costs nothing but time; sharing needs the very same call
        exact = (tuple(argv), str(cwd), tuple(sorted(env.items())))
        interactive = token is None or not token.background
        while True:
            with self._lock:
                flight = self._flights.get(exact)
                mine = flight is None
                if mine:
                    flight = _Flight(token=token)
                    self._flights[exact] = flight
                lock = self._config_locks.setdefault(config, threading.Lock())
                holder = self._holders.get(config)
            assert flight is not None
            if not mine:
                owner = flight.token
                if interactive and owner is not None and owner.background:
                    owner.cancel(preempted=True)
                flight.done.wait()
                if flight.result is not None and not (owner is not None and owner.cancelled):
                    with self._lock:
                        self.shared += 1
                    return flight.result
                if token is not None and token.cancelled:
                    return Completed(tuple(argv), -signal.SIGKILL, b"", CANCELLED)
                continue     # the owner was cancelled: try again, perhaps as the owner
            try:
                if interactive and holder is not None and holder.token is not None and holder.token.background:
                    holder.token.cancel(preempted=True)
                with lock:
                    with self._lock:
                        self.started += 1
                        self._holders[config] = flight
                    try:
                        flight.result = spawn()
                    finally:
                        with self._lock:
                            if self._holders.get(config) is flight:
                                del self._holders[config]
                return flight.result
            finally:
                with self._lock:
                    self._flights.pop(exact, None)
                flight.done.set()


@dataclass(slots=True)
class EngineRunner(Runner):
    """The runner of the server's checks and builds: each subprocess in a session of its own, killed
    with the token; `go list -export` through the gate. A background token's subprocesses run at the
    lowest priority and wait (or stop) while interactive work runs."""

    token: CancelToken | None = None
    gate: ListGate | None = None
    activity: Activity | None = None

    def run(self, argv: Sequence[str], *, cwd: Path | None = None, env_extra: Mapping[str, str] | None = None,
            stdin: bytes | None = None, quiet: bool = False) -> Completed:
        if self.echo is not None or self.dry_run:
            return Runner.run(self, argv, cwd=cwd, env_extra=env_extra, stdin=stdin, quiet=quiet)
        env = dict(self.env)
        if env_extra:
            env.update(env_extra)
        if self.token is not None and self.activity is not None:
            self.activity.wait_turn(self.token)
        if self.token is not None and self.token.cancelled:
            return Completed(tuple(argv), -signal.SIGKILL, b"", CANCELLED)
        if self.gate is not None and ListGate.applies(argv):
            return self.gate.run(argv, cwd, env, self.token, lambda: self._spawn(argv, cwd, env, stdin))
        return self._spawn(argv, cwd, env, stdin)

    def _spawn(self, argv: Sequence[str], cwd: Path | None, env: Mapping[str, str], stdin: bytes | None) -> Completed:
        background = self.token is not None and self.token.background
        try:
            proc = subprocess.Popen(list(argv), cwd=str(cwd) if cwd is not None else None, env=dict(env),
                                    stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                    preexec_fn=lowest_priority if background else None)
        except OSError as e:
            return Completed(tuple(argv), 127, b"", f"{argv[0]}: {e.strerror}\n".encode())
        if self.token is not None:
            self.token.adopt(proc)
            if background and self.activity is not None:
                self.activity.started(proc)
        try:
            out, err = proc.communicate(stdin)
        finally:
            if self.token is not None:
                self.token.release(proc)
        if self.token is not None and self.token.cancelled:
            return Completed(tuple(argv), proc.returncode if proc.returncode < 0 else -signal.SIGKILL, out,
                             err + CANCELLED)
        return Completed(tuple(argv), proc.returncode, out, err)
