"""The load stage: from a `go run` invocation to the Program to build, as plain data, or to the
problem that stops it, as a value. Everything the stage reads is watched, so a remembered build can
tell whether it still holds."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Collection, Mapping, Sequence

from rungo.cache import Cache
from rungo.invocation import BuildFlags, Invocation, PerPackageFlag, flags_for, unsupported
from rungo.load.constraints import BuildContext
from rungo.load.external import ExternalLoadError, Snapshot, load_external
from rungo.load.godebug import default_godebug
from rungo.load.graph import NotInGraph, graph_packages
from rungo.load.linkdeps import LinkDepsError, linker_deps
from rungo.load.loader import Loader, LoadFailure, NotNative, Target, import_position
from rungo.load.model import Anchor, ExternalPackage, LoadError, LocalPackage, Module, RelPath, Watched
from rungo.load.overlay import OverlayError, read_overlay
from rungo.load.stamps import stamp
from rungo.load.summaries import SummaryCache
from rungo.process import Runner
from rungo.quoting import quoted_word
from rungo.goenv import goenv_file
from rungo.toolchain import Toolchain, check_go_version

if TYPE_CHECKING:      # the cgo stage loads only when a package uses cgo
    from rungo.load.cgoload import CgoSetup


@dataclass(frozen=True, slots=True)
class LoadRequest:
    """What to load: the invocation, for which toolchain, from where, with which unsaved buffers."""

    invocation: Invocation
    toolchain: Toolchain
    cwd: Path
    env: Mapping[str, str]                     # the environment the build sees
    overlays: Mapping[Path, bytes] = field(default_factory=dict)   # unsaved contents by file
    link: bool = True                          # a program to link (False: a check)
    require_main: bool = True
    build_externals: bool = True               # False: go list builds nothing (a check from source)


@dataclass(frozen=True, slots=True)
class Program:
    """Everything the plan needs: the packages to compile, the external ones to build against, and
    the facts of the build (context, link roots, GODEBUG default, go.sum)."""

    module: Module | None
    main: LocalPackage
    local: tuple[LocalPackage, ...]            # dependency order, main last
    external: Mapping[str, ExternalPackage]
    context: BuildContext
    link: bool                                 # the main package is linked into a program
    link_roots: tuple[str, ...]                # packages every link needs (cmd/go's LinkerDeps)
    godebug: str                               # runtime.godebugDefault
    go_sum: Mapping[tuple[str, str], str]      # (module, version) -> h1: hash, for the build info
    overlays: Mapping[Path, bytes]             # unsaved contents by file
    watched: tuple[Watched, ...]               # every input the load read
    cgo: CgoSetup | None = None                # the C toolchain and the cgo packages, when any
    load_errors: tuple[LoadError, ...] = ()    # a check's: compiled beside (without the imports they name)
    externals_built: bool = True               # the external packages' export data are there
    graph: tuple[LocalPackage, ...] = ()       # the external packages rungo compiles itself, dependency order
    graph_fallback: str = ""                   # why go list -export builds them although RUNGO_GRAPH=native
    pgo: Path | None = None                    # the profile every package is optimized with (the whole graph's)


# RUNGO_GRAPH=native: rungo compiles the standard library and the dependencies itself.
GRAPH_ENV = "RUNGO_GRAPH"


def whole_graph(req: LoadRequest) -> bool:
    """Whether rungo is asked to compile the external packages of this build itself (RUNGO_GRAPH=native)."""
    return req.env.get(GRAPH_ENV, "").strip().lower() == "native"


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """Why the program cannot be built natively: an error to show (`text`, with the positioned
    `errors` when known), or, with `go_command` set, the reason the go command must build it."""

    text: str
    stage: str = "load"                        # "load" or "usage"
    errors: tuple[LoadError, ...] = ()
    package: LocalPackage | None = None
    go_command: str = ""
    watched: tuple[Watched, ...] = ()          # what the load read before it stopped


# The flags rungo does not implement that still change what a check (a load with link=False)
# type-checks: another compiler (gccgo has its own front end and build tags). The others change code
# generation, linking or what the go command prints, not the types the compiler checks: -pgo and
# default.pgo (optimization), -cover* (the cover tool adds counters and keeps each line's position,
# so the type errors are the same), -buildmode and -linkshared (code generation, link), -toolexec
# (a program wrapping the tools: a check runs nothing of the workspace's), -buildvcs (link-time
# stamping), -asan/-msan (instrumentation; their build tags are in the build context), -json,
# -pkgdir, -installsuffix and -debug-* (what the go command writes or prints). A check ignores them
# and compiles natively.
CHECK_NEEDS_GO = frozenset({"compiler"})

# Build flags a check leaves out when it asks the go command (or $GOFLAGS holds them): they change
# code generation, the link or what the go command prints or writes, not what the compiler
# type-checks (see CHECK_NEEDS_GO), or they would run a program of the workspace's (-toolexec), or they
# clash with go list's own flags (-json) and with what a check asks of it (-n, -x, -v, -work, -a;
# an -overlay file is merged into the check's own).
_CHECK_OMITS = frozenset({"pgo", "cover", "covermode", "coverpkg", "buildmode", "buildvcs", "toolexec",
                          "linkshared", "ldflags", "json", "debug-actiongraph", "debug-runtime-trace",
                          "debug-trace", "n", "x", "v", "work", "a", "overlay"})
# go run's boolean build flags (a value only after "="); the others take the next argument.
_BOOL_FLAGS = frozenset({"a", "n", "x", "v", "work", "trimpath", "race", "msan", "asan", "linkshared", "json",
                         "modcacherw", "cover", "buildvcs"})


def check_flags(build_args: Sequence[str]) -> list[str]:
    """The build flags (or $GOFLAGS entries) a check passes to `go list`: those that can change what the
    compiler type-checks."""
    out: list[str] = []
    i = 0
    while i < len(build_args):
        t = build_args[i]
        name = t.lstrip("-").split("=", 1)[0]
        takes_next = t.startswith("-") and "=" not in t and name not in _BOOL_FLAGS and i + 1 < len(build_args)
        step = 2 if takes_next else 1
        if not (t.startswith("-") and name in _CHECK_OMITS):
            out.extend(build_args[i:i + step])
        i += step
    return out


# Non-Go files the native pipeline builds in a package without cgo: Go assembly (and the headers it
# includes), and .syso objects packed as they are. C, C++, Fortran and .S files need cgo (a package
# that imports "C"; see load/cgoload.py).
NATIVE_EXTS = frozenset({".s", ".h", ".syso"})


def build_context(tc: Toolchain, flags: BuildFlags, env_cgo: str | None) -> BuildContext:
    """The build constraints' context: target, tags (-tags, the toolchain's, -race/-msan/-asan), cgo."""
    tags = set(flags.tags)
    tool_tags = set(tc.tool_tags)
    if flags.race:
        tool_tags.add("race")
    if flags.msan:
        tool_tags.add("msan")
    if flags.asan:
        tool_tags.add("asan")
    cgo = (env_cgo if env_cgo is not None else tc.env.get("CGO_ENABLED", "0")) == "1"
    minor = tc.release[1]
    if tc.release_tags:
        try:
            minor = int(tc.release_tags[-1].split(".")[1])
        except (IndexError, ValueError):
            pass
    return BuildContext(
        goos=tc.goos,
        goarch=tc.goarch,
        tags=frozenset(tags | {t for t in tool_tags if not t.startswith("goexperiment.") and "." not in t}),
        cgo_enabled=cgo,
        go_minor=minor,
        goarch_features=frozenset(t for t in tool_tags if "." in t and not t.startswith("goexperiment.")),
        experiments=frozenset(t for t in tool_tags if t.startswith("goexperiment.")),
    )


def package_flags(flags: Sequence[PerPackageFlag], pkg: LocalPackage, cwd: Path,
                  main_module_paths: Collection[str]) -> tuple[str, ...]:
    """The arguments of a per-package flag (-gcflags, -asmflags, -ldflags) for one package."""
    origin = pkg.origin
    return flags_for(flags, pkg.import_path, pkg.cmdline, is_std=origin is not None and origin.standard,
                     dir_of_pkg=str(pkg.dir), cwd=str(cwd), main_module_paths=main_module_paths,
                     module_path=pkg.module.path if pkg.module else origin.module_path if origin else None)


def list_flags(flags: BuildFlags) -> list[str]:
    """The build flags that change what `go list -export` builds for the external packages."""
    out: list[str] = []
    if flags.a:
        out.append("-a")
    if flags.tags:
        out.append("-tags=" + ",".join(flags.tags))
    if flags.race:
        out.append("-race")
    if flags.trimpath:
        out.append("-trimpath")
    if flags.mod:
        out.append("-mod=" + flags.mod)
    if flags.modcacherw:
        out.append("-modcacherw")
    if flags.modfile:
        out.append("-modfile=" + flags.modfile)
    for f in flags.gcflags:
        out.append("-gcflags=" + flag_text(f))
    if flags.p:
        out.append(f"-p={flags.p}")
    return out


def flag_text(f: PerPackageFlag) -> str:
    """A per-package flag's value as the go command takes it on its command line."""
    args = " ".join(quoted_word(a) for a in f.args)
    return f"{f.pattern}={args}" if f.pattern is not None else args


