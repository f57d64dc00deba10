"""rungo's content-addressed build cache: action IDs map to entries, output IDs to stored content.

See `rungo.cache.store` for the on-disk layout and its guarantees, and `rungo.cache.keys` for
how callers build action IDs. The package knows nothing about what it stores.
"""

from rungo.cache.keys import ActionID, KeyHasher, OutputID, hash_bytes
from rungo.cache.store import Cache, CacheStats, CacheWriteError, Entry, TrimResult

__all__ = [
    "ActionID",
    "Cache",
    "CacheStats",
    "CacheWriteError",
    "Entry",
    "KeyHasher",
    "OutputID",
    "TrimResult",
    "hash_bytes",
]
