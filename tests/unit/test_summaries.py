"""Summaries remembered by content: what is read back is what summarize gave; damage is a miss."""

from __future__ import annotations

import hashlib
from pathlib import Path

from rungo.cache import Cache
from rungo.load.summaries import SummaryCache
from rungo.syntax import summarize

SOURCE = b'''//go:debug panicnil=1

package main

import (
	"embed"
	f "fmt"
	"C"
)

//go:embed static/*.txt
var content embed.FS

func main() { f.Println( }
'''


def test_round_trip_and_misses(tmp_path: Path) -> None:
    store = Cache(tmp_path / "cache")
    cache = SummaryCache(store)
    digest = hashlib.sha256(SOURCE).digest()
    want = summarize(SOURCE)
    assert want.syntax_errors and want.imports_c and want.embeds and want.go_debug
    assert cache.get(digest) is None
    cache.put(digest, want)
    assert cache.get(digest) == want
    assert SummaryCache(Cache(tmp_path / "cache")).get(digest) == want
    assert cache.get(hashlib.sha256(b"other").digest()) is None


def test_damaged_record_is_a_miss(tmp_path: Path) -> None:
    store = Cache(tmp_path / "cache")
    cache = SummaryCache(store)
    digest = hashlib.sha256(SOURCE).digest()
    store.put_bytes(cache._key(digest), b'{"@": "NoSuchType"}')
    assert cache.get(digest) is None
    store.put_bytes(cache._key(digest), b"not json")
    assert cache.get(digest) is None
