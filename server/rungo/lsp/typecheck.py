"""The keystroke check: the checked package compiled again by itself, stopping after type checking.

A full check (load, plan, compile of the package and of its local imports) keeps the package's compile
inputs (`TypeCheckInputs`) and what its load read. While every file of the package keeps its header
(package clause, imports, build constraints, `//go:debug` and `//go:embed` lines), nothing the load read
changed on disk and the other packages' unsaved buffers are as they were, a keystroke's check is one
compiler process over the same import config, given one more file that names an undefined identifier.
The compiler then stops after type checking (types2), whatever the rest of the code, and reports
exactly the errors it reports without that file, plus its own about the name, which is dropped.
Errors of later phases (code generation) wait for the full check, after a pause or on save.

Before its imports are built (a workspace opened with cold caches), a check compiles nothing: the
long-lived type checker checks the package against its imports type-checked from source (`SourceGraph`),
as gopls does, and the full compile waits for a save or a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from rungo.load.model import LoadError, Watched
from rungo.load.program import Program
from rungo.lsp.typeserver import TypeServer
from rungo.load.stamps import still_valid
from rungo.orchestrate import PackageCheck
from rungo.process import Runner
from rungo.syntax import FileSummary, summarize
from rungo.work.execute import TypeCheckInputs

STOP_NAME = "rungoStopAfterTypes"
STOP_FILE = "zz_rungo_stop_after_types.go"

# What the compiler says when an archive of the import config is gone or unreadable: the kept inputs
# no longer hold. (An import the package was compiled without, beside a load error, is no sign.)
_IMPORT_TROUBLE = re.compile(r"(?:could not import|can't find import:?) \"?([^\s\"(]+)")
_STALE_SIGNS = ("open importcfg", "reading input")

Header = tuple[Any, ...]


def _line_offset(data: bytes, line: int) -> int:
    """Where 1-based line `line` + 1 starts in data (its length when data has fewer lines)."""
    cut = 0
    for _ in range(line):
        nl = data.find(b"\n", cut)
        if nl < 0:
            return len(data)
        cut = nl + 1
    return cut


def header(data: bytes, s: FileSummary | None = None) -> Header:
    """What a file's load depends on: package name, imports (and where they are, which is where a
    load error about one is shown), cgo, embeds, //go:debug lines, and the text above the package
    clause (build constraints live there). `s` is data's summary, when known."""
    s = s if s is not None else summarize(data)
    above = data[:_line_offset(data, s.package_position.line - 1)] if s.package_position is not None else b""
    return (s.package, tuple((i.name, i.path, i.spec_position) for i in s.imports), s.imports_c,
            tuple(e.patterns for e in s.embeds), tuple((d.key, d.value) for d in s.go_debug), above)


_IMPORT_LINE = re.compile(rb"(?m)^[ \t]*import\b")
_TOP_LEVEL = re.compile(rb"(?m)^[A-Za-z_]")
_EMBED_LINE = re.compile(rb"(?m)^.*//go:embed.*$")


