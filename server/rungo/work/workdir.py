"""The build's scratch directory: created on first use, removed with everything in it, and the
directories of runs that died without cleaning up found and removed."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable


WORK_PREFIX = "rungo-build"
KEPT_PREFIX = "rungo-work"
LOCK_NAME = "lock"
EMPTY_GRACE = 60.0
"""An empty work directory without a lock is left alone this long (its creator may be about to lock it)."""


class WorkDir:
    """The build's scratch directory: created on first use, removed on close unless kept (-work).

    While it exists its owner holds an exclusive lock on `<dir>/lock`, removed last when the
    directory is. A directory whose lock can be taken belongs to a run that died without cleaning
    up (kill -9): `remove_abandoned` removes those. A kept directory (-work) is named rungo-work*
    and is never removed.
    """

    def __init__(self, parent: str | None, keep: bool, announce: Callable[[str], None]) -> None:
        self._parent = parent
        self._keep = keep
        self._announce = announce
        self._path: Path | None = None
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._n = 0

    @property
    def path(self) -> Path:
        with self._lock:
            if self._path is None:
                parent = self._parent or tempfile.gettempdir()
                self._path = Path(tempfile.mkdtemp(prefix=KEPT_PREFIX if self._keep else WORK_PREFIX, dir=parent))
                if self._keep:
                    self._announce(f"WORK={self._path}")
                else:
                    self._lock_fd = _hold_lock(self._path)
            return self._path

    @property
    def created(self) -> Path | None:
        return self._path

    def go_tmpdir(self) -> Path:
        """GOTMPDIR for the go commands rungo starts: inside the work directory, so that their
        go-build* directories go with it (also when a killed run's work directory is removed)."""
        d = self.path / "gotmp"
        d.mkdir(exist_ok=True)
        return d

    def action_dir(self) -> Path:
        with self._lock:
            self._n += 1
            n = self._n
        d = self.path / f"b{n:03d}"
        d.mkdir()
        return d

    def close(self) -> None:
        with self._lock:
            if self._path is not None and not self._keep:
                _remove_work_dir(str(self._path))
                self._path = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def _hold_lock(directory: Path) -> int | None:
    """Takes the lock of a new work directory: the file appears under its final name already locked."""
    import fcntl

    tmp = directory / (LOCK_NAME + ".new")
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(tmp, directory / LOCK_NAME)
    except OSError:
        os.close(fd)
        return None
    return fd


def _remove_work_dir(d: str) -> None:
    """Removes a work directory, its lock last: a removal cut short by kill -9 leaves a locked
    directory (or an empty one) that the next run recognises as abandoned."""
    try:
        with os.scandir(d) as it:
            children = [e for e in it if e.name != LOCK_NAME]
    except OSError:
        children = []
    for e in children:
        try:
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path, ignore_errors=True)
            else:
                os.unlink(e.path)
        except OSError:
            pass
    try:
        os.unlink(os.path.join(d, LOCK_NAME))
    except OSError:
        pass
    shutil.rmtree(d, ignore_errors=True)


def remove_abandoned(parent: str) -> int:
    """Removes the work directories under `parent` whose owner died; how many were removed."""
    import fcntl

    removed = 0
    try:
        with os.scandir(parent) as it:
            candidates = [e.path for e in it if e.name.startswith(WORK_PREFIX)]
    except OSError:
        return 0
    now = time.time()
    for d in candidates:
        try:
            fd = os.open(os.path.join(d, LOCK_NAME), os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            # No lock: a creator about to take it, or a run killed while making or removing its
            # directory, which is then empty (a lock being taken aside).
            try:
                if now - os.stat(d).st_mtime > EMPTY_GRACE and set(os.listdir(d)) <= {LOCK_NAME + ".new"}:
                    shutil.rmtree(d, ignore_errors=True)
                    removed += 1
            except OSError:
                pass
            continue
        except OSError:
            continue  # not ours to judge (another user's)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # its run is alive
        try:
            _remove_work_dir(d)
            removed += 1
        finally:
            os.close(fd)
    return removed
