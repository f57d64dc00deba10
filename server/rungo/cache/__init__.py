"""rungo's content-addressed build cache: action IDs map to entries, output IDs to stored content.

See `rungo.cache.store` for the on-disk layout and its guarantees, `rungo.cache.keys` for how
callers build action IDs, and `rungo.cache.records` for the rerun shortcut's records. The package
knows nothing about what it stores. Its names load on first use, so that importing
`rungo.cache.records` alone (the rerun shortcut's hot path) loads nothing else.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rungo.cache.keys import ActionID, KeyHasher, OutputID, hash_bytes
    from rungo.cache.store import Cache, CacheStats, CacheWriteError, Entry, TrimResult

_FROM_KEYS = ("ActionID", "KeyHasher", "OutputID", "hash_bytes")
_FROM_STORE = ("Cache", "CacheStats", "CacheWriteError", "Entry", "TrimResult")

__all__ = ["ActionID", "Cache", "CacheStats", "CacheWriteError", "Entry", "KeyHasher", "OutputID", "TrimResult",
           "hash_bytes"]


def __getattr__(name: str) -> Any:
    if name in _FROM_KEYS:
        from rungo.cache import keys

        return getattr(keys, name)
    if name in _FROM_STORE:
        from rungo.cache import store

        return getattr(store, name)
    raise AttributeError(f"module 'rungo.cache' has no attribute {name!r}")
