"""Hashing helpers for the cache: output IDs of stored content and an unambiguous key builder.

An action ID is the sha256 of a complete description of a repeatable computation; callers build it
with `KeyHasher`, which frames every field so that no two different sequences of fields can produce
the same byte stream (and so the same digest). An output ID is the sha256 of stored content.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Iterable

ActionID = bytes
"""32 bytes: the sha256 digest of a description of a computation."""

OutputID = bytes
"""32 bytes: the sha256 digest of stored content."""

HASH_SIZE = 32

_KEY_FORMAT = b"rungo-key-v1"


def hash_bytes(data: bytes) -> OutputID:
    """The output ID of `data`."""
    return hashlib.sha256(data).digest()


def hash_file_sized(path: Path | str, copy_to: Callable[[memoryview], None] | None = None) -> tuple[OutputID, int]:
    """The output ID of the file at `path` and the number of bytes hashed, reading it in chunks; each
    chunk is also handed to `copy_to` when given. Raises OSError if the file cannot be read."""
    h = hashlib.sha256()
    size = 0
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(view)
            if not n:
                break
            h.update(view[:n])
            if copy_to is not None:
                copy_to(view[:n])
            size += n
    return h.digest(), size


def _frame(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def _text(s: str) -> bytes:
    # surrogatepass keeps strings made by os.fsdecode (lone surrogates) distinct and encodable.
    return s.encode("utf-8", "surrogatepass")


class KeyHasher:
    """A sha256 accumulator of named fields with explicit framing.

    Every field is written as a type tag, the length-prefixed name and the length-prefixed value,
    so ("ab", "c") and ("a", "bc") differ, as do "1", 1 and True, "" and None, and a one-element
    list and a plain string. `kind` names the sort of key and is hashed first, so keys of different
    kinds never collide even when their fields coincide.
    """

    __slots__ = ("_h",)

    def __init__(self, kind: str) -> None:
        self._h = hashlib.sha256()
        self._h.update(_frame(_KEY_FORMAT))
        self._h.update(_frame(_text(kind)))

    def add(self, name: str, value: str | bytes | int | bool | None) -> KeyHasher:
        """Add one named value. Returns self, so calls chain."""
        if isinstance(value, bool):  # before int: bool is a subclass of int
            tag, data = b"B", (b"1" if value else b"0")
        elif isinstance(value, int):
            tag, data = b"i", str(value).encode("ascii")
        elif isinstance(value, str):
            tag, data = b"s", _text(value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            tag, data = b"b", bytes(value)
        elif value is None:
            tag, data = b"n", b""
        else:
            raise TypeError(f"KeyHasher.add: unsupported value type {type(value).__name__}")
        self._h.update(tag + _frame(_text(name)) + _frame(data))
        return self

    def add_many(self, name: str, values: Iterable[str]) -> KeyHasher:
        """Add a named sequence of strings (order matters). Returns self, so calls chain."""
        if isinstance(values, (str, bytes)):
            raise TypeError("KeyHasher.add_many: values must be an iterable of str, not a single string")
        items = list(values)
        parts = [b"L", _frame(_text(name)), len(items).to_bytes(8, "big")]
        for v in items:
            if not isinstance(v, str):
                raise TypeError(f"KeyHasher.add_many: unsupported element type {type(v).__name__}")
            parts.append(_frame(_text(v)))
        self._h.update(b"".join(parts))
        return self

    def digest(self) -> ActionID:
        """The action ID of the fields added so far. Adding more afterwards is allowed."""
        return self._h.copy().digest()

    def hexdigest(self) -> str:
        """`digest()` in hexadecimal, for messages and debugging."""
        return self._h.copy().hexdigest()
