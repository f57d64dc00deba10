"""What a binary says about itself: the default GODEBUG and the modinfo that debug.ReadBuildInfo reads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

_INFO_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
_INFO_END = bytes.fromhex("f932433186182072008242104116d8f2")

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


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """A module as the build information lists it (path, version, sum, and what replaces it)."""

    path: str
    version: str          # "(devel)" for main modules
    sum: str = ""
    replace: "ModuleInfo | None" = None


def _quote_needed(s: str, key: bool) -> bool:
    chars = "= \t\r\n\"`" if key else " \t\r\n\"`"
    return (key and s == "") or any(c in s for c in chars)


def go_quote(s: str | bytes) -> str:
    """strconv.Quote-compatible quoting (non-ASCII bytes as \\x escapes, which strconv.Unquote accepts)."""
    data = s.encode() if isinstance(s, str) else s
    out = ['"']
    named = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v", 34: '\\"', 92: "\\\\"}
    for b in data:
        if b in named:
            out.append(named[b])
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    out.append('"')
    return "".join(out)


def build_info_text(
    path: str,
    main: ModuleInfo | None,
    deps: Sequence[ModuleInfo],
    settings: Sequence[tuple[str, str]],
) -> str:
    """debug.BuildInfo.String() for what rungo links."""
    lines: list[str] = [f"path\t{path}\n"]

    def fmt(word: str, m: ModuleInfo) -> None:
        s = f"{word}\t{m.path}\t{m.version}"
        if m.replace is None:
            s += f"\t{m.sum}\n"
            lines.append(s)
        else:
            lines.append(s + "\n")
            fmt("=>", m.replace)

    if main is not None:
        fmt("mod", main)
    for d in deps:
        fmt("dep", d)
    for k, v in settings:
        kk = go_quote(k) if _quote_needed(k, True) else k
        vv = go_quote(v) if _quote_needed(v, False) else v
        lines.append(f"build\t{kk}={vv}\n")
    return "".join(lines)


def modinfo_line(text: str) -> str:
    """The importcfg.link line that makes debug.ReadBuildInfo work."""
    return "modinfo " + go_quote(_INFO_START + text.encode() + _INFO_END)
