"""Stat stamps: a cheap fingerprint of a file or directory, to tell whether remembered results still hold."""

from __future__ import annotations

import hashlib
import os
import stat as statmod
from pathlib import Path

from rungo.load.model import Watched


def stamp(path: str | Path) -> str:
    """"size:mtime_ns:ino:ctime_ns" for files, "dir:mtime_ns:ino:ctime_ns" for directories, "absent"
    when missing.

    The ctime is what makes the stamp trustworthy: size and mtime survive an in-place edit followed by
    `touch -r`, but every write, chmod, link or utime moves the ctime, and nothing can set it back.
    """
    try:
        st = os.stat(path)
    except OSError:
        return "absent"
    if statmod.S_ISDIR(st.st_mode):
        return f"dir:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns}"
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns}"


def last_change_ns(st: str) -> int | None:
    """When the stamped file last changed (the later of its mtime and ctime), None for "absent" or a
    malformed stamp. A result remembered within a second of that could miss a later change."""
    parts = st.split(":")
    if len(parts) != 4:
        return None
    try:
        return max(int(parts[1]), int(parts[3]))
    except ValueError:
        return None


def watched(path: str | Path) -> Watched:
    return Watched(str(path), stamp(path))


def still_valid(items: tuple[Watched, ...] | list[Watched]) -> bool:
    return all(stamp(w.path) == w.stamp for w in items)


def read_digest(path: Path) -> tuple[bytes, bytes]:
    """The file's bytes and their sha256."""
    data = path.read_bytes()
    return data, hashlib.sha256(data).digest()
