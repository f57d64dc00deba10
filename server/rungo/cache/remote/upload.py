"""Uploads in the background: a thread while the process lives, a detached job after it goes on.

A process that made outputs (a build that is about to exec the program, a GOCACHEPROG child
answering `close`) must not wait for the remote. Its `Uploader` sends outputs from a thread as
they are made; whatever is not confirmed sent when the process goes on is written to a job file
under `<root>/uploads/` and handed to a detached process (`rungo cache wait JOB`), which sends it and removes the file. A job is taken under an exclusive lock on its file, so
`rungo cache wait` (`wait`) can finish a job whose process died, and never runs one twice at once.
Job files hold no token: the detached process gets it from its environment.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any, Iterable, Mapping, Sequence

from rungo.cache import counters
from rungo.cache.remote.client import RemoteCache, Upload
from rungo.cache.atomic import write_file
from rungo.cache.remote.settings import RemoteSettings, SettingsError, from_env

JOBS = "uploads"
TOKEN = "RUNGO_REMOTE_CACHE_TOKEN"   # never written into a job: the process that sends it has it
BATCH = 64


def _encode(items: Iterable[Upload]) -> list[dict[str, object]]:
    return [{"action": i.action_id.hex(), "path": i.path, "output": i.output_id.hex(), "size": i.size,
             "exe": i.executable, "force": i.force} for i in items]


def _decode(rows: object) -> list[Upload]:
    out: list[Upload] = []
    if not isinstance(rows, list):
        return out
    for r in rows:
        try:
            out.append(Upload(bytes.fromhex(r["action"]), str(r["path"]), bytes.fromhex(r["output"]), int(r["size"]),
                              bool(r["exe"]), bool(r.get("force", False))))
        except (KeyError, TypeError, ValueError):
            continue
    return out


class Uploader:
    """Sends outputs to the remote from one background thread."""

    def __init__(self, remote: RemoteCache, root: str) -> None:
        self.remote = remote
        self.root = root
        self._cond = threading.Condition()
        self._queue: list[Upload] = []
        self._sending: list[Upload] = []
        self._thread: threading.Thread | None = None

    def add(self, item: Upload) -> None:
        with self._cond:
            self._queue.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="rungo-upload", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
                self._sending = batch
            if self.remote.writable():
                self.remote.upload(batch)
            with self._cond:
                self._sending = []
                self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + len(self._sending)

    def drain(self, timeout: float) -> bool:
        """Wait until everything added is sent (or given up); False on timeout."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._sending:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def handoff(self) -> None:
        """Give what is not confirmed sent to a detached process (this process may exec a program or
        exit now). What is added later is sent as before: a long-lived process (the warm engine)
        hands off again at the end of its next build."""
        with self._cond:
            rest = self._sending + self._queue
            self._queue = []
            self._cond.notify_all()
        if rest and self.remote.writable():
            spawn(self.root, self.remote.settings, rest, self.remote.env)


def spawn(root: str, settings: RemoteSettings, items: Sequence[Upload], base_env: Mapping[str, str]) -> None:
    """Write a job and start a detached process (in `base_env`, with the remote's settings) that sends
    it. Failures leave the job for `wait`."""
    job = {"settings": {k: v for k, v in settings.to_env().items() if k != TOKEN}, "items": _encode(items)}
    path = os.path.join(root, JOBS, f"{time.time_ns()}-{os.getpid()}-{os.urandom(4).hex()}.json")
    if not write_file(path, json.dumps(job).encode()):
        return
    env = dict(base_env)
    env.update(settings.to_env())
    env["RUNGO_CACHE"] = root
    try:
        subprocess.Popen([sys.executable, "-m", "rungo", "cache", "wait", path], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True, cwd="/")
    except OSError:
        pass


def _settings_of(job: dict[str, Any], env: Mapping[str, str]) -> RemoteSettings | None:
    """The job's remote, with the token of this environment when it names the same remote."""
    given = dict(job["settings"])
    if env.get(TOKEN) and env.get("RUNGO_REMOTE_CACHE") == given.get("RUNGO_REMOTE_CACHE"):
        given[TOKEN] = env[TOKEN]
    return from_env(given)


def run_job(root: str, path: str, env: Mapping[str, str], *, block: bool) -> bool:
    """Send one job unless another process holds it; True when the job is gone afterwards."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except OSError:
            return False
        if not os.path.exists(path):
            return True
        try:
            with os.fdopen(os.dup(fd), encoding="utf-8") as f:
                job = json.load(f)
            settings = _settings_of(job, env)
        except (OSError, ValueError, SettingsError, AttributeError, KeyError, TypeError):
            settings = None
        if settings is None:
            _remove(path)
            return True
        remote = RemoteCache(settings, root, env)
        items = _decode(job.get("items"))
        for i in range(0, len(items), BATCH):
            if not remote.writable():
                break
            remote.upload(items[i:i + BATCH])
        remote.close()
        counters.add(root, remote.take_counts())
        _remove(path)
        return True
    finally:
        os.close(fd)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def jobs(root: str) -> list[str]:
    directory = os.path.join(root, JOBS)
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
    except OSError:
        return []
    return [os.path.join(directory, n) for n in names]


def wait(root: str, env: Mapping[str, str], timeout: float) -> int:
    """Finish every pending job (sending abandoned ones here); the number still pending at timeout."""
    end = time.monotonic() + timeout
    while True:
        left = [p for p in jobs(root) if not run_job(root, p, env, block=False)]
        if not left or time.monotonic() >= end:
            return len(left)
        time.sleep(0.1)
