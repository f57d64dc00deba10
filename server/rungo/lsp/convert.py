"""Pure conversions between rungo's values (paths, summaries, package checks) and LSP's (URIs, diagnostics, lenses)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Callable
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp

from rungo.work.diagnostics import CompilerMessage, parse_compiler_output
from rungo.load.modfile import ModError
from rungo.lsp.engine import ParseProblem
from rungo.orchestrate import PackageCheck
from rungo.syntax import FileSummary
from rungo.syntax.utf16 import LineIndex

SOURCE = "rungo"

Reader = Callable[[Path], bytes | None]


def uri_to_path(uri: str) -> Path | None:
    """The path of a file: URI; None for every other scheme (untitled:, notebook cells…)."""
    u = urlparse(uri)
    if u.scheme != "file":
        return None
    return Path(unquote(u.path))


def _range(index: LineIndex, line1: int, col1: int) -> lsp.Range:
    """A zero-width-safe range at a compiler position (1-based line, 1-based byte column; 0 = no column)."""
    if line1 <= 0:
        return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    if col1 <= 0:
        line0, _ = index.position(line1, 1)
        return lsp.Range(lsp.Position(line0, 0), lsp.Position(line0 + 1, 0))
    line0, char = index.position(line1, col1)
    return lsp.Range(lsp.Position(line0, char), lsp.Position(line0, char + 1))


def syntax_diagnostics(data: bytes, summary: FileSummary) -> list[lsp.Diagnostic]:
    if not summary.syntax_errors:
        return []
    index = LineIndex(data)
    return [
        lsp.Diagnostic(
            range=_range(index, p.position.line, p.position.column),
            message=p.message,
            severity=lsp.DiagnosticSeverity.Error,
            source=SOURCE,
        )
        for p in summary.syntax_errors
    ]


def parse_diagnostics(data: bytes, problems: list[ParseProblem]) -> list[lsp.Diagnostic]:
    """The Go parser's errors (gofmt -e) as diagnostics."""
    if not problems:
        return []
    index = LineIndex(data)
    return [lsp.Diagnostic(range=_range(index, p.line, p.column), message=p.message,
                           severity=lsp.DiagnosticSeverity.Error, source=SOURCE) for p in problems]


def modfile_diagnostics(data: bytes, errors: tuple[ModError, ...]) -> list[lsp.Diagnostic]:
    """go.mod / go.work errors at their lines (the whole line when Go gives no column)."""
    index = LineIndex(data)
    return [lsp.Diagnostic(range=_range(index, e.line, e.column if e.column > 1 else 0), message=e.message,
                           severity=lsp.DiagnosticSeverity.Error, source=SOURCE) for e in errors]


def is_module_message(text: str) -> bool:
    """A load failure about go.mod or go.work itself (shown at its line in that file instead)."""
    first = text.split("\n", 1)[0]
    return first.startswith(("go: errors parsing go.", "go: errors parsing ")) and (
        "go.mod" in first or "go.work" in first) or (first.startswith("go: error reading ") and "go.mod" in first)


class _Indexes:
    def __init__(self, read: Reader) -> None:
        self.read = read
        self.cache: dict[Path, LineIndex] = {}

    def __call__(self, p: Path) -> LineIndex:
        idx = self.cache.get(p)
        if idx is None:
            idx = LineIndex(self.read(p) or b"")
            self.cache[p] = idx
        return idx


# What the compiler says of an import a check left out because of a load error on its line.
_IMPORT_COMPLAINTS = ("could not import ", "invalid import path")