def render_errors(errors: Sequence[LoadError], rel: RelPath) -> str:
    """Load errors as the go command prints them."""
    lines: list[str] = []
    for e in errors:
        text = e.render(rel)
        if e.package and "use of internal package" in e.message:
            text = f"package {e.package}\n\t{text}"
        lines.append(text)
    return "\n".join(lines)


def _go_sum(module: Module | None) -> dict[tuple[str, str], str]:
    if module is None:
        return {}
    sums: dict[tuple[str, str], str] = {}
    try:
        text = (module.dir / "go.sum").read_text(errors="replace")
    except OSError:
        return sums
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and not parts[1].endswith("/go.mod"):
            sums[(parts[0], parts[1])] = parts[2]
    return sums


def _module_inputs(module: Module | None, flags: BuildFlags) -> dict[str, bytes]:
    """The main module's files that go list's answer depends on, by content."""
    inputs: dict[str, bytes] = {}
    if module is None:
        return inputs
    for name in ("go.mod", "go.sum"):
        try:
            inputs[name] = (module.dir / name).read_bytes()
        except OSError:
            inputs[name] = b"<absent>"
    if flags.modfile:
        inputs["modfile"] = module.gomod_digest
    try:
        inputs["vendor/modules.txt"] = (module.dir / "vendor" / "modules.txt").read_bytes()
    except OSError:
        pass
    return inputs


