"""Reading what `go list -json` prints: its stream of objects, and where its directories lie."""

from __future__ import annotations

import os
from typing import Any, Iterator


def json_stream(text: str) -> Iterator[dict[str, Any]]:
    """The objects of a `go list -json` stream, in order. Raises ValueError at the first text that is
    not a JSON value (the objects before it have been yielded)."""
    import json

    dec = json.JSONDecoder()
    i = 0
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return
        obj, i = dec.raw_decode(text, i)
        if isinstance(obj, dict):
            yield obj


def under(path: str, root: str) -> bool:
    """Whether path is root or lies below it (an empty root holds nothing)."""
    return bool(root) and (path == root or path.startswith(root.rstrip(os.sep) + os.sep))
