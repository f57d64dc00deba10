"""The -overlay file: which files the build reads from elsewhere, or not at all."""

from __future__ import annotations

import json
import os
from pathlib import Path


class OverlayError(Exception):
    """The overlay file cannot be used; the text is the go command's."""


def read_overlay(cwd: Path, name: str) -> tuple[dict[Path, Path | None], list[Path]]:
    """{file: its replacement, or None when the overlay deletes it}, and the files read (to watch)."""
    path = cwd / name
    try:
        data = path.read_bytes()
    except OSError as e:
        raise OverlayError(f"go: reading overlay: open {name}: {(e.strerror or str(e)).lower()}") from None
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise OverlayError(f"go: parsing overlay JSON: {e}") from None
    table = doc.get("Replace") if isinstance(doc, dict) else None
    if table is None:
        table = {}
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise OverlayError("go: parsing overlay JSON: Replace must map file names to file names")
    out: dict[Path, Path | None] = {}
    files = [path]
    for k, v in table.items():
        if not k:
            raise OverlayError("go: empty string key in overlay map")
        real = Path(os.path.normpath(cwd / k))
        if real in out:
            raise OverlayError(f"go: duplicate paths {k} and {k} in overlay map")
        if v:
            repl = Path(os.path.normpath(cwd / v))
            out[real] = repl
            files.append(repl)
        else:
            out[real] = None
    return out, files