def load_program(req: LoadRequest, *, runner: Runner, store: Cache,
                 tmpdir: Callable[[], Path]) -> Program | LoadProblem:
    """Loads what `req.invocation` names: the main-module packages natively, everything else from
    one (cached) `go list -export -deps`. `tmpdir` gives go list's GOTMPDIR."""
    tc, flags, cwd = req.toolchain, req.invocation.flags, req.cwd
    bad = unsupported(flags)
    if req.link and whole_graph(req):     # -pgo=file: profile-guided optimization of the whole graph
        bad = tuple(name for name in bad if name != "pgo")
    if not req.link:
        bad = tuple(name for name in bad if name in CHECK_NEEDS_GO)
    if bad:
        return LoadProblem("", go_command=f"the flag -{bad[0]}")
    ctx = build_context(tc, flags, req.env.get("CGO_ENABLED") or None)
    if flags.race and not ctx.cgo_enabled:
        return LoadProblem("go: -race requires cgo; enable cgo by setting CGO_ENABLED=1", "usage")
    overlays = dict(req.overlays)
    hidden: list[Path] = []
    overlay_files: list[Path] = []
    if flags.overlay:
        try:
            replaced, overlay_files = read_overlay(cwd, flags.overlay)
        except OverlayError as e:
            return LoadProblem(str(e), "usage")
        for real, repl in replaced.items():
            if repl is None:
                hidden.append(real)
                continue
            try:
                overlays[real] = repl.read_bytes()
            except OSError as e:
                return LoadProblem(f"open {repl}: {(e.strerror or str(e)).lower()}")
    loader = Loader(cwd, ctx, ctx.go_minor, req.env, modfile=flags.modfile, overlays=overlays,
                    summary_cache=SummaryCache(store), hidden=hidden, tolerant=not req.link)
    for f in overlay_files:
        loader.watch_file(f)
    got = _load_with(loader, req, ctx, overlays, hidden, runner=runner, store=store, tmpdir=tmpdir)
    if isinstance(got, LoadProblem) and not got.go_command:
        return replace(got, watched=tuple(loader.watch.values()))
    return got


