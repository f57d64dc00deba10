"""The packages every link needs besides the program's imports: cmd/go's load.LinkerDeps."""

from __future__ import annotations

from typing import Sequence


def _must_link_external(goos: str, goarch: str) -> bool:
    """internal/platform.MustLinkExternal(goos, goarch, withCgo=false)."""
    return (goos == "android" and goarch != "arm64") or (goos == "ios" and goarch == "arm64")


def external_linking_reason(goos: str, goarch: str, main_ldflags: Sequence[str]) -> str:
    """Why the link must be external even without cgo ("" when it need not), as cmd/go's
    load.externalLinkingReason decides it for -buildmode=exe: the target, or the last -linkmode."""
    if _must_link_external(goos, goarch):
        return f"{goos}/{goarch}"
    for i in range(len(main_ldflags) - 1, -1, -1):
        a = main_ldflags[i]
        nxt = main_ldflags[i + 1] if i + 1 < len(main_ldflags) else None
        if a == "-linkmode=external" or (a == "-linkmode" and nxt == "external"):
            return a
        if a == "-linkmode=internal" or (a == "-linkmode" and nxt == "internal"):
            return ""
    return ""


class LinkDepsError(Exception):
    """The program needs external linking but cgo is off; the text is go's."""


def linker_deps(*, goos: str, goarch: str, cgo_enabled: bool, race: bool, msan: bool, asan: bool,
                main_ldflags: Sequence[str]) -> list[str]:
    """The packages every link needs besides the program's imports."""
    deps = ["runtime"]
    what = external_linking_reason(goos, goarch, main_ldflags)
    if what:
        if not cgo_enabled:
            raise LinkDepsError(f"{what} requires external (cgo) linking, but cgo is not enabled")
        deps.append("runtime/cgo")
    if goarch == "arm":
        deps.append("math")
    if race:
        deps.append("runtime/race")
    if msan:
        deps.append("runtime/msan")
    if asan:
        deps.append("runtime/asan")
    return deps
