"""A content-addressed cache of computation outputs, kept in one directory shared by processes.

An *action ID* (the hash of a complete description of a computation) maps to an *entry* naming
an *output ID* (the sha256 of the output), its size and the time it was stored; the output itself
is kept once per output ID. Layout under the root:

    README                      what this directory is
    <xx>/<actionhex>-a          entry: "v1 <outputhex> <size> <unix time>\\n"
    <xx>/<outputhex>-d          stored content (a blob)
    <xx>/<outputhex>-x/<name>   stored executable, mode 0755, so a program run from it sees `name`
    <xx>/.tmp-*, .trash-*       in-flight writes and removals

where <xx> is the first two hex digits of the ID in the file's name. Every write goes to a temporary
name and is renamed into place, so readers never see a partial file; several processes may use one
cache at once. Reading never raises: anything absent, short, garbled or inconsistent is a miss.
Writing raises `CacheWriteError` (and leaves no partial entry) when the directory cannot be written.

Stored content is named by its sha256 (the output ID), and is checked against it when served:
`get_bytes`, `get_executable` and `get_file` for content up to VERIFY_LIMIT bytes re-hash what they
serve; larger content from `get_file` is checked by size, and `check` re-hashes it on demand (when a
consumer fails). Content that does not match its name is removed, so every entry naming it misses
until it is stored again.

A file's mtime records when it was last used, refreshed at most once an hour so that hits
almost never cost a write; `trim` removes by that time.
"""

from __future__ import annotations

import errno
import os
import re
import stat as statmod
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Final, NamedTuple

from rungo.cache.keys import HASH_SIZE, ActionID, OutputID, hash_bytes, hash_file_sized

USE_INTERVAL = 3600.0
"""A used file's mtime is refreshed only when it is older than this (seconds)."""

FRESH_SECONDS = 60.0
"""`trim` never removes a file written or marked used within this many seconds."""

VERIFY_LIMIT = 4 << 20
"""`get_file` re-hashes stored content up to this size on every hit; larger content on `check`."""

STALE_TEMP_SECONDS = 3600.0
"""Temporary files left by writers that died are removed by `trim` once this old."""

_ENTRY: Final = rb"v1 ([0-9a-f]{64}) (0|[1-9][0-9]{0,18}) ([0-9]{1,15}(?:\.[0-9]{1,9})?)\n"
_SHARD: Final = r"[0-9a-f]{2}"
_ITEM: Final = r"[0-9a-f]{64}-[adx]"
_MAX_ENTRY = 256
_README = "README"
_TMP = ".tmp-"
_TRASH = ".trash-"
_EXE_MODE = 0o755

_README_TEXT = """\
This directory is rungo's build cache.

It holds outputs of earlier builds, addressed by the hash of what produced them.
Everything here can be regenerated: it is safe to delete the whole directory,
or to run `rungo cache clean` (everything) or `rungo cache trim` (unused files).

Layout: <xx>/<id>-a are index entries, <xx>/<id>-d stored outputs,
<xx>/<id>-x/<name> stored executables.
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """What an action ID maps to: the output's ID and size, and when the entry was stored."""

    output_id: OutputID   # sha256 of the stored content
    size: int             # bytes
    time: float           # seconds since the epoch


@dataclass(frozen=True, slots=True)
class CacheStats:
    """What the cache holds. `oldest` and `newest` are the earliest and latest last-use times."""

    entries: int
    blobs: int
    total_bytes: int
    oldest: float | None
    newest: float | None


@dataclass(frozen=True, slots=True)
class TrimResult:
    """What a trim or clean removed, and how many bytes the cache still holds."""

    removed_files: int
    removed_bytes: int
    kept_bytes: int


class CacheWriteError(OSError):
    """The cache could not be written (disk full, read-only directory, ...). Safe to ignore."""


class _Item(NamedTuple):
    """A file or directory the cache wrote, as a scan found it."""

    path: str
    kind: str  # "a", "d", "x" or "tmp"
    size: int
    files: int
    mtime: float


def _check_id(value: bytes, what: str) -> str:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes, got {value!r}")
    return value.hex()


def _check_name(name: str) -> None:
    if (not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\0" in name
            or (os.altsep is not None and os.altsep in name)):
        raise ValueError(f"executable name must be a plain file name, got {name!r}")