def _target(loader: Loader, req: LoadRequest) -> tuple[Module | None, LocalPackage] | LoadProblem:
    """The main module (its go line checked against the toolchain) and the package to build."""
    inv = req.invocation
    try:
        module = loader.main_module()
        if module is not None:
            msg = check_go_version(req.toolchain, module.go_version, "go.mod")
            if msg:
                return LoadProblem(msg)
        if not inv.files and inv.package is None:
            return LoadProblem("go: no go files listed", "usage")
        return module, loader.resolve_target(Target(inv.files, inv.package), module)
    except NotNative as e:
        return LoadProblem("", go_command=str(e))
    except LoadFailure as e:
        return LoadProblem(str(e))


def _needs_go_command(req: LoadRequest, module: Module | None, main: LocalPackage, overlays: dict[Path, bytes],
                      hidden: list[Path], rel: RelPath) -> LoadProblem | None:
    """Why the go command must build this (a profile to link with, an overlay outside the main
    module's Go files); None when nothing says so."""
    flags = req.invocation.flags
    if req.link and not whole_graph(req) and flags.pgo in (None, "auto") and (main.dir / "default.pgo").is_file():
        return LoadProblem("", go_command=f"profile-guided optimization with {rel(main.dir / 'default.pgo')}")
    if flags.overlay:
        for real in [*overlays, *hidden]:
            if real.suffix != ".go" or module is None or not real.is_relative_to(module.dir) \
                    or "vendor" in real.relative_to(module.dir).parts:
                return LoadProblem("", go_command=f"-overlay of {real}, which is not a Go file of the main module")
    return None


def _cgo_setup(req: LoadRequest, ctx: BuildContext, local: list[LocalPackage], main: LocalPackage,
               overlays: dict[Path, bytes], runner: Runner, ext_imports: set[str]) -> CgoSetup | LoadProblem | None:
    """The cgo stage's setup of the packages that use cgo (None when none does); their implicit
    imports join ext_imports."""
    if not any(p.uses_cgo for p in local):      # the cgo stage loads only when a package uses cgo
        return None
    from rungo.load.cgoflags import implicit_imports
    from rungo.load.cgoload import CgoLoadError, load_cgo
    from rungo.load.cgosecurity import Unsupported

    tc = req.toolchain
    got = load_cgo(local, ctx=ctx, goenv=tc.env, goroot=tc.goroot, env=req.env, runner=runner,
                   overlays=overlays, trimpath=req.invocation.flags.trimpath)
    if isinstance(got, Unsupported):
        return LoadProblem("", package=main, go_command=got.reason)
    if isinstance(got, CgoLoadError):
        return LoadProblem(got.text.rstrip("\n"), package=main)
    if got is not None:
        for p in local:
            if p.import_path in got.packages:
                ext_imports.update(i for i in implicit_imports(p.import_path, False) if i != "unsafe")
    return got


def _graph_cgo(req: LoadRequest, ctx: BuildContext, graph: Sequence[LocalPackage], cgo: CgoSetup | None,
               runner: Runner) -> CgoSetup | NotInGraph | None:
    """The cgo setup with the graph's own cgo packages (net, os/user, runtime/cgo, a module's)
    joined to the main module's; NotInGraph when one of them is not built natively."""
    users = [p for p in graph if p.uses_cgo]
    if not users:
        return cgo
    from rungo.load.cgoflags import extld_flag
    from rungo.load.cgoload import CgoLoadError, CgoSetup, load_cgo
    from rungo.load.cgosecurity import Unsupported

    tc = req.toolchain
    got = load_cgo(users, ctx=ctx, goenv=tc.env, goroot=tc.goroot, env=req.env, runner=runner, overlays={},
                   trimpath=req.invocation.flags.trimpath)
    if isinstance(got, Unsupported):
        return NotInGraph(got.reason)
    if isinstance(got, CgoLoadError):
        return NotInGraph(got.text.rstrip("\n"))
    if got is None or cgo is None:
        return got
    uses_cxx = cgo.uses_cxx or got.uses_cxx
    extld = extld_flag(cgo.env, uses_cxx)
    if isinstance(extld, Unsupported):
        return NotInGraph(extld.reason)
    return CgoSetup(cgo.env, cgo.rules, {**got.packages, **cgo.packages}, uses_cxx, extld)


