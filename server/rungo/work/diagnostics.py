"""Parsing the Go compiler's and linker's text output into positioned messages."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

_POS = r"^(?P<path>.+?\.(?:go|s|c|h|cc|cpp|cxx|m|f|syso|mod|work)):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<msg>.*)$"


@dataclass(frozen=True, slots=True)
class RelatedLocation:
    """A position a message points to besides its own (a continuation line with a file position)."""

    path: str
    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class CompilerMessage:
    """One error: its position (column 0 when the compiler gave none), text and continuation lines."""

    path: str
    line: int
    column: int
    message: str
    related: tuple[RelatedLocation, ...] = ()
    continuation: tuple[str, ...] = ()


def _match(line: str) -> tuple[str, int, int, str] | None:
    m = re.match(_POS, line)
    if m is None:
        return None
    return m["path"], int(m["line"]), int(m["col"] or 0), m["msg"]


def _resolve(path: str, base_dir: str | None) -> str:
    if base_dir is None or os.path.isabs(path):
        return os.path.normpath(path) if base_dir is not None else path
    return os.path.normpath(os.path.join(base_dir, path))


def parse_compiler_output(text: str, *, base_dir: str | None = None) -> tuple[list[CompilerMessage], list[str]]:
    """Messages with positions, and the lines no file position could be given to.

    `# pkg` header lines are dropped; tab-indented lines continue the message before them: those
    with a position of their own become related locations, the others continuation text.
    """
    messages: list[CompilerMessage] = []
    loose: list[str] = []
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith("# "):
            continue
        if raw.startswith(("\t", "    ")) and messages:
            body = raw.strip()
            hit = _match(body)
            last = messages[-1]
            if hit is not None:
                rel = RelatedLocation(_resolve(hit[0], base_dir), hit[1], hit[2], hit[3])
                messages[-1] = replace(last, related=last.related + (rel,))
            else:
                messages[-1] = replace(last, continuation=last.continuation + (body,))
            continue
        hit = _match(raw)
        if hit is None:
            loose.append(raw)
            continue
        messages.append(CompilerMessage(_resolve(hit[0], base_dir), hit[1], hit[2], hit[3]))
    return messages, loose
