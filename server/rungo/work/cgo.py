"""Building the cgo part of one package as cmd/go does: cgo, the C/C++/Fortran/assembly compiles, the dynimport link.

Interface for the engine (one package of the main module whose Go files import "C"):

    rules = cgosecurity.load_rules(goroot)          -> SecurityRules | Unsupported
    cenv = cgoflags.cgo_environment(env, goenv)     -> CgoEnvironment | Unsupported
    flags = resolve_flags(pkg, sources, ctx, cenv, rules, runner)
                                                    -> PackageFlags | CgoError | Unsupported
        #cgo directives, pkg-config, the security checks, CGO_* defaults (go/build + runCgo order)
    probes = CompilerProbes(runner, cenv, workdir, store=cache)   # one per build; memoized
    probes.identity(cenv.cc[0])                     -> str | CgoError   (gccToolID, for keys)
    key_lines(pkg, flags, cenv, probes, cgo_tool_id)-> tuple[str, ...] | CgoError
        what cmd/go's buildActionID adds for a cgo package; every input file is the caller's
    step = plan(pkg, flags, cenv, probes, objdir=..., tooldir=..., seed=..., cwd=...)
                                                    -> CgoStep  (plain data: every command line)
    outcome = execute(step, runner, rules, cwd=...) -> CgoOutcome | CgoError | Unsupported
        outcome.go_files      the compile's files, in cmd/go's order: the package's other Go
                              files, _cgo_gotypes.go, x.cgo1.go..., _cgo_import.go
        outcome.objects       `pack r` after the compile (_x001.o ..., tokens, .syso files)
        outcome.trimpath      the compile's -trimpath rule for the scratch directory
        outcome.warnings      C compiler output of successful steps (go prints it, `# pkg` first)
    pack(archive, outcome.objects, runner, pkg_dir) -> CgoError | None  (after the compile)
    implicit_imports(import_path, standard)         -> ("unsafe", "runtime/cgo", "syscall")
        added to the package's imports (unsafe needs no importcfg line)
    compile_complete(pkg)                           -> False for any cgo package (no -complete)
    extld_flag(cenv, uses_cxx)                      -> "-extld=gcc" (cmd/go's setextld)

The final link: cmd/go passes only `-extld=<CC or CXX>` (every build, cgo or not, unless the
user's -ldflags name -extld); it never passes the packages' LDFLAGS as -extldflags. They travel in
the archive: cgo writes them as `//go:cgo_ldflag` lines into _cgo_gotypes.go, the compiler records
them, and cmd/link hands them to the host linker. cmd/link itself picks external linking when an
archive of a non-standard package holds host objects (or a `preferlinkext` / `dynimportfail`
token), so the engine passes no -linkmode. `outcome.ldflags` is for keys and diagnostics.

Not done here (the go command has to build such packages): SWIG files, -overlay replacements of
cgo or C files, -cover, -msan/-asan (their -fsanitize flags), gccgo, -buildmode=c-archive/c-shared
(-exportheader), response files for over-long command lines, and the reportCmd rewrite of
`x.cgo1.go:N` positions, which concerns the Go compile's output.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Mapping, Protocol, Sequence

from rungo.cache import ActionID
from rungo.keys import c_compiler_identity_key, c_flag_probe_key
from rungo.load.stamps import stamp
from rungo.load.cgodirectives import CgoError
from rungo.load.cgoflags import CgoEnvironment, CgoPackage, PackageFlags
from rungo.load.graph import INCOMPLETE_STD
from rungo.quoting import quote as go_quote, quoted_split_or_error
from rungo.load.cgosecurity import SecurityRules, Unsupported, check_linker_flags
from rungo.process import Runner, shell_quote


# -- the C compiler -------------------------------------------------------------------------------

class ProbeStore(Protocol):
    """Where probe answers outlive the process (rungo's Cache fits)."""

    def get_bytes(self, action_id: ActionID) -> bytes | None: ...

    def put_bytes(self, action_id: ActionID, data: bytes) -> object: ...


def _look_path(name: str, env: Mapping[str, str]) -> str | None:
    if "/" in name:
        return name if os.access(name, os.X_OK) else None
    for d in env.get("PATH", "").split(os.pathsep):
        cand = os.path.join(d or ".", name)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


_PROBE_FAILURE_WORDS: Final = (b"unrecognized", b"unknown", b"unrecognised", b"is not supported",
                               b"not recognized", b"unsupported")


@dataclass(slots=True)
class CompilerProbes:
    """cmd/go's gccSupportsFlag and gccToolID, memoized per compiler identity (and in `store`).

    One object per build; `workdir` is where probes run (cmd/go's $WORK).
    """

    runner: Runner
    env: CgoEnvironment
    workdir: Path
    store: ProbeStore | None = None
    _ids: dict[tuple[str, str], str | CgoError] = field(default_factory=dict)
    _flags: dict[tuple[str, tuple[str, ...], str], bool] = field(default_factory=dict)

    def identity(self, name: str, language: str = "c") -> str | CgoError:
        """gccToolID(name, language): the version line of `name -### -x language -c -`.

        A development compiler (a version line with "experimental") is named by the content hash
        of the compiler proper instead of Go's build-ID read. Cached by the executable's stat.
        """
        memo = self._ids.get((name, language))
        if memo is not None:
            return memo
        exe = _look_path(name, self.runner.env)
        key: ActionID | None = None
        if exe is not None and self.store is not None:
            key = c_compiler_identity_key(exe=exe, exe_stat=stamp(exe), language=language)
            hit = self.store.get_bytes(key)
            if hit is not None:
                got = hit.decode("utf-8", "surrogateescape")
                self._ids[(name, language)] = got
                return got
        res = self.runner.run([name, "-###", "-x", language, "-c", "-"], env_extra={"LC_ALL": "C"}, quiet=True)
        out = res.stdout + res.stderr
        text = out.decode("utf-8", "surrogateescape")
        result: str | CgoError
        if res.returncode != 0:
            result = CgoError("action", f"{name}: exit status {res.returncode}; output: {text!r}")
        else:
            result = _tool_id(name, text, self.runner.env)
        if isinstance(result, str) and key is not None and self.store is not None:
            try:
                self.store.put_bytes(key, result.encode("utf-8", "surrogateescape"))
            except OSError:
                pass
        self._ids[(name, language)] = result
        return result

    def supports(self, compiler: Sequence[str], flag: str) -> bool:
        """gccSupportsFlag(compiler, flag): the probe compiles empty C from stdin with the flag
        (`-Wl,` flags are linked) plus $CGO_CFLAGS/$CGO_LDFLAGS; it passes unless the output says
        "unrecognized", "unknown", ... Under -n, go prints the probe and answers false."""
        if flag.startswith("-Wl,"):
            args = [*compiler, flag, *self.env.ldflags]
        else:
            args = [*compiler, flag, *self.env.cflags, "-c"]
        args += ["-x", "c", "-", "-o", os.devnull]
        if self.runner.dry_run:
            self.runner.show(shell_quote(args) + " || true")
            return False
        ident = self.identity(compiler[0], "c")
        id_text = ident if isinstance(ident, str) else ""
        memo_key = (id_text or compiler[0], tuple(args), flag)
        if memo_key in self._flags:
            return self._flags[memo_key]
        key: ActionID | None = None
        if id_text and self.store is not None:
            key = c_flag_probe_key(compiler_identity=id_text, argv=args)
            hit = self.store.get_bytes(key)
            if hit in (b"true", b"false"):
                self._flags[memo_key] = hit == b"true"
                return hit == b"true"
        self.runner.show(shell_quote(args) + " || true")
        res = self.runner.run(args, cwd=self.workdir, env_extra={"LC_ALL": "C"}, quiet=True)
        out = res.stdout + res.stderr
        ok = not any(w in out for w in _PROBE_FAILURE_WORDS)
        if key is not None and self.store is not None:
            try:
                self.store.put_bytes(key, b"true" if ok else b"false")
            except OSError:
                pass
        self._flags[memo_key] = ok
        return ok


def _tool_id(name: str, out: str, env: Mapping[str, str]) -> str | CgoError:
    lines = out.split("\n")
    version = ""
    for line in lines:
        fields = line.split()
        for i, f in enumerate(fields):
            if f.endswith(":"):
                break
            if f == "version" and i < len(fields) - 1 and fields[i + 1][:1].isdigit() and fields[i + 1][0].isascii():
                version = line
                break
        if version:
            break
    if not version:
        return CgoError("action", f"{name}: can not find version number in {out!r}")
    if "experimental" not in version:
        return version
    compiler = next((ln for ln in lines if ln.startswith(" ") and not ln.startswith(" (in-process)")), "")
    if not compiler:
        return CgoError("action", f"{name}: can not find compilation command in {out!r}")
    words = quoted_split_or_error(compiler)
    if isinstance(words, str) or not words:
        return CgoError("action", f"{name}: compilation command confusion {out!r}")
    exe = words[0]
    if "/" not in exe:
        exe = _look_path(exe, env) or exe
    try:
        with open(exe, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
    except OSError as e:
        return CgoError("action", f"{exe}: {e.strerror}")
    return f"{version}\ncontent {digest}"


def arch_args(goos: str, goarch: str, gomips: str, gomips64: str) -> tuple[str, ...]:
    """cmd/go's gccArchArgs."""
    if goarch == "386":
        return ("-m32",)
    if goarch == "amd64":
        return ("-arch", "x86_64", "-m64") if goos == "darwin" else ("-m64",)
    if goarch == "arm64":
        return ("-arch", "arm64") if goos == "darwin" else ()
    if goarch == "arm":
        return ("-marm",)
    if goarch == "s390x":
        return ("-m64", "-march=z13")
    if goarch in ("mips64", "mips64le"):
        if gomips64 == "hardfloat":
            return ("-mabi=64", "-mhard-float")
        if gomips64 == "softfloat":
            return ("-mabi=64", "-msoft-float")
        return ()
    if goarch in ("mips", "mipsle"):
        if gomips == "hardfloat":
            return ("-mabi=32", "-march=mips32", "-mhard-float", "-mfp32", "-mno-odd-spreg")
        if gomips == "softfloat":
            return ("-mabi=32", "-march=mips32", "-msoft-float")
        return ()
    if goarch == "loong64":
        return ("-mabi=lp64d",)
    if goarch == "ppc64" and goos == "aix":
        return ("-maix64",)
    return ()


def compiler_command(compiler: Sequence[str], incdir: str, workdir: str, cenv: CgoEnvironment,
                     probes: CompilerProbes) -> tuple[str, ...]:
    """cmd/go's compilerCmd: the compiler, -I incdir, -fPIC, arch flags, -pthread, and the probed flags."""
    a = [*compiler, "-I", incdir]
    if cenv.goos != "windows":
        a.append("-fPIC")
    a += arch_args(cenv.goos, cenv.goarch, cenv.gomips, cenv.gomips64)
    if cenv.cgo_enabled:
        a.append("-mthreads" if cenv.goos == "windows" else "-pthread")
    if cenv.goos == "aix":
        a.append("-mcmodel=large")
    for flag in ("-fno-caret-diagnostics", "-Qunused-arguments", "-Wl,--no-gc-sections"):
        if probes.supports(compiler, flag):
            a.append(flag)
    a.append("-fmessage-length=0")
    if probes.supports(compiler, "-fdebug-prefix-map=a=b"):
        wd = workdir.rstrip("/")
        if probes.supports(compiler, "-ffile-prefix-map=a=b"):
            a.append(f"-ffile-prefix-map={wd}=/tmp/go-build")
        else:
            a.append(f"-fdebug-prefix-map={wd}=/tmp/go-build")
    if probes.supports(compiler, "-gno-record-gcc-switches"):
        a.append("-gno-record-gcc-switches")
    if cenv.goos in ("darwin", "ios"):
        a.append("-fno-common")
    return tuple(a)


# -- flags, imports, keys -------------------------------------------------------------------------

def compile_complete(pkg: CgoPackage) -> bool:
    """gc.go's rule for -complete: no cgo, C, C++, Objective-C, Fortran, assembly or .syso files."""
    ext = (len(pkg.cgo_files) + len(pkg.c_files) + len(pkg.cxx_files) + len(pkg.m_files) + len(pkg.f_files)
           + len(pkg.s_files) + len(pkg.syso_files))
    if pkg.standard and pkg.import_path in INCOMPLETE_STD:
        ext += 1
    return ext == 0


def key_lines(pkg: CgoPackage, flags: PackageFlags, cenv: CgoEnvironment, probes: CompilerProbes,
              cgo_tool_id: str) -> tuple[str, ...] | CgoError:
    """The lines cmd/go's buildActionID writes for a cgo package (tool IDs of cgo and the C compilers,
    the compilers' command names and flags). The content of every source file is the caller's to add."""
    lines = [f"cgo {cgo_tool_id!r}",
             f"CC={list(cenv.cc)!r} {list(flags.cppflags)!r} {list(flags.cflags)!r} {list(flags.ldflags)!r}"]
    for exe, lang, label, extra, wanted in (
        (cenv.cc, "c", "CC", (), True),
        (cenv.cxx, "c++", "CXX", flags.cxxflags, bool(pkg.cxx_files)),
        (cenv.fc, "f95", "FC", flags.fflags, bool(pkg.f_files)),
    ):
        if not wanted:
            continue
        if label != "CC":
            lines.append(f"{label}={list(exe)!r} {list(extra)!r}")
        ident = probes.identity(exe[0], lang)
        if isinstance(ident, CgoError):
            # As the go command: a compiler that cannot say what it is (a wrapper that does not
            # understand -###) is keyed by that failure, and the build goes on.
            lines.append(f"{label} ID ERROR={ident.message!r}")
        else:
            lines.append(f"{label} ID={ident!r}")
    lines.append(f"prefer external link {flags.prefer_external_link}")
    return tuple(lines)


# -- the plan -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Command:
    """One command of the step, exactly as it runs."""

    argv: tuple[str, ...]
    cwd: str
    env: tuple[tuple[str, str], ...] = ()      # added to the runner's environment
    output: str = ""                           # the file it writes
    source: str = ""                           # the file it compiles (absolute)


@dataclass(frozen=True, slots=True)
class CgoStep:
    """Everything cmd/go runs for the cgo part of one package, in order, with what comes out."""

    import_path: str
    objdir: str                                # ends in "/"
    cgo: Command
    compiles: tuple[Command, ...]              # _cgo_export.c, *.cgo2.c, .S, .c/.m, .cc, .f -> _x001.o ...
    assembler_sources: tuple[str, ...]         # the .S files among them (checked for Go assembly)
    main_compile: Command                      # _cgo_main.c -> _cgo_main.o
    dynimport_link: Command                    # gcc -o _cgo_.o (its failure is an answer, not an error)
    dynimport: Command                         # cgo -dynimport -> _cgo_import.go
    go_files: tuple[str, ...]                  # the package's other Go files, then cgo's (without _cgo_import.go)
    import_go: str                             # _cgo_import.go
    prefer_external_link: bool
    ldflags: tuple[str, ...]
    syso_files: tuple[str, ...]                # the package's, packed after the objects
    overrides: tuple[tuple[str, str], ...]     # CGO_*_ALLOW / _DISALLOW for the go:cgo_ldflag check


def _seed(seed: bytes, what: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(seed + b"\0" + what.encode()).digest()[:15]).decode()


def plan(pkg: CgoPackage, flags: PackageFlags, cenv: CgoEnvironment, probes: CompilerProbes, *,
         objdir: Path, tooldir: Path, seed: bytes, cwd: Path, env: Mapping[str, str] | None = None,
         dep_syso_files: Sequence[str] = ()) -> CgoStep:
    """The commands of runCgo, the cgo compile actions and dynimport for `pkg`, writing into `objdir`.

    `seed` names the package's build (its action ID): each C compile gets a -frandom-seed derived
    from it, as cmd/go derives it from the compile's action ID. `cwd` is where the go command
    would run (the dynimport link's directory). `env` is the runner's environment: cmd/go's own
    settings (CC, GOOS, GOARCH) are added to cgo's environment only where they differ from it.
    `dep_syso_files` are the absolute .syso files of the package's dependencies.
    """
    od = str(objdir).rstrip("/") + "/"
    pdir = str(pkg.dir)
    cppflags = flags.cppflags + ("-I", od)
    cflags = cppflags + flags.cflags
    cxxflags = cppflags + flags.cxxflags
    fflags = cppflags + flags.fflags

    gofiles = [od + "_cgo_gotypes.go"]
    gen_c = ["_cgo_export.c"]
    for fn in pkg.cgo_files:
        stem = os.path.basename(fn).removesuffix(".go")
        gofiles.append(od + stem + ".cgo1.go")
        gen_c.append(stem + ".cgo2.c")
    cgo_exe = str(tooldir / "cgo")
    cgo = _cgo_command(pkg, flags, cenv, env or {}, cgo_exe, od, cppflags)

    gcc = compiler_command(cenv.cc, pdir, od, cenv, probes)
    gxx = compiler_command(cenv.cxx, pdir, od, cenv, probes) if (pkg.cxx_files) else ()
    gfc = compiler_command(cenv.fc, pdir, od, cenv, probes) if pkg.f_files else ()
    cc_env = (("TERM", "dumb"),)

    def ccompile(file: str, compiler_prefix: tuple[str, ...], compiler: Sequence[str], fl: tuple[str, ...],
                 out: str, seed_of: str | None) -> Command:
        path = file if file.startswith("/") else os.path.join(pdir, file)
        extra: list[str] = []
        if probes.supports(compiler, "-fdebug-prefix-map=a=b") and (pkg.trimpath_to is not None or pkg.standard):
            flag = "-ffile-prefix-map" if probes.supports(compiler, "-ffile-prefix-map=a=b") else "-fdebug-prefix-map"
            src_from = pkg.trimpath_from or pdir
            to = os.path.normpath(os.path.join("/_", pkg.trimpath_to or "GOROOT"))
            extra.append(f"{flag}={src_from}={to}")
        if probes.supports(compiler, "-frandom-seed=1"):
            extra.append("-frandom-seed=" + _seed(seed, "cgo compile " + file if seed_of is None else seed_of))
        return Command((*compiler_prefix, *fl, *extra, "-o", out, "-c", os.path.basename(path)),
                       os.path.dirname(path), cc_env, out, path)

    compiles: list[Command] = []
    seq = 0

    def next_o() -> str:
        nonlocal seq
        seq += 1
        return f"{od}_x{seq:03d}.o"

    for f in gen_c:
        compiles.append(ccompile(od + f, gcc, cenv.cc, cflags, next_o(), None))
    sfiles = [f for f in pkg.s_files if f.startswith("gcc_")] if (pkg.standard and pkg.import_path == "runtime/cgo") else list(pkg.s_files)
    for f in sfiles:
        compiles.append(ccompile(f, gcc, cenv.cc, cflags, next_o(), None))
    for f in (*pkg.c_files, *pkg.m_files):
        compiles.append(ccompile(f, gcc, cenv.cc, cflags, next_o(), None))
    for f in pkg.cxx_files:
        compiles.append(ccompile(f, gxx, cenv.cxx, cxxflags, next_o(), None))
    for f in pkg.f_files:
        compiles.append(ccompile(f, gfc, cenv.fc, fflags, next_o(), None))

    main_o = od + "_cgo_main.o"
    main_compile = ccompile(od + "_cgo_main.c", gcc, cenv.cc, cflags, main_o, "")
    out_obj = ([od + "preferlinkext"] if flags.prefer_external_link else []) + [c.output for c in compiles]
    syso = sorted(set([os.path.join(pdir, s) for s in pkg.syso_files] + list(dep_syso_files)))
    ld = _dynimport_ldflags(flags, cenv)
    linker = gxx if pkg.cxx_files else gcc
    dyn_o = od + "_cgo_.o"
    dynimport_link = Command((*linker, "-o", dyn_o, main_o, *out_obj, *syso, *ld), str(cwd), cc_env, dyn_o)
    import_go = od + "_cgo_import.go"
    dynflags = ("-dynlinker",) if (pkg.standard and pkg.import_path == "runtime/cgo") else ()
    dynimport = Command((cgo_exe, "-dynpackage", pkg.name, "-dynimport", dyn_o, "-dynout", import_go, *dynflags),
                        str(cwd), cc_env, import_go)
    return CgoStep(
        import_path=pkg.import_path, objdir=od, cgo=cgo, compiles=tuple(compiles),
        assembler_sources=tuple(os.path.join(pdir, f) for f in sfiles), main_compile=main_compile,
        dynimport_link=dynimport_link, dynimport=dynimport,
        go_files=tuple(os.path.join(pdir, f) for f in pkg.go_files) + tuple(gofiles), import_go=import_go,
        prefer_external_link=flags.prefer_external_link, ldflags=flags.ldflags,
        syso_files=tuple(os.path.join(pdir, s) for s in pkg.syso_files), overrides=cenv.overrides,
    )


def _cgo_command(pkg: CgoPackage, flags: PackageFlags, cenv: CgoEnvironment, env: Mapping[str, str], cgo_exe: str,
                 od: str, cppflags: tuple[str, ...]) -> Command:
    """The cgo tool's run over the package's cgo files (runCgo's first command)."""
    cgoflags: list[str] = []
    if pkg.standard and pkg.import_path == "runtime/cgo":
        cgoflags.append("-import_runtime_cgo=false")
    if pkg.standard and pkg.import_path in ("runtime/race", "runtime/msan", "runtime/cgo", "runtime/asan"):
        cgoflags.append("-import_syscall=false")
    cgo_env: list[tuple[str, str]] = [("TERM", "dumb")]
    cgo_env += _child_env(cenv, env)
    ldflags_opt: list[str] = []
    if flags.ldflags:
        ldflags_opt = ["-ldflags=" + " ".join(go_quote(f) for f in flags.ldflags)]
        cgo_env.append(("CGO_LDFLAGS", ""))
    pdir = str(pkg.dir)
    cgo_files = [os.path.join(pdir, f) for f in pkg.cgo_files]
    return Command((cgo_exe, "-objdir", od, "-importpath", pkg.import_path, *cgoflags, *ldflags_opt, "--",
                    *cppflags, *flags.cflags, *cgo_files), pdir, tuple(cgo_env))


def _dynimport_ldflags(flags: PackageFlags, cenv: CgoEnvironment) -> list[str]:
    """The package's linker flags for the dynimport link (-pie where cmd/go adds it)."""
    ld = list(flags.ldflags)
    if (cenv.goarch == "arm" and cenv.goos == "linux") or cenv.goos == "android":
        if "-no-pie" not in ld:
            ld.append("-pie")
        if "-pie" in ld and "-static" in ld:
            ld = [f for f in ld if f != "-static"]
    return ld


def _child_env(cenv: CgoEnvironment, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """cmd/go's children inherit CC, GOOS and GOARCH as `go env` resolved them (cgo reads these three):
    add those the runner's environment does not already give cgo, explicitly or by cgo's defaults."""
    defaults = {"CC": "clang" if cenv.goos in ("darwin", "ios", "freebsd", "openbsd") else "gcc",
                "GOOS": cenv.hostos, "GOARCH": cenv.hostarch}
    out: list[tuple[str, str]] = []
    for k, v in cenv.child_env:
        if k not in defaults:
            continue
        have = env.get(k) or defaults[k]
        if have != v:
            out.append((k, v))
    return out


# -- running it -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CgoOutcome:
    """What the package's Go compile and pack need after cgo ran."""

    go_files: tuple[str, ...]          # compile these instead of the package's Go files
    objects: tuple[str, ...]           # `pack r` them into the archive after the compile
    trimpath: str                      # the compile's -trimpath rule for the scratch directory
    prefer_external_link: bool
    dynimport_failed: bool             # `dynimportfail` packed: cmd/link will link externally
    ldflags: tuple[str, ...]
    warnings: str                      # output of commands that succeeded (go prints it under `# pkg`)


_GO_ASM = re.compile(rb"(?:^|\n)(?:TEXT|DATA|GLOBL)")


def report_text(out: bytes, *, work_dir: str, pkg_dir: str, cwd: str) -> str:
    """A command's output as cmd/go's reportCmd shows it: $WORK for the scratch directory, and the
    package directory (and its parents) relative to `cwd` where that is shorter."""
    text = out.decode("utf-8", "replace")
    if not text.endswith("\n"):
        text += "\n"
    text = _replace_prefix(text, work_dir.rstrip("/"), "$WORK")
    d = pkg_dir
    while True:
        rel = os.path.relpath(d, cwd)
        if len(rel) < len(d):
            text = _replace_prefix(text, d, rel)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return text


def _replace_prefix(s: str, old: str, new: str) -> str:
    if old not in s:
        return s
    s = s.replace(" " + old, " " + new).replace("\n" + old, "\n" + new).replace("\n\t" + old, "\n\t" + new)
    if s.startswith(old):
        s = new + s[len(old):]
    return s


def execute(step: CgoStep, runner: Runner, rules: SecurityRules, *,
            cwd: Path | None = None) -> CgoOutcome | CgoError | Unsupported:
    """Runs the step's commands through `runner` (so -x shows them and -n only prints them).

    Errors come back in go's words; `render(import_path)` adds the `# import path` header.
    Command output is rewritten as cmd/go's reportCmd does, relative to `cwd`.
    """
    show_dir = str(cwd) if cwd is not None else step.cgo.cwd
    od = step.objdir
    warnings: list[str] = []

    def run(cmd: Command) -> CgoError | None:
        res = runner.run(cmd.argv, cwd=Path(cmd.cwd), env_extra=dict(cmd.env))
        out = res.stdout + res.stderr
        if res.returncode != 0:
            if not out:
                return CgoError("action", f"exit status {res.returncode}" if res.returncode > 0 else "signal: killed")
            return CgoError("command", report_text(out, work_dir=od, pkg_dir=step.cgo.cwd, cwd=show_dir))
        if out:
            warnings.append(report_text(out, work_dir=od, pkg_dir=step.cgo.cwd, cwd=show_dir))
        return None

    def write(path: str) -> CgoError | None:
        runner.show(f"cat >{path} << 'EOF' # internal\nEOF")
        if runner.dry_run:
            return None
        try:
            with open(path, "wb"):
                pass
        except OSError as e:
            return CgoError("action", f"open {path}: {e.strerror}")
        return None

    err = run(step.cgo)
    if err is not None:
        return err
    for cmd in step.compiles:
        if cmd.source in step.assembler_sources:
            try:
                data = Path(cmd.source).read_bytes()
            except OSError:
                data = b""
            if _GO_ASM.search(data):
                return CgoError("action", f"package using cgo has Go assembly file {os.path.basename(cmd.source)}")
        err = run(cmd)
        if err is not None:
            return err
    objects: list[str] = []
    if step.prefer_external_link:
        err = write(od + "preferlinkext")
        if err is not None:
            return err
        objects.append(od + "preferlinkext")
    objects += [c.output for c in step.compiles]
    err = run(step.main_compile)
    if err is not None:
        return err
    link = runner.run(step.dynimport_link.argv, cwd=Path(step.dynimport_link.cwd), env_extra=dict(step.dynimport_link.env))
    runner.show(shell_quote(step.dynimport_link.argv) + " # test for internal linking errors ("
                + ("succeeded" if link.returncode == 0 else "failed") + ")")
    go_files = list(step.go_files)
    failed = link.returncode != 0
    if failed:
        err = write(od + "dynimportfail")
        if err is not None:
            return err
        objects.append(od + "dynimportfail")
    else:
        err = run(step.dynimport)
        if err is not None:
            return err
        go_files.append(step.import_go)
    if not runner.dry_run:
        bad = _check_cgo_ldflags(go_files, step.ldflags, rules, dict(step.overrides))
        if bad is not None:
            return bad
    objects += step.syso_files
    return CgoOutcome(tuple(go_files), tuple(objects), od.rstrip("/") + "=>", step.prefer_external_link, failed,
                      step.ldflags, "".join(warnings))


def _check_cgo_ldflags(go_files: Sequence[str], ldflags: Sequence[str], rules: SecurityRules,
                       overrides: Mapping[str, str]) -> CgoError | Unsupported | None:
    """processCgoOutputs' backstop: the //go:cgo_ldflag lines of cgo's _cgo_* files, minus the
    package's own LDFLAGS, must pass checkLinkerFlags."""
    flags: list[str] = []
    for f in go_files:
        if not os.path.basename(f).startswith("_cgo_"):
            continue
        try:
            src = Path(f).read_bytes().decode("utf-8", "surrogateescape")
        except OSError as e:
            return CgoError("action", f"open {f}: {e.strerror}")
        for line in src.split("\n"):
            i = line.find("//go:cgo_ldflag")
            if i < 0:
                continue
            start = line.find("//")
            if line[start:].startswith("//go:cgo_ldflag"):
                flags.append(line[i + len("//go:cgo_ldflag"):].strip().strip('"'))
    if ldflags:
        n = len(ldflags)
        for i in range(len(flags)):
            if flags[i:i + n] == list(ldflags):
                del flags[i:i + n]
                break
    bad = check_linker_flags(rules, "LDFLAGS", "go:cgo_ldflag", flags, overrides)
    if isinstance(bad, str):
        return CgoError("action", bad)
    return bad


def pack(archive: Path, objects: Sequence[str], runner: Runner, pkg_dir: Path) -> CgoError | None:
    """cmd/go's pack (packInternal): append each object to the compiler's archive as an ar member.

    Shown under -x / -n as `go tool pack r ARCHIVE OBJECTS # internal`, as cmd/go shows it.
    """
    runner.show(f"cd {pkg_dir}")
    runner.show(shell_quote(["go", "tool", "pack", "r", str(archive), *objects]) + " # internal")
    if runner.dry_run:
        return None
    try:
        with open(archive, "ab") as dst:
            for ofile in objects:
                with open(ofile, "rb") as src:
                    data = src.read()
                name = os.path.basename(ofile).encode("utf-8", "surrogateescape")[:16].ljust(16)
                dst.write(name + b"%-12d%-6d%-6d%-8o%-10d`\n" % (0, 0, 0, 0o644, len(data)))
                dst.write(data)
                if len(data) & 1:
                    dst.write(b"\0")
    except OSError as e:
        return CgoError("action", f"{e.filename}: {e.strerror}" if e.filename else str(e))
    return None
