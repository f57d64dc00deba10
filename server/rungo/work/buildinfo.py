"""What a binary says about itself: the modinfo that debug.ReadBuildInfo reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from rungo.quoting import quote_bytes

_INFO_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
_INFO_END = bytes.fromhex("f932433186182072008242104116d8f2")

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
            # debug.BuildInfo.String's formatMod: the replacement's line, then the newline that
            # ends the replaced module's own, so a blank line follows a replacement.
            lines.append(s + "\n")
            fmt("=>", m.replace)
            lines.append("\n")

    if main is not None:
        fmt("mod", main)
    for d in deps:
        fmt("dep", d)
    for k, v in settings:
        kk = quote_bytes(k) if _quote_needed(k, True) else k
        vv = quote_bytes(v) if _quote_needed(v, False) else v
        lines.append(f"build\t{kk}={vv}\n")
    return "".join(lines)


def modinfo_line(text: str) -> str:
    """The importcfg.link line that makes debug.ReadBuildInfo work."""
    return "modinfo " + quote_bytes(_INFO_START + text.encode() + _INFO_END)
