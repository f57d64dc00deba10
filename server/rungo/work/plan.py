"""Planning a build: every compile, asm and link step of a program, as plain data.

This is the one place where a build flag becomes tool arguments. A step's `args` go into its action
ID whole (rungo.keys: `compile_key` hashes a CompileStep's args, asm args and trimpath rewrite,
`link_key` a LinkStep's args and environment), so an argument added here changes the key by itself.
The executor adds only the paths it chooses (-o, -importcfg, -embedcfg, -symabis, -asmhdr and the
private copies of the source files).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Collection, Mapping, Sequence

from rungo.invocation import BuildFlags
from rungo.load.graph import INCOMPLETE_STD
from rungo.load.loader import CMDLINE_PATH, lang_for
from rungo.load.model import ExternalPackage, LocalPackage
from rungo.load.program import Program, flag_text, package_flags
from rungo.load.modfile import lang_version
from rungo.toolchain import Toolchain, parse_release
from rungo.work.buildinfo import ModuleInfo, build_info_text, modinfo_line
from rungo.keys import GOARCH_ENV

if TYPE_CHECKING:      # the cgo stage loads only when a package uses cgo
    from rungo.load.cgoload import CgoBuild


@dataclass(frozen=True, slots=True)
class CompileStep:
    """Compile one package of a main module (its assembly and .syso objects included; for a cgo
    package, its cgo part: the C files and .syso objects are `cgo`'s then)."""

    pkg: LocalPackage
    args: tuple[str, ...]            # every compile flag except -o, -trimpath, -importcfg, -embedcfg and the files
    trimpath: str                    # extra -trimpath rewrites ("" when none)
    local_deps: tuple[str, ...]      # import paths of main-module packages it imports
    ext_deps: tuple[str, ...]        # external packages it imports directly
    asm_base_args: tuple[str, ...] = ()  # asm's leading flags: compile's -p (so `args` carries them into the key)
    asm_args: tuple[str, ...] = ()   # asm flags (from -D/-I on; without -p, -trimpath, -o and the files)
    asm_files: tuple[Path, ...] = ()  # the package's .s files
    headers: tuple[Path, ...] = ()   # .h files the assembly may include
    objects: tuple[Path, ...] = ()   # .syso files packed into the archive as they are
    cgo: CgoBuild | None = None      # the cgo part: files by kind and resolved #cgo flags
    in_place: bool = False           # the tools read the files where they are (no private copies):
                                     # an external package in a read-only directory
    import_map: tuple[tuple[str, str], ...] = ()   # importcfg `importmap` lines (vendored std imports)
    pgo: Path | None = None          # the profile of profile-guided optimization (every package's)
    dep_objects: tuple[Path, ...] = ()   # a cgo package's: the .syso files of every package it
                                         # depends on, which cgo's dynamic-import link takes too


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
    compiles: tuple[CompileStep, ...]   # dependency order
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


def executable_name(pkg: LocalPackage) -> str:
    """The go command's choice of executable name for a main package."""
    if pkg.import_path == CMDLINE_PATH:
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


def _main_paths(program: Program) -> tuple[str, ...]:
    return (program.module.path,) if program.module is not None else ()


# -- compile -------------------------------------------------------------------------------------

def package_path_flag(pkg: LocalPackage) -> tuple[str, str]:
    """-p: the path the compiler and the assembler build a package under ("main" for a main package)."""
    return ("-p", "main" if pkg.is_main else pkg.import_path)


def compile_args(pkg: LocalPackage, program: Program, flags: BuildFlags, cwd: Path) -> tuple[str, ...]:
    """The compiler's flags for one package: -p, -lang, -complete, -race, -dwarf=false for the main
    package, the package's -gcflags, and -e (every error, not the first ten)."""
    args = list(package_path_flag(pkg))
    # Named files (command-line-arguments) compile at the toolchain's language version, as in go run.
    toolchain_lang = pkg.import_path == CMDLINE_PATH or (program.module is not None and pkg.module is None)
    args.append("-lang=" + (f"go1.{program.context.go_minor}" if toolchain_lang
                            else lang_for(program.module, program.context.go_minor)))
    cgo = program.cgo.packages.get(pkg.import_path) if program.cgo is not None else None
    if cgo is not None:
        from rungo.work.cgo import compile_complete
    if compile_complete(cgo.package) if cgo is not None else \
            not any(f.suffix in (".s", ".syso") for f in pkg.other_files):
        args.append("-complete")
    if flags.race:
        args += ["-installsuffix", "race"]
    if pkg is program.main:
        args.append("-dwarf=false")
    if flags.race:
        args.append("-race")
    args += package_flags(flags.gcflags, pkg, cwd, _main_paths(program))
    args.append("-e")
    return tuple(args)


def trimpath_rewrite(pkg: LocalPackage, flags: BuildFlags) -> str:
    """-trimpath's rewrite of the package's directory ("" without -trimpath)."""
    if not flags.trimpath:
        return ""
    if pkg.module is not None:
        return f"{pkg.module.dir}=>{pkg.module.path}"
    return f"{pkg.dir}=>"


def asm_defines(tc: Toolchain) -> tuple[str, ...]:
    """The -D flags the go command gives asm for the target (cmd/go/internal/work/gc.go asmArgs)."""
    env = tc.env
    goarch = env.get("GOARCH", "")
    out = ["-D", "GOOS_" + env.get("GOOS", ""), "-D", "GOARCH_" + goarch]
    level = env.get(GOARCH_ENV.get(goarch, ""), "")
    if goarch == "386":
        out += ["-D", "GO386_" + (level or "sse2")]
    elif goarch == "amd64":
        out += ["-D", "GOAMD64_" + (level or "v1")]
    elif goarch in ("mips", "mipsle"):
        out += ["-D", "GOMIPS_" + (level or "hardfloat")]
    elif goarch in ("mips64", "mips64le"):
        out += ["-D", "GOMIPS64_" + (level or "hardfloat")]
    elif goarch in ("ppc64", "ppc64le"):
        level = level or "power8"
        if level == "power10":
            out += ["-D", "GOPPC64_power10"]
        if level in ("power10", "power9"):
            out += ["-D", "GOPPC64_power9"]
        out += ["-D", "GOPPC64_power8"]
    elif goarch == "riscv64":
        out += ["-D", "GORISCV64_" + (level or "rva20u64")]
    elif goarch == "arm":
        if "7" in level:
            out += ["-D", "GOARM_7"]
        if "7" in level or "6" in level:
            out += ["-D", "GOARM_6"]
        out += ["-D", "GOARM_5"]
    elif goarch == "arm64" and ",lse" in level:
        out += ["-D", "GOARM64_LSE"]
    return tuple(out)


def asm_args(pkg: LocalPackage, program: Program, flags: BuildFlags, tc: Toolchain, cwd: Path) -> tuple[str, ...]:
    """The assembler's flags for a package's .s files: the include dir, the target's -D flags, -asmflags."""
    return ("-I", str(tc.goroot / "pkg" / "include"), *asm_defines(tc),
            *package_flags(flags.asmflags, pkg, cwd, _main_paths(program)))


def _runtime_of(pkg: LocalPackage, paths: Collection[str]) -> tuple[str, ...]:
    """The runtime, for a main package's compile when rungo compiles it too: every program links it,
    and the main package's compile is given it as cmd/go gives it."""
    return ("runtime",) if pkg.is_main and "runtime" in paths else ()


def compile_step(pkg: LocalPackage, program: Program, flags: BuildFlags, tc: Toolchain, cwd: Path,
                 local_paths: Collection[str]) -> CompileStep:
    cgo = program.cgo.packages.get(pkg.import_path) if program.cgo is not None else None
    if cgo is not None:
        # The C compiler builds every non-Go file of a cgo package; cgo's objects are packed.
        from rungo.load.cgoflags import implicit_imports

        implicit = [i for i in implicit_imports(pkg.import_path, False) if i != "unsafe" and i not in pkg.imports]
        deps = sorted({*pkg.imports, *implicit, *_runtime_of(pkg, local_paths)})
        return CompileStep(
            pkg=pkg,
            args=compile_args(pkg, program, flags, cwd),
            trimpath=trimpath_rewrite(pkg, flags),
            local_deps=tuple(i for i in deps if i in local_paths),
            ext_deps=tuple(i for i in deps if i not in local_paths),
            cgo=cgo,
        )
    sfiles = tuple(f for f in pkg.other_files if f.suffix == ".s")
    deps = [*pkg.imports, *(r for r in _runtime_of(pkg, local_paths) if r not in pkg.imports)]
    return CompileStep(
        pkg=pkg,
        args=compile_args(pkg, program, flags, cwd),
        trimpath=trimpath_rewrite(pkg, flags),
        local_deps=tuple(i for i in deps if i in local_paths),
        ext_deps=tuple(i for i in deps if i not in local_paths),
        asm_base_args=package_path_flag(pkg) if sfiles else (),
        asm_args=asm_args(pkg, program, flags, tc, cwd) if sfiles else (),
        asm_files=sfiles,
        headers=tuple(f for f in pkg.other_files if f.suffix == ".h") if sfiles else (),
        objects=tuple(f for f in pkg.other_files if f.suffix == ".syso"),
    )


# -- the packages outside the main module(s) -------------------------------------------------------

def graph_compile_args(pkg: LocalPackage, program: Program, flags: BuildFlags, cwd: Path) -> tuple[str, ...]:
    """cmd/go's compiler flags for a standard or module package (gc.go's gc): -p, -lang (the
    module's go line, 1.16 when it has none; the toolchain's for the standard library), -std,
    -complete unless the package has non-Go parts, and its -gcflags."""
    ep = pkg.origin
    assert ep is not None and ep.sources is not None
    src = ep.sources
    lang = f"go1.{program.context.go_minor}"
    if not ep.standard:
        module_lang = lang_version(src.go_version or "1.16")
        if module_lang and parse_release(module_lang) <= parse_release(lang):
            lang = module_lang
    args = ["-p", pkg.import_path, "-lang=" + lang]
    if ep.standard:
        args.append("-std")
    extra = len(src.cgo_files) + len(src.foreign) + len(src.asm) + len(src.syso)
    if not extra and not (ep.standard and pkg.import_path in INCOMPLETE_STD):
        args.append("-complete")
    if flags.race:
        args += ["-installsuffix", "race", "-race"]
    args += package_flags(flags.gcflags, pkg, cwd, _main_paths(program))
    return tuple(args)


def graph_trimpath(pkg: LocalPackage, flags: BuildFlags) -> str:
    """-trimpath's rewrite of an external package's directory (gc.go's trimpath): the module path
    at its version for a module's package, the import path otherwise."""
    ep = pkg.origin
    if not flags.trimpath or ep is None:
        return ""
    if ep.module_path and ep.module_version:
        return f"{ep.dir}=>{ep.module_path}@{ep.module_version}{pkg.import_path[len(ep.module_path):]}"
    return f"{ep.dir}=>{pkg.import_path}"


def graph_step(pkg: LocalPackage, program: Program, flags: BuildFlags, tc: Toolchain, cwd: Path,
               paths: Collection[str]) -> CompileStep:
    """One standard or module package, compiled (with its assembly) as cmd/go compiles it."""
    ep = pkg.origin
    assert ep is not None and ep.sources is not None
    cgo = program.cgo.packages.get(pkg.import_path) if program.cgo is not None else None
    deps = set(pkg.imports)
    sfiles = tuple(f for f in pkg.other_files if f.suffix == ".s")
    if cgo is not None:
        from rungo.load.cgoflags import implicit_imports

        deps.update(i for i in implicit_imports(pkg.import_path, ep.standard) if i != "unsafe")
        # In a cgo package the C compiler builds the assembly, except in runtime/cgo, whose files
        # not named gcc_* are Go assembly (cmd/go's build).
        sfiles = tuple(f for f in sfiles if ep.standard and pkg.import_path == "runtime/cgo"
                       and not f.name.startswith("gcc_"))
    # The assembler takes -std for a standard package from Go 1.27 on (gc.go's asmArgs); before, it
    # knows the runtime's packages by their path.
    std = ("-std",) if ep.standard and program.context.go_minor >= 27 else ()
    asm = (*asm_args(pkg, program, flags, tc, cwd), *std) if sfiles else ()
    return CompileStep(
        pkg=pkg,
        args=graph_compile_args(pkg, program, flags, cwd),
        trimpath=graph_trimpath(pkg, flags),
        local_deps=tuple(sorted(i for i in deps if i in paths)),
        ext_deps=tuple(sorted(i for i in deps if i not in paths)),
        asm_base_args=package_path_flag(pkg) if sfiles else (),
        asm_args=asm,
        asm_files=sfiles,
        headers=tuple(f for f in pkg.other_files if f.suffix == ".h") if sfiles else (),
        objects=tuple(f for f in pkg.other_files if f.suffix == ".syso") if cgo is None else (),
        cgo=cgo,
        in_place=len(ep.watched) <= 1,     # only its directory is watched: a read-only one
        import_map=ep.sources.import_map,
    )


# -- link ----------------------------------------------------------------------------------------

def link_args(program: Program, flags: BuildFlags, tc: Toolchain, cwd: Path) -> tuple[str, ...]:
    """The linker's flags: -s -w as go run, the GODEBUG default, -race, the main package's -ldflags,
    and -extld (the C compiler, or CXX when a cgo package has C++ files, for when the link is
    external) unless -ldflags names one."""
    main_ldflags = package_flags(flags.ldflags, program.main, cwd, _main_paths(program))
    args: list[str] = []
    if flags.race:
        args += ["-installsuffix", "race"]
    args += ["-s", "-w"]
    if program.godebug:
        args.append("-X=runtime.godebugDefault=" + program.godebug)
    args.append("-buildmode=exe")
    if flags.race:
        args.append("-race")
    args += main_ldflags
    if not any(a == "-extld" or a.startswith("-extld=") for a in main_ldflags):
        args.append(program.cgo.extld if program.cgo is not None else "-extld=" + (tc.env.get("CC") or "gcc"))
    return tuple(args)


def link_env(flags: BuildFlags, tc: Toolchain) -> tuple[tuple[str, str], ...]:
    """The linker's environment: GOROOT, which it records in the binary (empty under -trimpath)."""
    return (("GOROOT", "" if flags.trimpath else str(tc.goroot)),)


def build_settings(program: Program, flags: BuildFlags, tc: Toolchain, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """The `build` lines of the binary's build info, as the go command writes them for these flags."""
    s: list[tuple[str, str]] = []
    if flags.asmflags:      # present at all, even empty (load.setBuildInfo: BuildAsmflags.present)
        s.append(("-asmflags", flag_text(flags.asmflags[-1])))
    s += [("-buildmode", "exe"), ("-compiler", "gc")]
    if flags.gcflags and flag_text(flags.gcflags[-1]):
        s.append(("-gcflags", flag_text(flags.gcflags[-1])))
    if flags.ldflags and flag_text(flags.ldflags[-1]) and not flags.trimpath:
        s.append(("-ldflags", flag_text(flags.ldflags[-1])))
    if flags.race:
        s.append(("-race", "true"))
    if flags.tags:
        s.append(("-tags", ",".join(flags.tags)))
    if flags.trimpath:
        s.append(("-trimpath", "true"))
    if program.godebug:
        s.append(("DefaultGODEBUG", program.godebug))
    cgo = program.context.cgo_enabled
    s.append(("CGO_ENABLED", "1" if cgo else "0"))
    if cgo and not flags.trimpath:
        for name in ("CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_LDFLAGS"):
            s.append((name, env.get(name, "")))
    s.append(("GOARCH", tc.goarch))
    if env.get("GOEXPERIMENT"):
        s.append(("GOEXPERIMENT", env["GOEXPERIMENT"]))
    s.append(("GOOS", tc.goos))
    level = GOARCH_ENV.get(tc.goarch)
    if level and tc.env.get(level):
        s.append((level, tc.env[level]))
    if program.pgo is not None:
        # cmd/go adds -pgo last and sorts the settings by key again (load.setPGOProfilePath).
        s.append(("-pgo", program.pgo.name if flags.trimpath else str(program.pgo)))
        s.sort(key=lambda kv: kv[0])
    return s


def dependency_modules(program: Program) -> list[ModuleInfo]:
    """The modules of the external packages the program links, as the build info lists them."""
    local_paths = {p.import_path for p in program.local}
    module = program.module
    found: dict[tuple[str, str], ModuleInfo] = {}
    roots = [i for p in program.local for i in p.imports if i not in local_paths]
    for path in external_closure(roots, program.external):
        ep = program.external[path]
        if ep.standard or not ep.module_path or (module is not None and ep.module_path == module.path):
            continue
        version = ep.module_version or "(devel)"
        rep = None
        if ep.replace_path:
            rv = ep.replace_version or "(devel)"
            rep = ModuleInfo(ep.replace_path, rv, program.go_sum.get((ep.replace_path, rv), "") if ep.replace_version else "")
        found[(ep.module_path, version)] = ModuleInfo(
            ep.module_path, version, "" if rep else program.go_sum.get((ep.module_path, version), ""), rep)
    return [found[k] for k in sorted(found)]


def modinfo(program: Program, flags: BuildFlags, tc: Toolchain, env: Mapping[str, str]) -> str:
    """The importcfg `modinfo` line: what debug.ReadBuildInfo reports."""
    main = program.main
    module = program.module
    info = build_info_text(
        main.import_path,
        ModuleInfo(module.path, "(devel)") if module is not None else None,
        dependency_modules(program),
        build_settings(program, flags, tc, env),
    )
    return modinfo_line(info)


# -- the plan ------------------------------------------------------------------------------------

def _syso(pkg: LocalPackage | ExternalPackage) -> list[Path]:
    if isinstance(pkg, LocalPackage):
        return [f for f in pkg.other_files if f.suffix == ".syso"]
    return [Path(pkg.dir) / n for n in pkg.sources.syso] if pkg.sources is not None else []


def _with_dep_objects(steps: Sequence[CompileStep], program: Program) -> tuple[CompileStep, ...]:
    """Each cgo step with the .syso files of the packages it depends on (cmd/go's dynimport gathers
    them over the action's dependencies; the main package's include what the linker adds)."""
    if not any(s.cgo is not None for s in steps):
        return tuple(steps)
    by_path = {s.pkg.import_path: s for s in steps}
    objects: dict[str, frozenset[Path]] = {}

    def of(path: str) -> frozenset[Path]:
        got = objects.get(path)
        if got is not None:
            return got
        step = by_path.get(path)
        found: set[Path] = set()
        if step is None:
            ep = program.external.get(path)
            if ep is not None:
                found.update(_syso(ep))
                for d in ep.deps:
                    if d in program.external:
                        found.update(_syso(program.external[d]))
        else:
            found.update(_syso(step.pkg))
            deps = [*step.local_deps, *step.ext_deps]
            if step.pkg is program.main and program.link:
                deps += program.link_roots
            for d in deps:
                found.update(of(d))
        objects[path] = frozenset(found)
        return objects[path]

    out = []
    for s in steps:
        if s.cgo is not None:
            own = set(_syso(s.pkg))
            s = replace(s, dep_objects=tuple(sorted(of(s.pkg.import_path) - own)))
        out.append(s)
    return tuple(out)


def plan_program(program: Program, flags: BuildFlags, tc: Toolchain, *, cwd: Path, env: Mapping[str, str]) -> Plan:
    """Every step that builds the program (only the compiles when it is not linked)."""
    graph_paths = {p.import_path for p in program.graph}
    paths = {p.import_path for p in program.local} | graph_paths
    steps = _with_dep_objects((*(graph_step(pkg, program, flags, tc, cwd, paths) for pkg in program.graph),
                               *(compile_step(pkg, program, flags, tc, cwd, paths) for pkg in program.local)),
                              program)
    if program.pgo is not None:
        steps = tuple(replace(s, pgo=program.pgo) for s in steps)
    link_step = None
    if program.link:
        roots = [*program.link_roots, *(d for s in steps for d in s.ext_deps)]
        link_step = LinkStep(
            main=program.main.import_path,
            name=executable_name(program.main),
            args=link_args(program, flags, tc, cwd),
            env=link_env(flags, tc),
            modinfo=modinfo(program, flags, tc, env),
            local=tuple(p.import_path for p in (*program.graph, *program.local)),
            external=tuple(p for p in external_closure(roots, program.external) if p not in graph_paths),
        )
    return Plan(steps, link_step)
