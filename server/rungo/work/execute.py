"""Executing a plan: compiles in dependency order on up to -p workers, then the link, each skipped on a cache hit."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from queue import SimpleQueue
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, TextIO

from rungo.cache import ActionID, Cache, CacheWriteError
from rungo.keys import compile_key, content_identity, export_identity, link_key, profile_key, tool_id
from rungo.load.model import ExternalPackage, LocalPackage, RelPath
from rungo.process import Completed, Runner
from rungo.work.plan import CompileStep, LinkStep, Plan
from rungo.work.workdir import WorkDir

if TYPE_CHECKING:      # the cgo stage loads only when a package uses cgo
    from rungo.load.cgodirectives import CgoError
    from rungo.load.cgoload import CgoSetup
    from rungo.work import cgo as cgostage


@dataclass(frozen=True, slots=True)
class CompileResult:
    """One package's compile: where its archive is, or the compiler's report."""

    import_path: str
    archive: Path | None
    output: str                  # compiler output (diagnostics), paths as shown to the user
    cached: bool
    failed: bool
    identity: str = ""           # how the archive is named in the keys of its dependents
    warnings: str = ""           # what the C compiler said while succeeding (go prints it under `# pkg`)
    headed: bool = True          # `output` goes under a `# import path` line (go's action errors do not)
    deferred: ActionID | None = None   # a remote hit not fetched yet (archive None): the action ID
                                       # whose content is fetched when a step reads it

    def archive_identity(self) -> str:
        return self.identity or export_identity(str(self.archive))

    @classmethod
    def failure(cls, import_path: str, output: str, *, headed: bool = True) -> CompileResult:
        """No archive: `output` says why."""
        return cls(import_path=import_path, archive=None, output=output, cached=False, failed=True, headed=headed)

    @classmethod
    def hit(cls, import_path: str, archive: Path, identity: str) -> CompileResult:
        """The archive the cache had."""
        return cls(import_path=import_path, archive=archive, output="", cached=True, failed=False, identity=identity)

    @classmethod
    def remote(cls, import_path: str, key: ActionID, identity: str) -> CompileResult:
        """An archive the remote cache has: named in keys by its content, fetched only if read."""
        return cls(import_path=import_path, archive=None, output="", cached=True, failed=False, identity=identity,
                   deferred=key)

    @classmethod
    def built(cls, import_path: str, archive: Path, output: str = "", *, identity: str = "",
              warnings: str = "") -> CompileResult:
        """An archive this build made (`identity` "" when the cache did not take it)."""
        return cls(import_path=import_path, archive=archive, output=output, cached=False, failed=False,
                   identity=identity, warnings=warnings)


@dataclass(frozen=True, slots=True)
class TypeCheckInputs:
    """What it takes to compile one package again without loading or planning: the compiler, its
    flags, the archives of its imports as an importcfg, and its embed configuration. Kept by a
    check so that the next keystroke's check is one compiler process (see lsp/typecheck.py)."""

    compile_tool: Path
    pkg: LocalPackage
    args: tuple[str, ...]            # the step's flags (-p, -lang, -complete, -e, -gcflags...)
    trimpath: str                    # the step's extra -trimpath rewrites ("" when none)
    importcfg: str                   # the importcfg text (archives by import path)
    archives: tuple[str, ...]        # every archive the importcfg names
    embedcfg: str                    # the -embedcfg JSON, naming the embedded files in place ("" for none)


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    binary: Path | None
    compiles: tuple[CompileResult, ...]
    errors: str                  # everything to print on failure, go-style (`# pkg` headers)
    failed_stage: str | None     # "build" or "link"
    temporary: bool = False      # the binary lives in the work dir (the cache refused it)
    kept: TypeCheckInputs | None = None   # the inputs of Builder.keep's package, when it was compiled

    @property
    def exact(self) -> bool:
        """Whether every archive in the program was compiled from the bytes its key hashed (the cache
        took each one): the sources' digests then say what the program was built from."""
        return all(c.cached or c.identity for c in self.compiles if not c.failed)

    @property
    def warnings(self) -> str:
        """The C compiler's warnings of the packages built, as go prints them (`# pkg` first)."""
        return "".join(f"# {c.import_path}\n{c.warnings}" for c in self.compiles if c.warnings)


def _digest(path: Path) -> bytes | None:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None


def apply_rewrites(path: str, rewrites: str) -> str:
    """The compiler's -trimpath rule applied to `path`: the first `prefix=>replacement` (`;`-separated)
    whose prefix is a path prefix of `path` rewrites it; otherwise it stays as it is."""
    for rule in rewrites.split(";"):
        prefix, sep, replacement = rule.rpartition("=>")
        if not sep:
            prefix, replacement = rule, ""
        if not prefix:
            continue
        if path == prefix:
            return replacement
        if path.startswith(prefix) and path[len(prefix)] == "/":
            return path[len(prefix) + 1:] if replacement == "" else replacement + path[len(prefix):]
    return path


# The go command's rewrites of compiler output about cgo-generated code (not under -x):
# `x.go:19[/tmp/.../x.cgo1.go:18]` becomes `x.go:19`, `_Ctype_foo` becomes `C.foo`.
_CGO_LINE = re.compile(r"\[[^\[\]]+\.(cgo1|cover)\.go:[0-9]+(:[0-9]+)?\]")
_CGO_TYPE_SIG = re.compile(r"\b_C2?(type|func|var|macro)_\B")
_GO_MINOR = re.compile(r"^go1\.(\d+)")


