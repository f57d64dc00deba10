"""The local cache with a remote tier under it, for outputs worth sharing.

`TieredCache` is a `Cache` whose `get_file` and `get_executable` go to the remote on a local
miss (the remote's content is verified, stored locally, then served from the local store as any
hit), and whose `put_file` and `put_executable` also send the output to the remote in the
background. `get_bytes`/`put_bytes` stay local: they hold records about this machine. A caller
that stores bytes worth sharing offers them with `share`.

It counts hits and misses (local and remote); `finish` appends the counts to the stats log, hands
uploads still pending to a detached process, and returns the remote's trouble as one line to show.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rungo.cache import counters
from rungo.cache.keys import ActionID
from rungo.cache.store import Cache, Entry, _temp_name, _unlink_quietly

if TYPE_CHECKING:
    from rungo.cache.remote.client import Output, RemoteCache
    from rungo.cache.remote.upload import Uploader


_UPLOADERS_LOCK = threading.Lock()


class TieredCache(Cache):
    """A local cache directory, with an optional remote cache behind it."""

    __slots__ = ("remote", "counts", "_lock", "_uploader", "_bad", "_deferred")

    def __init__(self, root: Path, remote: RemoteCache | None = None) -> None:
        super().__init__(root)
        self.remote = remote
        self.counts = {"local_hits": 0, "local_misses": 0, "stored": 0, "stored_bytes": 0}
        self._lock = threading.Lock()
        self._uploader: Uploader | None = None
        self._bad: set[bytes] = set()   # output IDs the remote served corrupted: upload them again
        self._deferred: dict[bytes, Output] = {}   # what get_deferred found on the remote, not fetched
        if remote is not None and remote.settings.writes:
            from rungo.cache.remote import upload

            with _UPLOADERS_LOCK:
                if remote.uploader is None:
                    remote.uploader = upload.Uploader(remote, self._dir)
                self._uploader = remote.uploader

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    # ----- reading -------------------------------------------------------------------------------

    def get_file(self, action_id: ActionID, *, verify: bool = True) -> tuple[Entry, Path] | None:
        return self._or_remote(super().get_file(action_id, verify=verify), action_id, None)

    def get_executable(self, action_id: ActionID, name: str) -> tuple[Entry, Path] | None:
        return self._or_remote(super().get_executable(action_id, name), action_id, name)

    def get_deferred(self, action_id: ActionID, *, verify: bool = True) -> tuple[Entry, Path | None] | None:
        """A local hit, or the remote's action cache entry without its content (a build that links
        a program the cache has needs none of the archives it is made of)."""
        hit = super().get_file(action_id, verify=verify)
        got = self._local_or_lookup(hit, action_id, inline=False)
        if got is None or isinstance(got, tuple):
            return got
        with self._lock:
            self._deferred[action_id] = got
        return Entry(got.output_id, got.size, time.time()), None

    def materialize(self, action_id: ActionID) -> tuple[Entry, Path] | None:
        with self._lock:
            out = self._deferred.pop(action_id, None)
        if out is None:
            return self.get_file(action_id)
        if self.remote is None or not self.remote.usable():
            return None
        return self._install_remote(action_id, out, None)

    def _or_remote(self, hit: tuple[Entry, Path] | None, action_id: ActionID,
                   name: str | None) -> tuple[Entry, Path] | None:
        """A local hit, counted; else what the remote has (a file, or the executable `name`)."""
        got = self._local_or_lookup(hit, action_id, inline=True)
        if got is None or isinstance(got, tuple):
            return got
        return self._install_remote(action_id, got, name)

    def _local_or_lookup(self, hit: tuple[Entry, Path] | None, action_id: ActionID, *,
                         inline: bool) -> tuple[Entry, Path] | Output | None:
        """A local hit (counted as one), else the remote's entry for `action_id` (content not fetched)."""
        if hit is not None:
            self._count("local_hits")
            return hit
        self._count("local_misses")
        remote = self.remote
        if remote is None or not remote.usable():
            return None
        return remote.lookup(action_id, inline=inline)

    def _install_remote(self, action_id: ActionID, out: Output, name: str | None) -> tuple[Entry, Path] | None:
        assert self.remote is not None
        try:
            shard = self._ensure_shard(out.output_id.hex())
        except OSError:
            return None
        tmp = _temp_name(shard)
        try:
            if not self.remote.fetch(out, tmp):
                if self.remote.usable():
                    with self._lock:
                        self._bad.add(out.output_id)
                return None
            # fetch() hashed the content as it wrote it: it goes in without being read again.
            return self.put_hashed(action_id, Path(tmp), out.output_id, out.size, name)
        except OSError:
            return None
        finally:
            _unlink_quietly(tmp)

    # ----- writing -------------------------------------------------------------------------------

    def put_file(self, action_id: ActionID, src: Path, *, link: bool = True) -> Entry:
        entry = super().put_file(action_id, src, link=link)
        self.share(action_id, entry, os.fspath(self.content_path(entry.output_id)))
        return entry

    def put_executable(self, action_id: ActionID, src: Path, name: str, *,
                       link: bool = True) -> tuple[Entry, Path]:
        entry, path = super().put_executable(action_id, src, name, link=link)
        self.share(action_id, entry, os.fspath(path), executable=True)
        return entry, path

    def share(self, action_id: ActionID, entry: Entry, path: str, *, executable: bool = False) -> None:
        """Count a stored output (at `path`, in this cache), and send it to the remote in the background."""
        with self._lock:
            self.counts["stored"] += 1
            self.counts["stored_bytes"] += entry.size
        if self._uploader is None:
            return
        from rungo.cache.remote.client import Upload

        with self._lock:
            force = entry.output_id in self._bad
        self._uploader.add(Upload(action_id, path, entry.output_id, entry.size, executable, force))

    # ----- ending --------------------------------------------------------------------------------

    def drain(self, timeout: float) -> bool:
        """Wait for the background uploads (the language server, tests); False on timeout."""
        return self._uploader is None or self._uploader.drain(timeout)

    def finish(self, *, detach: bool = True) -> str | None:
        """Record the counts, hand pending uploads to a detached process (`detach`), and return
        the remote's trouble ("remote cache unavailable: ...") if it had any."""
        with self._lock:
            counts = dict(self.counts)
            self.counts = dict.fromkeys(self.counts, 0)
        trouble = None
        if self.remote is not None:
            if detach and self._uploader is not None:
                self._uploader.handoff()
            for k, v in self.remote.take_counts().items():
                counts[k] = counts.get(k, 0) + v
            if self.remote.problem is not None:
                trouble = f"remote cache unavailable: {self.remote.problem}"
            elif self.remote.write_problem is not None:
                trouble = f"remote cache: {self.remote.write_problem}"
        counters.add(self._dir, counts)
        return trouble
