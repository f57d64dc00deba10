"""Writing a small file whole: a temporary name beside it, then a rename (readers see the old
content or the new, never part of one). Uses nothing but os."""

from __future__ import annotations

import os


def write_file(path: str, data: bytes) -> bool:
    """Put `data` at `path` (making its directory); False when it cannot be written."""
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True
