"""The values the load stage hands to the build stage: modules, packages, files and load errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rungo.syntax import FileSummary, GoDebugDirective


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where an editor shows a load error that the go command prints without a position of its own
    (an import cycle, a file name, a //go:build line), and the words it shows there."""

    file: Path
    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class LoadError:
    """A load problem in the go command's wording, with a position when it has one."""

    message: str
    file: Path | None = None
    line: int = 0
    column: int = 0
    package: str | None = None      # import path, for the `package P` header some errors carry
    anchor: Anchor | None = None    # where an editor shows it when `file` is None
    beside: bool = False            # a check compiled the package beside it (without what it names)

    def render(self, rel: "RelPath") -> str:
        if self.file is None:
            return self.message
        pos = rel(self.file)
        if self.line:
            pos += f":{self.line}"
            if self.column:
                pos += f":{self.column}"
        return f"{pos}: {self.message}"


class RelPath:
    """Shows paths the way the go command does: relative to the working directory when below it."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def __call__(self, p: Path) -> str:
        try:
            rel = p.relative_to(self.cwd)
        except ValueError:
            return str(p)
        return str(rel)


@dataclass(frozen=True, slots=True)
class Module:
    """A main module: where it lives and what its go.mod says."""

    path: str
    dir: Path
    gomod: Path
    go_version: str                  # from the `go` line ("1.16" when absent)
    godebug: tuple[tuple[str, str], ...] = ()
    gomod_digest: bytes = b""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A Go file of a package, with its content digest and parsed summary."""

    path: Path
    digest: bytes
    summary: FileSummary

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True, slots=True)
class EmbedFile:
    """A file a //go:embed pattern names, with its content digest."""

    rel: str          # relative to the package directory, slash-separated
    path: Path
    digest: bytes


@dataclass(frozen=True, slots=True)
class LocalPackage:
    """A package of a main module (or the files named on the command line), loaded natively."""

    import_path: str                 # "command-line-arguments" for named files
    name: str
    dir: Path
    files: tuple[SourceFile, ...]
    excluded: tuple[Path, ...]       # Go files left out by build constraints or _test.go
    other_files: tuple[Path, ...]    # .s, .c, .syso, ... (not built natively yet)
    imports: tuple[str, ...]         # direct imports, sorted, as resolved import paths
    embed_patterns: tuple[tuple[str, tuple[str, ...]], ...]
    embed_files: tuple[EmbedFile, ...]
    go_debug: tuple[GoDebugDirective, ...]
    module: Module | None
    cmdline: bool
    errors: tuple[LoadError, ...] = ()
    uses_cgo: bool = False
    origin: ExternalPackage | None = None   # outside the main module(s): go list's description of it

    @property
    def is_main(self) -> bool:
        return self.name == "main"


@dataclass(frozen=True, slots=True)
class ExternalPackage:
    """A package outside the main module(s), described by `go list -export -deps`."""

    import_path: str
    name: str
    export: str                        # compiled package file (usable to compile against and to link)
    standard: bool
    imports: tuple[str, ...]           # resolved import paths
    dir: str
    module_path: str | None = None
    module_version: str | None = None
    module_sum: str | None = None
    replace_path: str | None = None
    replace_version: str | None = None
    error: str | None = None
    watched: tuple[str, ...] = ()      # files of mutable (replace => dir) packages
    deps: tuple[str, ...] = ()         # every package it needs, implicit imports included (runtime/cgo for cgo)
    files: tuple[str, ...] = ()        # its Go files (GoFiles, then CgoFiles), by name in dir
    sources: ExternalSources | None = None   # what compiling it natively needs


@dataclass(frozen=True, slots=True)
class ExternalSources:
    """The rest of go list's description of an external package: what rungo needs to compile it
    itself (rungo.load.graph)."""

    cgo_files: tuple[str, ...] = ()    # CgoFiles (also in ExternalPackage.files)
    asm: tuple[str, ...] = ()          # SFiles
    headers: tuple[str, ...] = ()      # HFiles
    syso: tuple[str, ...] = ()         # SysoFiles
    foreign: tuple[str, ...] = ()      # C, C++, Objective-C, Fortran and SWIG files
    embed_patterns: tuple[str, ...] = ()
    import_map: tuple[tuple[str, str], ...] = ()   # the path written in the source -> the package's path
    go_version: str = ""               # its module's go line ("" for none, or the standard library)
    digests: tuple[str, ...] = ()      # sha256 (hex) of each of ExternalPackage.files, when go list
                                       # ran for a build from source: the snapshot's validity covers them
    module_dir: str = ""               # its module's directory ("" for none, or a vendored module)


@dataclass(frozen=True, slots=True)
class Watched:
    """A file or directory whose stat decides whether a remembered result still holds."""

    path: str
    stamp: str                        # as rungo.fastpath.stamp makes it
    digest: str = ""                  # the sha256 (hex) of the content the build read, for a source file
