"""Resolving //go:embed patterns to files, with the go command's rules and wording."""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

_BAD_ELEM = r"(^|/)\.\.?(/|$)"


def _valid_pattern(pat: str) -> str | None:
    if pat.startswith("/") or pat.endswith("/") or re.search(_BAD_ELEM, pat) or "\\" in pat or pat == "":
        return "invalid pattern syntax"
    return None


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.startswith("_")


def _is_module_root(d: Path) -> bool:
    return (d / "go.mod").is_file()


def resolve(pkg_dir: Path, pattern: str, visited: list[Path] | None = None) -> tuple[tuple[str, ...], str | None]:
    """The files (slash paths relative to pkg_dir) one pattern embeds, or go's error text.

    Every directory whose listing decides the answer is appended to `visited` (the directories a
    glob element is matched in, every directory a matched directory's walk lists, and the
    subdirectories it skips as other modules), so a file added anywhere there can be noticed.
    """
    seen = visited if visited is not None else []
    all_prefix = pattern.startswith("all:")
    glob = pattern[4:] if all_prefix else pattern
    err = _valid_pattern(glob)
    if err:
        return (), f"pattern {pattern}: {err}"
    parts = glob.split("/")
    candidates: list[str] = [""]
    for i, part in enumerate(parts):
        nxt: list[str] = []
        for base in candidates:
            d = pkg_dir / base if base else pkg_dir
            seen.append(d)
            try:
                names = sorted(os.listdir(d))
            except OSError:
                continue
            for n in names:
                if fnmatch.fnmatchcase(n, part) and (any(c in part for c in "*?[") or n == part):
                    nxt.append(f"{base}/{n}" if base else n)
        candidates = nxt
    matched: list[str] = []
    for rel in candidates:
        full = pkg_dir / rel
        if full.is_dir():
            if _is_module_root(full) and rel:
                return (), f"pattern {pattern}: cannot embed directory {rel}: in different module"
            found: list[str] = []
            for root, dirs, files in os.walk(full):
                dirs.sort()
                rroot = Path(root)
                seen.append(rroot)
                keep = []
                for dname in dirs:
                    if not all_prefix and _ignored(dname):
                        continue
                    if _is_module_root(rroot / dname):
                        seen.append(rroot / dname)
                        continue
                    keep.append(dname)
                dirs[:] = keep
                for fname in sorted(files):
                    if not all_prefix and _ignored(fname):
                        continue
                    fp = rroot / fname
                    if not fp.is_file():
                        continue
                    found.append(fp.relative_to(pkg_dir).as_posix())
            if not found:
                return (), f"pattern {pattern}: cannot embed directory {rel}: contains no embeddable files"
            matched.extend(found)
        elif full.is_file():
            matched.append(rel)
        else:
            return (), f"pattern {pattern}: cannot embed irregular file {rel}"
    if not matched:
        return (), f"pattern {pattern}: no matching files found"
    return tuple(sorted(set(matched))), None
