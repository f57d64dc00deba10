"""Stat stamps: a cheap fingerprint of a file or directory, to tell whether remembered results still hold."""

from __future__ import annotations

import hashlib
from pathlib import Path

from rungo.fastpath import SRC_MARK, holds, last_change_ns, source_names, stamp
from rungo.load.model import Watched

__all__ = ["holds", "last_change_ns", "package_dir_stamp", "read_digest", "stamp", "still_valid", "watched"]


def package_dir_stamp(path: str | Path) -> str:
    """A package directory's stamp: its stat stamp, and the digest of its build-relevant names, so
    that a file the program writes beside its sources does not make the directory count as changed
    (fastpath.holds reads both)."""
    st = stamp(str(path))
    if not st.startswith("dir:"):
        return st
    return st + SRC_MARK + source_names(str(path))


def watched(path: str | Path) -> Watched:
    return Watched(str(path), stamp(str(path)))


def still_valid(items: tuple[Watched, ...] | list[Watched]) -> bool:
    return all(holds(w.path, w.stamp) for w in items)


def read_digest(path: Path) -> tuple[bytes, bytes]:
    """The file's bytes and their sha256."""
    data = path.read_bytes()
    return data, hashlib.sha256(data).digest()