def cgo_report(text: str, tool_version: str) -> str:
    """A cgo package's compiler output as the go command of `tool_version` shows it: from go1.27
    every `_Ctype_` (`_Cfunc_`, ...) becomes `C.` (exec.go); before, reportCmd rewrote only output
    naming a .cgo1.go position, and removed those positions."""
    m = _GO_MINOR.match(tool_version)
    if m is None or int(m.group(1)) >= 27:
        return _CGO_TYPE_SIG.sub("C.", text)
    if not _CGO_LINE.search(text):
        return text
    return _CGO_TYPE_SIG.sub("C.", _CGO_LINE.sub("", text))


@dataclass(frozen=True, slots=True)
class Missing:
    """A package to build: its key, its import config and its non-Go inputs as the key hashed them."""

    key: ActionID
    cfg: Mapping[str, str]
    native_data: Mapping[Path, bytes]
    native_files: list[tuple[str, bytes]]
    deferred: Mapping[str, ActionID] = field(default_factory=dict)   # imports still on the remote


class _Refetch(Exception):
    """A remote hit whose content could not be fetched when a step needed it: the build runs once
    more, fetching (or building) every archive it reads."""


def _gomaxprocs(env: Mapping[str, str]) -> int:
    """The go command's runtime.GOMAXPROCS(0): $GOMAXPROCS when it is a positive number, else the
    CPUs this process may run on."""
    raw = env.get("GOMAXPROCS", "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _critical_path(steps: tuple[CompileStep, ...]) -> dict[str, int]:
    """Each step's rank for the ready queue: its own weight (its Go files, a stand-in for how long
    its compile takes) plus the heaviest chain of steps that wait on it, so that the workers start
    the work the end of the build waits on longest. Steps come in dependency order."""
    waiting: dict[str, list[str]] = {}
    for s in steps:
        for d in s.local_deps:
            waiting.setdefault(d, []).append(s.pkg.import_path)
    rank: dict[str, int] = {}
    for s in reversed(steps):
        path = s.pkg.import_path
        rank[path] = 1 + len(s.pkg.files) + max((rank.get(w, 0) for w in waiting.get(path, ())), default=0)
    return rank


def executable_build_id(key: ActionID) -> str:
    """The build ID a linked program carries, in the go command's shape (four parts of 20 base64
    characters: the main package's action and content, the link's action and content), all derived
    from the link's key: the same program always has the same ID, and its bytes are laid out as
    the go command's build of it."""
    return "/".join(base64.urlsafe_b64encode(hashlib.sha256(label + key).digest()[:15]).decode()
                    for label in (b"main-action", b"main-content", b"link-action", b"link-content"))


def append_to_archive(archive: Path, files: list[Path]) -> None:
    """`go tool pack r`: appends each file to the Go archive as an entry of its own (name cut to 16
    bytes, zero mtime/uid/gid, mode 0644, padded to an even offset)."""
    with open(archive, "r+b") as a:
        if a.read(8) != b"!<arch>\n":
            raise OSError(f"{archive} is not an archive")
        for f in files:
            data = f.read_bytes()
            text = f.name
            while len(text.encode()) > 16:
                text = text[:-1]
            name = text.encode()
            off = a.seek(0, os.SEEK_END)
            header = name.ljust(16) + f"{0:<12}{0:<6}{0:<6}{0o644:<8o}{len(data):<10}`\n".encode()
            a.write(header + data)
            if (off + len(data)) & 1:
                a.write(b"\0")


@dataclass(slots=True)
class Builder:
    """Runs a Plan against the cache. Every subprocess goes through `runner` (so -x/-n stay honest)."""

    runner: Runner
    store: Cache
    compile_tool: Path
    link_tool: Path
    tool_version: str
    target_env: Mapping[str, str]
    external: Mapping[str, ExternalPackage]
    cwd: Path
    work: WorkDir
    parallel: int = 2
    force: bool = False
    verbose: TextIO | None = None
    overlays: Mapping[Path, bytes] = field(default_factory=dict)   # unsaved contents by file
    asm_tool: Path | None = None
    cgo_tool: Path | None = None
    cgo: CgoSetup | None = None                                    # the program's C toolchain
    keep: str = ""                 # import path of a package whose TypeCheckInputs the outcome keeps
    _rel: RelPath = field(init=False)
    _probes: cgostage.CompilerProbes | None = field(init=False, default=None)
    _probes_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _served_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _served_paths: list[Path] = field(init=False, default_factory=list)
    _profiles: dict[Path, tuple[str, str] | str] = field(init=False, default_factory=dict)
    _tokens_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _defer: bool = field(init=False, default=True)
    _tokens: list[int] = field(init=False, default_factory=list)   # free tokens, compiles running
    _profiles_lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rel = RelPath(self.cwd)
        # A remote hit's archive is fetched only when a step reads it; a check that keeps its
        # package's inputs (the language server's) reads them all.
        self._defer = not self.keep

    def _served(self, path: Path) -> None:
        """Remember stored content this build used, to check it if a step that read it fails."""
        with self._served_lock:
            self._served_paths.append(path)

    # -- paths as the go command shows them ------------------------------------------

    def shown(self, p: Path) -> str:
        if p.parent == self.cwd:
            return "./" + p.name
        try:
            return str(p.relative_to(self.cwd))
        except ValueError:
            rel = os.path.relpath(p, self.cwd)
            return rel if len(rel) < len(str(p)) else str(p)

    # -- compile ------------------------------------------------------------------

    def _ext_archive(self, path: str) -> str | None:
        ext = self.external.get(path)
        if ext is None or not ext.export:
            return None
        return ext.export

    def _import_problem(self, imp: str) -> str:
        """Why an external package has no archive: its own error, else the first among its dependencies."""
        ext = self.external.get(imp)
        if ext is not None and ext.error:
            return ext.error
        seen: set[str] = set()
        queue = list(ext.imports) if ext is not None else []
        while queue:
            dep = queue.pop(0)
            if dep in seen:
                continue
            seen.add(dep)
            d = self.external.get(dep)
            if d is None:
                continue
            if d.error:
                return f"could not import {imp}: {d.error.rstrip()}"
            queue.extend(d.imports)
        return f"could not import {imp}"

    def import_config(self, step: CompileStep, local: Mapping[str, CompileResult]
                      ) -> tuple[dict[str, str], dict[str, str], list[str]]:
        """A step's imports: archive by import path, how each is named in the key, and the
        problems of those that have no archive."""
        cfg: dict[str, str] = {}
        ids: dict[str, str] = {}
        problems: list[str] = []
        wanted = list(step.ext_deps)
        if step.pkg.is_main and "runtime" in self.external and "runtime" not in wanted \
                and "runtime" not in step.local_deps:
            wanted.append("runtime")
        for imp in wanted:
            if imp == "unsafe":
                continue
            a = self._ext_archive(imp)
            if a is None:
                problems.append(self._import_problem(imp))
                continue
            cfg[imp] = a
            ids[imp] = export_identity(a)
        for imp in step.local_deps:
            cfg[imp] = str(local[imp].archive) if local[imp].archive is not None else ""
            ids[imp] = local[imp].archive_identity()
        return cfg, ids, problems

    def kept_inputs(self, step: CompileStep, local: Mapping[str, CompileResult]) -> TypeCheckInputs | None:
        """The inputs to compile step's package again by itself; None for what needs more than one
        compiler process (cgo, assembly) or lacks an import."""
        if step.cgo is not None or step.asm_files or any(d not in local for d in step.local_deps):
            return None
        cfg, _, problems = self.import_config(step, local)
        if problems:
            return None
        pkg = step.pkg
        embedcfg = ""
        if pkg.embed_patterns:
            embedcfg = json.dumps({"Patterns": {p: list(m) for p, m in pkg.embed_patterns},
                                   "Files": {e.rel: str(e.path) for e in pkg.embed_files}}, indent="\t") + "\n"
        return TypeCheckInputs(
            compile_tool=self.compile_tool, pkg=pkg, args=step.args, trimpath=step.trimpath,
            importcfg="# import config\n" + "".join(f"packagefile {k}={cfg[k]}\n" for k in sorted(cfg)),
            archives=tuple(cfg[k] for k in sorted(cfg)), embedcfg=embedcfg)

    def compile(self, step: CompileStep, local: Mapping[str, CompileResult]) -> CompileResult:
        """One package's archive: a cache hit, or built by the step's kind (`_compile_go`, with its
        assembly, or `_compile_cgo`)."""
        got = self.lookup(step, local)
        return got if isinstance(got, CompileResult) else self.build(step, got)

    def lookup(self, step: CompileStep, local: Mapping[str, CompileResult]) -> CompileResult | Missing:
        """A package's cache hit (or its failure before anything runs), else what building it needs."""
        pkg = step.pkg
        cfg, ids, problems = self.import_config(step, local)
        if problems:
            return CompileResult.failure(pkg.import_path, "\n".join(problems) + "\n")
        natives = self._read_natives(step)
        if isinstance(natives, CompileResult):
            return natives
        native_data, native_files = natives
        cgo_lines: tuple[str, ...] = ()
        pgo: tuple[str, ...] = ()
        if step.pgo is not None:
            profile = self._profile(step.pgo)
            if isinstance(profile, str):
                return CompileResult.failure(pkg.import_path, profile, headed=False)
            pgo = ("pgofile", profile[1])
        if step.cgo is not None:
            from rungo.load.cgodirectives import CgoError

            lines = self._cgo_key_lines(step)
            if isinstance(lines, CgoError):
                return CompileResult.failure(pkg.import_path, lines.render(pkg.import_path), headed=False)
            cgo_lines = lines
        key = compile_key(
            compile_tool=tool_id(str(self.compile_tool), self.tool_version),
            target_env=self.target_env,
            args=step.args + (("trimpath", step.trimpath) if step.trimpath else ())
            + tuple(f"importmap {k}={v}" for k, v in step.import_map) + pgo,
            import_path=pkg.import_path,
            directory=str(pkg.dir),
            files=[(str(f.path), f.digest) for f in pkg.files],
            imports=ids,
            embeds=[(e.rel, e.digest) for e in pkg.embed_files],
            asm_tool=tool_id(str(self.asm_tool), self.tool_version) if step.asm_files and self.asm_tool else "",
            asm_args=step.asm_args,
            native_files=native_files,
            embed_patterns=[(p, m) for p, m in pkg.embed_patterns],
            cgo=cgo_lines,
        )
        if not self.force:
            # The standard library's and the modules' archives (hundreds of them, each read by
            # every build) are checked by size; their content only if a step that reads them fails.
            verify = pkg.origin is None
            got = self.store.get_deferred(key, verify=verify) if self._defer else self.store.get_file(key, verify=verify)
            if got is not None:
                entry, path = got
                if path is None:
                    return CompileResult.remote(pkg.import_path, key, content_identity(entry.output_id))
                if not self.store.hashed_on_hit(entry, verify=verify):
                    self._served(path)  # checked only if a step that reads it fails
                return CompileResult.hit(pkg.import_path, path, content_identity(entry.output_id))
        deferred = {d: local[d].deferred for d in step.local_deps if local[d].deferred is not None}
        return Missing(key, cfg, native_data, native_files, deferred)

    def build(self, step: CompileStep, missing: Missing) -> CompileResult:
        """A package the cache does not have: built by the step's kind."""
        key, cfg, native_data, native_files = missing.key, missing.cfg, missing.native_data, missing.native_files
        if missing.deferred:
            cfg = {**cfg, **{imp: str(self._fetch(k)) for imp, k in missing.deferred.items()}}
        d = self.work.action_dir()
        importcfg = d / "importcfg"
        text = "# import config\n" + "".join(f"importmap {k}={v}\n" for k, v in step.import_map) \
            + "".join(f"packagefile {k}={cfg[k]}\n" for k in sorted(cfg))
        self._write(importcfg, text)
        out = d / "_pkg_.a"
        if step.cgo is not None:
            return self._compile_cgo(step, key, d, importcfg, out, native_files)
        return self._compile_go(step, key, d, importcfg, out, native_data)

    # -- the compiler's backend concurrency ------------------------------------------

    def _run_compile(self, argv: list[str]) -> Completed:
        """Runs a compile with -c=N, the concurrency of its backend as cmd/go gives it
        (gc.go's compilerConcurrency: a pool of tokens shared by the compiles running at once, so
        that the total stays what -p compiles of at most 4 each would use). The output does not
        depend on it, and neither does the key."""
        maxc = _gomaxprocs(self.runner.env)
        p = max(1, self.parallel)
        if p == 1:
            c, taken = maxc, 0
        else:
            low = min(4, maxc)
            with self._tokens_lock:
                if not self._tokens:
                    self._tokens[:] = [2 * maxc + low * p, 0]
                self._tokens[1] += 1
                available = self._tokens[0] - (p - self._tokens[1]) * low
                c = taken = max(min(available // 2, maxc), low)
                self._tokens[0] -= taken
        try:
            if c > 1:
                argv = [*argv[:5], f"-c={c}", *argv[5:]]   # before the step's flags: -gcflags=-c=N wins
            return self.runner.run(argv, cwd=self.cwd)
        finally:
            if taken:
                with self._tokens_lock:
                    self._tokens[0] += taken
                    self._tokens[1] -= 1

    # -- profile-guided optimization -------------------------------------------------

    def _profile(self, profile: Path) -> tuple[str, str] | str:
        """The profile as the compiler takes it (preprocessed once per build, and kept in the cache
        under cmd/go's pgoActionID inputs): its path and its content's digest, or, for the first
        step that asks, why it cannot be had ("" for the others: it is said once)."""
        with self._profiles_lock:
            got = self._profiles.get(profile)
            if got is None:
                got = self._preprofile(profile)
                self._profiles[profile] = got if not isinstance(got, str) else ""
            return got

    def _preprofile(self, profile: Path) -> tuple[str, str] | str:
        tool = self.compile_tool.parent / "preprofile"
        try:
            data = profile.read_bytes()
        except OSError:
            data = None
        if not tool.exists():       # before Go 1.23 the compiler reads the profile itself
            if data is None:
                return f"# {profile}\nopen {profile}: no such file or directory\n"
            return str(profile), hashlib.sha256(data).hexdigest()
        key = None
        if data is not None:
            key = profile_key(preprofile_tool=tool_id(str(tool), self.tool_version),
                              profile_digest=hashlib.sha256(data).digest())
            if not self.force:
                hit = self.store.get_file(key)
                if hit is not None:
                    return str(hit[1]), hit[0].output_id.hex()
        out = self.work.action_dir() / "pgo.preprofile"
        res = self.runner.run([str(tool), "-o", str(out), "-i", str(profile)], cwd=self.cwd)
        if self.runner.dry_run:
            return str(out), ""
        if res.returncode != 0 or not out.exists():
            text = (res.stdout + res.stderr).decode(errors="replace")
            return f"# {profile}\n" + (text or f"preprofile exited with status {res.returncode}\n")
        if key is not None and _digest(profile) == hashlib.sha256(data or b"").digest():
            try:
                self.store.put_file(key, out)
                stored = self.store.get_file(key, verify=False)
            except CacheWriteError:
                stored = None
            if stored is not None:
                return str(stored[1]), stored[0].output_id.hex()
        return str(out), hashlib.sha256(out.read_bytes()).hexdigest()

    def _pgo_flag(self, step: CompileStep) -> list[str]:
        if step.pgo is None:
            return []
        got = self._profiles.get(step.pgo)
        return ["-pgoprofile=" + got[0]] if isinstance(got, tuple) else []

    def _fetch(self, key: ActionID) -> Path:
        """The content of a remote hit that a step reads, fetched now (_Refetch when it cannot be)."""
        got = self.store.materialize(key)
        if got is None:
            raise _Refetch()
        return got[1]

    def _read_natives(self, step: CompileStep) -> tuple[dict[Path, bytes], list[tuple[str, bytes]]] | CompileResult:
        """The bytes of the step's non-Go inputs (assembly, headers, .syso; a cgo package's C side),
        and each one's (name, sha256) for the key; the failure when one cannot be read."""
        native_files: list[tuple[str, bytes]] = []
        native_data: dict[Path, bytes] = {}
        natives = (*step.asm_files, *step.headers, *step.objects) if step.cgo is None else \
            self._cgo_inputs(step)
        for f in natives:
            try:
                data = f.read_bytes()
            except OSError as e:
                return CompileResult.failure(step.pkg.import_path, f"open {self.shown(f)}: {e.strerror}\n")
            native_data[f] = data
            native_files.append((str(f), hashlib.sha256(data).digest()))
        return native_data, native_files

    # -- a Go package (with its assembly and .syso objects) --------------------------

    def _compile_go(self, step: CompileStep, key: ActionID, d: Path, importcfg: Path, out: Path,
                    native_data: Mapping[Path, bytes]) -> CompileResult:
        """A Go package's miss: its assembly's symbol ABIs, the compile, the assembly's objects and
        the .syso files packed into the archive, stored under `key`."""
        pkg = step.pkg
        src = d / "src"
        if step.in_place:
            copies = {p: p for p in (*(f.path for f in pkg.files), *step.asm_files, *step.headers)}
            embed_copies = {e.rel: e.path for e in pkg.embed_files}
            exact = True
            trim = (step.trimpath + ";" if step.trimpath else "") + f"{d}=>"
        else:
            copied = self._private_copies(step, d, src, native_data)
            if isinstance(copied, CompileResult):
                return copied
            copies, embed_copies, exact = copied
            shown_dir = apply_rewrites(str(pkg.dir), step.trimpath) if step.trimpath else str(pkg.dir)
            trim = f"{src}=>{shown_dir};{d}=>" + (";" + step.trimpath if step.trimpath else "")
        argv = [str(self.compile_tool), "-o", str(out), "-trimpath", trim, *step.args,
                *self._pgo_flag(step), "-importcfg", str(importcfg)]
        asm_base: list[str] = []
        if step.asm_files:
            if self.asm_tool is None:
                return CompileResult.failure(pkg.import_path, "no asm tool\n")
            asm_base = [str(self.asm_tool), *step.asm_base_args, "-trimpath", trim, "-I", str(d) + os.sep,
                        *step.asm_args]
            failed = self._assemble_symabis(step, asm_base, d, copies)
            if failed is not None:
                return failed
            argv += ["-symabis", str(d / "symabis"), "-asmhdr", str(d / "go_asm.h")]
        if pkg.embed_patterns:
            embedcfg = d / "embedcfg"
            self._write(embedcfg, json.dumps({
                "Patterns": {p: list(m) for p, m in pkg.embed_patterns},
                "Files": {e.rel: str(embed_copies[e.rel]) for e in pkg.embed_files},
            }, indent="\t") + "\n")
            argv += ["-embedcfg", str(embedcfg)]
        argv += ["-pack", *[str(copies[f.path]) for f in pkg.files]]
        if self.verbose is not None:
            self.verbose.write(pkg.import_path + "\n")
            self.verbose.flush()
        res = self._run_compile(argv)
        output = self._unmap(res.stdout + res.stderr, copies)
        if self.runner.dry_run:
            return CompileResult.built(pkg.import_path, out)
        if res.returncode != 0 or not out.exists():
            return CompileResult.failure(pkg.import_path, output or f"compile exited with status {res.returncode}\n")
        objects = self._assemble_objects(step, asm_base, d, copies)
        if isinstance(objects, CompileResult):
            return objects
        for sobj in step.objects:
            copies[sobj] = d / "syso" / sobj.name
            copies[sobj].parent.mkdir(exist_ok=True)
            copies[sobj].write_bytes(native_data[sobj])
            objects.append(copies[sobj])
        if objects:
            if self.runner.echo is not None:
                self.runner.show(f"go tool pack r {out} " + " ".join(str(o) for o in objects) + " # internal")
            try:
                append_to_archive(out, objects)
            except OSError as e:
                return CompileResult.failure(pkg.import_path, f"pack {out}: {e}\n")
        return self._store(pkg.import_path, key, out, output, exact)

    def _private_copies(self, step: CompileStep, d: Path, src: Path, native_data: Mapping[Path, bytes]
                        ) -> tuple[dict[Path, Path], dict[str, Path], bool] | CompileResult:
        """Private copies of exactly the bytes the key hashed, which the tools read: a file edited
        while the build runs cannot put another version's archive under this key. A copy whose
        source no longer has the hashed content is built all the same (it is what the user has now)
        but not stored: the last value says whether every copy is exact. -trimpath maps the copies
        back to the package directory as it would be shown. Returns the copies of the source files
        by their path, the embedded files' copies by their name, and that verdict."""
        pkg = step.pkg
        exact = True
        copies: dict[Path, Path] = {}
        embed_copies: dict[str, Path] = {}
        if not self.runner.dry_run:
            src.mkdir()
        try:
            for sf in pkg.files:
                copies[sf.path] = src / sf.path.name
                exact &= self._copy_exact(sf.path, copies[sf.path], sf.digest)
            for nf in (*step.asm_files, *step.headers):
                copies[nf] = src / nf.name
                if not self.runner.dry_run:
                    copies[nf].write_bytes(native_data[nf])
            for ef in pkg.embed_files:
                embed_copies[ef.rel] = d / "embed" / ef.rel
                if not self.runner.dry_run:
                    embed_copies[ef.rel].parent.mkdir(parents=True, exist_ok=True)
                exact &= self._copy_exact(ef.path, embed_copies[ef.rel], ef.digest)
        except OSError as e:
            name = e.filename if isinstance(e.filename, str) else str(pkg.dir)
            return CompileResult.failure(pkg.import_path, f"open {self.shown(Path(name))}: {e.strerror}\n")
        return copies, embed_copies, exact

    def _assemble_symabis(self, step: CompileStep, asm_base: list[str], d: Path,
                          copies: Mapping[Path, Path]) -> CompileResult | None:
        """`asm -gensymabis` over the package's .s files (into d/symabis, with an empty go_asm.h),
        before the compile that reads it; the failure, or None."""
        self._write(d / "go_asm.h", "")
        res = self.runner.run([*asm_base, "-gensymabis", "-o", str(d / "symabis"),
                               *[str(copies[f]) for f in step.asm_files]], cwd=self.cwd)
        if res.returncode != 0:
            return self._asm_failure(step, res.stdout + res.stderr, res.returncode, copies)
        return None

    def _assemble_objects(self, step: CompileStep, asm_base: list[str], d: Path,
                          copies: Mapping[Path, Path]) -> list[Path] | CompileResult:
        """One object per .s file, after the compile wrote go_asm.h; the first failure."""
        objects: list[Path] = []
        for sfile in step.asm_files:
            obj = d / (sfile.stem + ".o")
            res = self.runner.run([*asm_base, "-o", str(obj), str(copies[sfile])], cwd=self.cwd)
            if res.returncode != 0:
                return self._asm_failure(step, res.stdout + res.stderr, res.returncode, copies)
            objects.append(obj)
        return objects

    def _asm_failure(self, step: CompileStep, raw: bytes, status: int, copies: Mapping[Path, Path]) -> CompileResult:
        output = self._unmap(raw, copies) or f"asm exited with status {status}\n"
        return CompileResult.failure(step.pkg.import_path, output)

    def _store(self, import_path: str, key: ActionID, out: Path, output: str, exact: bool,
               warnings: str = "") -> CompileResult:
        """Files a built archive under its key (unless its inputs changed while it was built)."""
        if not exact:
            return CompileResult.built(import_path, out, output, warnings=warnings)
        try:
            self.store.put_file(key, out)
            got = self.store.get_file(key, verify=False)      # put_file has just hashed it
        except CacheWriteError:
            got = None
        if got is None:
            return CompileResult.built(import_path, out, output, warnings=warnings)
        return CompileResult.built(import_path, got[1], output, identity=content_identity(got[0].output_id),
                                   warnings=warnings)

    # -- cgo ----------------------------------------------------------------------

    def _cgo_probes(self) -> cgostage.CompilerProbes:
        """The build's C compiler probes (their answers are kept in the cache: a hit runs none)."""
        from rungo.work import cgo as cgostage

        assert self.cgo is not None
        with self._probes_lock:
            if self._probes is None:
                self._probes = cgostage.CompilerProbes(self.runner, self.cgo.env, self.cwd, store=self.store)
            return self._probes

    @staticmethod
    def _cgo_inputs(step: CompileStep) -> tuple[Path, ...]:
        """A cgo package's non-Go files: what cmd/go hashes of them besides its Go files."""
        assert step.cgo is not None
        p = step.cgo.package
        names = (*p.c_files, *p.cxx_files, *p.m_files, *p.s_files, *p.f_files, *p.h_files, *p.syso_files)
        return tuple(p.dir / n for n in names)

    def _cgo_key_lines(self, step: CompileStep) -> tuple[str, ...] | CgoError:
        from rungo.load.cgodirectives import CgoError
        from rungo.work import cgo as cgostage

        assert step.cgo is not None and self.cgo is not None and self.cgo_tool is not None
        lines = cgostage.key_lines(step.cgo.package, step.cgo.flags, self.cgo.env, self._cgo_probes(),
                                   tool_id(str(self.cgo_tool), self.tool_version))
        if isinstance(lines, CgoError) or not step.dep_objects:
            return lines
        # The dependencies' .syso files join the dynamic-import link (their contents are in the
        # dependencies' keys).
        return (*lines, "dynimport-objects " + " ".join(str(f) for f in step.dep_objects))

    def _compile_cgo(self, step: CompileStep, key: ActionID, d: Path, importcfg: Path, out: Path,
                     native_files: list[tuple[str, bytes]]) -> CompileResult:
        """A cgo package's miss: cgo and the C compiles in the action dir, the Go compile of what cgo
        made (no private copies: cgo and the C compiler read the package directory, as with go; the
        archive is stored only if every input still has the content its key hashed), then pack."""
        from rungo.load.cgodirectives import CgoError
        from rungo.load.cgosecurity import Unsupported
        from rungo.work import cgo as cgostage

        assert step.cgo is not None and self.cgo is not None and self.cgo_tool is not None
        pkg, cpkg = step.pkg, step.cgo.package
        if self.verbose is not None:
            self.verbose.write(pkg.import_path + "\n")
            self.verbose.flush()
        cstep = cgostage.plan(cpkg, step.cgo.flags, self.cgo.env, self._cgo_probes(), objdir=d,
                              tooldir=self.cgo_tool.parent, seed=key, cwd=self.cwd, env=self.runner.env,
                              dep_syso_files=[str(f) for f in step.dep_objects])
        done = cgostage.execute(cstep, self.runner, self.cgo.rules, cwd=self.cwd)
        if isinstance(done, Unsupported):
            return CompileResult.failure(pkg.import_path, f"{pkg.import_path}: {done.reason}\n", headed=False)
        if isinstance(done, CgoError):
            text = done.render(pkg.import_path)
            headed = text.startswith(f"# {pkg.import_path}\n")
            return CompileResult.failure(pkg.import_path, text.split("\n", 1)[1] if headed else text, headed=headed)
        trim = done.trimpath + (";" + step.trimpath if step.trimpath else "")
        argv = [str(self.compile_tool), "-o", str(out), "-trimpath", trim, *step.args,
                *self._pgo_flag(step), "-importcfg", str(importcfg)]
        # runtime/cgo's Go assembly (the C compiler builds every other cgo package's).
        asm_base: list[str] = []
        in_place = {f: f for f in (*step.asm_files, *step.headers)}
        if step.asm_files and self.asm_tool is not None:
            asm_trim = (step.trimpath + ";" if step.trimpath else "") + f"{d}=>"
            asm_base = [str(self.asm_tool), *step.asm_base_args, "-trimpath", asm_trim, "-I", str(d) + os.sep,
                        *step.asm_args]
            failed = self._assemble_symabis(step, asm_base, d, in_place)
            if failed is not None:
                return failed
            argv += ["-symabis", str(d / "symabis"), "-asmhdr", str(d / "go_asm.h")]
        argv += ["-pack", *done.go_files]
        res = self._run_compile(argv)
        real = {f.path: f.path for f in pkg.files}
        output = self._unmap(res.stdout + res.stderr, real)
        if self.runner.echo is None:
            output = cgo_report(output, self.tool_version)
        if not self.runner.dry_run and (res.returncode != 0 or not out.exists()):
            return CompileResult.failure(pkg.import_path, output or f"compile exited with status {res.returncode}\n")
        asm_objects = self._assemble_objects(step, asm_base, d, in_place) if asm_base else []
        if isinstance(asm_objects, CompileResult):
            return asm_objects
        err = cgostage.pack(out, [*(str(o) for o in asm_objects), *done.objects], self.runner, cpkg.dir)
        if err is not None:
            return CompileResult.failure(pkg.import_path, err.render(pkg.import_path), headed=False)
        if self.runner.dry_run:
            return CompileResult.built(pkg.import_path, out)
        exact = all(_digest(f.path) == f.digest for f in pkg.files) and \
            all(_digest(Path(name)) == digest for name, digest in native_files)
        return self._store(pkg.import_path, key, out, output, exact, done.warnings)

    def _copy_exact(self, origin: Path, copy: Path, digest: bytes) -> bool:
        """Writes the current content of `origin` (unsaved, or on disk) to `copy`; whether it is the
        content hashed as `digest`."""
        if self.runner.dry_run:
            return True
        data = self.overlays.get(origin)
        if data is None:
            data = origin.read_bytes()
        copy.write_bytes(data)
        return hashlib.sha256(data).digest() == digest

    def _unmap(self, raw: bytes, copies: Mapping[Path, Path]) -> str:
        """A tool's output with the private copies named as the user knows the files."""
        text = raw.decode(errors="replace")
        for real, copy in sorted(copies.items(), key=lambda rc: len(str(rc[1])), reverse=True):
            text = text.replace(str(copy), self.shown(real))
        return text

    def _write(self, path: Path, text: str) -> None:
        if self.runner.echo is not None:
            self.runner.show(f"cat >{path} << 'EOF' # internal\n{text}EOF")
        path.write_text(text)

    # -- the whole plan ------------------------------------------------------------

    def run(self, plan: Plan) -> BuildOutcome:
        """Build the plan. When a step fails and stored content it used no longer matches its
        digest (damaged after it was stored), that content is removed and the build runs once more."""
        try:
            outcome = self._run_once(plan)
        except _Refetch:
            self._defer = False
            outcome = self._run_once(plan)
        if outcome.failed_stage is None or self.runner.dry_run:
            return outcome
        with self._served_lock:
            served, self._served_paths = self._served_paths, []
        damaged = [p for p in dict.fromkeys(served) if not self.store.check(p)]
        if not damaged:
            return outcome
        if self.runner.echo is not None:
            for p in damaged:
                self.runner.show(f"# damaged cache file {p} removed; building again")
        return self._run_once(plan)

    def _run_once(self, plan: Plan) -> BuildOutcome:
        """The compiles on a ready queue: a step starts as soon as the local packages it imports are
        built. A cache hit is answered here at once; a miss (and every cgo step, whose key asks the
        C compilers) goes to one of up to `parallel` worker threads. A failure fails its dependents."""
        results: dict[str, CompileResult] = {}
        archives: dict[str, CompileResult] = {}
        failed: set[str] = set()
        pending = {s.pkg.import_path: s for s in plan.compiles}
        order = [s.pkg.import_path for s in plan.compiles]
        looked: dict[str, Missing] = {}
        finished: SimpleQueue[tuple[str, CompileResult | BaseException]] = SimpleQueue()
        workers = max(1, self.parallel)
        running = 0
        trouble: BaseException | None = None

        def work(path: str, step: CompileStep, built: dict[str, CompileResult], missing: Missing | None) -> None:
            try:
                finished.put((path, self.build(step, missing) if missing is not None else self.compile(step, built)))
            except BaseException as e:  # handed to the scheduling thread, which raises it
                finished.put((path, e))

        def finish(path: str, r: CompileResult) -> None:
            results[path] = r
            if r.failed or (r.archive is None and r.deferred is None):
                failed.add(path)
            else:
                archives[path] = r

        rank = _critical_path(plan.compiles)
        while pending or running:
            progressed = True
            while progressed and trouble is None:
                progressed = False
                ready: list[str] = []
                for path in [p for p in order if p in pending]:
                    step = pending[path]
                    if any(d in failed for d in step.local_deps):
                        failed.add(path)
                        del pending[path]
                        progressed = True
                        continue
                    if not all(d in archives for d in step.local_deps):
                        continue
                    if step.cgo is None and path not in looked:
                        try:
                            got = self.lookup(step, archives)
                        except BaseException as e:
                            trouble = trouble or e
                            break
                        if isinstance(got, CompileResult):
                            del pending[path]
                            finish(path, got)
                            progressed = True
                            continue
                        looked[path] = got
                    ready.append(path)
                # The steps that must run start longest chain first (what still waits on each).
                ready.sort(key=lambda p: -rank[p])
                for path in ready[:max(0, workers - running)] if trouble is None else ():
                    step = pending.pop(path)
                    running += 1
                    threading.Thread(target=work, args=(path, step, dict(archives), looked.pop(path, None)),
                                     name=f"rungo-compile-{path}").start()
            if not running:
                break
            path, r = finished.get()
            running -= 1
            if isinstance(r, BaseException):
                trouble = trouble or r
                continue
            finish(path, r)
        if trouble is not None:
            raise trouble
        ordered = tuple(results[p] for p in order if p in results)
        errors = "".join(
            (f"# {r.import_path}\n" if r.headed else "") + r.output for r in ordered if r.failed
        )
        kept = None
        if self.keep and self.keep in results and not self.runner.dry_run:
            kept_step = next(s for s in plan.compiles if s.pkg.import_path == self.keep)
            kept = self.kept_inputs(kept_step, archives)
        if failed or plan.link is None:
            return BuildOutcome(None, ordered, errors, "build" if failed else None, kept=kept)
        return self.link(plan.link, archives, ordered)

    def link(self, step: LinkStep, archives: Mapping[str, CompileResult], compiles: tuple[CompileResult, ...]) -> BuildOutcome:
        packages: dict[str, str] = {}
        ids: dict[str, str] = {}
        missing: list[str] = []
        deferred: dict[str, ActionID] = {}
        for p in step.local:
            r = archives[p]
            if r.deferred is not None:
                deferred[p] = r.deferred
            else:
                packages[p] = str(r.archive)
            ids[p] = r.archive_identity()
        for p in step.external:
            a = self._ext_archive(p)
            if a is None:
                ext = self.external.get(p)
                missing.append(ext.error if ext is not None and ext.error else f"cannot find package {p}")
                continue
            packages[p] = a
            ids[p] = export_identity(a)
        if missing:
            return BuildOutcome(None, compiles, "\n".join(missing) + "\n", "link")
        key = link_key(
            link_tool=tool_id(str(self.link_tool), self.tool_version),
            target_env=self.target_env,
            args=step.args,
            packages=ids,
            modinfo=step.modinfo,
            main_package=step.main,
            name=step.name,
            goroot_env=dict(step.env).get("GOROOT", ""),
        )
        if not self.force and not self.runner.dry_run:
            hit = self.store.get_executable(key, step.name)
            if hit is not None:
                return BuildOutcome(hit[1], compiles, "", None)
        if deferred:      # the link runs: every archive it reads must be here
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=8, thread_name_prefix="rungo-fetch") as pool:
                for p, path in zip(deferred, pool.map(self._fetch, deferred.values())):
                    packages[p] = str(path)
        d = self.work.action_dir()
        cfg = d / "importcfg.link"
        order = [step.main] + [p for p in step.local if p != step.main] + list(step.external)
        text = "".join(f"packagefile {p}={packages[p]}\n" for p in order)
        if step.modinfo:
            text += step.modinfo + "\n"
        self._write(cfg, text)
        exe_dir = d / "exe"
        exe_dir.mkdir()
        out = exe_dir / step.name
        argv = [str(self.link_tool), "-o", str(out), "-importcfg", str(cfg), *step.args,
                "-buildid=" + executable_build_id(key), packages[step.main]]
        res = self.runner.run(argv, cwd=self.cwd, env_extra=dict(step.env))
        if self.runner.dry_run:
            return BuildOutcome(out, compiles, "", None)
        if res.returncode != 0 or not out.exists():
            output = (res.stdout + res.stderr).decode(errors="replace")
            return BuildOutcome(None, compiles, f"# {step.main}\n{output}", "link")
        try:
            _, binary = self.store.put_executable(key, out, step.name)
        except CacheWriteError:
            return BuildOutcome(out, compiles, "", None, temporary=True)
        # The entry may be a hard link to `out`: drop the work dir's name now, so that the entry's
        # ctime (part of the rerun shortcut's stamp) does not change later when the work dir goes.
        out.unlink(missing_ok=True)
        return BuildOutcome(binary, compiles, "", None)
