"""Builds ahead of the next run: the programs the warm engine built for `rungo run` in the last while
are built again as soon as their inputs change (the operating system's file events, rungo/filewatch.py),
so the run that follows an edit finds its program linked and remembered (the rerun shortcut execs it),
or joins the build in flight instead of starting another.

A build ahead is the run's own build (rungo/start.py, orchestrate.build) without a client, its tools
at the lowest CPU and I/O priority (it never slows what the user runs meanwhile): its output goes
nowhere, a failure leaves nothing behind (the run that follows builds and reports it), and a change
during the build cancels it and starts it again. A run that joins uses the build's program only
when every input is still as that build read it (fastpath.still_holds: the stamps, or the content
where a stamp is too young to be trusted); otherwise it builds as before. Only the inputs outside
the toolchain and the module cache are watched: those are the files people edit.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Mapping

from rungo import fastpath
from rungo.filewatch import FileEvents, WatchSet, watch_set
from rungo.load.model import Watched

if TYPE_CHECKING:
    from rungo.orchestrate import Prepared

KEEP_SECONDS = 15 * 60.0      # a run not asked for since is no longer built ahead
MOST = 8                      # runs built ahead at the most (the least recently asked for goes)
JOIN_SECONDS = 600.0          # a run waits this long at the most for a build in flight


@dataclass(eq=False)
class AheadRun:
    """One remembered run: how to build it, what it read, and its build ahead (in flight or done)."""

    args: list[str]
    cwd: str
    env: dict[str, str]
    tmp_parent: str
    skip: tuple[str, ...]                             # directories whose inputs are not watched
    inputs: WatchSet
    asked: float                                      # when a client last asked for it (monotonic)
    done: threading.Event = field(default_factory=threading.Event)
    again: bool = False                               # inputs changed while it was being built
    clients: int = 0                                  # clients building it themselves right now
    missed: bool = False                              # inputs changed meanwhile: look again after them
    cancel: Callable[[], None] | None = None
    result: Prepared | None = None
    read_ns: int = 0                                  # when the result's inputs were read


def editable(watched: tuple[Watched, ...], skip: tuple[str, ...]) -> tuple[Watched, ...]:
    """The inputs people edit: everything outside the directories in `skip` (the toolchain's root,
    the module cache, rungo's cache)."""
    return tuple(w for w in watched if not any(w.path == d or w.path.startswith(d + os.sep) for d in skip if d))


class Ahead:
    """The engine's builds ahead. `build(run)` builds a run as a client would have it built and
    returns (its Prepared, when its inputs were read), or None when it failed or was cancelled;
    it is given a function that cancels it."""

    def __init__(self, build: Callable[[AheadRun, Callable[[Callable[[], None]], None]], tuple[Prepared, int] | None],
                 log: Callable[[str], None], *, poll: bool = False) -> None:
        self._build = build
        self._log = log
        self._lock = threading.Lock()
        self._runs: dict[str, AheadRun] = {}
        # A build ahead starts 1 ms after the last event: a save that is not whole yet (a temporary file
        # renamed over the source) only costs a build cancelled at once.
        self._events = FileEvents(self._wake, poll=poll, quiet_ms=1)
        self._closed = False
        self.built = 0                 # builds ahead finished with a program
        self.joined = 0                # runs that used one

    # -- what the engine tells it -----------------------------------------------------------------

    def ran(self, key: str, args: list[str], cwd: str, env: Mapping[str, str], tmp_parent: str,
            watched: tuple[Watched, ...], skip: tuple[str, ...]) -> None:
        """A client's run of `key` was built from `watched`: build it ahead from now on."""
        now = time.monotonic()
        with self._lock:
            if self._closed:
                return
            run = self._runs.get(key)
            if run is None:
                run = self._runs[key] = AheadRun(list(args), cwd, dict(env), tmp_parent, skip,
                                                 watch_set(editable(watched, skip)), now)
                run.done.set()
            else:
                run.asked = now
                if run.done.is_set():
                    run.inputs = watch_set(editable(watched, skip))
            for k in sorted(self._runs, key=lambda k: self._runs[k].asked)[:-MOST]:
                self._drop(k)
        self._arm()
        if run.missed and not run.clients:
            run.missed = False
            self._wake(None, only=run)

    @contextlib.contextmanager
    def building(self, key: str) -> Iterator[None]:
        """A client builds `key` itself (nothing was ahead): no build ahead of it starts meanwhile (two
        builds of one program would share the machine); a change seen meanwhile is looked at after."""
        with self._lock:
            run = self._runs.get(key)
            if run is not None:
                run.clients += 1
        try:
            yield
        finally:
            if run is not None:
                with self._lock:
                    run.clients -= 1

    def join(self, key: str, gone: Callable[[], bool]) -> Prepared | None:
        """The program of `key`'s build ahead, waiting for one in flight, when its inputs are all still
        as it read them; None when there is none, it failed, or something changed since."""
        with self._lock:
            run = self._runs.get(key)
        if run is None:
            return None
        run.asked = time.monotonic()
        end = time.monotonic() + JOIN_SECONDS
        while not run.done.wait(0.05):
            if gone() or time.monotonic() > end:
                return None
        with self._lock:
            result, read_ns = run.result, run.read_ns
        if result is None or result.temporary:
            return None
        own = str(result.binary)
        if not fastpath.still_holds([(w.path, w.stamp, w.digest) for w in result.watched], read_ns,
                                    frozenset((own,))):
            return None
        with self._lock:
            self.joined += 1
        return result

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for k in list(self._runs):
                self._drop(k)
        self._events.close()

    # -- inside ----------------------------------------------------------------------------------------

    def _drop(self, key: str) -> None:
        run = self._runs.pop(key)
        if run.cancel is not None:
            run.cancel()

    def _arm(self) -> None:
        with self._lock:
            watched = [w for run in self._runs.values() for w in run.inputs.watched]
        if watched:
            self._events.arm(watch_set(watched))

    def _wake(self, paths: set[str] | None, only: AheadRun | None = None) -> None:
        """File events (None: polling saw a change): build again each run whose inputs changed."""
        now = time.monotonic()
        with self._lock:
            for key in [k for k, r in self._runs.items() if now - r.asked > KEEP_SECONDS]:
                self._drop(key)
            runs = [only] if only is not None else list(self._runs.values())
        for run in runs:
            if paths is not None and not any(run.inputs.concerns(p) for p in paths):
                continue
            if not run.inputs.changed():
                continue
            with self._lock:
                if self._closed:
                    return
                if run.clients:
                    run.missed = True
                    continue
                if not run.done.is_set():
                    run.again = True
                    if run.cancel is not None:
                        run.cancel()
                    continue
                run.done.clear()
                run.again = False
                threading.Thread(target=self._loop, args=(run,), name="rungo-ahead", daemon=True).start()

    def _loop(self, run: AheadRun) -> None:
        """Builds `run` until a build sees no change while it runs."""
        built = False
        try:
            while True:
                with self._lock:
                    run.again = False
                    run.inputs = watch_set(run.inputs.restamped())
                    run.result = None

                def cancellable(cancel: Callable[[], None]) -> None:
                    with self._lock:
                        run.cancel = cancel
                        again = run.again
                    if again:
                        cancel()

                started = time.monotonic()
                try:
                    got = self._build(run, cancellable)
                except Exception as e:       # a bug: the run that follows builds as before
                    self._log(f"building ahead in {run.cwd}: {type(e).__name__}: {e}")
                    got = None
                with self._lock:
                    run.cancel = None
                    if run.again and not self._closed:
                        continue
                    if got is not None:
                        run.result, run.read_ns = got
                        run.inputs = watch_set(editable(got[0].watched, run.skip))
                        self.built += 1
                        built = True
                self._log(f"built ahead in {run.cwd}: {' '.join(run.args)} "
                          f"({'ready' if built else 'failed'}, {(time.monotonic() - started) * 1000:.0f} ms)")
                return
        finally:
            run.done.set()
            if built:
                self._arm()         # the build may read directories it did not before
