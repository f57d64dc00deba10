"""The load stage's part of cgo: which main-module packages use it, their files by kind, and their
#cgo flags (directives, pkg-config, the security checks), as plain data for the plan."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Mapping, Sequence

from rungo.load.constraints import BuildContext
from rungo.load.model import LocalPackage
from rungo.process import Runner
from rungo.load.cgoflags import CgoPackage, extld_flag, resolve_flags
from rungo.load.cgodirectives import CgoError
from rungo.load.cgoflags import CgoEnvironment, PackageFlags, cgo_environment
from rungo.load.cgosecurity import SecurityRules, Unsupported, load_rules

# go/build's file kinds of a cgo package, by extension (.s and .S alike go to the C compiler there).
_KINDS: Final = {
    ".c": "c", ".cc": "cxx", ".cpp": "cxx", ".cxx": "cxx", ".m": "m",
    ".s": "s", ".S": "s", ".sx": "s", ".f": "f", ".F": "f", ".for": "f", ".f90": "f",
    ".h": "h", ".hh": "h", ".hpp": "h", ".hxx": "h", ".syso": "syso",
}


@dataclass(frozen=True, slots=True)
class CgoBuild:
    """One cgo package of the main module: its files and its resolved flags."""

    package: CgoPackage
    flags: PackageFlags
    pkg_config: bool = False                # its preambles may name pkg-config packages: the
                                            # flags can change with no file rungo could watch


@dataclass(frozen=True, slots=True)
class CgoSetup:
    """The C toolchain of a build and every cgo package in it."""

    env: CgoEnvironment
    rules: SecurityRules
    packages: Mapping[str, CgoBuild]        # by import path
    uses_cxx: bool                          # some package has C++ files: the link's -extld is CXX
    extld: str                              # the link's -extld flag (cmd/go's setextld)


@dataclass(frozen=True, slots=True)
class CgoLoadError:
    """A package's #cgo flags are refused or malformed: `text` is go's."""

    text: str


def cgo_package(pkg: LocalPackage, trimpath: bool) -> CgoPackage | Unsupported:
    """The package's files sorted by kind, as go/build sorts them for a package that imports "C"."""
    kinds: dict[str, list[str]] = {k: [] for k in ("c", "cxx", "m", "s", "f", "h", "syso")}
    for f in pkg.other_files:
        if f.suffix in (".swig", ".swigcxx"):
            return Unsupported(f"package {pkg.import_path} uses SWIG")
        kind = _KINDS.get(f.suffix)
        if kind is not None:
            kinds[kind].append(f.name)
    module = pkg.module
    origin = pkg.origin
    trimpath_to = module.path if trimpath and module is not None else None
    trimpath_from = str(module.dir) if trimpath and module is not None else None
    if origin is not None:
        # A standard or module package: the C compiler's file prefix map (cmd/go's ccompile) is
        # GOROOT's always for the standard library, the module's root under -trimpath.
        trimpath_to, trimpath_from = None, None
        if origin.standard:
            trimpath_to, trimpath_from = "GOROOT", origin.dir[: -len("/src/" + origin.import_path)]
        elif trimpath and origin.module_path and origin.sources is not None and not origin.sources.module_dir:
            # A vendored module (go list gives it no directory): the whole vendor directory.
            trimpath_to, trimpath_from = "vendor", origin.dir[: -len("/" + origin.import_path)]
        elif trimpath and origin.module_path:
            version = origin.module_version
            trimpath_to = f"{origin.module_path}@{version}" if version else origin.module_path
            trimpath_from = origin.sources.module_dir if origin.sources is not None else \
                origin.dir[: len(origin.dir) - len(origin.import_path[len(origin.module_path):])]
    return CgoPackage(
        import_path=pkg.import_path,
        name=pkg.name,
        dir=pkg.dir,
        cgo_files=tuple(sorted(f.name for f in pkg.files if f.summary.imports_c)),
        go_files=tuple(sorted(f.name for f in pkg.files if not f.summary.imports_c)),
        c_files=tuple(sorted(kinds["c"])),
        cxx_files=tuple(sorted(kinds["cxx"])),
        m_files=tuple(sorted(kinds["m"])),
        s_files=tuple(sorted(kinds["s"])),
        f_files=tuple(sorted(kinds["f"])),
        h_files=tuple(sorted(kinds["h"])),
        syso_files=tuple(sorted(kinds["syso"])),
        standard=origin is not None and origin.standard,
        trimpath_to=trimpath_to,
        trimpath_from=trimpath_from,
    )


def load_cgo(packages: Sequence[LocalPackage], *, ctx: BuildContext, goenv: Mapping[str, str],
             goroot: Path, env: Mapping[str, str], runner: Runner, overlays: Mapping[Path, bytes],
             trimpath: bool) -> CgoSetup | Unsupported | CgoLoadError | None:
    """The cgo packages among `packages` with their flags; None when there are none. Unsupported
    names what the go command has to build instead; CgoLoadError carries go's error text."""
    users = [p for p in packages if p.uses_cgo]
    if not users:
        return None
    if not ctx.cgo_enabled:
        return Unsupported(f"package {users[0].import_path} uses cgo with cgo disabled")
    rules = load_rules(goroot)
    if isinstance(rules, Unsupported):
        return rules
    cenv = cgo_environment(env, goenv)
    if isinstance(cenv, Unsupported):
        return cenv
    built: dict[str, CgoBuild] = {}
    for p in users:
        for f in (*(sf.path for sf in p.files), *p.other_files):
            if f in overlays:
                return Unsupported(f"package {p.import_path} uses cgo and {f} has unsaved or -overlay content")
        pkg = cgo_package(p, trimpath)
        if isinstance(pkg, Unsupported):
            return pkg
        if pkg.f_files and not cenv.fc_setting:
            return Unsupported(f"package {p.import_path} has Fortran files and FC is not set")
        sources: dict[str, bytes] = {}
        for name in pkg.cgo_files:
            try:
                sources[name] = (pkg.dir / name).read_bytes()
            except OSError as e:
                return CgoLoadError(f"open {pkg.dir / name}: {e.strerror}")
        flags = resolve_flags(pkg, sources, ctx, cenv, rules, runner)
        if isinstance(flags, Unsupported):
            return flags
        if isinstance(flags, CgoError):
            return CgoLoadError(flags.render(pkg.import_path))
        built[p.import_path] = CgoBuild(pkg, flags, any(b"pkg-config:" in src for src in sources.values()))
    uses_cxx = any(b.package.cxx_files for b in built.values())
    extld = extld_flag(cenv, uses_cxx)
    if isinstance(extld, Unsupported):
        return extld
    return CgoSetup(cenv, rules, built, uses_cxx, extld)


def cgo_executables(setup: CgoSetup, env: Mapping[str, str]) -> list[str]:
    """The C compilers the build runs, as found on PATH: a remembered build holds while they do not change."""
    names = [setup.env.cc[0]]
    if setup.uses_cxx:
        names.append(setup.env.cxx[0])
    if any(b.package.f_files for b in setup.packages.values()):
        names.append(setup.env.fc[0])
    found = [shutil.which(n, path=env.get("PATH")) for n in names]
    return [f for f in found if f]
