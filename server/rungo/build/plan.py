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
    """Every external package reachable from roots (themselves included), sorted."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        p = stack.pop()
        if p in seen or p not in external:
            continue
        seen.add(p)
        stack.extend(external[p].imports)
    seen.discard("unsafe")
    return sorted(seen)


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