def _watched(loader: Loader, snap: Snapshot, req: LoadRequest, cgo: CgoSetup | None) -> tuple[Watched, ...]:
    """Everything the load read, whose stat stamps say whether it still holds: the files and
    directories the loader and `go list` read, the tools, the go env file."""
    tc = req.toolchain
    watched = dict((w.path, w) for w in loader.watch.values())
    for w in snap.watched:
        watched[w.path] = w
    tools = [tc.go, tc.tool("compile"), tc.tool("link")]
    if cgo is not None:
        tools.append(tc.tool("cgo"))
        from rungo.load.cgoload import cgo_executables

        tools += [Path(exe) for exe in cgo_executables(cgo, req.env)]
    for tool in tools:
        watched[str(tool)] = Watched(str(tool), stamp(tool))
    cfg_file = goenv_file(req.env)
    if cfg_file is not None:
        watched[str(cfg_file)] = Watched(str(cfg_file), stamp(cfg_file))
    return tuple(watched.values())


def _beside_or_fail(errors: list[LoadError], tolerant: bool, beside: list[LoadError], main: LocalPackage,
                    local: list[LocalPackage], broken: dict[str, set[str]],
                    rel: RelPath) -> tuple[LocalPackage, list[LocalPackage]] | LoadProblem:
    """Load errors: a check (tolerant) keeps them beside and goes on without what they are about
    (the packages as they are then); a build fails with them."""
    if errors and tolerant:
        beside += errors
        return _without_broken(main, local, broken)
    if errors:
        return LoadProblem(render_errors(errors, rel), errors=tuple(errors), package=main)
    return main, local


def _external_errors(local: Sequence[LocalPackage], snap: Snapshot, ext_imports: Collection[str],
                     broken: dict[str, set[str]]) -> list[LoadError]:
    """The errors of the external packages the local ones import, each at its import (and the
    importing package marked broken by it)."""
    out: list[LoadError] = []
    for p in local:
        for imp in p.imports:
            ep = snap.packages.get(imp)
            if ep is not None and ep.error and imp in ext_imports:
                out.append(LoadError(ep.error, *import_position(p, imp)))
                broken.setdefault(p.import_path, set()).add(imp)
    return out


def _externals(req: LoadRequest, ctx: BuildContext, module: Module | None, ext_imports: Collection[str],
               roots: Sequence[str], cgo: CgoSetup | None, link: bool, *, runner: Runner, store: Cache,
               tmpdir: Callable[[], Path]
               ) -> tuple[Snapshot, tuple[LocalPackage, ...], str, CgoSetup | None] | LoadProblem:
    """The external packages: go list's snapshot, and, for the whole graph (RUNGO_GRAPH=native),
    those rungo compiles itself with the cgo setup that covers them, or why it does not."""
    tc, flags, cwd = req.toolchain, req.invocation.flags, req.cwd
    tolerant = not req.link

    whole = link and whole_graph(req)

    def external(build: bool) -> Snapshot:
        return load_external(
            runner=runner,
            store=store,
            go=str(tc.go),
            goenv=tc.env,
            list_flags=list_flags(flags),
            cwd=cwd,
            module_dir=module.dir if module is not None else None,
            inputs=_module_inputs(module, flags),
            imports=ext_imports,
            always=roots,
            force=flags.a,
            tmpdir=tmpdir,
            goflags=" ".join(check_flags(req.env.get("GOFLAGS", tc.env.get("GOFLAGS", "")).split())) if tolerant else None,
            build=build,
            digests=whole,
            own_cache=req.env.get("GOCACHEPROG", ""),
        )

    compiled_graph: tuple[LocalPackage, ...] = ()
    fallback = ""
    try:
        snap = external((req.build_externals or req.link) and not whole)
        if whole:
            got_graph = graph_packages([*ext_imports, *roots], snap.packages)
            if not isinstance(got_graph, NotInGraph):
                with_cgo = _graph_cgo(req, ctx, got_graph, cgo, runner)
                if isinstance(with_cgo, NotInGraph):
                    got_graph = with_cgo
                else:
                    cgo = with_cgo
            if isinstance(got_graph, NotInGraph):
                fallback = got_graph.reason
                snap = external(True)
            else:
                compiled_graph = got_graph
    except ExternalLoadError as e:
        return LoadProblem(e.args[0])
    return snap, compiled_graph, fallback, cgo


