"""The arguments of the rungo.* commands: structured from the wire into dataclasses, checked, or refused in words."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NewType, TypeVar

import cattrs

from rungo.lsp import wire
from rungo.lsp.convert import uri_to_path

Location = NewType("Location", Path)             # a file: URI or an absolute path, as the path it names
NamedFiles = NewType("NamedFiles", tuple[Path, ...])   # .go files of one directory, as paths (`go run a.go b.go`)
Environment = NewType("Environment", dict[str, str])   # extra environment; any JSON value is taken as its text
Strings = NewType("Strings", tuple[str, ...])    # a list of strings; null is the empty list
RunId = NewType("RunId", str)                    # a run; None (or anything but a string) means every run
Cells = NewType("Cells", int)                    # a terminal size: a positive whole number

DEFAULT_SIZE = (80, 24)
A = TypeVar("A")


class InvalidArguments(ValueError):
    """Command arguments that cannot be used; the text names the command and what is wrong."""


@dataclass(frozen=True, slots=True)
class RunArguments:
    """`rungo.run`: what to run (a file, a directory or named files), with what arguments, flags and env."""

    uri: Location | None = None
    dir: Location | None = None
    package: Location | None = None
    files: NamedFiles | None = None
    args: Strings | None = None                   # not given: the package's arguments from the settings
    build_flags: Strings = Strings(())            # after the settings' build flags
    env: Environment = field(default_factory=lambda: Environment({}))
    use_buffers: bool = True                      # build what the editor shows, unsaved buffers included
    configuration: str | None = None              # a saved run configuration of the target, by name
    cwd: Location | None = None                   # the program's directory (default: the package's)
    watch: bool = False                           # rebuild and restart on each save of an input, until stopped
    cols: Cells | None = None
    rows: Cells | None = None

    def __post_init__(self) -> None:
        if not (self.uri or self.dir or self.package):
            raise wire.InvalidValue("needs {uri} or {dir}")

    @property
    def target(self) -> Path:
        """The file or directory to run: uri, else dir, else package."""
        target = self.uri or self.dir or self.package
        assert target is not None
        return target

    @property
    def size(self) -> tuple[int, int]:
        return (self.cols, self.rows) if self.cols is not None and self.rows is not None else DEFAULT_SIZE


@dataclass(frozen=True, slots=True)
class StopArguments:
    """`rungo.stop`: one run, or every run."""

    run_id: RunId | None = None


@dataclass(frozen=True, slots=True)
class InputArguments:
    """`rungo.input`: text for the standard input of one run (or of every run)."""

    data: str
    run_id: RunId | None = None


@dataclass(frozen=True, slots=True)
class ResizeArguments:
    """`rungo.resize`: the terminal size of one run (or of every run)."""

    cols: Cells
    rows: Cells
    run_id: RunId | None = None


def location(value: Any, _: Any = None) -> Location:
    """A file: URI or an absolute path; anything else (untitled:, notebook cells, other schemes) is refused."""
    if not isinstance(value, str):
        raise wire.WrongType("must be a string")
    if ":" in value.split("/", 1)[0] and not value.startswith("/"):
        path = uri_to_path(value)
        if path is None:
            raise wire.InvalidValue(f"{value} is not a file on disk; save it as a .go file first")
        return Location(path)
    if not os.path.isabs(value):
        raise wire.InvalidValue(f"{value!r} is neither a file URI nor an absolute path")
    return Location(Path(value))


def _strings(value: Any, _: Any) -> Strings:
    if value is None:
        return Strings(())
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise wire.WrongType("must be a list of strings")
    return Strings(tuple(value))


def _named_files(value: Any, _: Any) -> NamedFiles:
    named = [location(v) for v in _strings(value, None)]
    if not named:
        raise wire.InvalidValue("is empty")
    dirs = {f.parent for f in named}
    if len(dirs) > 1:
        a, b = sorted(str(d) for d in dirs)[:2]
        raise wire.InvalidValue(f"named files must all be in one directory; have {a} and {b}")
    if any(f.suffix != ".go" for f in named):
        raise wire.InvalidValue("must be .go files")
    return NamedFiles(tuple(named))


def _environment(value: Any, _: Any) -> Environment:
    if not value:
        return Environment({})
    if not isinstance(value, dict):
        raise wire.WrongType("must be an object")
    return Environment({str(k): str(v) for k, v in value.items()})


def _run_id(value: Any, _: Any) -> RunId | None:
    return RunId(value) if isinstance(value, str) else None


def _cells(value: Any, _: Any) -> Cells:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise wire.InvalidValue("must be a positive whole number")
    return Cells(value)


def _size(value: Any, _: Any) -> Cells | None:
    """A run's starting size: anything but a positive whole number leaves the default."""
    try:
        return _cells(value, None)
    except wire.InvalidValue:
        return None


@functools.cache
def converter() -> cattrs.Converter:
    conv = wire.make_converter()
    conv.register_structure_hook(Location, location)
    conv.register_structure_hook(NamedFiles | None, _named_files)     # given as null: no files, refused
    conv.register_structure_hook(Strings, _strings)
    conv.register_structure_hook(Strings | None, _strings)     # given as null: no arguments
    conv.register_structure_hook(Environment, _environment)
    conv.register_structure_hook(RunId | None, _run_id)
    conv.register_structure_hook(Cells, _cells)
    conv.register_structure_hook(Cells | None, _size)
    return conv


def _first(args: tuple[Any, ...]) -> dict[str, Any]:
    """A command's one argument: an object, or a bare URI string; anything else is no argument."""
    if args and isinstance(args[0], dict):
        return args[0]
    if args and isinstance(args[0], str):
        return {"uri": args[0]}
    return {}


def structure(command: str, args: tuple[Any, ...], kind: type[A]) -> A:
    """The arguments of a command as kind, or InvalidArguments saying each thing wrong with them."""
    try:
        return converter().structure(_first(args), kind)
    except cattrs.ClassValidationError as e:
        text = "; ".join(wire.field_text(path, error) for path, error in wire.failures(e))
        raise InvalidArguments(f"{command}: {text}") from None
    except wire.InvalidValue as e:
        raise InvalidArguments(f"{command}: {e}") from None
