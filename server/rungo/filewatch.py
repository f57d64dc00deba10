"""Change detection for a build's inputs: which directories to watch for the stamps a build recorded,
wake-ups from the operating system's file events (watchfiles) or, where those are unavailable, from
polling, and which recorded stamps no longer hold.

The stamps decide, not the events: an event only says "look". So an editor's swap or backup file, a
log the program writes beside its sources or a file of a package the build did not read never counts
(a package directory's stamp holds while its build-relevant names are the same: fastpath.holds), and
an atomic save (write a temp file, rename it over the source) counts once, as the rename.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Callable, Iterable

from rungo.fastpath import SRC_MARK, holds, is_source_name, stamp
from rungo.load.model import Watched
from rungo.load.stamps import package_dir_stamp

POLL_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class WatchSet:
    """A build's inputs as recorded (path, stamp) and the paths whose events may concern them: the
    inputs themselves, the names inside watched directories, and the missing directories above an
    input that does not exist yet."""

    watched: tuple[Watched, ...]
    names: frozenset[str]
    package_dirs: frozenset[str]         # directories where only build-relevant names matter

    def concerns(self, path: str) -> bool:
        """Whether an event for path may change the build (the stamps then decide)."""
        if path in self.names:
            return True
        parent, _, name = path.rpartition(os.sep)
        parent = parent or os.sep
        if parent in self.package_dirs:
            return is_source_name(name)
        return parent in self.names

    def changed(self) -> tuple[str, ...]:
        """The inputs whose recorded stamp no longer holds."""
        return tuple(w.path for w in self.watched if not holds(w.path, w.stamp))

    def directories(self) -> tuple[str, ...]:
        """The existing directories to get events for: each watched directory, the directory of each
        watched file, and for a missing input its nearest existing ancestor."""
        out: set[str] = set()
        for w in self.watched:
            d = w.path if w.stamp.startswith("dir:") else os.path.dirname(w.path)
            while not os.path.isdir(d) and os.path.dirname(d) != d:
                d = os.path.dirname(d)
            out.add(d)
        return tuple(sorted(out))

    def restamped(self) -> tuple[Watched, ...]:
        """The same inputs with their stamps as they are now."""
        return tuple(Watched(w.path, package_dir_stamp(w.path) if SRC_MARK in w.stamp else stamp(w.path))
                     for w in self.watched)


def watch_set(watched: Iterable[Watched]) -> WatchSet:
    items = tuple({w.path: w for w in watched}.values())
    names: set[str] = set()
    package_dirs: set[str] = set()
    for w in items:
        names.add(w.path)
        if SRC_MARK in w.stamp:
            package_dirs.add(w.path)
        d = os.path.dirname(w.path)
        while d not in names and not os.path.isdir(d) and os.path.dirname(d) != d:
            names.add(d)                       # a missing directory above an input: its creation counts
            d = os.path.dirname(d)
    return WatchSet(items, frozenset(names), frozenset(package_dirs))


class FileEvents:
    """A thread that calls `wake(paths)` when something happens in the armed set's directories:
    paths from the OS's file events, or None when polling found a stamp that no longer holds.

    Events come from watchfiles (inotify, kqueue, FSEvents), non-recursive on each directory; when
    it cannot watch (no OS support, out of inotify watches) or `poll` asks for it, the stamps are
    polled every POLL_SECONDS instead.
    """

    def __init__(self, wake: Callable[[set[str] | None], None], *, poll: bool = False, quiet_ms: int = 5) -> None:
        self._wake = wake
        self._quiet_ms = quiet_ms        # events are handed on after this long without another
        self.polling = poll
        self._set: WatchSet | None = None
        self._dirs: tuple[str, ...] = ()
        self._interrupt = threading.Event()    # re-arm or close: the watching call returns
        self._armed = threading.Event()
        self._closed = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def arm(self, ws: WatchSet) -> None:
        """Watches ws from now on; returns once events for its directories are seen (so a stamp
        check right after misses nothing)."""
        dirs = ws.directories()
        with self._lock:
            self._set = ws
            if dirs == self._dirs and self._thread is not None:
                return
            self._dirs = dirs
            self._armed.clear()
            self._interrupt.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="rungo-watch-files", daemon=True)
            self._thread.start()
        self._armed.wait(5.0)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._interrupt.set()
        if self._thread is not None:
            self._thread.join(2.0)

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                self._interrupt.clear()
                dirs = self._dirs
            if self.polling:
                self._poll()
            else:
                self._events(dirs)

    def _poll(self) -> None:
        self._armed.set()
        while not self._interrupt.wait(POLL_SECONDS):
            ws = self._set
            if ws is not None and ws.changed():
                self._wake(None)

    def _events(self, dirs: tuple[str, ...]) -> None:
        try:
            from watchfiles._rust_notify import RustNotify

            notify = RustNotify(list(dirs), False, False, 0, False, True)
        except FileNotFoundError:
            self._armed.set()       # a directory went away meanwhile: the stamps tell; look again soon
            self._wake(set(dirs))
            self._interrupt.wait(POLL_SECONDS)
            return
        except Exception:
            self.polling = True     # no OS events here: poll from now on
            return
        with notify:
            self._armed.set()
            while not self._interrupt.is_set():
                got = notify.watch(self._quiet_ms, self._quiet_ms, 1000, self._interrupt)
                if isinstance(got, set) and got:
                    self._wake({p for _, p in got})