def _load_with(loader: Loader, req: LoadRequest, ctx: BuildContext, overlays: dict[Path, bytes],
               hidden: list[Path], *, runner: Runner, store: Cache,
               tmpdir: Callable[[], Path]) -> Program | LoadProblem:
    """load_program once the loader exists (its `watch` then holds what the load read, even when it fails)."""
    tc, flags, cwd = req.toolchain, req.invocation.flags, req.cwd
    rel = RelPath(cwd)
    target = _target(loader, req)
    if isinstance(target, LoadProblem):
        return target
    module, main = target
    problem = _needs_go_command(req, module, main, overlays, hidden, rel)
    if problem is not None:
        return problem
    # A check shows the load errors an editor can place beside the compiler's errors of the rest of
    # the package: it compiles the package without the imports (and packages) they are about.
    tolerant = not req.link
    if main.errors and not (tolerant and main.files and all(e.anchor is not None for e in main.errors)):
        return LoadProblem(render_errors(main.errors, rel), errors=main.errors, package=main)
    beside = list(main.errors)
    broken: dict[str, set[str]] = {}
    importers: dict[str, LocalPackage] = {}
    if main.name != "main" and req.require_main:
        return LoadProblem(f"package {main.import_path} is not a main package", package=main)
    link = req.link and main.name == "main"
    try:
        local, ext_imports, errors = loader.load_graph(main, module, broken, importers)
    except LoadFailure as e:
        return LoadProblem(str(e), package=main)
    checked, graph = main, list(local)
    for p in local:
        if p.errors and p is not main:
            errors.extend(_as_imported(p, importers, e) for e in p.errors)
            broken.setdefault(p.import_path, set())
        foreign = [f for f in p.other_files if f.suffix not in NATIVE_EXTS]
        if foreign and not p.uses_cgo:
            what = "non-Go files (" + ", ".join(f.name for f in foreign) + ")"
            return LoadProblem("", package=main, go_command=f"package {p.import_path} uses {what}")
    kept = _beside_or_fail(errors, tolerant, beside, main, local, broken, rel)
    if isinstance(kept, LoadProblem):
        return kept
    main, local = kept
    cgo = _cgo_setup(req, ctx, local, main, overlays, runner, ext_imports)
    if isinstance(cgo, LoadProblem):
        return cgo

    main_paths = (module.path,) if module is not None else ()
    try:
        roots = linker_deps(goos=tc.goos, goarch=tc.goarch, cgo_enabled=ctx.cgo_enabled, race=flags.race,
                            msan=False, asan=False,
                            main_ldflags=package_flags(flags.ldflags, main, cwd, main_paths)) if link else ["runtime"]
    except LinkDepsError as e:
        return LoadProblem(str(e), "usage")
    got_ext = _externals(req, ctx, module, ext_imports, roots, cgo, link, runner=runner, store=store, tmpdir=tmpdir)
    if isinstance(got_ext, LoadProblem):
        return got_ext
    snap, compiled_graph, fallback, cgo = got_ext
    profile = pgo_profile(flags.pgo, main, cwd) if link else None
    if profile is not None:
        if not compiled_graph:        # it optimizes every package: the go command's unless rungo builds them all
            return LoadProblem("", go_command=f"profile-guided optimization with {rel(profile)}"
                               + (f" ({fallback})" if fallback else ""))
        loader.watch_file(profile)
    kept = _beside_or_fail(_external_errors(local, snap, ext_imports, broken), tolerant, beside, main, local,
                           broken, rel)
    if isinstance(kept, LoadProblem):
        return kept
    main, local = kept

    godebug = default_godebug(tc.goroot, module.go_version if module is not None else f"1.{ctx.go_minor}",
                              module.godebug if module is not None else (), [f"{d.key}={d.value}" for d in main.go_debug])
    return Program(
        module=module,
        main=main,
        local=tuple(local),
        external=snap.packages,
        context=ctx,
        link=link,
        link_roots=tuple(roots),
        godebug=godebug,
        go_sum=_go_sum(module),
        overlays=overlays,
        watched=_watched(loader, snap, req, cgo),
        cgo=cgo,
        load_errors=tuple(replace(e, beside=True) for e in [*beside, *_at_imports(checked, main, graph, beside, rel)]),
        externals_built=snap.built,
        graph=compiled_graph,
        graph_fallback=fallback,
        pgo=profile,
    )