def _wrap(e: OSError, what: str) -> CacheWriteError:
    if isinstance(e, CacheWriteError):
        return e
    if e.errno is None:
        return CacheWriteError(f"{what}: {e}")
    return CacheWriteError(e.errno, f"{what}: {e.strerror}", e.filename)


def _touch(path: str, mtime: float, now: float) -> None:
    """Record a use of `path`, writing only when its mtime is more than USE_INTERVAL old."""
    if now - mtime < USE_INTERVAL:
        return
    try:
        os.utime(path)
    except OSError:
        pass


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while len(view):
        n = os.write(fd, view)
        view = view[n:]


def _temp_name(directory: str) -> str:
    return os.path.join(directory, f"{_TMP}{os.getpid()}-{_token()}")


def _token() -> str:
    """16 random hex digits, to make a temporary or trash name unique."""
    return os.urandom(8).hex()


def _create_temp(directory: str) -> tuple[int, str]:
    while True:
        name = _temp_name(directory)
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), name
        except FileExistsError:
            continue


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _tree_usage(path: str) -> tuple[int, int, float]:
    """Bytes, file count and newest mtime of the files under `path` (the directory's own mtime if none)."""
    size = files = 0
    newest = 0.0
    try:
        st = os.lstat(path)
    except OSError:
        return 0, 0, 0.0
    if not statmod.S_ISDIR(st.st_mode):
        return st.st_size, 1, st.st_mtime
    stack = [path]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                children = list(it)
        except OSError:
            continue
        for c in children:
            try:
                cst = c.stat(follow_symlinks=False)
            except OSError:
                continue
            if statmod.S_ISDIR(cst.st_mode):
                stack.append(c.path)
            else:
                size += cst.st_size
                files += 1
                newest = max(newest, cst.st_mtime)
    return size, files, (newest if files else st.st_mtime)


def _is_private(st: os.stat_result) -> bool:
    """Whether a file may be hard-linked into the cache: a regular file of ours, not shared or writable by others."""
    return (statmod.S_ISREG(st.st_mode) and st.st_nlink == 1 and st.st_uid == os.geteuid()
            and not st.st_mode & 0o022)


