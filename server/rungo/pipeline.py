"""`go run`'s orchestration: load, plan the compiles and the link, execute them against the cache.

The command line and the language server both call `prepare`; neither prints from here.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, TextIO

from rungo.work.buildinfo import ModuleInfo, build_info_text, default_godebug, modinfo_line
from rungo.work.execute import BuildOutcome, Builder, WorkDir
from rungo.work.keys import TARGET_ENV, go_built_program_key, tool_id, versioned_program_key
from rungo.work.plan import LinkDepsError, executable_name_of, external_closure, linker_deps, plan_build
from rungo.cache import Cache, CacheWriteError
from rungo.config import Config
from rungo.fastpath import selecting_env
from rungo.invocation import BuildFlags, Invocation, PerPackageFlag, flags_for, unsupported
from rungo.load.constraints import BuildContext
from rungo.load.external import ExternalLoadError, load_external
from rungo.load.golist import json_stream
from rungo.load.inputs import BuildInputs, list_build_inputs
from rungo.load.summaries import SummaryCache
from rungo.load.loader import CMDLINE_PATH, Loader, LoadFailure, NotNative, Target, lang_for
from rungo.load.model import LoadError, LocalPackage, Module, RelPath, Watched
from rungo.load.stamps import package_dir_stamp, stamp
from rungo.process import Runner
from rungo.run.execute import find_exec_cmd
from rungo.toolchain import Toolchain, check_go_version, goenv_file


class RunError(Exception):
    """The run cannot go ahead; the text is what to print (go's wording), the stage says where.

    `errors` holds the load errors with their positions and `outcome` the failed build, when known.
    """

    def __init__(self, text: str, stage: str = "load", *, errors: tuple[LoadError, ...] = (),
                 outcome: BuildOutcome | None = None, package: LocalPackage | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.stage = stage
        self.errors = errors
        self.outcome = outcome
        self.package = package


class NeedsGoBuild(Exception):
    """The native pipeline does not build this program; `go build` does. `reason` says what it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Prepared:
    """A built program, ready to execute."""

    binary: Path | None                # None when nothing was linked (a check, or not package main)
    exec_argv: tuple[str, ...]         # the argv prefix (with -exec) before the program's arguments
    temporary: bool                    # the binary is inside the work dir
    watched: tuple[Watched, ...]       # inputs whose stats decide whether this build still holds
    outcome: BuildOutcome
    main: LocalPackage | None          # None when the go command built it
    messages: str = ""                 # what the go command printed while building (e.g. under -x)
    inputs_since_ns: int = 0           # when the inputs were read, if before the build finished (0: now)


@dataclass(slots=True)
class Session:
    """One run's context: configuration, toolchain, runner, cache and work directory."""

    config: Config
    toolchain: Toolchain
    runner: Runner
    store: Cache
    work: WorkDir
    verbose: TextIO | None = None
    overlays: dict[Path, bytes] = field(default_factory=dict)   # unsaved contents by file


def go_tmpdir(session: Session) -> Path:
    """GOTMPDIR for the go commands rungo starts: inside rungo's own work directory, so that their
    go-build* directories go with it (also when a killed run's work directory is removed later)."""
    d = session.work.path / "gotmp"
    d.mkdir(exist_ok=True)
    return d


def parallelism(flags: BuildFlags) -> int:
    return flags.p if flags.p else (os.cpu_count() or 1)


def build_context(tc: Toolchain, flags: BuildFlags, env_cgo: str | None) -> BuildContext:
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
        last = tc.release_tags[-1]
        try:
            minor = int(last.split(".")[1])
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
        out.append("-gcflags=" + _flag_text(f))
    if flags.p:
        out.append(f"-p={flags.p}")
    return out


def _flag_text(f: PerPackageFlag) -> str:
    args = " ".join(_quote_arg(a) for a in f.args)
    return f"{f.pattern}={args}" if f.pattern is not None else args


def _quote_arg(a: str) -> str:
    if a == "" or any(c in a for c in " \t\n'\""):
        return "'" + a.replace("'", "'\\''") + "'" if "'" not in a else '"' + a + '"'
    return a


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


def _settings(tc: Toolchain, config: Config, flags: BuildFlags, cgo: bool, godebug: str) -> list[tuple[str, str]]:
    s: list[tuple[str, str]] = [("-buildmode", "exe"), ("-compiler", "gc")]
    if flags.gcflags:
        s.append(("-gcflags", _flag_text(flags.gcflags[-1])))
    if flags.ldflags and not flags.trimpath:
        s.append(("-ldflags", _flag_text(flags.ldflags[-1])))
    if flags.race:
        s.append(("-race", "true"))
    if flags.tags:
        s.append(("-tags", ",".join(flags.tags)))
    if flags.trimpath:
        s.append(("-trimpath", "true"))
    if godebug:
        s.append(("DefaultGODEBUG", godebug))
    s.append(("CGO_ENABLED", "1" if cgo else "0"))
    if cgo and not flags.trimpath:
        for name in ("CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_LDFLAGS"):
            s.append((name, config.env.get(name, "")))
    s.append(("GOARCH", tc.goarch))
    if config.env.get("GOEXPERIMENT"):
        s.append(("GOEXPERIMENT", config.env["GOEXPERIMENT"]))
    s.append(("GOOS", tc.goos))
    arch_env = {"amd64": "GOAMD64", "arm": "GOARM", "arm64": "GOARM64", "386": "GO386",
                "mips": "GOMIPS", "mipsle": "GOMIPS", "mips64": "GOMIPS64", "mips64le": "GOMIPS64",
                "ppc64": "GOPPC64", "ppc64le": "GOPPC64", "riscv64": "GORISCV64", "wasm": "GOWASM"}
    key = arch_env.get(tc.goarch)
    if key and tc.env.get(key):
        s.append((key, tc.env[key]))
    return s


def _render_errors(errors: list[LoadError], rel: RelPath) -> str:
    lines: list[str] = []
    for e in errors:
        text = e.render(rel)
        if e.package and "use of internal package" in e.message:
            text = f"package {e.package}\n\t{text}"
        lines.append(text)
    return "\n".join(lines)


def prepare(session: Session, inv: Invocation, *, link: bool = True, require_main: bool = True) -> Prepared:
    """Load, compile and link the program `inv` names. Raises RunError with go's wording on failure."""
    tc, config, flags = session.toolchain, session.config, inv.flags
    bad = unsupported(flags)
    if bad:
        raise NeedsGoBuild(f"the flag -{bad[0]}")
    env_cgo = config.env.get("CGO_ENABLED") or None
    ctx = build_context(tc, flags, env_cgo)
    if flags.race and not ctx.cgo_enabled:
        raise RunError("go: -race requires cgo; enable cgo by setting CGO_ENABLED=1", "usage")
    hidden: list[Path] = []
    overlay_files: list[Path] = []
    if flags.overlay:
        replaced, overlay_files = read_overlay(config.cwd, flags.overlay)
        for real, repl in replaced.items():
            if repl is None:
                hidden.append(real)
            else:
                try:
                    session.overlays[real] = repl.read_bytes()
                except OSError as e:
                    raise RunError(f"open {repl}: {(e.strerror or str(e)).lower()}") from None
    loader = Loader(config.cwd, ctx, ctx.go_minor, config.env, modfile=flags.modfile, overlays=session.overlays,
                    summary_cache=SummaryCache(session.store),
                    hidden=hidden)
    for f in overlay_files:
        loader.watch_file(f)
    rel = RelPath(config.cwd)
    try:
        module = loader.main_module()
        if module is not None:
            msg = check_go_version(tc, module.go_version, "go.mod")
            if msg:
                raise RunError(msg)
        if not inv.files and inv.package is None:
            raise RunError("go: no go files listed", "usage")
        main = loader.resolve_target(Target(inv.files, inv.package), module)
    except NotNative as e:
        raise NeedsGoBuild(str(e)) from None
    except LoadFailure as e:
        raise RunError(str(e)) from None
    if flags.pgo in (None, "auto") and (main.dir / "default.pgo").is_file():
        raise NeedsGoBuild(f"profile-guided optimization with {rel(main.dir / 'default.pgo')}")
    if flags.overlay:
        for real in [*session.overlays, *hidden]:
            if real.suffix != ".go" or module is None or not real.is_relative_to(module.dir) \
                    or "vendor" in real.relative_to(module.dir).parts:
                raise NeedsGoBuild(f"-overlay of {real}, which is not a Go file of the main module")
    if main.errors:
        raise RunError(_render_errors(list(main.errors), rel), errors=main.errors, package=main)
    if main.name != "main" and require_main:
        raise RunError(f"package {main.import_path} is not a main package", package=main)
    link = link and main.name == "main"
    try:
        local, ext_imports, errors = loader.load_graph(main, module)
    except LoadFailure as e:
        raise RunError(str(e), package=main) from None
    for p in local:
        if p.errors and p is not main:
            errors.extend(p.errors)
        foreign = [f for f in p.other_files if f.suffix not in _NATIVE_EXTS]
        if foreign or p.uses_cgo:
            what = "cgo" if p.uses_cgo else "non-Go files (" + ", ".join(f.name for f in foreign) + ")"
            raise NeedsGoBuild(f"package {p.import_path} uses {what}")
    if errors:
        raise RunError(_render_errors(errors, rel), errors=tuple(errors), package=main)

    main_paths = (module.path,) if module is not None else ()
    main_ldflags = flags_for(flags.ldflags, main.import_path, True, dir_of_pkg=str(main.dir),
                             cwd=str(config.cwd), main_module_paths=main_paths,
                             module_path=main.module.path if main.module else None)
    try:
        link_roots = linker_deps(goos=tc.goos, goarch=tc.goarch, cgo_enabled=ctx.cgo_enabled, race=flags.race,
                                 msan=False, asan=False, main_ldflags=main_ldflags) if link else ["runtime"]
    except LinkDepsError as e:
        raise RunError(str(e), "usage") from None
    inputs: dict[str, bytes] = {}
    if module is not None:
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
    try:
        snap = load_external(
            runner=session.runner,
            store=session.store,
            go=str(tc.go),
            goenv=tc.env,
            list_flags=list_flags(flags),
            cwd=config.cwd,
            module_dir=module.dir if module is not None else None,
            inputs=inputs,
            imports=ext_imports,
            always=link_roots,
            force=flags.a,
            tmpdir=lambda: go_tmpdir(session),
        )
    except ExternalLoadError as e:
        raise RunError(e.args[0]) from None
    external = snap.packages
    ext_errors: list[LoadError] = []
    for p in local:
        for imp in p.imports:
            ep = external.get(imp)
            if ep is not None and ep.error and imp in ext_imports:
                pos = _import_position(p, imp)
                ext_errors.append(LoadError(ep.error, *pos))
    if ext_errors:
        raise RunError(_render_errors(ext_errors, rel), errors=tuple(ext_errors), package=main)

    lang = lang_for(module, ctx.go_minor)
    directives = [f"{d.key}={d.value}" for d in main.go_debug]
    godebug = default_godebug(
        tc.goroot,
        module.go_version if module is not None else f"1.{ctx.go_minor}",
        module.godebug if module is not None else (),
        directives,
    )
    sums = _go_sum(module)
    dep_modules: dict[tuple[str, str], ModuleInfo] = {}
    for path in external_closure([i for p in local for i in p.imports if i not in {q.import_path for q in local}], external):
        ep = external[path]
        if ep.standard or not ep.module_path or (module is not None and ep.module_path == module.path):
            continue
        version = ep.module_version or "(devel)"
        rep = None
        if ep.replace_path:
            rv = ep.replace_version or "(devel)"
            rep = ModuleInfo(ep.replace_path, rv, sums.get((ep.replace_path, rv), "") if ep.replace_version else "")
        dep_modules[(ep.module_path, version)] = ModuleInfo(
            ep.module_path, version, "" if rep else sums.get((ep.module_path, version), ""), rep)
    info = build_info_text(
        CMDLINE_PATH if main.import_path == CMDLINE_PATH else main.import_path,
        ModuleInfo(module.path, "(devel)") if module is not None else None,
        [dep_modules[k] for k in sorted(dep_modules)],
        _settings(tc, config, flags, ctx.cgo_enabled, godebug),
    )


    def compile_args(pkg: LocalPackage) -> tuple[str, ...]:
        args = ["-p", "main" if pkg.is_main else pkg.import_path]
        # Named files (command-line-arguments) compile at the toolchain's language version, as in go run.
        toolchain_lang = pkg.import_path == CMDLINE_PATH or (module is not None and pkg.module is None)
        pkg_lang = f"go1.{ctx.go_minor}" if toolchain_lang else lang
        args.append("-lang=" + pkg_lang)
        if not any(f.suffix in (".s", ".syso") for f in pkg.other_files):
            args.append("-complete")
        if flags.race:
            args += ["-installsuffix", "race"]
        if pkg is main:
            args.append("-dwarf=false")
        if flags.race:
            args.append("-race")
        args += flags_for(flags.gcflags, pkg.import_path, pkg.cmdline, dir_of_pkg=str(pkg.dir),
                          cwd=str(config.cwd), main_module_paths=main_paths,
                          module_path=pkg.module.path if pkg.module else None)
        args.append("-e")
        return tuple(args)

    asm_defines = _asm_defines(tc)

    def native(pkg: LocalPackage) -> tuple[tuple[str, ...], tuple[Path, ...], tuple[Path, ...], tuple[Path, ...]]:
        sfiles = tuple(f for f in pkg.other_files if f.suffix == ".s")
        objects = tuple(f for f in pkg.other_files if f.suffix == ".syso")
        if not sfiles:
            return (), (), (), objects
        headers = tuple(f for f in pkg.other_files if f.suffix == ".h")
        user = flags_for(flags.asmflags, pkg.import_path, pkg.cmdline, dir_of_pkg=str(pkg.dir),
                         cwd=str(config.cwd), main_module_paths=main_paths,
                         module_path=pkg.module.path if pkg.module else None)
        args = ("-I", str(tc.goroot / "pkg" / "include"), *asm_defines, *user)
        return args, sfiles, headers, objects

    def trimpath(pkg: LocalPackage) -> str:
        if not flags.trimpath:
            return ""
        if pkg.module is not None:
            return f"{pkg.module.dir}=>{pkg.module.path}"
        return f"{pkg.dir}=>"

    link_args: list[str] = []
    if flags.race:
        link_args += ["-installsuffix", "race"]
    link_args += ["-s", "-w"]
    if godebug:
        link_args.append("-X=runtime.godebugDefault=" + godebug)
    link_args.append("-buildmode=exe")
    if flags.race:
        link_args.append("-race")
    link_args += main_ldflags
    if not any(a == "-extld" or a.startswith("-extld=") for a in main_ldflags):
        link_args.append("-extld=" + (tc.env.get("CC") or "gcc"))
    plan = plan_build(
        local=local,
        main=main,
        external=external,
        compile_args=compile_args,
        trimpath=trimpath,
        link_args=tuple(link_args),
        link_env=(("GOROOT", "" if flags.trimpath else str(tc.goroot)),),
        modinfo=modinfo_line(info),
        link_roots=link_roots,
        link=link,
        native=native,
    )
    builder = Builder(
        runner=session.runner,
        store=session.store,
        compile_tool=tc.tool("compile"),
        link_tool=tc.tool("link"),
        asm_tool=tc.tool("asm"),
        tool_version=tc.version,
        target_env={k: tc.env.get(k, "") for k in TARGET_ENV},
        external=external,
        cwd=config.cwd,
        work=session.work,
        parallel=parallelism(flags),
        force=flags.a,
        verbose=session.verbose,
        sources=_overlay_sources(session, local),
    )
    outcome = builder.run(plan)
    if outcome.failed_stage is not None:
        raise RunError(outcome.errors.rstrip("\n"), outcome.failed_stage, outcome=outcome, package=main)
    if outcome.binary is None and link:
        raise RunError("rungo: the build produced no binary", "link", outcome=outcome, package=main)
    watched = dict((w.path, w) for w in loader.watch.values())
    for w in snap.watched:
        watched[w.path] = w
    for tool in (tc.go, tc.tool("compile"), tc.tool("link")):
        watched[str(tool)] = Watched(str(tool), stamp(tool))
    cfg_file = goenv_file(config.env)
    if cfg_file is not None:
        watched[str(cfg_file)] = Watched(str(cfg_file), stamp(cfg_file))
    if outcome.binary is not None:
        watched[str(outcome.binary)] = Watched(str(outcome.binary), stamp(outcome.binary))
    return Prepared(
        binary=outcome.binary,
        exec_argv=_exec_cmd(session, flags.exec_cmd),
        temporary=outcome.temporary,
        watched=tuple(watched.values()),
        outcome=outcome,
        main=main,
    )


# Non-Go files the native pipeline builds: Go assembly (and the headers it includes), and .syso
# objects packed as they are. Everything else (C, C++, Fortran, SWIG, preprocessed .S) needs cgo.
_NATIVE_EXTS = {".s", ".h", ".syso"}


def _asm_defines(tc: Toolchain) -> tuple[str, ...]:
    """The -D flags the go command gives asm for the target (cmd/go/internal/work/gc.go asmArgs)."""
    env = tc.env
    goarch = env.get("GOARCH", "")
    out = ["-D", "GOOS_" + env.get("GOOS", ""), "-D", "GOARCH_" + goarch]
    if goarch == "386":
        out += ["-D", "GO386_" + env.get("GO386", "sse2")]
    elif goarch == "amd64":
        out += ["-D", "GOAMD64_" + (env.get("GOAMD64") or "v1")]
    elif goarch in ("mips", "mipsle"):
        out += ["-D", "GOMIPS_" + env.get("GOMIPS", "hardfloat")]
    elif goarch in ("mips64", "mips64le"):
        out += ["-D", "GOMIPS64_" + env.get("GOMIPS64", "hardfloat")]
    elif goarch in ("ppc64", "ppc64le"):
        level = env.get("GOPPC64", "power8")
        if level == "power10":
            out += ["-D", "GOPPC64_power10"]
        if level in ("power10", "power9"):
            out += ["-D", "GOPPC64_power9"]
        out += ["-D", "GOPPC64_power8"]
    elif goarch == "riscv64":
        out += ["-D", "GORISCV64_" + env.get("GORISCV64", "rva20u64")]
    elif goarch == "arm":
        goarm = env.get("GOARM", "")
        if "7" in goarm:
            out += ["-D", "GOARM_7"]
        if "7" in goarm or "6" in goarm:
            out += ["-D", "GOARM_6"]
        out += ["-D", "GOARM_5"]
    elif goarch == "arm64" and ",lse" in env.get("GOARM64", ""):
        out += ["-D", "GOARM64_LSE"]
    return tuple(out)


def read_overlay(cwd: Path, name: str) -> tuple[dict[Path, Path | None], list[Path]]:
    """The -overlay file: {file: replacement, or None to delete it}, and the files read (to watch).
    Errors use the go command's wording."""
    import json

    path = cwd / name
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RunError(f"go: reading overlay: open {name}: {(e.strerror or str(e)).lower()}", "usage") from None
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise RunError(f"go: parsing overlay JSON: {e}", "usage") from None
    table = doc.get("Replace") if isinstance(doc, dict) else None
    if table is None:
        table = {}
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise RunError("go: parsing overlay JSON: Replace must map file names to file names", "usage")
    out: dict[Path, Path | None] = {}
    files = [path]
    for k, v in table.items():
        if not k:
            raise RunError("go: empty string key in overlay map", "usage")
        real = Path(os.path.normpath(cwd / k))
        if real in out:
            raise RunError(f"go: duplicate paths {k} and {k} in overlay map", "usage")
        if v:
            repl = Path(os.path.normpath(cwd / v))
            out[real] = repl
            files.append(repl)
        else:
            out[real] = None
    return out, files


def _exec_cmd(session: Session, exec_cmd: Sequence[str]) -> tuple[str, ...]:
    env = session.toolchain.env
    return find_exec_cmd(exec_cmd, env.get("GOOS", ""), env.get("GOARCH", ""), env.get("GOHOSTOS", ""),
                         env.get("GOHOSTARCH", ""), session.config.env.get("PATH", os.defpath))


_EXACT_VERSION = re.compile(r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+incompatible)?$")


def _program_watch(binary: Path, tc: Toolchain, config: Config) -> tuple[Watched, ...]:
    items = [binary, tc.go]
    cfg_file = goenv_file(config.env)
    if cfg_file is not None:
        items.append(cfg_file)
    return tuple(Watched(str(p), stamp(p)) for p in items)


def build_with_go(session: Session, inv: Invocation, build_args: Sequence[str], *, remember: bool = False) -> Prepared:
    """Builds the program with `go build -o <work dir>/exe/` (`go install` for pkg@version), for what
    the native pipeline does not build. With `remember`, the inputs `go list -deps` names are stamped
    (listed while go builds) and the binary goes into the cache, so an unchanged rerun can exec it;
    otherwise the binary is temporary and the caller runs it as a child."""
    tc = session.toolchain
    inputs_job: Future[BuildInputs] | None = None
    started_ns = 0
    targets: list[str] = []
    exec_argv = _exec_cmd(session, inv.flags.exec_cmd)
    exe_dir = session.work.path / "exe"
    exe_dir.mkdir(exist_ok=True)
    env_extra: dict[str, str] = {"GOTMPDIR": str(go_tmpdir(session))}
    key = None
    name = ""
    if inv.package is not None and "@" in inv.package and not inv.package.startswith(("./", "../", "/")):
        if tc.env.get("GO111MODULE") == "off" or session.config.env.get("GO111MODULE") == "off":
            raise RunError("go: modules disabled by GO111MODULE=off; see 'go help modules'", "usage")
        path, _, version = inv.package.partition("@")
        if _EXACT_VERSION.match(version) and not session.runner.dry_run and not inv.flags.a:
            name = executable_name_of(path)
            key = versioned_program_key(
                go_tool=tool_id(str(tc.go), tc.version), target_env={k: tc.env.get(k, "") for k in TARGET_ENV},
                package_at_version=inv.package, build_args=build_args, env=tc.env)
            hit = session.store.get_executable(key, name)
            if hit is not None:
                return Prepared(binary=hit[1], exec_argv=exec_argv, temporary=False,
                                watched=_program_watch(hit[1], tc, session.config),
                                outcome=BuildOutcome(hit[1], (), "", False, None), main=None)
        argv = [str(tc.go), "install", *build_args, inv.package]
        env_extra["GOBIN"] = str(exe_dir)
    else:
        pattern = inv.package or "."
        if inv.files:
            targets = list(inv.files)
        elif "..." in pattern:
            targets = [_main_package_with_go(session, pattern, build_args)]
        else:
            targets = [pattern]    # `go list` only when the build finds no main package (for go run's message)
        argv = [str(tc.go), "build", "-o", str(exe_dir) + os.sep, *build_args, *targets]
        if remember and not session.runner.dry_run:
            started_ns = time.time_ns()
            list_args = [a for a in build_args if a.lstrip("-").split("=", 1)[0] not in _LIST_QUIET]
            lister = ThreadPoolExecutor(max_workers=1)      # go list runs while go builds
            inputs_job = lister.submit(
                list_build_inputs, session.runner, str(tc.go), list_args, targets, session.config.cwd,
                tc.env, session.config.env.get("PATH", os.defpath), env_extra)
            lister.shutdown(wait=False)
    if session.runner.dry_run:
        session.runner.show(" ".join(argv))
        res = session.runner.run(argv, cwd=session.config.cwd, env_extra=env_extra, quiet=True)
    else:
        res = session.runner.run(argv, cwd=session.config.cwd, env_extra=env_extra)
    output = (res.stdout + res.stderr).decode(errors="replace")
    inputs = inputs_job.result() if inputs_job is not None else None
    if res.returncode != 0:
        if output.endswith("go: no main packages to build\n") and inv.package is not None and "@" not in argv[-1]:
            _main_package_with_go(session, inv.package, build_args)
        raise RunError(output.rstrip("\n") or f"go build exited with status {res.returncode}", "build")
    if session.runner.dry_run:
        binary = exe_dir / "a.out"
    else:
        built = sorted(p for p in exe_dir.iterdir() if p.is_file())
        if len(built) != 1:
            raise RunError(f"rungo: go build left {len(built)} files in {exe_dir}, expected one program", "build")
        binary = built[0]
        if key is not None and binary.name == name:
            try:
                _, stored = session.store.put_executable(key, binary, name)
                binary.unlink(missing_ok=True)     # the entry's ctime must not change with the work dir
                return Prepared(binary=stored, exec_argv=exec_argv, temporary=False,
                                watched=_program_watch(stored, tc, session.config),
                                outcome=BuildOutcome(stored, (), "", True, None), main=None, messages=output)
            except CacheWriteError:
                pass
    unsure, extra = _go_build_unsure(session, inv.flags)
    if inputs is not None and not inputs.unsure and not unsure:
        loose = set(inputs.package_dirs)
        watched = [Watched(p, package_dir_stamp(p) if p in loose else stamp(p)) for p in (*inputs.paths, *extra)]
        key = go_built_program_key(
            go_tool=tool_id(str(tc.go), tc.version), target_env={k: tc.env.get(k, "") for k in TARGET_ENV},
            build_args=build_args, targets=targets, cwd=str(session.config.cwd),
            env=selecting_env(dict(session.config.env)), inputs=[(w.path, w.stamp) for w in watched])
        try:
            kept = session.store.put_executable(key, binary, binary.name)[1]
        except (CacheWriteError, OSError):
            pass
        else:
            # The cache may hold it as a hard link: remove the work dir's name now, so the
            # entry's ctime (which the rerun shortcut stamps) does not change when the work dir goes.
            binary.unlink(missing_ok=True)
            return Prepared(binary=kept, exec_argv=exec_argv, temporary=False,
                            watched=(*watched, *_program_watch(kept, tc, session.config)),
                            outcome=BuildOutcome(kept, (), "", True, None), main=None, messages=output,
                            inputs_since_ns=started_ns)
    outcome = BuildOutcome(binary, (), "", True, None, temporary=True)
    return Prepared(binary=binary, exec_argv=exec_argv, temporary=True, watched=(),
                    outcome=outcome, main=None, messages=output)


def _go_build_unsure(session: Session, flags: BuildFlags) -> tuple[str, list[str]]:
    """What the flags add to the files a go-command build reads (the -overlay file and its
    replacements, -modfile and its go.sum, a -pgo profile), or why its binary cannot be remembered
    by stats at all (VCS stamping reads the repository; a -toolexec program decides anything)."""
    if flags.buildvcs == "true":
        return "-buildvcs=true stamps the repository's state", []
    if flags.toolexec:
        return "-toolexec", []
    cwd = session.config.cwd
    extra: list[str] = []
    if flags.overlay:
        try:
            _, files = read_overlay(cwd, flags.overlay)
        except RunError as e:
            return e.text, []
        extra.extend(str(f) for f in files)
    if flags.modfile:
        mf = cwd / flags.modfile
        extra += [str(mf), str(mf.with_suffix(".sum"))]
    if flags.pgo and flags.pgo not in ("auto", "off"):
        extra.append(str(cwd / flags.pgo))
    return "", extra


_LIST_QUIET = {"x", "n", "v", "work", "a"}


def _main_package_with_go(session: Session, pattern: str, build_args: Sequence[str]) -> str:
    """Resolves a package argument with `go list` as `go run` does (main packages only, exactly one)."""
    args = [a for a in build_args if a.lstrip("-").split("=", 1)[0] not in _LIST_QUIET]
    argv = [str(session.toolchain.go), "list", "-e", *args, "-json=ImportPath,Name,Error,InvalidGoFiles",
            pattern]
    res = session.runner.run(argv, cwd=session.config.cwd, quiet=True,
                             env_extra={"GOTMPDIR": str(go_tmpdir(session))})
    warnings = res.stderr.decode(errors="replace")
    if res.returncode != 0:
        raise RunError(warnings.rstrip("\n") or f"go list exited with status {res.returncode}", "load")
    rows = [(str(d.get("ImportPath", "")), str(d.get("Name", "")), _package_error(d.get("Error")),
             bool(d.get("InvalidGoFiles"))) for d in _json_stream(res.stdout.decode(errors="replace"))]
    literal = "..." not in pattern
    mains = [(ip, name, err) for ip, name, err, invalid in rows
             if name == "main" or (not name and err) or invalid or literal]
    if not mains:
        if rows:
            warnings += f'go: warning: "{pattern}" matched only non-main packages\n'
        raise RunError(warnings + f"go: no packages loaded from {pattern}", "load")
    if len(mains) > 1:
        names = "".join("\n\t" + r[0] for r in mains)
        raise RunError(warnings + f"go: pattern {pattern} matches multiple packages:{names}", "load")
    ip, name, err = mains[0]
    if err:
        raise RunError(err, "load")
    if name != "main":
        raise RunError(f"package {ip} is not a main package", "load")
    return pattern if literal else ip


def _json_stream(text: str) -> list[dict[str, Any]]:
    """The objects of a `go list -json` stream, up to the first text that is not one."""
    out: list[dict[str, Any]] = []
    try:
        for obj in json_stream(text):
            out.append(obj)
    except ValueError:
        pass
    return out


def _package_error(err: object) -> str:
    """go list's Error object, worded as the go command prints a PackageError."""
    if not isinstance(err, dict):
        return ""
    msg = str(err.get("Err", ""))
    pos = str(err.get("Pos", "") or "")
    stack = [str(s) for s in err.get("ImportStack") or []]
    if pos:
        return f"{pos}: {msg}"
    if not stack:
        return msg
    return "package " + "\n\timports ".join(stack) + ": " + msg


def _overlay_sources(session: Session, local: list[LocalPackage]) -> dict[Path, Path]:
    """Writes the unsaved content of the packages' files into the work dir, for the compiler to read."""
    sources: dict[Path, Path] = {}
    for pkg in local:
        for f in pkg.files:
            data = session.overlays.get(f.path)
            if data is None:
                continue
            alt = session.work.path / "overlay" / str(len(sources)) / f.path.name
            alt.parent.mkdir(parents=True)
            alt.write_bytes(data)
            sources[f.path] = alt
    return sources


def _import_position(pkg: LocalPackage, path: str) -> tuple[Path | None, int, int]:
    for f in pkg.files:
        for spec in f.summary.imports:
            if spec.path == path:
                return f.path, spec.spec_position.line, spec.spec_position.column
    return None, 0, 0


def now_ns() -> int:
    return time.time_ns()




@dataclass(frozen=True, slots=True)
class PackageCheck:
    """The type check of one package (and the local packages it imports) as the compiler sees it.

    `load_errors` carry positions where the go command gives one; `compile_outputs` are the
    compiler's reports per failed package, with paths relative to `cwd`; `message` is any
    other failure (a toolchain problem, a malformed go.mod...).
    """

    package: LocalPackage | None
    cwd: Path
    load_errors: tuple[LoadError, ...]
    compile_outputs: tuple[tuple[str, str], ...]   # (import path, compiler output)
    message: str


def check_package(session: Session, inv: Invocation, build_args: Sequence[str] = ()) -> PackageCheck:
    """Loads and compiles the package `inv` names (any package, main or not), linking nothing."""
    cwd = session.config.cwd
    try:
        prepared = prepare(session, inv, link=False, require_main=False)
    except NeedsGoBuild:
        return _check_with_go(session, inv, build_args)
    except RunError as e:
        if e.outcome is not None:
            outputs = tuple((c.import_path, c.output) for c in e.outcome.compiles if c.failed)
            return PackageCheck(e.package, cwd, (), outputs, "" if outputs else e.text)
        if e.errors:
            return PackageCheck(e.package, cwd, e.errors, (), "")
        return PackageCheck(e.package, cwd, (), (), e.text)
    return PackageCheck(prepared.main, cwd, (), (), "")


def _check_with_go(session: Session, inv: Invocation, build_args: Sequence[str]) -> PackageCheck:
    """The compile check through `go build -overlay` (for what the native pipeline does not build)."""
    import json

    cwd = session.config.cwd
    replace: dict[str, str] = {}
    root = session.work.path / "overlay-go"
    for i, (path, data) in enumerate(sorted(session.overlays.items())):
        alt = root / str(i) / path.name
        alt.parent.mkdir(parents=True)
        alt.write_bytes(data)
        replace[str(path)] = str(alt)
    overlay = session.work.path / "overlay.json"
    overlay.write_text(json.dumps({"Replace": replace}))
    out_dir = session.work.path / "check-out"
    out_dir.mkdir()
    targets = list(inv.files) if inv.files else [inv.package or "."]
    argv = [str(session.toolchain.go), "build", "-o", str(out_dir) + os.sep, "-overlay", str(overlay),
            *build_args, *targets]
    res = session.runner.run(argv, cwd=cwd, env_extra={"GOTMPDIR": str(go_tmpdir(session))})
    if res.returncode == 0:
        return PackageCheck(None, cwd, (), (), "")
    output = (res.stdout + res.stderr).decode(errors="replace")
    # The go command names an overlaid file by its replacement, absolute or relative to cwd.
    for real_name, alt_name in replace.items():
        rel_alt = os.path.relpath(alt_name, cwd)
        for shown in sorted({alt_name, rel_alt, "./" + rel_alt}, key=len, reverse=True):
            output = re.sub(r"(^|\s)" + re.escape(shown) + r"(?=:\d)", lambda m: m.group(1) + real_name, output,
                            flags=re.MULTILINE)
    return PackageCheck(None, cwd, (), (("", output),), "")