def pgo_profile(pgo: str | None, main: LocalPackage, cwd: Path) -> Path | None:
    """The profile of -pgo (cmd/go's setPGOProfilePath): none for -pgo=off, the main package's
    default.pgo when there is one for -pgo=auto (the default), else the named file."""
    if pgo in ("off", ""):
        return None
    if pgo is None or pgo == "auto":
        file = main.dir / "default.pgo"
        return file if file.exists() else None
    return Path(os.path.abspath(cwd / pgo))


def _as_imported(pkg: LocalPackage, importers: Mapping[str, LocalPackage], e: LoadError) -> LoadError:
    """An imported package's load error as the go command shows it: at the import when it has no
    position of its own; a check of its inputs (`package P: …`) under the import stack instead."""
    if e.file is not None or pkg.import_path not in importers:
        return e
    prefix = f"package {pkg.import_path}: "
    if e.message.startswith(prefix):
        stack = [pkg.import_path]
        while stack[-1] in importers and len(stack) <= len(importers):
            stack.append(importers[stack[-1]].import_path)
        text = "package " + "\n\timports ".join(reversed(stack)) + ": " + e.message[len(prefix):]
        f, line, col = import_position(importers[stack[-2]], stack[-2])
        return replace(e, message=text, anchor=e.anchor or (Anchor(f, line, col, text) if f is not None else None))
    f, line, col = import_position(importers[pkg.import_path], pkg.import_path)
    return replace(e, file=f, line=line, column=col) if f is not None else e


def _at_imports(checked: LocalPackage, compiled: LocalPackage, graph: Sequence[LocalPackage],
                errors: Sequence[LoadError], rel: RelPath) -> list[LoadError]:
    """For each import a check left out because the package it names (or one below it) has load
    errors of its own: those errors as the go command prints them, shown at that import too."""
    by_path = {p.import_path: p for p in graph}
    out: list[LoadError] = []
    for imp in checked.imports:
        if imp in compiled.imports or imp not in by_path:
            continue
        dirs: set[Path] = set()
        todo = [imp]
        while todo:
            ip = todo.pop()
            if ip in by_path and by_path[ip].dir not in dirs and ip != checked.import_path:
                dirs.add(by_path[ip].dir)
                todo.extend(by_path[ip].imports)
        below = [e for e in errors if (e.file or (e.anchor.file if e.anchor else Path())).parent in dirs]
        f, line, col = import_position(checked, imp)
        if below and f is not None:
            text = render_errors(below, rel)
            out.append(LoadError(text, anchor=Anchor(f, line, col, text)))
    return out


def _without_broken(main: LocalPackage, local: list[LocalPackage],
                    broken: Mapping[str, Collection[str]]) -> tuple[LocalPackage, list[LocalPackage]]:
    """The package a check compiles beside its load errors, and the local packages it still needs:
    without the imports its errors are about, nor those of packages that have errors of their own
    or import one that has (`broken` holds, per package, the imports its errors are about)."""
    bad = {ip for ip in broken if ip != main.import_path}
    grew = True
    while grew:
        grew = False
        for p in local:
            if p is not main and p.import_path not in bad and any(i in bad for i in p.imports):
                bad.add(p.import_path)
                grew = True
    drop = set(broken.get(main.import_path, ())) | bad
    main = replace(main, imports=tuple(i for i in main.imports if i not in drop))
    by_path = {p.import_path: p for p in local}
    needed: set[str] = set()
    todo = [i for i in main.imports if i in by_path]
    while todo:
        ip = todo.pop()
        if ip not in needed:
            needed.add(ip)
            todo.extend(i for i in by_path[ip].imports if i in by_path)
    return main, [*(p for p in local if p.import_path in needed and p.import_path != main.import_path), main]
