"""Records: small texts filed under a string key in the cache's `fast` directory, written by
rename, read with nothing but os (the rerun shortcut reads them before anything else is imported).
The cache knows nothing about what the texts say."""

from __future__ import annotations

import os
import stat as _stat
import zlib

DIRECTORY = "fast"


def path_for(root: str, key: str) -> str:
    """Where the record of `key` lives (two checksums of the key name it; the text holds the key)."""
    data = key.encode("utf-8", "surrogateescape")
    return os.path.join(root, DIRECTORY, f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}")


def read(path: str) -> "str | None":
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None


def write(root: str, key: str, text: str) -> bool:
    """Files `text` under `key` (temp file + rename); False when the cache cannot be written."""
    from rungo.cache.atomic import write_file

    return write_file(path_for(root, key), text.encode("utf-8", "surrogateescape"))


def listing(root: str) -> "list[tuple[str, int, float]]":
    """Every record (and leftover temporary file) under the cache: path, size, mtime."""
    d = os.path.join(root, DIRECTORY)
    try:
        names = os.listdir(d)
    except OSError:
        return []
    out: "list[tuple[str, int, float]]" = []
    for path in (os.path.join(d, n) for n in names):
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if _stat.S_ISREG(st.st_mode):
            out.append((path, st.st_size, st.st_mtime))
    return out


def remove(path: str) -> bool:
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def clean(root: str) -> None:
    """Removes every record."""
    import shutil

    shutil.rmtree(os.path.join(root, DIRECTORY), ignore_errors=True)