class Cache:
    """A cache directory. Creating a Cache touches nothing; the directory is made on the first write.

    Read methods (`get*`) never raise for anything found on disk: every anomaly is a miss (None).
    Write methods raise `CacheWriteError` when the cache cannot be written, `OSError` when the
    source file cannot be read, and ValueError for malformed IDs or names (bugs in the caller).
    """

    __slots__ = ("_root", "_dir")

    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._dir = os.fspath(self._root)

    @property
    def root(self) -> Path:
        """The cache directory."""
        return self._root

    # ----- paths -------------------------------------------------------------------------------

    def _entry_path(self, ahex: str) -> str:
        return os.path.join(self._dir, ahex[:2], ahex + "-a")

    def _blob_path(self, ohex: str) -> str:
        return os.path.join(self._dir, ohex[:2], ohex + "-d")

    def _exe_dir(self, ohex: str) -> str:
        return os.path.join(self._dir, ohex[:2], ohex + "-x")

    def content_path(self, output_id: OutputID) -> Path:
        """Where stored content (not an executable) with this output ID is kept."""
        return Path(self._blob_path(_check_id(output_id, "output ID")))

    # ----- reading -----------------------------------------------------------------------------

    def _read_entry(self, action_id: ActionID) -> tuple[Entry, str, float] | None:
        """The entry for `action_id`, its path and mtime; None if absent or malformed."""
        path = self._entry_path(_check_id(action_id, "action ID"))
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            data = os.read(fd, _MAX_ENTRY)
        except OSError:
            return None
        finally:
            os.close(fd)
        m = re.fullmatch(_ENTRY, data)
        if m is None:
            return None
        entry = Entry(bytes.fromhex(m.group(1).decode("ascii")), int(m.group(2)), float(m.group(3)))
        return entry, path, st.st_mtime

    def _lookup_blob(self, action_id: ActionID) -> tuple[Entry, str, float, str, float] | None:
        found = self._read_entry(action_id)
        if found is None:
            return None
        entry, entry_path, entry_mtime = found
        blob = self._blob_path(entry.output_id.hex())
        try:
            st = os.stat(blob)
        except OSError:
            return None
        if not statmod.S_ISREG(st.st_mode):
            return None
        if st.st_size != entry.size:
            self._discard(blob, entry.output_id)
            return None
        return entry, entry_path, entry_mtime, blob, st.st_mtime

    def _discard(self, path: str, output_id: OutputID) -> None:
        """Remove stored content found not to match its output ID (a file, or an executable's
        directory), unless it was replaced by good content meanwhile."""
        ohex = output_id.hex()
        parent = os.path.dirname(path)
        target = parent if os.path.basename(parent) == ohex + "-x" else path
        trash = os.path.join(os.path.dirname(target), f"{_TRASH}{_token()}")
        try:
            os.rename(target, trash)
        except OSError:
            return
        if target == parent:
            import shutil

            shutil.rmtree(trash, ignore_errors=True)
            return
        try:
            if hash_file_sized(trash)[0] == output_id:  # a writer put good content back: keep it
                os.rename(trash, target)
                return
        except OSError:
            pass
        _unlink_quietly(trash)

    def _matches(self, path: str, output_id: OutputID, size: int) -> bool:
        """Whether the stored file re-hashes to its output ID; removes it when it does not."""
        try:
            got, n = hash_file_sized(path)
        except OSError:
            return False
        if got == output_id and n == size:
            return True
        self._discard(path, output_id)
        return False

    def hashed_on_hit(self, entry: Entry, *, verify: bool = True) -> bool:
        """Whether `get_file` re-hashed this entry's content when it served it (it is small enough)."""
        return verify and entry.size <= VERIFY_LIMIT

    def check(self, path: os.PathLike[str] | str) -> bool:
        """Re-hash stored content that a getter returned (`get_file`'s path, an executable's path).

        True when it still matches its output ID; otherwise it is removed (every entry naming it
        misses from now on) and False is returned. Paths outside the cache are not judged (True).
        """
        p = os.path.abspath(os.fspath(path))
        root = os.path.abspath(self._dir)
        name = os.path.basename(p)
        parent = os.path.dirname(p)
        if os.path.dirname(os.path.dirname(parent)) == root and re.fullmatch(_ITEM, os.path.basename(parent)) \
                and parent.endswith("-x"):
            ohex = os.path.basename(parent)[:-2]
        elif os.path.dirname(parent) == root and re.fullmatch(_ITEM, name) and name.endswith("-d"):
            ohex = name[:-2]
        else:
            return True
        output_id = bytes.fromhex(ohex)
        try:
            size = os.stat(p).st_size
        except OSError:
            return False
        return self._matches(p, output_id, size)

    def get(self, action_id: ActionID) -> Entry | None:
        """The entry for `action_id` if it and its stored content are present and consistent.

        Entries made by `put_executable` have no plain blob, so `get` misses on them; use
        `get_executable`.
        """
        hit = self.get_file(action_id)
        return hit[0] if hit is not None else None

    def get_file(self, action_id: ActionID, *, verify: bool = True) -> tuple[Entry, Path] | None:
        """The entry for `action_id` and the path of its stored content.

        Content up to VERIFY_LIMIT bytes is re-hashed unless `verify` is off; larger content (and
        all of it without `verify`) is checked by size (use `check` when its consumer fails).
        """
        hit = self._lookup_blob(action_id)
        if hit is None:
            return None
        entry, entry_path, entry_mtime, blob, blob_mtime = hit
        if verify and entry.size <= VERIFY_LIMIT and not self._matches(blob, entry.output_id, entry.size):
            return None
        now = time.time()
        _touch(entry_path, entry_mtime, now)
        _touch(blob, blob_mtime, now)
        return entry, Path(blob)

    def get_deferred(self, action_id: ActionID, *, verify: bool = True) -> tuple[Entry, Path | None] | None:
        """The entry for `action_id`, with its content's path when the content is here. A cache
        with a remote tier (rungo.cache.tiered) answers from the remote's action cache without
        fetching the content (the path is then None): `materialize` fetches it when it is needed."""
        return self.get_file(action_id, verify=verify)

    def materialize(self, action_id: ActionID) -> tuple[Entry, Path] | None:
        """The content `get_deferred` did not fetch, now here (None when it can no longer be had)."""
        return self.get_file(action_id)

    def get_bytes(self, action_id: ActionID) -> bytes | None:
        """The stored content for `action_id`, verified against its output ID."""
        hit = self._lookup_blob(action_id)
        if hit is None:
            return None
        entry, entry_path, entry_mtime, blob, blob_mtime = hit
        try:
            with open(blob, "rb") as f:
                data = f.read()
        except OSError:
            return None
        if len(data) != entry.size or hash_bytes(data) != entry.output_id:
            self._discard(blob, entry.output_id)
            return None
        now = time.time()
        _touch(entry_path, entry_mtime, now)
        _touch(blob, blob_mtime, now)
        return data

    def get_executable(self, action_id: ActionID, name: str) -> tuple[Entry, Path] | None:
        """The entry for `action_id` and the path of its executable stored under `name`.

        The file must exist, be a regular file executable by everyone, have the entry's size and
        re-hash to the entry's output ID (a program that does not is removed: it is never run). A
        hit costs reading the entry, a stat and a read of the executable (plus a utime of each at
        most once an hour).
        """
        _check_name(name)
        found = self._read_entry(action_id)
        if found is None:
            return None
        entry, entry_path, entry_mtime = found
        ohex = entry.output_id.hex()
        path = os.path.join(self._dir, ohex[:2], ohex + "-x", name)
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not statmod.S_ISREG(st.st_mode) or st.st_mode & 0o111 != 0o111:
            return None
        if st.st_size != entry.size:
            self._discard(path, entry.output_id)
            return None
        if not self._matches(path, entry.output_id, entry.size):
            return None
        now = time.time()
        _touch(entry_path, entry_mtime, now)
        _touch(path, st.st_mtime, now)
        return entry, Path(path)

    # ----- writing -----------------------------------------------------------------------------

    def _ensure_shard(self, hexid: str) -> str:
        shard = os.path.join(self._dir, hexid[:2])
        try:
            os.mkdir(shard)
        except FileExistsError:
            return shard
        except FileNotFoundError:
            os.makedirs(self._dir, exist_ok=True)
            try:
                os.mkdir(shard)
            except FileExistsError:
                pass
        self._write_readme()
        return shard

    def _write_readme(self) -> None:
        path = os.path.join(self._dir, _README)
        if os.path.exists(path):
            return
        try:
            self._install(self._dir, path, lambda fd: _write_all(fd, _README_TEXT.encode()))
        except OSError:
            pass  # only a courtesy to whoever looks into the directory

    def _install(self, directory: str, final: str, fill: Callable[[int], None]) -> None:
        """Write a file through `fill` under a temporary name in `directory`, then rename it to `final`."""
        fd, tmp = _create_temp(directory)
        try:
            try:
                fill(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException:
            _unlink_quietly(tmp)
            raise

    def _reuse(self, path: str, size: int, output_id: OutputID, exe: bool) -> bool:
        """Whether `path` already holds the content; if so, record the use so trim keeps it."""
        try:
            st = os.stat(path)
            if not statmod.S_ISREG(st.st_mode) or st.st_size != size:
                return False
            if exe and st.st_mode & 0o111 != 0o111:
                return False
            if hash_file_sized(path)[0] != output_id:
                return False
            os.utime(path)
        except OSError:
            return False
        return True

    def _place(self, src: str, src_st: os.stat_result, directory: str, final: str,
               output_id: OutputID, size: int, mode: int | None, link: bool) -> None:
        """Put the content of `src` at `final` (in `directory`): hard link or verified copy, then rename."""
        tmp: str | None = None
        try:
            if link and _is_private(src_st):
                tmp = _temp_name(directory)
                try:
                    os.link(src, tmp)
                except OSError:
                    tmp = None  # another file system, or links not allowed: copy instead
                else:
                    os.utime(tmp)  # the file is new to the cache: keep trim away from it
                    if os.lstat(tmp).st_size != size:
                        raise CacheWriteError(f"{src} changed while being stored in the cache")
            if tmp is None:
                fd, tmp = _create_temp(directory)
                try:
                    got, n = hash_file_sized(src, lambda chunk: _write_all(fd, chunk))
                finally:
                    os.close(fd)
                if got != output_id or n != size:
                    raise CacheWriteError(f"{src} changed while being stored in the cache")
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, final)
            tmp = None
        finally:
            if tmp is not None:
                _unlink_quietly(tmp)

    def _write_entry(self, ahex: str, output_id: OutputID, size: int) -> Entry:
        stamp = f"{time.time():.6f}"
        line = f"v1 {output_id.hex()} {size} {stamp}\n".encode("ascii")
        shard = self._ensure_shard(ahex)
        self._install(shard, self._entry_path(ahex), lambda fd: _write_all(fd, line))
        return Entry(output_id, size, float(stamp))

    def put_file(self, action_id: ActionID, src: Path, *, link: bool = True) -> Entry:
        """Store a copy of the file `src` as the output of `action_id`.

        When `link` is true and `src` is private (a regular file of ours with one link and no
        group/other write permission) and on the cache's file system, it is hard-linked instead of
        copied: the caller must then not rewrite `src` in place afterwards (replacing or deleting
        it is fine). Content already stored under the same output ID is reused.
        """
        ahex = _check_id(action_id, "action ID")
        src_s = os.fspath(src)
        src_st = os.stat(src_s)
        output_id, size = hash_file_sized(src_s)
        ohex = output_id.hex()
        try:
            final = self._blob_path(ohex)
            if not self._reuse(final, size, output_id, exe=False):
                shard = self._ensure_shard(ohex)
                self._place(src_s, src_st, shard, final, output_id, size, None, link)
            return self._write_entry(ahex, output_id, size)
        except OSError as e:
            raise _wrap(e, "writing to the cache") from e

    def put_hashed(self, action_id: ActionID, src: Path, output_id: OutputID, size: int,
                   name: str | None = None) -> tuple[Entry, Path]:
        """Store the private file `src` (a regular file of ours, one link) whose sha256 and size the
        caller computed from its content as it wrote it: it is hard-linked (or copied and checked)
        into place without being read again. With `name`, as an executable (see `put_executable`);
        the caller must not write to `src` afterwards."""
        ahex = _check_id(action_id, "action ID")
        ohex = _check_id(output_id, "output ID")
        src_s = os.fspath(src)
        try:
            src_st = os.stat(src_s)
            if src_st.st_size != size:
                raise CacheWriteError(f"{src} is not the size it was hashed at")
            if name is None:
                final = self._blob_path(ohex)
                if not self._reuse(final, size, output_id, exe=False):
                    shard = self._ensure_shard(ohex)
                    self._place(src_s, src_st, shard, final, output_id, size, None, True)
            else:
                _check_name(name)
                final = os.path.join(self._exe_dir(ohex), name)
                if not self._reuse(final, size, output_id, exe=True):
                    shard = self._ensure_shard(ohex)
                    self._place_executable(src_s, src_st, shard, self._exe_dir(ohex), name, output_id, size, True)
            return self._write_entry(ahex, output_id, size), Path(final)
        except OSError as e:
            raise _wrap(e, "writing to the cache") from e

    def put_bytes(self, action_id: ActionID, data: bytes) -> Entry:
        """Store `data` as the output of `action_id` (meant for small records)."""
        ahex = _check_id(action_id, "action ID")
        output_id = hash_bytes(data)
        ohex = output_id.hex()
        try:
            final = self._blob_path(ohex)
            if not self._reuse(final, len(data), output_id, exe=False):
                shard = self._ensure_shard(ohex)
                self._install(shard, final, lambda fd: _write_all(fd, data))
            return self._write_entry(ahex, output_id, len(data))
        except OSError as e:
            raise _wrap(e, "writing to the cache") from e

    def put_executable(self, action_id: ActionID, src: Path, name: str, *,
                       link: bool = True) -> tuple[Entry, Path]:
        """Store the program `src` as the output of `action_id`, as `<xx>/<outputhex>-x/<name>`.

        The stored file has mode 0755 and base name `name`, so it can be run in place. The
        directory appears whole (it is filled under a temporary name and renamed). `link` is as
        for `put_file`; a linked `src` gets mode 0755 too.
        """
        ahex = _check_id(action_id, "action ID")
        _check_name(name)
        src_s = os.fspath(src)
        src_st = os.stat(src_s)
        output_id, size = hash_file_sized(src_s)
        ohex = output_id.hex()
        xdir = self._exe_dir(ohex)
        target = os.path.join(xdir, name)
        try:
            if not self._reuse(target, size, output_id, exe=True):
                shard = self._ensure_shard(ohex)
                self._place_executable(src_s, src_st, shard, xdir, name, output_id, size, link)
            entry = self._write_entry(ahex, output_id, size)
        except OSError as e:
            raise _wrap(e, "writing to the cache") from e
        return entry, Path(target)

    def _place_executable(self, src: str, src_st: os.stat_result, shard: str, xdir: str, name: str,
                          output_id: OutputID, size: int, link: bool) -> None:
        tmpdir = _temp_name(shard)
        os.mkdir(tmpdir)
        renamed = False
        try:
            staged = os.path.join(tmpdir, name)
            self._place(src, src_st, tmpdir, staged, output_id, size, _EXE_MODE, link)
            for _ in range(5):
                try:
                    os.rename(tmpdir, xdir)
                    renamed = True
                    return
                except OSError as e:
                    if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                # The directory exists (another name for this content, or a concurrent writer):
                # move the file into it. If a trim just removed it, try the rename again.
                try:
                    os.replace(staged, os.path.join(xdir, name))
                    return
                except FileNotFoundError:
                    continue
            raise CacheWriteError(f"could not store {name} in {xdir}: it keeps changing")
        finally:
            if not renamed:
                import shutil

                shutil.rmtree(tmpdir, ignore_errors=True)

    # ----- housekeeping ------------------------------------------------------------------------

    def _scan(self) -> list[_Item]:
        items: list[_Item] = []
        try:
            with os.scandir(self._dir) as it:
                top = list(it)
        except OSError:
            return items
        for d in top:
            if d.name.startswith((_TMP, _TRASH)):
                size, files, mtime = _tree_usage(d.path)
                items.append(_Item(d.path, "tmp", size, files, mtime))
                continue
            try:
                if not (re.fullmatch(_SHARD, d.name) and d.is_dir(follow_symlinks=False)):
                    continue
                with os.scandir(d.path) as it:
                    inner = list(it)
            except OSError:
                continue
            for e in inner:
                n = e.name
                if re.fullmatch(_ITEM, n):
                    kind = n[-1]
                    if kind == "x":
                        try:
                            if not e.is_dir(follow_symlinks=False):
                                continue
                        except OSError:
                            continue
                        size, files, mtime = _tree_usage(e.path)
                        items.append(_Item(e.path, "x", size, files, mtime))
                    else:
                        try:
                            st = e.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        if statmod.S_ISREG(st.st_mode):
                            items.append(_Item(e.path, kind, st.st_size, 1, st.st_mtime))
                elif n.startswith((_TMP, _TRASH)):
                    size, files, mtime = _tree_usage(e.path)
                    items.append(_Item(e.path, "tmp", size, files, mtime))
        return items

    def _remove(self, item: _Item, not_after: float) -> tuple[int, int] | None:
        """Remove `item` unless it was written or used after `not_after`; the files and bytes removed."""
        import shutil

        try:
            if item.kind == "tmp":
                if os.path.basename(item.path).startswith(_TMP):
                    size, files, mtime = _tree_usage(item.path)
                    if mtime > not_after:
                        return None
                else:
                    size, files = item.size, item.files
                if os.path.isdir(item.path) and not os.path.islink(item.path):
                    shutil.rmtree(item.path, ignore_errors=True)
                else:
                    os.unlink(item.path)
                return files, size
            if item.kind == "x":
                # Rename first, so readers see the whole directory or none of it.
                trash = os.path.join(os.path.dirname(item.path), f"{_TRASH}{_token()}")
                os.rename(item.path, trash)
                size, files, mtime = _tree_usage(trash)
                if mtime > not_after:  # stored or used since the scan: put it back
                    try:
                        os.rename(trash, item.path)
                        return None
                    except OSError:
                        pass
                shutil.rmtree(trash, ignore_errors=True)
                return files, size
            st = os.lstat(item.path)
            if st.st_mtime > not_after:
                return None
            os.unlink(item.path)
            return 1, st.st_size
        except FileNotFoundError:
            return None  # someone else removed it first
        except OSError as e:
            raise _wrap(e, "trimming the cache") from e

    def trim(self, max_age_seconds: float, max_bytes: int | None) -> TrimResult:
        """Remove what has not been used for `max_age_seconds`, then the least recently used until
        the cache holds at most `max_bytes` (if given).

        The age is that of the last recorded use; uses are recorded at most once an hour, so a
        file in steady use may look up to an hour older than it is. Nothing written or used in the
        last minute is removed. Concurrent readers that lose a race see a
        miss. Raises CacheWriteError if files cannot be removed.
        """
        if max_age_seconds < 0 or (max_bytes is not None and max_bytes < 0):
            raise ValueError("trim: limits must not be negative")
        now = time.time()
        fresh_cut = now - FRESH_SECONDS
        age_cut = min(now - max_age_seconds, fresh_cut)
        removed_files = removed_bytes = 0
        kept: list[_Item] = []
        for item in self._scan():
            if item.kind == "tmp":
                stale = (not os.path.basename(item.path).startswith(_TMP)
                         or item.mtime < now - STALE_TEMP_SECONDS)
                done = self._remove(item, now - STALE_TEMP_SECONDS) if stale else None
            else:
                done = self._remove(item, age_cut) if item.mtime <= age_cut else None
            if done is None:
                kept.append(item)
            else:
                removed_files += done[0]
                removed_bytes += done[1]
        total = sum(i.size for i in kept)
        if max_bytes is not None and total > max_bytes:
            order = {"a": 0, "d": 1, "x": 1}
            candidates = sorted((i for i in kept if i.kind != "tmp" and i.mtime <= fresh_cut),
                                key=lambda i: (i.mtime, order[i.kind]))
            for item in candidates:
                if total <= max_bytes:
                    break
                done = self._remove(item, min(item.mtime, fresh_cut))
                if done is not None:
                    removed_files += done[0]
                    removed_bytes += done[1]
                    total -= item.size
        return TrimResult(removed_files, removed_bytes, total)

    def trim_if_due(self, *, every_seconds: float, max_age_seconds: float) -> bool:
        """Trims (as `trim`, no size cap) when the last such trim is older than `every_seconds`, as
        the go command does once a day; whether it trimmed. The time of the last trim is kept in
        `trim.txt`. Raises CacheWriteError if files cannot be removed."""
        marker = os.path.join(self._dir, "trim.txt")
        now = time.time()
        try:
            if now - os.stat(marker).st_mtime < every_seconds:
                return False
        except OSError:
            pass
        self.trim(max_age_seconds=max_age_seconds, max_bytes=None)
        try:
            os.makedirs(self._dir, exist_ok=True)
            with open(marker, "w") as f:
                f.write(f"{int(now)}\n")
        except OSError as e:
            raise _wrap(e, "writing trim.txt") from None
        return True

    def clean(self) -> TrimResult:
        """Remove everything the cache wrote (other files in the root, and the root, stay)."""
        import shutil

        removed_files = removed_bytes = 0
        try:
            with os.scandir(self._dir) as it:
                top = list(it)
        except FileNotFoundError:
            return TrimResult(0, 0, 0)
        except OSError as e:
            raise _wrap(e, "cleaning the cache") from e
        for d in top:
            try:
                if re.fullmatch(_SHARD, d.name) and d.is_dir(follow_symlinks=False):
                    trash = os.path.join(self._dir, f"{_TRASH}{d.name}-{_token()}")
                    os.rename(d.path, trash)
                    size, files, _ = _tree_usage(trash)
                    shutil.rmtree(trash)
                elif d.name.startswith((_TMP, _TRASH)) or d.name == _README:
                    size, files, _ = _tree_usage(d.path)
                    if d.is_dir(follow_symlinks=False):
                        shutil.rmtree(d.path)
                    else:
                        os.unlink(d.path)
                else:
                    continue
            except FileNotFoundError:
                continue
            except OSError as e:
                raise _wrap(e, "cleaning the cache") from e
            removed_files += files
            removed_bytes += size
        return TrimResult(removed_files, removed_bytes, 0)

    def stats(self) -> CacheStats:
        """Counts and sizes of what the cache holds (blobs include stored executables)."""
        items = self._scan()
        used = [i.mtime for i in items if i.kind != "tmp"]
        return CacheStats(
            entries=sum(1 for i in items if i.kind == "a"),
            blobs=sum(1 for i in items if i.kind == "d") + sum(i.files for i in items if i.kind == "x"),
            total_bytes=sum(i.size for i in items),
            oldest=min(used) if used else None,
            newest=max(used) if used else None,
        )