def check_diagnostics(check: PackageCheck, read: Reader) -> tuple[dict[Path, list[lsp.Diagnostic]], list[str]]:
    """Diagnostics per file from a package check, and the messages no file position could hold."""
    out: dict[Path, list[lsp.Diagnostic]] = {}
    loose: list[str] = []
    indexes = _Indexes(read)
    import_lines: set[tuple[Path, int]] = set()     # where a load error says why an import fails
    for e in check.load_errors:
        file, line, column, message = e.file, e.line, e.column, e.message
        if file is None and e.anchor is not None:
            file, line, column, message = e.anchor.file, e.anchor.line, e.anchor.column, e.anchor.message
        if file is None:
            loose.append(e.message)
            continue
        path = Path(file) if Path(file).is_absolute() else check.cwd / file
        if e.beside:
            import_lines.add((path, line))
        out.setdefault(path, []).append(lsp.Diagnostic(
            range=_range(indexes(path), line, column),
            message=message,
            severity=lsp.DiagnosticSeverity.Error,
            source=SOURCE,
        ))
    for _, text in check.compile_outputs:
        messages, unattributed = parse_compiler_output(text, base_dir=str(check.cwd))
        loose.extend(u for u in unattributed if u.strip())
        for m in messages:
            path = Path(m.path)
            if (path, m.line) in import_lines and m.message.startswith(_IMPORT_COMPLAINTS):
                continue     # the compiler's word for the import the load error is about
            out.setdefault(path, []).append(_compiler_diagnostic(m, indexes))
    if check.message:
        loose.append(check.message)
    return out, loose


def _compiler_diagnostic(m: CompilerMessage, indexes: _Indexes) -> lsp.Diagnostic:
    related = []
    for r in m.related:
        rp = Path(r.path)
        related.append(lsp.DiagnosticRelatedInformation(
            location=lsp.Location(uri=rp.as_uri(), range=_range(indexes(rp), r.line, r.column)),
            message=r.message,
        ))
    message = m.message
    if m.continuation:
        message += "\n" + "\n".join(c.strip() for c in m.continuation)
    return lsp.Diagnostic(
        range=_range(indexes(Path(m.path)), m.line, m.column),
        message=message,
        severity=lsp.DiagnosticSeverity.Error,
        source=SOURCE,
        related_information=related or None,
    )


RESTRICTED = "▶ Run is off in Restricted Mode: trust the workspace to run programs"


def main_lenses(uri: str, data: bytes, summary: FileSummary, result: str | None,
                runs_allowed: bool = True, included: bool | None = True) -> list[lsp.CodeLens]:
    """`▶ Run` and `Run with arguments…` above func main of package main, and the last result.

    included says whether the package build takes the file: a file it leaves out (`//go:build ignore`,
    other tags) with its own package main and func main is a program of its own, run as
    `go run file.go` (`▶ Run file.go`); any other file it leaves out gets no lens.
    """
    if summary.package != "main" or summary.main_func is None or included is None:
        return []
    index = LineIndex(data)
    line0, _ = index.position(summary.main_func.line, 1)
    rng = lsp.Range(lsp.Position(line0, 0), lsp.Position(line0, 0))
    arg: dict[str, object] = {"uri": uri}
    suffix = ""
    if not included:
        arg = {"uri": uri, "files": [uri]}
        suffix = " " + PurePosixPath(unquote(urlparse(uri).path)).name
    if not runs_allowed:
        return [lsp.CodeLens(range=rng, command=lsp.Command(title=RESTRICTED, command="rungo.showRestricted",
                                                            arguments=[arg]))]
    lenses = [
        lsp.CodeLens(range=rng, command=lsp.Command(title="▶ Run" + suffix, command="rungo.run", arguments=[arg])),
        lsp.CodeLens(range=rng, command=lsp.Command(title="Run with arguments…", command="rungo.runWithArguments", arguments=[arg])),
    ]
    if result:
        lenses.append(lsp.CodeLens(range=rng, command=lsp.Command(title=result, command="rungo.run", arguments=[arg])))
    return lenses


def format_result(exit_code: int | None, signal_name: str | None, duration_ms: int, stage: str) -> str:
    if stage != "run":
        return f"{stage} failed"
    if signal_name:
        return f"{signal_name} · {duration_ms} ms"
    return f"exit {exit_code} · {duration_ms} ms"
