"""A package check turned into what to publish: each file's diagnostics, and the errors of go.mod and go.work.

Runs in a thread: it calls the engine (the compiler, the Go parser) and reads files, and holds no
server state; the event loop publishes its CheckAnswer.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from lsprotocol import types as lsp

from rungo.load.loader import find_go_work, find_module_root
from rungo.load.modfile import ModError, parse_mod, parse_work
from rungo.lsp import convert
from rungo.lsp.documents import read_disk
from rungo.lsp.engine import Engine
from rungo.scheduling import CancelToken
from rungo.lsp.settings import Settings
from rungo.orchestrate import PackageCheck

UriFor = Callable[[Path], str]
FileDiagnostics = tuple[tuple[str, tuple[lsp.Diagnostic, ...]], ...]


@dataclass(frozen=True, slots=True)
class CheckAnswer:
    """A check turned into what to publish: per file (URI) its diagnostics; per go.mod/go.work too."""

    files: FileDiagnostics
    modules: FileDiagnostics
    types_only: bool = False      # the compiler stopped after type checking: a full check may find more
    clean: bool = False           # the compiler reported nothing
    stands: bool = False          # not to publish: the last full answer stands until the next one
    in_memory: bool = False       # go/types answered (the long-lived type checker): the compiler's word follows
    unbuilt: bool = False         # answered from source, nothing built: the compiler's word waits for a save


def _at_start(message: str, severity: lsp.DiagnosticSeverity) -> lsp.Diagnostic:
    return lsp.Diagnostic(range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)), message=message,
                          severity=severity, source=convert.SOURCE)


def _compiled(check: PackageCheck, pkg_dir: Path, reported: Mapping[Path, object]) -> set[Path]:
    """The files the compiler answered for: its word is the truth there, the Go parser's elsewhere."""
    pkg = check.package
    if pkg is None:
        return {p for p in reported if p.parent == pkg_dir}
    if check.message or not all(e.beside for e in check.load_errors):
        return set()      # the load stopped before the compiler (errors compiled beside do not)
    failed = {ip for ip, _ in check.compile_outputs}
    if not failed or pkg.import_path in failed:
        return {f.path for f in pkg.files}
    return set()   # a dependency failed: this package was not compiled


def _excluded_why(check: PackageCheck, p: Path) -> str:
    if p.name.endswith("_test.go"):
        return "a test file: go test builds it, go run does not"
    if check.package is not None and p in check.package.excluded:
        return "excluded from the build by its build constraints"
    return "not part of this package's build"


def compute_check(engine: Engine, pkg_dir: Path, overlays: Mapping[Path, bytes], texts: Mapping[str, str],
                  s: Settings, token: CancelToken, uri_for: UriFor, quick: bool = False,
                  beside: bool = False, build: bool = True) -> CheckAnswer:
    """The check of one package and what to publish for it (`quick`: a keystroke's; `beside`: gopls
    shows the type and syntax errors; `build`: compile its imports if they are not built; see Engine.check)."""
    check = engine.check(pkg_dir, overlays, env_extra=s.run_env(), flags=s.build_flags, go_path=s.go_path, token=token,
                         quick=quick, beside=beside, build=build)

    def read(p: Path) -> bytes | None:
        data = overlays.get(p)
        return data if data is not None else read_disk(p)

    by_file, loose = convert.check_diagnostics(check, read)
    loose = [m for m in loose if not convert.is_module_message(m)]
    pkg = check.package
    in_build = {f.path for f in pkg.files} if pkg is not None else set()
    compiled = _compiled(check, pkg_dir, by_file)
    files = set(_go_files(pkg_dir))
    files.update(p for p in overlays if p.parent == pkg_dir and p.suffix == ".go")
    out: list[tuple[str, tuple[lsp.Diagnostic, ...]]] = []
    for p in sorted(files):
        diags = list(by_file.pop(p, []))
        data = read(p)
        if p not in compiled and data is not None and not token.cancelled and not beside:
            problems = engine.parse_errors(data, env_extra=s.run_env(), go_path=s.go_path, cwd=pkg_dir, token=token)
            if problems is not None:
                seen = {(d.range.start.line, d.message) for d in diags}
                diags.extend(d for d in convert.parse_diagnostics(data, problems)
                             if (d.range.start.line, d.message) not in seen)
        if pkg is not None and p not in in_build and s.diagnostics.explain_excluded:
            diags.append(_at_start(f"rungo: {p.name} is {_excluded_why(check, p)}", lsp.DiagnosticSeverity.Hint))
        if loose and (pkg is None or p in in_build):
            diags.append(_at_start("\n".join(loose), lsp.DiagnosticSeverity.Error))
        out.append((uri_for(p), tuple(diags)))
    for p, rest in by_file.items():
        out.append((uri_for(p), tuple(rest)))
    return CheckAnswer(tuple(out), module_answers(pkg_dir, texts, uri_for, check.message), check.types_only,
                       not (check.compile_outputs or check.load_errors or check.message), check.stands,
                       check.in_memory, check.unbuilt)


def module_answers(pkg_dir: Path, texts: Mapping[str, str], uri_for: UriFor, message: str = "") -> FileDiagnostics:
    """go.mod and go.work of pkg_dir, parsed (the editor's text when open), errors at their lines."""
    out: list[tuple[str, tuple[lsp.Diagnostic, ...]]] = []
    root = find_module_root(pkg_dir)
    work = find_go_work(pkg_dir)
    for path in ([root / "go.mod"] if root is not None else []) + ([work] if work is not None else []):
        uri = uri_for(path)
        text = texts.get(uri)
        data = text.encode("utf-8", "surrogateescape") if text is not None else read_disk(path)
        if data is None:
            continue
        out.append((uri, tuple(module_diagnostics(path, data, message))))
    return tuple(out)


def module_diagnostics(path: Path, data: bytes, message: str) -> list[lsp.Diagnostic]:
    """The errors of a go.mod or go.work file at their lines; a "go.mod requires go >= …" load message
    goes on its go line."""
    errors = _module_errors(str(path), data)
    extra: list[ModError] = []
    first = message.split("\n", 1)[0]
    if not errors and path.name == "go.mod" and "go.mod requires go" in first:
        line = next((i + 1 for i, text in enumerate(data.decode("utf-8", "replace").splitlines())
                     if text.strip().startswith("go ")), 1)
        extra.append(ModError(line, 0, first.removeprefix("go: ")))
    return convert.modfile_diagnostics(data, errors + tuple(extra))


@functools.lru_cache(maxsize=32)
def _module_errors(path: str, data: bytes) -> tuple[ModError, ...]:
    """A go.mod's or go.work's errors, parsed once per content (every check publishes them)."""
    if path.endswith("go.work"):
        return parse_work(data, path).errors
    return parse_mod(data, path).errors


def _go_files(pkg_dir: Path) -> list[Path]:
    try:
        return [pkg_dir / n for n in os.listdir(pkg_dir) if n.endswith(".go")]
    except OSError:
        return []
