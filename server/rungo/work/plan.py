"""Planning a build: one compile step per main-module package and one link step, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from rungo.load.model import ExternalPackage, LocalPackage


@dataclass(frozen=True, slots=True)
class CompileStep:
    """Compile one package of a main module."""

    pkg: LocalPackage
    args: tuple[str, ...]            # every compile flag except -o, -trimpath, -importcfg, -embedcfg and the files
    trimpath: str                    # extra -trimpath rewrites ("" when none)
    local_deps: tuple[str, ...]      # import paths of main-module packages it imports
    ext_deps: tuple[str, ...]        # external packages it imports directly
    check_only: bool = False         # a type check (LSP overlays): run, report, never cache
    asm_args: tuple[str, ...] = ()   # asm flags (from -D/-I on; without -p, -trimpath, -o and the files)
    asm_files: tuple[Path, ...] = ()  # the package's .s files
    headers: tuple[Path, ...] = ()   # .h files the assembly may include
    objects: tuple[Path, ...] = ()   # .syso files packed into the archive as they are


@dataclass(frozen=True, slots=True)
class LinkStep:
    """Link the main package with every package it needs."""

    main: str                        # import path of the main package
    name: str                        # executable name (os.Args[0] base name)
    args: tuple[str, ...]            # link flags except -o, -importcfg and the main archive
    env: tuple[tuple[str, str], ...]  # environment the linker needs (GOROOT)
    modinfo: str                     # the importcfg `modinfo` line ("" for none)
    local: tuple[str, ...]           # every main-module package, dependency order
    external: tuple[str, ...]        # every external package, sorted


@dataclass(frozen=True, slots=True)
class Plan:
    compiles: tuple[CompileStep, ...]
    link: LinkStep | None


def external_closure(roots: Sequence[str], external: Mapping[str, ExternalPackage]) -> list[str]:
    """Every external package reachable from roots (themselves included), sorted.

    A package's `deps` are go list's: they hold the imports the go command adds on its own (a cgo
    package imports runtime/cgo and syscall), which `imports` does not list."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        p = stack.pop()
        if p in seen or p not in external:
            continue
        seen.add(p)
        stack.extend(external[p].imports)
        stack.extend(external[p].deps)
    seen.discard("unsafe")
    return sorted(seen)


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
    """The packages every link needs besides the program's imports: cmd/go's load.LinkerDeps."""
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


def executable_name(pkg: LocalPackage) -> str:
    """The go command's choice of executable name for a main package."""
    if pkg.import_path == "command-line-arguments":
        first = pkg.files[0].name if pkg.files else "main.go"
        return first[: -len(".go")] if first.endswith(".go") else first
    return executable_name_of(pkg.import_path)


def executable_name_of(import_path: str) -> str:
    """The last element of an import path, skipping a major-version suffix (/v2, /v3, ...)."""
    elems = import_path.split("/")
    last = elems[-1]
    if len(elems) > 1 and last.startswith("v") and last[1:].isdigit() and last != "v0" and last != "v1":
        last = elems[-2]
    return last


def plan_build(
    *,
    local: Sequence[LocalPackage],
    main: LocalPackage,
    external: Mapping[str, ExternalPackage],
    compile_args: Callable[[LocalPackage], tuple[str, ...]],
    trimpath: Callable[[LocalPackage], str],
    link_args: tuple[str, ...],
    link_env: tuple[tuple[str, str], ...],
    modinfo: str,
    link_roots: Sequence[str],
    name: str | None = None,
    link: bool = True,
    native: Callable[[LocalPackage], tuple[tuple[str, ...], tuple[Path, ...], tuple[Path, ...], tuple[Path, ...]]]
    | None = None,
) -> Plan:
    """`native(pkg)` gives a package's (asm args, .s files, .h files, .syso files)."""
    local_paths = {p.import_path for p in local}
    steps: list[CompileStep] = []
    ext_roots: list[str] = list(link_roots)
    for pkg in local:
        ldeps = tuple(i for i in pkg.imports if i in local_paths)
        edeps = tuple(i for i in pkg.imports if i not in local_paths)
        ext_roots.extend(edeps)
        asm_args, asm_files, headers, objects = native(pkg) if native is not None else ((), (), (), ())
        steps.append(CompileStep(pkg, compile_args(pkg), trimpath(pkg), ldeps, edeps, asm_args=asm_args,
                                 asm_files=asm_files, headers=headers, objects=objects))
    link_step = None
    if link:
        link_step = LinkStep(
            main=main.import_path,
            name=name or executable_name(main),
            args=link_args,
            env=link_env,
            modinfo=modinfo,
            local=tuple(p.import_path for p in local),
            external=tuple(external_closure(ext_roots, external)),
        )
    return Plan(tuple(steps), link_step)
