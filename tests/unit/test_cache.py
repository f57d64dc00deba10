"""Unit tests for rungo.cache: the content-addressed store and the key hasher."""

from __future__ import annotations

import errno
import multiprocessing
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rungo.cache import (
    Cache,
    CacheStats,
    CacheWriteError,
    Entry,
    KeyHasher,
    TrimResult,
    hash_bytes,
)
from rungo.cache.keys import hash_file_sized

DAY = 86400.0


def hash_file(path: Path) -> bytes:
    return hash_file_sized(path)[0]


def aid(label: str) -> bytes:
    return KeyHasher("test").add("label", label).digest()


def entry_path(root: Path, action_id: bytes) -> Path:
    h = action_id.hex()
    return root / h[:2] / f"{h}-a"


def blob_path(root: Path, output_id: bytes) -> Path:
    h = output_id.hex()
    return root / h[:2] / f"{h}-d"


def set_age(path: Path, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(path, (t, t))


def age_everything(root: Path, seconds_ago: float) -> None:
    for p in root.rglob("*"):
        if p.name != "README":
            set_age(p, seconds_ago)


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith((".tmp-", ".trash-"))]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def cache(root: Path) -> Cache:
    return Cache(root)


def write_private(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


# ----- round trips --------------------------------------------------------------------------------


def test_root_is_created_lazily_with_a_readme(root: Path) -> None:
    c = Cache(root)
    assert not root.exists()
    assert c.get(aid("x")) is None
    assert c.stats() == CacheStats(0, 0, 0, None, None)
    assert not root.exists()
    c.put_bytes(aid("x"), b"hello")
    assert "rungo" in (root / "README").read_text()


def test_put_get_bytes_round_trip(cache: Cache, root: Path) -> None:
    before = time.time()
    e = cache.put_bytes(aid("a"), b"hello world")
    assert e == Entry(hash_bytes(b"hello world"), 11, e.time)
    assert before - 1 <= e.time <= time.time() + 1
    assert cache.get(aid("a")) == e
    assert cache.get_bytes(aid("a")) == b"hello world"
    hit = cache.get_file(aid("a"))
    assert hit is not None and hit[0] == e
    assert hit[1] == blob_path(root, e.output_id)
    assert hit[1].read_bytes() == b"hello world"
    assert Cache(root).get_bytes(aid("a")) == b"hello world"  # another instance, same directory


def test_empty_content(cache: Cache) -> None:
    e = cache.put_bytes(aid("empty"), b"")
    assert e.size == 0
    assert cache.get_bytes(aid("empty")) == b""


def test_put_replaces_entry(cache: Cache) -> None:
    cache.put_bytes(aid("a"), b"one")
    cache.put_bytes(aid("a"), b"two")
    assert cache.get_bytes(aid("a")) == b"two"


def test_put_file_round_trip_copy(cache: Cache, root: Path, tmp_path: Path) -> None:
    src = write_private(tmp_path / "out.a", os.urandom(3 << 20) + b"tail")
    e = cache.put_file(aid("f"), src, link=False)
    assert e.output_id == hash_file(src) and e.size == src.stat().st_size
    hit = cache.get_file(aid("f"))
    assert hit is not None
    assert hit[1].read_bytes() == src.read_bytes()
    assert hit[1].stat().st_ino != src.stat().st_ino
    assert hash_file(blob_path(root, e.output_id)) == e.output_id


def test_put_file_links_a_private_source(cache: Cache, tmp_path: Path) -> None:
    src = write_private(tmp_path / "out.a", b"archive")
    cache.put_file(aid("f"), src)
    hit = cache.get_file(aid("f"))
    assert hit is not None
    assert hit[1].stat().st_ino == src.stat().st_ino  # same file system in the test: linked
    src.unlink()  # the caller throws its copy away: the cache's stays
    assert cache.get_bytes(aid("f")) == b"archive"


@pytest.mark.parametrize("mode", [0o666, 0o620])
def test_put_file_copies_a_shared_source(cache: Cache, tmp_path: Path, mode: int) -> None:
    src = write_private(tmp_path / "out.a", b"archive", mode)
    cache.put_file(aid("f"), src)
    hit = cache.get_file(aid("f"))
    assert hit is not None and hit[1].stat().st_ino != src.stat().st_ino


def test_put_file_copies_a_multiply_linked_source(cache: Cache, tmp_path: Path) -> None:
    src = write_private(tmp_path / "out.a", b"archive")
    os.link(src, tmp_path / "other")
    cache.put_file(aid("f"), src)
    hit = cache.get_file(aid("f"))
    assert hit is not None and hit[1].stat().st_ino != src.stat().st_ino


def test_missing_source_is_a_plain_os_error(cache: Cache, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        cache.put_file(aid("f"), tmp_path / "nope")
    assert not isinstance(info.value, CacheWriteError)


def test_same_content_is_stored_once(cache: Cache, root: Path, tmp_path: Path) -> None:
    e1 = cache.put_bytes(aid("a"), b"same")
    e2 = cache.put_file(aid("b"), write_private(tmp_path / "s", b"same"))
    assert e1.output_id == e2.output_id
    st = cache.stats()
    assert (st.entries, st.blobs) == (2, 1)


def test_existing_blob_with_bad_content_is_rewritten(cache: Cache, root: Path) -> None:
    e = cache.put_bytes(aid("a"), b"content")
    blob_path(root, e.output_id).write_bytes(b"CONTENT")  # same size, wrong bytes
    assert cache.get_bytes(aid("a")) is None
    cache.put_bytes(aid("b"), b"content")
    assert cache.get_bytes(aid("a")) == b"content"
    assert hash_file(blob_path(root, e.output_id)) == e.output_id


def test_no_temp_files_after_writes(cache: Cache, root: Path, tmp_path: Path) -> None:
    cache.put_bytes(aid("a"), b"a")
    cache.put_file(aid("b"), write_private(tmp_path / "b", b"b"), link=False)
    cache.put_executable(aid("c"), write_private(tmp_path / "c", b"c"), "prog")
    assert temp_files(root) == []


# ----- misses ---------------------------------------------------------------------------------------


@pytest.fixture
def stored(cache: Cache, root: Path) -> tuple[bytes, Entry]:
    a = aid("stored")
    return a, cache.put_bytes(a, b"some stored content\n" * 10)


def test_absent_is_a_miss(cache: Cache) -> None:
    assert cache.get(aid("nothing")) is None
    assert cache.get_file(aid("nothing")) is None
    assert cache.get_bytes(aid("nothing")) is None
    assert cache.get_executable(aid("nothing"), "prog") is None


@pytest.mark.parametrize("content", [
    b"",
    b"v1 ",
    b"garbage\n",
    b"\x00" * 120,
    b"v2 " + b"0" * 64 + b" 10 1700000000.000000\n",
    b"v1 " + b"g" * 64 + b" 10 1700000000.000000\n",
    b"v1 " + b"0" * 63 + b" 10 1700000000.000000\n",
    b"v1 " + b"0" * 64 + b" -1 1700000000.000000\n",
    b"v1 " + b"0" * 64 + b" 10 1700000000.000000",
    b"v1 " + b"0" * 64 + b" 10 1700000000.000000\n\n",
    b"v1 " + b"0" * 64 + b" 10 1700000000.000000\n" + b"x" * 1000,
], ids=lambda c: repr(c[:12]) + str(len(c)))
def test_garbled_entry_is_a_miss(cache: Cache, root: Path, stored: tuple[bytes, Entry],
                                 content: bytes) -> None:
    a, _ = stored
    entry_path(root, a).write_bytes(content)
    assert cache.get(a) is None
    assert cache.get_bytes(a) is None


def test_truncated_entry_is_a_miss(cache: Cache, root: Path, stored: tuple[bytes, Entry]) -> None:
    a, _ = stored
    p = entry_path(root, a)
    text = p.read_bytes()
    for n in (1, len(text) // 2, len(text) - 1):
        p.write_bytes(text[:n])
        assert cache.get(a) is None
    p.write_bytes(text)
    assert cache.get(a) is not None


def test_entry_with_wrong_size_is_a_miss(cache: Cache, root: Path, stored: tuple[bytes, Entry]) -> None:
    a, e = stored
    entry_path(root, a).write_text(f"v1 {e.output_id.hex()} {e.size + 1} {e.time:.6f}\n")
    assert cache.get(a) is None
    assert cache.get_file(a) is None


def test_entry_pointing_at_missing_blob_is_a_miss(cache: Cache, root: Path,
                                                  stored: tuple[bytes, Entry]) -> None:
    a, e = stored
    blob_path(root, e.output_id).unlink()
    assert cache.get(a) is None
    assert cache.get_file(a) is None
    assert cache.get_bytes(a) is None


def test_truncated_blob_is_a_miss(cache: Cache, root: Path, stored: tuple[bytes, Entry]) -> None:
    a, e = stored
    with open(blob_path(root, e.output_id), "r+b") as f:
        f.truncate(e.size - 3)
    assert cache.get(a) is None
    assert cache.get_file(a) is None
    assert cache.get_bytes(a) is None


def test_changed_blob_is_a_miss_for_get_bytes(cache: Cache, root: Path,
                                              stored: tuple[bytes, Entry]) -> None:
    a, e = stored
    p = blob_path(root, e.output_id)
    data = bytearray(p.read_bytes())
    data[5] ^= 0xFF
    p.write_bytes(bytes(data))
    assert hash_file(p) != e.output_id
    assert cache.get_bytes(a) is None      # hash-checked
    assert not p.exists()                  # and the damaged content is gone
    assert cache.get_file(a) is None


@pytest.mark.parametrize("getter", ["get_file", "get", "get_bytes"])
def test_garbled_blob_of_the_same_size_is_a_miss_and_removed(cache: Cache, root: Path, getter: str) -> None:
    a = aid("a")
    e = cache.put_bytes(a, b"the archive content " * 100)
    cache.put_bytes(aid("b"), b"the archive content " * 100)  # a second entry naming the same blob
    p = blob_path(root, e.output_id)
    data = bytearray(p.read_bytes())
    data[100] ^= 0x01
    p.write_bytes(bytes(data))
    assert getattr(cache, getter)(a) is None
    assert not p.exists()
    assert cache.get_file(aid("b")) is None
    cache.put_bytes(a, b"the archive content " * 100)
    assert cache.get_bytes(a) == b"the archive content " * 100


def test_large_blob_is_checked_on_demand(cache: Cache, root: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rungo.cache.store.VERIFY_LIMIT", 1000)
    a = aid("big")
    e = cache.put_file(a, write_private(tmp_path / "big", b"x" * 5000), link=False)
    hit = cache.get_file(a)
    assert hit is not None and cache.check(hit[1])
    with open(hit[1], "r+b") as f:
        f.seek(4000)
        f.write(b"y")
    hit = cache.get_file(a)
    assert hit is not None  # large: checked by size on a hit
    assert not cache.check(hit[1])
    assert cache.get_file(a) is None and not blob_path(root, e.output_id).exists()
    assert cache.check(tmp_path / "big")  # not the cache's: not judged


def test_check_of_an_executable(cache: Cache, tmp_path: Path) -> None:
    _, path = cache.put_executable(aid("x"), write_private(tmp_path / "p", SCRIPT), "prog", link=False)
    assert cache.check(path)
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01
    path.write_bytes(bytes(data))
    assert not cache.check(path)
    assert not path.parent.exists()


def test_entry_that_is_a_directory_is_a_miss(cache: Cache, root: Path, stored: tuple[bytes, Entry]) -> None:
    a, _ = stored
    p = entry_path(root, a)
    p.unlink()
    p.mkdir()
    assert cache.get(a) is None


def test_root_that_is_a_file_is_a_miss(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    c = Cache(f)
    assert c.get(aid("a")) is None
    assert c.get_executable(aid("a"), "p") is None
    assert c.stats().entries == 0


def test_bad_ids_and_names_are_bugs(cache: Cache, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        cache.get(b"short")
    with pytest.raises(ValueError):
        cache.put_bytes(b"x" * 33, b"")
    src = write_private(tmp_path / "p", b"#!/bin/sh\n")
    for name in ("", ".", "..", "a/b", "a\0b"):
        with pytest.raises(ValueError):
            cache.put_executable(aid("a"), src, name)
        with pytest.raises(ValueError):
            cache.get_executable(aid("a"), name)


# ----- executables ----------------------------------------------------------------------------------


SCRIPT = b'#!/bin/sh\necho "$(basename "$0")"\n'


def test_executable_name_and_mode(cache: Cache, root: Path, tmp_path: Path) -> None:
    src = write_private(tmp_path / "a.out", SCRIPT, 0o600)
    e, path = cache.put_executable(aid("link"), src, "hello")
    assert path.name == "hello"
    assert path.parent == root / e.output_id.hex()[:2] / f"{e.output_id.hex()}-x"
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert subprocess.run([str(path)], capture_output=True, check=True).stdout == b"hello\n"
    hit = cache.get_executable(aid("link"), "hello")
    assert hit == (e, path)
    assert cache.get_executable(aid("link"), "other") is None
    assert cache.get(aid("link")) is None  # not a plain blob
    assert hash_file(path) == e.output_id


def test_executable_copied_when_not_linking(cache: Cache, tmp_path: Path) -> None:
    src = write_private(tmp_path / "a.out", SCRIPT, 0o600)
    _, path = cache.put_executable(aid("x"), src, "prog", link=False)
    assert stat.S_IMODE(src.stat().st_mode) == 0o600
    assert path.stat().st_ino != src.stat().st_ino
    assert stat.S_IMODE(path.stat().st_mode) == 0o755


def test_same_program_under_two_names(cache: Cache, tmp_path: Path) -> None:
    _, p1 = cache.put_executable(aid("one"), write_private(tmp_path / "1", SCRIPT), "one")
    _, p2 = cache.put_executable(aid("two"), write_private(tmp_path / "2", SCRIPT), "two")
    assert p1.parent == p2.parent
    assert cache.get_executable(aid("two"), "two") is not None
    assert cache.get_executable(aid("one"), "one") is not None
    assert subprocess.run([str(p2)], capture_output=True, check=True).stdout == b"two\n"
    assert cache.stats().blobs == 2


@pytest.mark.parametrize("damage", ["chmod", "truncate", "remove", "dir", "garble"])
def test_damaged_executable_is_a_miss(cache: Cache, tmp_path: Path, damage: str) -> None:
    _, path = cache.put_executable(aid("x"), write_private(tmp_path / "p", SCRIPT), "prog")
    if damage == "chmod":
        os.chmod(path, 0o644)
    elif damage == "garble":
        data = bytearray(path.read_bytes())
        data[-2] ^= 0x01
        path.write_bytes(bytes(data))  # same size, same mode
    elif damage == "truncate":
        with open(path, "r+b") as f:
            f.truncate(3)
    elif damage == "remove":
        path.unlink()
    else:
        path.unlink()
        path.mkdir()
    assert cache.get_executable(aid("x"), "prog") is None


def test_damaged_executable_is_repaired_by_put(cache: Cache, tmp_path: Path) -> None:
    src = write_private(tmp_path / "p", SCRIPT)
    _, path = cache.put_executable(aid("x"), src, "prog", link=False)
    os.chmod(path, 0o644)
    assert cache.get_executable(aid("x"), "prog") is None
    cache.put_executable(aid("x"), src, "prog", link=False)
    assert cache.get_executable(aid("x"), "prog") is not None


def test_executable_hit_does_not_walk_or_write(cache: Cache, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    key = aid("x")
    e, path = cache.put_executable(key, write_private(tmp_path / "p", SCRIPT), "prog")

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not on the hot path")

    monkeypatch.setattr(os, "scandir", forbidden)
    monkeypatch.setattr(os, "listdir", forbidden)
    monkeypatch.setattr(os, "walk", forbidden)
    monkeypatch.setattr(os, "utime", forbidden)  # fresh files: no write on a hit either
    assert cache.get_executable(key, "prog") == (e, path)


# ----- concurrency ----------------------------------------------------------------------------------


def _writer(root: str, label: str, worker: int, rounds: int) -> None:
    c = Cache(Path(root))
    a = aid(label)
    for i in range(rounds):
        c.put_bytes(a, f"worker {worker} round {i} ".encode() * 50)
        got = c.get_bytes(a)
        assert got is None or got.startswith(b"worker ")


def _exe_writer(root: str, src: str, worker: int, rounds: int) -> None:
    c = Cache(Path(root))
    for i in range(rounds):
        _, path = c.put_executable(aid("exe"), Path(src), "prog", link=False)
        hit = c.get_executable(aid("exe"), "prog")
        assert hit is not None and hit[1] == path


def _run_all(target: Any, args: list[tuple[Any, ...]]) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=target, args=a) for a in args]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * len(procs)


def test_concurrent_puts_leave_a_consistent_entry(cache: Cache, root: Path) -> None:
    _run_all(_writer, [(str(root), "shared", w, 40) for w in range(4)])
    data = cache.get_bytes(aid("shared"))
    assert data is not None and data.startswith(b"worker ")
    e = cache.get(aid("shared"))
    assert e is not None and e.output_id == hash_bytes(data) and e.size == len(data)
    assert temp_files(root) == []


def test_concurrent_executable_puts(cache: Cache, root: Path, tmp_path: Path) -> None:
    src = write_private(tmp_path / "p", SCRIPT * 1000)
    _run_all(_exe_writer, [(str(root), str(src), w, 20) for w in range(4)])
    hit = cache.get_executable(aid("exe"), "prog")
    assert hit is not None and hit[1].read_bytes() == src.read_bytes()
    assert temp_files(root) == []


# ----- use times, trim, clean, stats ---------------------------------------------------------------


def test_hits_record_use_at_most_hourly(cache: Cache, root: Path, stored: tuple[bytes, Entry]) -> None:
    a, e = stored
    ep, bp = entry_path(root, a), blob_path(root, e.output_id)
    set_age(ep, 1800)
    set_age(bp, 1800)
    before = ep.stat().st_mtime
    assert cache.get(a) is not None
    assert ep.stat().st_mtime == before  # half an hour old: no write
    set_age(ep, 2 * 3600)
    set_age(bp, 2 * 3600)
    assert cache.get(a) is not None
    assert ep.stat().st_mtime > time.time() - 60
    assert bp.stat().st_mtime > time.time() - 60


def test_trim_by_age(cache: Cache, root: Path, tmp_path: Path) -> None:
    cache.put_bytes(aid("old"), b"old content")
    cache.put_executable(aid("oldexe"), write_private(tmp_path / "p", SCRIPT), "prog")
    age_everything(root, 10 * DAY)
    cache.put_bytes(aid("new"), b"new content")
    r = cache.trim(max_age_seconds=5 * DAY, max_bytes=None)
    assert r.removed_files == 4  # two entries, a blob and an executable
    assert cache.get_bytes(aid("old")) is None
    assert cache.get_executable(aid("oldexe"), "prog") is None
    assert cache.get_bytes(aid("new")) == b"new content"
    st = cache.stats()
    assert (st.entries, st.blobs) == (1, 1)
    assert r.kept_bytes == st.total_bytes
    assert not list(root.glob("*/*-x"))
    assert temp_files(root) == []


def test_trim_keeps_what_was_used(cache: Cache, root: Path) -> None:
    cache.put_bytes(aid("a"), b"aaa")
    age_everything(root, 10 * DAY)
    assert cache.get_bytes(aid("a")) == b"aaa"  # a use refreshes the old times
    assert cache.trim(5 * DAY, None).removed_files == 0
    assert cache.get_bytes(aid("a")) == b"aaa"


def test_trim_max_age_is_exact(cache: Cache, root: Path) -> None:
    cache.put_bytes(aid("a"), b"aaa")
    age_everything(root, 5 * DAY - 1800)
    assert cache.trim(5 * DAY, None).removed_files == 0
    age_everything(root, 5 * DAY + 1800)  # last use recorded 5 days and a half hour ago: removed
    assert cache.trim(5 * DAY, None).removed_files == 2


def test_trim_never_removes_fresh_files(cache: Cache, root: Path, tmp_path: Path) -> None:
    cache.put_bytes(aid("a"), b"aaa")
    cache.put_executable(aid("x"), write_private(tmp_path / "p", SCRIPT), "prog")
    r = cache.trim(max_age_seconds=0, max_bytes=0)
    assert r.removed_files == 0
    assert r.kept_bytes == cache.stats().total_bytes > 0
    assert cache.get_bytes(aid("a")) == b"aaa"
    age_everything(root, 2 * 3600)
    r = cache.trim(max_age_seconds=0, max_bytes=None)
    assert r.removed_files == 4 and r.kept_bytes == 0


def test_trim_by_size(cache: Cache, root: Path) -> None:
    for i in range(10):
        a = aid(f"item{i}")
        e = cache.put_bytes(a, bytes([i]) * 1000)
        age = (20 - i) * 600.0  # item0 least recently used ... item9 most recently
        set_age(entry_path(root, a), age)
        set_age(blob_path(root, e.output_id), age)
    total = cache.stats().total_bytes
    assert total > 10 * 1000
    r = cache.trim(max_age_seconds=30 * DAY, max_bytes=total // 2)
    assert r.kept_bytes <= total // 2
    assert r.kept_bytes == cache.stats().total_bytes
    assert r.removed_bytes == total - r.kept_bytes
    present = [i for i in range(10) if cache.get_bytes(aid(f"item{i}")) is not None]
    assert present == list(range(10 - len(present), 10))  # the most recently used survive
    assert 3 <= len(present) <= 5


def test_trim_removes_stale_temporary_files(cache: Cache, root: Path) -> None:
    cache.put_bytes(aid("a"), b"aaa")
    shard = next(p for p in root.iterdir() if p.is_dir())
    stale = shard / ".tmp-123-dead"
    stale.write_bytes(b"partial")
    set_age(stale, 2 * 3600)
    recent = shard / ".tmp-456-busy"
    recent.write_bytes(b"in flight")
    trash = shard / ".trash-abc"
    trash.mkdir()
    (trash / "prog").write_bytes(b"x")
    cache.trim(5 * DAY, None)
    assert not stale.exists() and not trash.exists()
    assert recent.exists()
    assert cache.get_bytes(aid("a")) == b"aaa"


def test_trim_ignores_foreign_files(cache: Cache, root: Path) -> None:
    cache.put_bytes(aid("a"), b"aaa")
    (root / "fast").mkdir()
    (root / "fast" / "record").write_text("x")
    (root / "trim.txt").write_text("1\n")
    age_everything(root, 30 * DAY)
    cache.trim(0, 0)
    assert (root / "fast" / "record").exists() and (root / "trim.txt").exists()


def test_trim_rejects_negative_limits(cache: Cache) -> None:
    with pytest.raises(ValueError):
        cache.trim(-1, None)
    with pytest.raises(ValueError):
        cache.trim(0, -1)


def test_clean(cache: Cache, root: Path, tmp_path: Path) -> None:
    assert cache.clean() == TrimResult(0, 0, 0)  # no directory yet
    cache.put_bytes(aid("a"), b"aaa")
    cache.put_file(aid("b"), write_private(tmp_path / "b", b"bbbb"))
    cache.put_executable(aid("c"), write_private(tmp_path / "c", SCRIPT), "prog")
    (root / "fast").mkdir()
    (root / "fast" / "record").write_text("x")
    before = cache.stats().total_bytes
    r = cache.clean()
    assert r.removed_files == 3 + 3 + 1  # entries, blobs and executable, README
    assert r.removed_bytes >= before and r.kept_bytes == 0
    assert root.is_dir()
    assert sorted(p.name for p in root.iterdir()) == ["fast"]
    assert cache.stats() == CacheStats(0, 0, 0, None, None)
    assert cache.get_bytes(aid("a")) is None
    cache.put_bytes(aid("a"), b"again")  # usable afterwards
    assert cache.get_bytes(aid("a")) == b"again"
    assert (root / "README").exists()


def test_stats(cache: Cache, root: Path, tmp_path: Path) -> None:
    cache.put_bytes(aid("a"), b"a" * 100)
    cache.put_bytes(aid("b"), b"a" * 100)
    cache.put_bytes(aid("c"), b"c" * 10)
    cache.put_executable(aid("d"), write_private(tmp_path / "d", SCRIPT), "prog")
    set_age(entry_path(root, aid("a")), DAY)
    st = cache.stats()
    assert (st.entries, st.blobs) == (4, 3)
    entry_bytes = sum(entry_path(root, aid(x)).stat().st_size for x in "abcd")
    assert st.total_bytes == entry_bytes + 100 + 10 + len(SCRIPT)
    assert st.oldest is not None and st.newest is not None
    assert st.oldest == pytest.approx(time.time() - DAY, abs=60)
    assert st.newest == pytest.approx(time.time(), abs=60)


# ----- write failures ------------------------------------------------------------------------------


def test_unwritable_location_raises_cache_write_error(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file where a directory should be")
    c = Cache(blocker / "cache")
    src = write_private(tmp_path / "src", SCRIPT)
    for put in (lambda: c.put_bytes(aid("a"), b"x"),
                lambda: c.put_file(aid("a"), src),
                lambda: c.put_executable(aid("a"), src, "prog")):
        with pytest.raises(CacheWriteError) as info:
            put()
        assert isinstance(info.value, OSError)
    assert c.get(aid("a")) is None


def _permissions_enforced(tmp: Path) -> bool:
    probe = tmp / "probe"
    probe.mkdir()
    os.chmod(probe, 0o555)
    try:
        (probe / "f").write_text("x")
        return False  # root (CAP_DAC_OVERRIDE) writes anyway
    except PermissionError:
        return True
    finally:
        os.chmod(probe, 0o755)


_READ_ONLY_CHECK = """
import sys
from pathlib import Path
from rungo.cache import Cache, CacheWriteError
c = Cache(Path(sys.argv[1]))
try:
    c.put_bytes(bytes.fromhex(sys.argv[2]), b"bbb")
except CacheWriteError:
    pass
else:
    sys.exit("a write to a read-only cache succeeded")
assert c.get_bytes(bytes.fromhex(sys.argv[3])) == b"aaa"
"""


def test_read_only_directory_raises_cache_write_error(cache: Cache, root: Path, tmp_path: Path) -> None:
    cache.put_bytes(aid("a"), b"aaa")
    if _permissions_enforced(tmp_path):
        cmd = [sys.executable, "-c", _READ_ONLY_CHECK]
    elif os.geteuid() == 0 and shutil.which("setpriv"):
        # root: drop the capabilities that override file permissions
        cmd = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
               "--bounding-set=-dac_override,-dac_read_search", "--", sys.executable, "-c", _READ_ONLY_CHECK]
    else:
        pytest.skip("directory permissions are not enforced for this user and setpriv is not installed")
    modes = {p: p.stat().st_mode for p in [root, *root.iterdir()] if p.is_dir()}
    try:
        for p in modes:
            os.chmod(p, 0o555)
        r = subprocess.run([*cmd, str(root), aid("b").hex(), aid("a").hex()], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    finally:
        for p, m in modes.items():
            os.chmod(p, m)


def test_failed_write_leaves_no_partial_files(cache: Cache, root: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cache.put_bytes(aid("a"), b"first")
    real_write = os.write

    def disk_full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(CacheWriteError) as info:
        cache.put_bytes(aid("a"), b"second")
    assert info.value.errno == errno.ENOSPC
    with pytest.raises(CacheWriteError):
        cache.put_bytes(aid("b"), b"third")
    monkeypatch.setattr(os, "write", real_write)
    assert cache.get_bytes(aid("a")) == b"first"  # the old entry is intact
    assert cache.get(aid("b")) is None
    assert temp_files(root) == []


def test_source_changing_during_copy_is_detected(cache: Cache, root: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_private(tmp_path / "src", b"original")
    real = hash_file_sized

    def hash_then_change(path: Any, copy_to: Any = None) -> tuple[bytes, int]:
        result = real(path, copy_to)
        if copy_to is None and os.fspath(path) == str(src):  # changed after it is hashed, before the copy
            src.write_bytes(b"modified")
        return result

    monkeypatch.setattr("rungo.cache.store.hash_file_sized", hash_then_change)
    with pytest.raises(CacheWriteError):
        cache.put_file(aid("a"), src, link=False)
    assert cache.get(aid("a")) is None
    assert temp_files(root) == []


# ----- keys ---------------------------------------------------------------------------------------


def test_hash_helpers(tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    p = tmp_path / "f"
    p.write_bytes(data)
    assert hash_file(p) == hash_bytes(data)
    assert len(hash_bytes(b"")) == 32


def test_key_hasher_framing() -> None:
    def key(*fields: tuple[str, Any], kind: str = "k") -> bytes:
        h = KeyHasher(kind)
        for name, value in fields:
            h.add(name, value)
        return h.digest()

    assert len(key(("a", "b"))) == 32
    assert key(("a", "b")) == key(("a", "b"))
    assert key(("ab", "c")) != key(("a", "bc"))
    assert key(("a", "b"), ("c", "d")) != key(("a", "b\x00c"), ("", "d"))
    assert key(("a", "b"), ("c", "d")) != key(("c", "d"), ("a", "b"))
    variants = [key(("v", v)) for v in ("1", b"1", 1, True, "", b"", 0, False, None, "None")]
    assert len(set(variants)) == len(variants)
    assert key(("a", "b"), kind="one") != key(("a", "b"), kind="two")
    assert key(kind="ab") != key(("", ""), kind="a")


def test_key_hasher_many() -> None:
    def many(*values: str) -> bytes:
        return KeyHasher("k").add_many("args", list(values)).digest()

    assert many("a", "b") != many("ab")
    assert many("a", "b") != many("a", "", "b")
    assert many("a", "b") != many("b", "a")
    assert many() != many("")
    assert many("x") != KeyHasher("k").add("args", "x").digest()
    assert KeyHasher("k").add_many("args", iter(["a", "b"])).digest() == many("a", "b")
    with pytest.raises(TypeError):
        KeyHasher("k").add_many("args", "ab")


def test_key_hasher_chaining_and_digest_is_repeatable() -> None:
    h = KeyHasher("k").add("a", "b").add("c", 1)
    assert h.digest() == h.digest() == KeyHasher("k").add("a", "b").add("c", 1).digest()
    first = h.digest()
    h.add("d", None)
    assert h.digest() != first
    assert h.hexdigest() == h.digest().hex()
    with pytest.raises(TypeError):
        KeyHasher("k").add("a", 1.5)  # type: ignore[arg-type]


def test_key_hasher_format_is_stable() -> None:
    # Changing the framing silently invalidates every cache: make it a deliberate act.
    d = KeyHasher("kind").add("s", "x").add("b", b"y").add("i", 7).add("t", True).add("n", None)
    d.add_many("l", ["p", "q"])
    assert d.digest().hex() == GOLDEN


GOLDEN = "b813734464bd77f1b60e81caa1d21efe01320d9ea86e19bdbaaad55b71908e98"


def test_stamps_carry_the_ctime(tmp_path: Path) -> None:
    from rungo import fastpath
    from rungo.load.stamps import last_change_ns, stamp

    f = tmp_path / "f.go"
    f.write_text("package a\n")
    st = f.stat()
    before = stamp(f)
    assert before == fastpath.stamp(str(f))
    assert last_change_ns(before) == max(st.st_mtime_ns, st.st_ctime_ns)
    time.sleep(0.05)  # past the file system's timestamp tick (rungo waits a second before trusting one)
    with open(f, "r+b") as fh:   # same size, then the old times back: only the ctime tells
        fh.write(b"package b\n")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert stamp(f) != before
    assert stamp(tmp_path).startswith("dir:") and last_change_ns(stamp(tmp_path)) is not None
    assert stamp(tmp_path / "absent") == "absent" and last_change_ns("absent") is None


def test_put_hashed_links_content_the_caller_hashed(tmp_path: Path) -> None:
    from rungo.cache import Cache, CacheWriteError, hash_bytes

    c = Cache(tmp_path / "c")
    data = b"archive bytes" * 100
    src = tmp_path / "fetched"
    src.write_bytes(data)
    entry, path = c.put_hashed(b"a" * 32, src, hash_bytes(data), len(data))
    assert (entry.output_id, entry.size) == (hash_bytes(data), len(data))
    assert path.read_bytes() == data and os.path.samefile(path, src)
    hit = c.get_file(b"a" * 32)
    assert hit is not None and hit[1] == path

    exe = tmp_path / "prog"
    exe.write_bytes(b"\x7fELF" + data)
    e2, p2 = c.put_hashed(b"b" * 32, exe, hash_bytes(exe.read_bytes()), exe.stat().st_size, "prog")
    assert p2.name == "prog" and os.access(p2, os.X_OK)
    assert c.get_executable(b"b" * 32, "prog") is not None
    short = tmp_path / "short"
    short.write_bytes(b"x")
    with pytest.raises(CacheWriteError):
        c.put_hashed(b"c" * 32, short, hash_bytes(b"xy"), 2)
    assert c.get_file(b"c" * 32) is None
