"""Counts of what the cache served, kept across processes: `rungo cache stats` adds them up.

Every process that used the cache appends one line of counts to `<root>/stats.log` when it is done
(a single O_APPEND write, so concurrent writers never interleave). Unknown or malformed lines are
skipped. The file is folded into one line when it grows past FOLD_BYTES.
"""

from __future__ import annotations

import json
import os
from typing import Mapping

from rungo.cache.atomic import write_file

FILE = "stats.log"
FOLD_BYTES = 1 << 20

NAMES = ("local_hits", "local_misses", "stored", "stored_bytes", "remote_hits", "remote_misses", "corrupt", "bytes_down", "bytes_up",
         "uploads")


def add(root: str, counts: Mapping[str, int]) -> None:
    """Append these counts (the zero ones left out) to the log; failures are ignored."""
    line = {k: int(v) for k, v in counts.items() if k in NAMES and v}
    if not line:
        return
    data = (json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n").encode()
    path = os.path.join(root, FILE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except FileNotFoundError:
        try:
            os.makedirs(root, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError:
            return
    except OSError:
        return
    try:
        os.write(fd, data)
        big = os.fstat(fd).st_size > FOLD_BYTES
    except OSError:
        return
    finally:
        os.close(fd)
    if big:
        fold(root)


def totals(root: str) -> dict[str, int]:
    """The sums of every count recorded under `root`."""
    sums = dict.fromkeys(NAMES, 0)
    try:
        with open(os.path.join(root, FILE), encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(d, dict):
                    continue
                for k, v in d.items():
                    if k in sums and isinstance(v, int) and v >= 0:
                        sums[k] += v
    except OSError:
        pass
    return sums


def fold(root: str) -> None:
    """Replace the log with one line of its totals."""
    sums = totals(root)
    line = json.dumps({k: v for k, v in sums.items() if v}, sort_keys=True, separators=(",", ":")) + "\n"
    write_file(os.path.join(root, FILE), line.encode())


def size(root: str) -> int:
    """The bytes the log takes."""
    try:
        return os.stat(os.path.join(root, FILE)).st_size
    except OSError:
        return 0


def reset(root: str) -> None:
    try:
        os.unlink(os.path.join(root, FILE))
    except OSError:
        pass