@dataclass(frozen=True, slots=True)
class FileHead:
    """A file's header, and what tells without parsing that an edit left it alone: the bytes up to the
    first top-level line after its last import (or its package clause), and its //go:embed lines."""

    header: Header
    prefix: bytes
    embeds: tuple[bytes, ...]

    @staticmethod
    def of(data: bytes) -> FileHead:
        s = summarize(data)
        last = max([i.spec_position.line for i in s.imports] +
                   ([s.package_position.line] if s.package_position is not None else [0]))
        cut = _line_offset(data, last)
        first_decl = _TOP_LEVEL.search(data, cut)      # the import block's end is before it
        cut = first_decl.start() if first_decl is not None else len(data)
        return FileHead(header(data, s), data[:cut], tuple(_EMBED_LINE.findall(data)))

    def holds_for(self, data: bytes) -> bool:
        """Whether data has this header: the same bytes up to the last import, no import declaration
        after them, the same //go:embed lines; else a parse tells."""
        if data.startswith(self.prefix) and not _IMPORT_LINE.search(data, len(self.prefix)) \
                and tuple(_EMBED_LINE.findall(data)) == self.embeds:
            return True
        return header(data) == self.header


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# Inputs outside the package's module (the toolchain, the module cache) are looked at again at most
# this often: a keystroke's check stats only what is being worked on.
SETTLED_RECHECK_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class SourceGraph:
    """The imports of a package not compiled yet, as the type checker checks them from source: every
    package below it (files by name, resolved imports, unsaved buffers), and a digest of the graph and
    of the state of every input its load read."""

    digest: str
    packages: tuple[dict[str, Any], ...]
    imports: tuple[str, ...]          # the package's own, resolved

    @staticmethod
    def of(program: Program, overlays: Mapping[Path, bytes]) -> SourceGraph:
        pkgs: list[dict[str, Any]] = []
        for p in program.local:
            if p is program.main:
                continue
            data = {str(f.path): overlays[f.path].decode("utf-8", "replace") for f in p.files if f.path in overlays}
            pkgs.append({"path": p.import_path, "dir": str(p.dir), "files": [str(f.path) for f in p.files],
                         "imports": list(p.imports), **({"data": data} if data else {})})
        for ep in program.external.values():
            pkgs.append({"path": ep.import_path, "dir": ep.dir, "files": list(ep.files), "imports": list(ep.imports)})
        h = hashlib.sha256(json.dumps([pkgs, [(w.path, w.stamp) for w in program.watched]]).encode())
        return SourceGraph(h.hexdigest(), tuple(pkgs), program.main.imports)


@dataclass(frozen=True, slots=True)
class Kept:
    """A full check's compile inputs and the state they hold for."""

    inputs: TypeCheckInputs
    watched: tuple[Watched, ...]          # everything the load read
    headers: Mapping[Path, FileHead]      # per file of the package, of the content compiled
    overlaid: Mapping[Path, bytes]        # every unsaved buffer of the check, by digest
    near: tuple[Watched, ...]             # what the load read inside the package's module
    load_errors: tuple[LoadError, ...]    # the errors the package was compiled beside (without their imports)
    imports: Mapping[str, str]            # the import config: archive by import path
    cfg: str                              # its digest
    source: SourceGraph | None = None     # not compiled: the imports are checked from source

    @property
    def lang(self) -> str:
        """The language version the package is compiled for (-lang), "" when unset."""
        return next((a[len("-lang="):] for a in self.inputs.args if a.startswith("-lang=")), "")

    @property
    def package_path(self) -> str:
        """The package's path as the compiler is given it (-p; "main" for a command)."""
        args = self.inputs.args
        for i, a in enumerate(args[:-1]):
            if a == "-p":
                return args[i + 1]
        return self.inputs.pkg.import_path

    @staticmethod
    def near_of(inputs: TypeCheckInputs, watched: tuple[Watched, ...]) -> tuple[Watched, ...]:
        root = str(inputs.pkg.module.dir if inputs.pkg.module is not None else inputs.pkg.dir)
        return tuple(w for w in watched if w.path == root or w.path.startswith(root + os.sep))


