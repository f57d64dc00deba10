"""The value types of a Go file summary: positions, syntax problems, imports, directives and the summary itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a source file, as the Go compiler reports it."""

    line: int    # 1-based
    column: int  # 1-based, counted in bytes of the UTF-8 source (a tab is 1)


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """One syntax (or encoding) error, worded like the Go compiler where practical."""

    position: Position
    message: str


@dataclass(frozen=True, slots=True)
class ImportSpec:
    """One import of the file's header."""

    path: str           # unquoted import path
    name: str | None    # explicit name ("_", ".", "alias"), None when absent
    position: Position  # of the path string literal
    spec_position: Position  # of the spec: the name when present, else the path (go/build's ImportPos)


@dataclass(frozen=True, slots=True)
class EmbedDirective:
    """A well-formed `//go:embed` line and its unquoted patterns."""

    patterns: tuple[str, ...]
    position: Position  # of the `//` that starts the comment


@dataclass(frozen=True, slots=True)
class GoDebugDirective:
    """A `//go:debug key=value` line before the package clause."""

    key: str
    value: str
    position: Position  # of the `//` that starts the comment


@dataclass(frozen=True, slots=True)
class FileSummary:
    """What rungo needs to know about one Go file without type-checking it."""

    package: str                             # package clause name, "" when missing
    package_position: Position | None        # of the package name identifier
    imports: tuple[ImportSpec, ...]          # the header's imports in source order, including "C"
    imports_c: bool                          # `import "C"` is present (cgo)
    embeds: tuple[EmbedDirective, ...]       # only collected when the file imports "embed", as go/build does
    go_debug: tuple[GoDebugDirective, ...]   # //go:debug lines before the package clause
    main_func: Position | None               # name of a top-level `func main` without receiver or type parameters
    syntax_errors: tuple[SyntaxProblem, ...]
