"""The go command's own complaints about a source file, made before any compile: a .go name that is
not a regular file, invalid UTF-8 in the header go/build reads, an import path it rejects."""

from __future__ import annotations

import os
import re
import stat as statmod
from pathlib import Path

from rungo.syntax import FileSummary
from rungo.quoting import unquote


def _header_end(data: bytes) -> int | None:
    """Where go/build stops reading a file's header (package clause and imports, with the comments
    around them): the offset of the first byte after them. None when the header is not well formed
    (the compiler then reports it)."""
    n = len(data)
    i = 0

    def skip(i: int) -> int:
        while i < n:
            c = data[i]
            if c in b" \t\r\n":
                i += 1
            elif data.startswith(b"//", i):
                j = data.find(b"\n", i)
                i = n if j < 0 else j
            elif data.startswith(b"/*", i):
                j = data.find(b"*/", i + 2)
                if j < 0:
                    return n
                i = j + 2
            else:
                break
        return i

    def word(i: int) -> tuple[bytes, int]:
        j = i
        while j < n and (data[j] >= 0x80 or chr(data[j]).isalnum() or data[j] == 0x5F):
            j += 1
        return data[i:j], j

    def literal(i: int) -> int | None:
        if i >= n or data[i] not in b'"`':
            return None
        q = data[i]
        j = i + 1
        while j < n and data[j] != q:
            if q == 0x22 and data[j] == 0x5C:
                j += 1
            elif q == 0x22 and data[j] == 0x0A:
                return None
            j += 1
        return j + 1 if j < n else None

    def import_spec(i: int) -> int | None:
        i = skip(i)
        if i < n and data[i] not in b'"`':
            name, i = word(i) if data[i] != 0x2E else (b".", i + 1)
            if not name:
                return None
            i = skip(i)
        return literal(i)

    i = skip(i)
    kw, i = word(i)
    if kw != b"package":
        return None
    i = skip(i)
    name, i = word(i)
    if not name:
        return None
    while True:
        i = skip(i)
        if not data.startswith(b"import", i):
            return i
        kw, j = word(i)
        if kw != b"import":
            return i
        i = skip(j)
        if i < n and data[i] == 0x28:
            i += 1
            while True:
                i = skip(i)
                if i >= n:
                    return None
                if data[i] == 0x29:
                    i += 1
                    break
                end = import_spec(i)
                if end is None:
                    return None
                i = skip(end)
                if i < n and data[i] == 0x3B:
                    i += 1
        else:
            end = import_spec(i)
            if end is None:
                return None
            i = end


_IMPORT_NAME = rb"(?:^|[\s(;])([\w.]+|[^\x00-\x7f]+)\s*$"


def invalid_import(p: Path, data: bytes, summ: FileSummary) -> str | None:
    """The go command's complaint about an import path it rejects ("invalid import path: a b"), at
    the import spec (its name when it has one), with the file's absolute path as the go command
    prints it; None when every import path is valid."""
    for line, col, message in invalid_imports(data, summ):
        return f"{p}:{line}:{col}: {message}"
    return None


def invalid_imports(data: bytes, summ: FileSummary) -> list[tuple[int, int, str]]:
    """Every import path of the file the go command rejects: the import spec's line and column (its
    name when it has one) and go's words ("invalid import path: a b"). The go command reports the
    first; an editor shows each at its line."""
    prefix = "invalid import path: "
    out: list[tuple[int, int, str]] = []
    lines = data.split(b"\n")
    for problem in summ.syntax_errors:
        if not problem.message.startswith(prefix):
            continue
        path = unquote(problem.message[len(prefix):])
        line, col = problem.position.line, problem.position.column
        text = lines[line - 1] if 0 < line <= len(lines) else b""
        m = re.search(_IMPORT_NAME, text[:col - 1])
        if m is not None and m.group(1) != b"import":
            col = m.start(1) + 1
        out.append((line, col, prefix + (path if path is not None else problem.message[len(prefix):])))
    return out


def header_utf8_error(data: bytes) -> tuple[int, int] | None:
    """The line and byte column of invalid UTF-8 inside the header go/build parses, which the go
    command reports itself ("illegal UTF-8 encoding") before any compile."""
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as e:
        bad = e.start
    end = _header_end(data)
    if end is None or bad >= end:
        return None
    line = data.count(b"\n", 0, bad) + 1
    col = bad - (data.rfind(b"\n", 0, bad) + 1) + 1
    return line, col


def irregular_file(p: Path, st: os.stat_result) -> str:
    """go's complaint about a .go name that is a device, a FIFO or a socket (never read it whole: it may
    never end, and a FIFO is not read at all, it would block)."""
    if statmod.S_ISCHR(st.st_mode) or statmod.S_ISBLK(st.st_mode):
        try:
            fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
            try:
                head = os.read(fd, 4096)
            finally:
                os.close(fd)
        except OSError as e:
            reason = e.strerror or str(e)
            return f"read {p}: {reason[:1].lower() + reason[1:]}"
        if b"\0" in head:
            return f"read {p}: unexpected NUL in input"
    return f"read {p}: not a regular file"