class TypeChecks:
    """The kept inputs of recent full checks, by check configuration; thread-safe."""

    def __init__(self, limit: int = 64) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[Any, ...], Kept] = OrderedDict()
        self._limit = limit
        self._settled: dict[tuple[Any, ...], float] = {}   # key -> when all its inputs last held
        self._codegen: set[tuple[Any, ...]] = set()         # keys whose last full check had code generation errors
        self.quick = 0          # keystroke checks answered by one compiler process (for tests and the bench)
        self.in_memory = 0      # keystroke checks answered by the long-lived type checker

    def keep(self, key: tuple[Any, ...], check: PackageCheck, overlays: Mapping[Path, bytes]) -> None:
        """Keeps what a full check compiled, unless it cannot be compiled again by itself."""
        inputs = check.typecheck
        if inputs is None or check.message or not all(e.beside for e in check.load_errors):
            self.forget(key)
            return
        headers: dict[Path, FileHead] = {}
        for f in inputs.pkg.files:
            data = overlays.get(f.path)
            if data is None:
                try:
                    data = f.path.read_bytes()
                except OSError:
                    self.forget(key)
                    return
            headers[f.path] = FileHead.of(data)
        for p, data in overlays.items():
            if p.parent == inputs.pkg.dir and p not in headers:
                headers[p] = FileHead.of(data)      # a file the build left out: it stays out while its header holds
        imports = dict(line[len("packagefile "):].split("=", 1) for line in inputs.importcfg.splitlines()
                       if line.startswith("packagefile ") and "=" in line)
        kept = Kept(inputs, check.watched, headers, {p: _digest(d) for p, d in overlays.items()},
                    Kept.near_of(inputs, check.watched), check.load_errors, imports,
                    hashlib.sha256(inputs.importcfg.encode()).hexdigest(),
                    SourceGraph.of(check.source, overlays) if check.source is not None else None)
        with self._lock:
            self._kept[key] = kept
            self._settled[key] = time.monotonic()
            self._kept.move_to_end(key)
            while len(self._kept) > self._limit:
                gone, _ = self._kept.popitem(last=False)
                self._settled.pop(gone, None)
                self._codegen.discard(gone)

    def forget(self, key: tuple[Any, ...]) -> None:
        with self._lock:
            self._kept.pop(key, None)
            self._settled.pop(key, None)
            self._codegen.discard(key)

    def note_codegen_errors(self, key: tuple[Any, ...], codegen: bool) -> None:
        """Whether the last full check of key found errors only code generation sees."""
        with self._lock:
            if codegen:
                self._codegen.add(key)
            else:
                self._codegen.discard(key)

    def codegen_errors(self, key: tuple[Any, ...]) -> bool:
        with self._lock:
            return key in self._codegen

    def holding(self, key: tuple[Any, ...], pkg_dir: Path, overlays: Mapping[Path, bytes]) -> Kept | None:
        """The kept inputs of key if they still hold for these buffers and the disk as it is now."""
        with self._lock:
            kept = self._kept.get(key)
        if kept is None:
            return None
        pkg_dir = kept.inputs.pkg.dir
        for p, data in overlays.items():
            if p.parent == pkg_dir:
                if p.name.endswith("_test.go"):
                    continue      # a test file: go run never compiles it
                head = kept.headers.get(p)
                if head is None or not head.holds_for(data):
                    return None
            elif kept.overlaid.get(p) != _digest(data):
                return None       # another package's buffer changed
        if any(p not in overlays for p in kept.overlaid if not p.name.endswith("_test.go")):
            return None           # a buffer closed unsaved: the disk's content is back
        if not still_valid(kept.near):
            return None
        now = time.monotonic()
        with self._lock:
            settled = self._settled.get(key, 0.0)
        if now - settled >= SETTLED_RECHECK_SECONDS:
            if not still_valid(kept.watched) or not all(os.path.exists(a) for a in kept.inputs.archives):
                return None
            with self._lock:
                self._settled[key] = now
        return kept

    def types(self, kept: Kept, pkg_dir: Path, overlays: Mapping[Path, bytes], server: TypeServer,
              goarch: str, runner: Runner) -> PackageCheck | None:
        """The long-lived type checker's word on the package over the kept inputs and the current
        buffers; None when it cannot answer as the compiler would (a syntax error, whose words are the
        compiler's own; content that is not UTF-8; an import it cannot read: the inputs no longer hold).
        Over a source graph, a syntax error is answered here, in the compiler's words (runner's)."""
        pkg = kept.inputs.pkg
        files: list[dict[str, str | None]] = []
        for f in pkg.files:
            data = overlays.get(f.path)
            if data is None:
                files.append({"name": str(f.path), "data": None})
                continue
            try:
                files.append({"name": str(f.path), "data": data.decode("utf-8")})
            except UnicodeDecodeError:
                return None
        request: dict[str, Any] = {"lang": kept.lang, "goarch": goarch, "path": kept.package_path, "files": files}
        if kept.source is not None:
            answer = server.ask_graph(request, kept.source.digest, kept.source.imports, kept.source.packages)
        else:
            answer = server.ask({**request, "cfg": kept.cfg, "importcfg": kept.imports})
        if answer is not None and answer.syntax and kept.source is not None:
            return self._syntax(kept, pkg_dir, overlays, answer.report, runner)
        if answer is None or answer.syntax or answer.stale:
            return None
        with self._lock:
            self.in_memory += 1
        outputs = ((pkg.import_path, answer.report),) if answer.report.strip() else ()
        return PackageCheck(pkg, pkg_dir, kept.load_errors, outputs, "", kept.inputs, kept.watched,
                            types_only=True, in_memory=True, unbuilt=kept.source is not None)

    def _syntax(self, kept: Kept, pkg_dir: Path, overlays: Mapping[Path, bytes], parsed: str,
                runner: Runner) -> PackageCheck | None:
        """A package with a syntax error, none of its imports built: the compiler stops after parsing,
        so its words need no import; when it parses the files after all, go/parser's words stand."""
        got = self.compile(kept, pkg_dir, overlays, runner, None)
        if got is None:
            return None
        if any(_IMPORT_TROUBLE.search(out) for _, out in got.compile_outputs):
            got = replace(got, compile_outputs=((kept.inputs.pkg.import_path, parsed),))
        return replace(got, in_memory=True, unbuilt=True)

    def compile(self, kept: Kept, pkg_dir: Path, overlays: Mapping[Path, bytes], runner: Runner,
                tmp_root: str | None) -> PackageCheck | None:
        """The compiler over the kept inputs and the current buffers, stopped after type checking;
        None when its answer shows the inputs no longer hold."""
        inputs, pkg = kept.inputs, kept.inputs.pkg
        d = Path(tempfile.mkdtemp(prefix="rungo-typecheck-", dir=tmp_root))
        try:
            src = d / "src"
            src.mkdir()
            copies: dict[Path, Path] = {}
            names: list[str] = []
            for f in pkg.files:
                data = overlays.get(f.path)
                if data is None:
                    names.append(str(f.path))
                    continue
                copies[f.path] = src / f.path.name
                copies[f.path].write_bytes(data)
                names.append(str(copies[f.path]))
            stop = src / STOP_FILE
            stop.write_text(f"package {pkg.name}\n\nvar _ = {STOP_NAME}\n")
            (d / "importcfg").write_text(inputs.importcfg)
            argv = [str(inputs.compile_tool), "-o", str(d / "_pkg_.a"),
                    "-trimpath", f"{src}=>{pkg.dir};{d}=>" + (";" + inputs.trimpath if inputs.trimpath else ""),
                    *inputs.args, "-importcfg", str(d / "importcfg")]
            if inputs.embedcfg:
                (d / "embedcfg").write_text(inputs.embedcfg)
                argv += ["-embedcfg", str(d / "embedcfg")]
            argv += ["-pack", *names, str(stop)]
            res = runner.run(argv, cwd=pkg_dir, quiet=True)
        finally:
            # Removing the scratch files is not part of the answer (a thread of its own, which the
            # process still waits for at exit).
            threading.Thread(target=shutil.rmtree, args=(d,), kwargs={"ignore_errors": True},
                             name="rungo-typecheck-clean").start()
        if res.returncode < 0:
            return None           # killed (cancelled): no answer
        text = (res.stdout + res.stderr).decode(errors="replace")
        if any(sign in text for sign in _STALE_SIGNS) or any(
                f"packagefile {m.group(1)}=" in inputs.importcfg for m in _IMPORT_TROUBLE.finditer(text)):
            return None
        out: list[str] = []
        skipping = False
        for line in text.splitlines(keepends=True):
            if line.startswith(str(stop)):
                skipping = True   # the stop file's own error, and its continuation lines
                continue
            if skipping and line.startswith(("\t", "    ")):
                continue
            skipping = False
            out.append(line)
        report = "".join(out)
        for real, copy in copies.items():
            report = report.replace(str(copy), str(real))
        with self._lock:
            self.quick += 1
        outputs = ((pkg.import_path, report),) if report.strip() else ()
        return PackageCheck(pkg, pkg_dir, kept.load_errors, outputs, "", inputs, kept.watched, types_only=True)
