"""File summaries remembered across runs: a Go file's content digest -> its FileSummary.

Parsing is the loader's largest cost after an edit (every file of every main-module package is
summarized on each full run); a file's summary depends only on its bytes and on rungo's own
summarizing code, so both are in the key. A long-lived process (the warm engine, the language server)
also keeps the summaries it read or made in memory (the last MEMORY of them), so a build after an
edit reads from the disk only what it has not seen.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from rungo.cache import Cache, CacheWriteError
from rungo.keys import summary_key
from rungo.load.stamps import stamp
from rungo.syntax import model
from rungo.syntax.model import FileSummary

_FORMAT = "rungo-summary-v1"
MEMORY = 50_000
_REMEMBERED: OrderedDict[tuple[str, bytes], FileSummary] = OrderedDict()  # (cache, key) -> summary, oldest first
_REMEMBERED_LOCK = threading.Lock()


def _remember(key: tuple[str, bytes], summary: FileSummary) -> None:
    with _REMEMBERED_LOCK:
        _REMEMBERED[key] = summary
        _REMEMBERED.move_to_end(key)
        while len(_REMEMBERED) > MEMORY:
            _REMEMBERED.popitem(last=False)
_TYPES = {name: obj for name, obj in vars(model).items() if isinstance(obj, type) and is_dataclass(obj)}


def _code_identity() -> str:
    """The stat stamps of the syntax package's files: a changed summarizer never reads old summaries."""
    d = Path(model.__file__).parent
    return ";".join(f"{name}:{stamp(d / name)}" for name in sorted(os.listdir(d)) if name.endswith(".py"))


def _encode(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        out = {"@": type(value).__name__}
        for f in fields(value):
            out[f.name] = _encode(getattr(value, f.name))
        return out
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        cls = _TYPES[value["@"]]
        return cls(**{k: _decode(v) for k, v in value.items() if k != "@"})
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


class SummaryCache:
    """Summaries by content digest, kept in the build cache; anything unreadable is a miss."""

    def __init__(self, store: Cache) -> None:
        self._store = store
        self._code = _code_identity()

    def _key(self, digest: bytes) -> bytes:
        return summary_key(format=_FORMAT, code=self._code, content=digest)

    def _memory_key(self, key: bytes) -> tuple[str, bytes]:
        return str(self._store.root), key

    def get(self, digest: bytes) -> FileSummary | None:
        key = self._key(digest)
        with _REMEMBERED_LOCK:
            known = _REMEMBERED.get(self._memory_key(key))
        if known is not None:
            return known
        data = self._store.get_bytes(key)
        if data is None:
            return None
        import json

        try:
            value = _decode(json.loads(data))
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(value, FileSummary):
            return None
        _remember(self._memory_key(key), value)
        return value

    def put(self, digest: bytes, summary: FileSummary) -> None:
        import json

        key = self._key(digest)
        _remember(self._memory_key(key), summary)
        try:
            self._store.put_bytes(key, json.dumps(_encode(summary), separators=(",", ":")).encode())
        except (CacheWriteError, OSError):
            pass
