"""The files a build by the go command reads, from `go list -deps`: what a remembered run must watch.

The standard library is covered by the go binary's own stamp; modules in the module cache are
read-only and addressed by version (go.sum), so only their go.mod lines matter, unless the build
may write there (-modcacherw). Everything else — the main module's files, `replace => dir`
modules, vendored code, embedded files and every directory a new file could appear in — is listed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from rungo.load.golist import json_stream, under
from rungo.process import Runner

_FILE_FIELDS = ("GoFiles", "CgoFiles", "CFiles", "CXXFiles", "MFiles", "HFiles", "FFiles", "SFiles",
                "SwigFiles", "SwigCXXFiles", "SysoFiles", "EmbedFiles", "IgnoredGoFiles",
                "IgnoredOtherFiles", "InvalidGoFiles")
FIELDS = ",".join(("ImportPath", "Name", "Dir", "Standard", *_FILE_FIELDS, "CgoPkgConfig", "Module", "Error",
                   "DepsErrors", "Incomplete"))


@dataclass(frozen=True, slots=True)
class BuildInputs:
    """Paths whose stats decide whether a go-command build still holds, or why none can be trusted."""

    paths: tuple[str, ...]
    unsure: str = ""        # non-empty: a reason the list cannot vouch for every input
    package_dirs: tuple[str, ...] = ()   # of paths: package directories where only source names matter


def inputs_from_list(text: str, *, goroot: str, gomodcache: str, modcache_writable: bool, cwd: Path,
                     compilers: Sequence[str] = ()) -> BuildInputs:
    """The watch list for the packages `go list -deps -json` printed (pure but for directory walks
    below packages that embed files)."""
    paths: set[str] = set()
    package_dirs: set[str] = set()
    embed_dirs: set[str] = set()
    unsure = ""
    try:
        packages = list(json_stream(text))
    except ValueError as e:
        return BuildInputs((), f"go list printed output rungo cannot read: {e}")
    for p in packages:
        if p.get("Error") or p.get("DepsErrors") or p.get("Incomplete"):
            unsure = unsure or f"package {p.get('ImportPath', '?')} has errors"
        if p.get("CgoPkgConfig"):
            unsure = unsure or f"package {p.get('ImportPath', '?')} uses pkg-config"
        directory = str(p.get("Dir") or "")
        if not directory or p.get("Standard") or under(directory, goroot):
            continue
        mod = p.get("Module") or {}
        if under(directory, gomodcache) and not modcache_writable:
            gomod = str(mod.get("GoMod") or "")
            if gomod and not under(gomod, gomodcache):
                paths.add(gomod)
            continue
        paths.add(directory)
        package_dirs.add(directory)
        if p.get("Name") == "main":
            paths.add(os.path.join(directory, "default.pgo"))     # -pgo=auto reads it
        for field in _FILE_FIELDS:
            for name in p.get(field) or ():
                full = os.path.join(directory, str(name))
                paths.add(full)
                if field == "EmbedFiles":
                    paths.add(os.path.dirname(full))
                    embed_dirs.add(os.path.dirname(full))
        if p.get("EmbedFiles"):
            for root, dirs, _files in os.walk(directory):
                dirs[:] = [d for d in dirs if d not in ("vendor",)]
                paths.add(root)
                embed_dirs.add(root)
        moddir = str(mod.get("Dir") or "")
        if moddir and not (under(moddir, gomodcache) and not modcache_writable):
            for name in ("go.mod", "go.sum", os.path.join("vendor", "modules.txt")):
                paths.add(os.path.join(moddir, name))
        gomod = str(mod.get("GoMod") or "")
        if gomod:
            paths.add(gomod)
    # The main module's go.mod (the first one above the working directory, whatever packages are
    # built: its go line sets the default GODEBUG) and a go.work appearing anywhere above change
    # what is built.
    d = cwd
    while True:
        for name in ("go.work", "go.work.sum", "go.mod", "go.sum"):
            paths.add(str(d / name))
        if d.parent == d:
            break
        d = d.parent
    for c in compilers:
        paths.add(c)
    return BuildInputs(tuple(sorted(paths)), unsure, tuple(sorted(package_dirs - embed_dirs)))


def compiler_paths(goenv: Mapping[str, str], path_var: str) -> list[str]:
    """The C and C++ compilers a cgo build runs, resolved on PATH (a changed compiler changes the build)."""
    out: list[str] = []
    for key in ("CC", "CXX"):
        words = (goenv.get(key) or "").split()
        if not words:
            continue
        found = words[0] if os.sep in words[0] else shutil.which(words[0], path=path_var)
        if found:
            out.append(os.path.realpath(found))
    return out


def list_build_inputs(runner: Runner, go: str, list_args: Sequence[str], targets: Sequence[str], cwd: Path,
                      goenv: Mapping[str, str], path_var: str,
                      env_extra: Mapping[str, str] | None = None) -> BuildInputs:
    """Runs `go list -deps` for the build's targets (quietly: it is not part of the build)."""
    argv = [go, "list", "-e", "-deps", "-json=" + FIELDS, *list_args, "--", *targets]
    res = runner.run(argv, cwd=cwd, quiet=True, env_extra=env_extra)
    if res.returncode != 0:
        return BuildInputs((), "go list failed")
    return inputs_from_list(
        res.stdout.decode(errors="replace"),
        goroot=goenv.get("GOROOT", ""),
        gomodcache=goenv.get("GOMODCACHE", ""),
        modcache_writable="-modcacherw" in list_args or "-modcacherw=true" in list_args
        or "-modcacherw" in (goenv.get("GOFLAGS") or "").split(),
        cwd=cwd,
        compilers=compiler_paths(goenv, path_var),
    )
