"""The default GODEBUG of a main package (cmd/go's load.defaultGODEBUG): from its module's go
version, the module's godebug lines and the package's //go:debug directives, against the table of
settings in the toolchain's own source."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

_ENTRY = r"\{([^{}]*)\}"
_FIELD = r'(\w+):\s*("(?:[^"\\]|\\.)*"|\d+|true|false)'

_table_cache: dict[str, tuple[tuple[str, int, str], ...]] = {}


def godebug_table(goroot: Path) -> tuple[tuple[str, int, str], ...]:
    """(name, changed minor, old value) for every known GODEBUG setting, read from the toolchain's source."""
    key = str(goroot)
    if key in _table_cache:
        return _table_cache[key]
    rows: list[tuple[str, int, str]] = []
    try:
        text = (goroot / "src" / "internal" / "godebugs" / "table.go").read_text()
    except OSError:
        text = ""
    body = text.split("var All = []Info{", 1)[-1] if "var All" in text else ""
    for m in re.finditer(_ENTRY, body):
        fields = {k: v for k, v in re.findall(_FIELD, m.group(1))}
        name = fields.get("Name", "").strip('"')
        if not name:
            continue
        changed = int(fields.get("Changed", "0"))
        old = fields.get("Old", '""').strip('"')
        rows.append((name, changed, old))
    result = tuple(rows)
    _table_cache[key] = result
    return result


def default_godebug(
    goroot: Path,
    go_version: str,
    module_godebug: Iterable[tuple[str, str]],
    directives: Iterable[str],
) -> str:
    """runtime.godebugDefault for a main package: cmd/go's defaultGODEBUG, computed natively."""
    m: dict[str, str] = {}
    for k, v in module_godebug:
        m[k] = v
    for text in directives:
        k, sep, v = text.strip().partition("=")
        if sep and k and " " not in k and " " not in v:
            m[k.strip()] = v.strip()
    if "default" in m:
        v = m.pop("default")
        v = v[2:] if v.startswith("go") else v
        if re.fullmatch(r"1\.\d+(\.\d+)?((rc|beta)\d+)?", v):
            go_version = v
    defaults: dict[str, str] | None = None
    mm = re.match(r"^1\.(\d+)", go_version)
    if mm:
        n = int(mm.group(1))
        defaults = {name: old for name, changed, old in godebug_table(goroot) if n < changed}
    if defaults is not None:
        defaults.update(m)
        m = defaults
    return ",".join(f"{k}={m[k]}" for k in sorted(m))
