"""The ``go run`` command line: flags, $GOFLAGS, the run target and the program's arguments.

This module is a faithful model of how ``go run`` (Go 1.26) reads its command line, taken from
cmd/go/main.go (``handleChdirFlag``), cmd/go/internal/base/goflags.go (``InitGOFLAGS``,
``SetFromGOFLAGS``), the standard ``flag`` package (``FlagSet.parseOne``),
cmd/go/internal/work/build.go (``AddBuildFlags``, ``AddCoverFlags`` and their value types),
cmd/go/internal/load/flag.go (``PerPackageFlag``), cmd/internal/quoted (argument splitting),
cmd/go/internal/work/init.go (``-mod`` and ``-p`` checks) and cmd/go/internal/run/run.go (files
versus package versus program arguments).  Error messages are the exact text ``go`` prints.

Order of checks, as in ``go``: ``-C`` is taken off the front first; then $GOFLAGS is split and
every entry must name a flag of *some* go command (else ``go: parsing $GOFLAGS: ...``, exit 1);
the entries naming ``go run`` flags are applied; then the command line is parsed (usage errors,
exit 2); then ``-mod`` and ``-p`` are validated (exit 1); finally the target is classified.

Every ``go run`` flag is recognised.  :func:`parse_run_args` never refuses a flag for being
unimplemented: the caller asks :func:`unsupported` afterwards, so that a usage error always wins.
:func:`matches_pattern` and :func:`flags_for` apply ``-gcflags``/``-ldflags``-style per-package
values the way ``load.MatchPackage`` and ``PerPackageFlag.For`` do.
"""

from __future__ import annotations

import functools
import os.path
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, NamedTuple

from rungo.quoting import quote as go_quote, quoted_split, trim_space

__all__ = [
    "USAGE",
    "SUPPORTED",
    "RUN_FLAGS",
    "GO_FLAG_NAMES",
    "UsageError",
    "PerPackageFlag",
    "BuildFlags",
    "Invocation",
    "parse_run_args",
    "WatchFlags",
    "split_watch_flags",
    "unsupported",
    "matches_pattern",
    "flags_for",
]

USAGE: Final = (
    "usage: go run [build flags] [-exec xprog] package [arguments...]\n"
    "Run 'go help run' for details."
)
"""The blurb ``go`` prints after a usage error (``cmd.Usage()``), without the final newline."""


class UsageError(Exception):
    """A command line ``go run`` rejects.

    ``message`` is the exact line ``go`` prints (empty for ``-h``/``-help``, where go prints
    only the usage blurb).  ``show_usage`` says whether go follows it with :data:`USAGE`
    (go then exits with status 2, else 1).
    """

    def __init__(self, message: str, *, show_usage: bool = True) -> None:
        super().__init__(message)
        self.message: Final = message
        self.show_usage: Final = show_usage


@dataclass(frozen=True, slots=True)
class PerPackageFlag:
    """One occurrence of ``-gcflags``/``-ldflags``/``-asmflags``/``-gccgoflags``."""

    pattern: str | None
    """``None``: the packages named on the command line (go's default); else a package pattern."""
    args: tuple[str, ...]
    """The tool arguments, split with cmd/internal/quoted rules."""


@dataclass(frozen=True, slots=True)
class BuildFlags:
    """The build flags of one ``go run``, after $GOFLAGS and the command line."""

    a: bool = False
    n: bool = False
    x: bool = False
    v: bool = False
    work: bool = False
    p: int | None = None
    """``None``: not given, the caller picks go's default (GOMAXPROCS)."""
    tags: tuple[str, ...] = ()
    ldflags: tuple[PerPackageFlag, ...] = ()
    gcflags: tuple[PerPackageFlag, ...] = ()
    asmflags: tuple[PerPackageFlag, ...] = ()
    gccgoflags: tuple[PerPackageFlag, ...] = ()
    trimpath: bool = False
    race: bool = False
    msan: bool = False
    asan: bool = False
    mod: str | None = None
    """``readonly``, ``mod`` or ``vendor``; ``None`` when absent or set to the empty string."""
    modfile: str | None = None
    modcacherw: bool = False
    exec_cmd: tuple[str, ...] = ()
    buildmode: str | None = None
    buildvcs: str | None = None
    """Canonical ``"true"``, ``"false"`` or ``"auto"`` when given."""
    compiler: str | None = None
    installsuffix: str | None = None
    linkshared: bool = False
    cover: bool = False
    """Also switched on by ``-covermode`` and ``-coverpkg``, as in go."""
    covermode: str | None = None
    coverpkg: tuple[str, ...] = ()
    overlay: str | None = None
    pgo: str | None = None
    pkgdir: str | None = None
    toolexec: tuple[str, ...] = ()
    json: bool = False
    debug_actiongraph: str | None = None
    debug_runtime_trace: str | None = None
    debug_trace: str | None = None
    chdir: str | None = None
    """``-C dir``; changing directory (and reporting a bad one) is the caller's job."""
    explicit: frozenset[str] = frozenset()
    """Names (without dashes) of the flags set from $GOFLAGS or the command line."""


@dataclass(frozen=True, slots=True)
class Invocation:
    """A parsed ``go run`` command line."""

    flags: BuildFlags
    files: tuple[str, ...]
    """The leading ``*.go`` arguments, when the target is a list of files."""
    package: str | None
    """The single package argument (path, pattern or ``path@version``); ``None`` for files."""
    args: tuple[str, ...]
    """The program's own arguments, verbatim."""
    flag_tokens: tuple[str, ...] = ()
    """The build flags as given on the command line (for the go command, when it builds)."""


# --- Flag vocabulary ---------------------------------------------------------------------------

RUN_FLAGS: Final[tuple[str, ...]] = (
    "C", "a", "asan", "asmflags", "buildmode", "buildvcs", "compiler", "cover", "covermode",
    "coverpkg", "debug-actiongraph", "debug-runtime-trace", "debug-trace", "exec", "gccgoflags",
    "gcflags", "installsuffix", "json", "ldflags", "linkshared", "mod", "modcacherw", "modfile",
    "msan", "n", "overlay", "p", "pgo", "pkgdir", "race", "tags", "toolexec", "trimpath", "v",
    "work", "x",
)
"""Every flag ``go run`` defines (AddBuildFlags + AddCoverFlags + -exec), in a stable order."""

SUPPORTED: Final[frozenset[str]] = frozenset(
    {"a", "n", "x", "v", "work", "p", "tags", "ldflags", "gcflags", "trimpath", "race",
     "mod", "modfile", "modcacherw", "exec", "C", "overlay", "asmflags"}
)

_TEST_BINARY_FLAGS: Final = (
    "artifacts", "bench", "benchmem", "benchtime", "blockprofile", "blockprofilerate", "count",
    "coverprofile", "cpu", "cpuprofile", "failfast", "fullpath", "fuzz", "fuzzminimizetime",
    "fuzztime", "list", "memprofile", "memprofilerate", "mutexprofile", "mutexprofilefraction",
    "outputdir", "parallel", "run", "short", "shuffle", "skip", "timeout", "trace", "v",
)  # cmd/go/internal/test/flagdefs.go passFlagToTest; go test also defines "test.<name>"

GO_FLAG_NAMES: Final[frozenset[str]] = frozenset(
    {
        *RUN_FLAGS,
        # other commands' flags (go test, list, mod, work, get, clean, env, version, vet, fix...)
        "c", "cache", "changed", "compat", "compiled", "d", "deps", "diff", "dropexclude",
        "dropgodebug", "dropignore", "dropreplace", "droprequire", "dropretract", "droptool",
        "dropuse", "e", "exclude", "export", "f", "find", "fix", "fixtool", "fmt", "fuzzcache",
        "go", "godebug", "i", "ignore", "insecure", "m", "modcache", "module", "o", "print", "r",
        "replace", "require", "retract", "retracted", "reuse", "t", "test", "testcache", "tool",
        "toolchain", "u", "use", "vendor", "versions", "vet", "vettool", "w",
        *_TEST_BINARY_FLAGS,
        *("test." + name for name in _TEST_BINARY_FLAGS),
    }
)
"""Every flag of every go command: a $GOFLAGS entry naming anything else is a fatal error."""


class _ValueError(Exception):
    """A flag.Value.Set failure; the text is go's ``err.Error()``."""


_Apply = Callable[[BuildFlags, str], BuildFlags]


class _Spec(NamedTuple):
    is_bool: bool
    apply: _Apply


# --- Go's value parsers ------------------------------------------------------------------------

_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE: Final = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def _parse_bool(s: str) -> bool | None:
    """strconv.ParseBool; ``None`` for a syntax error."""
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return None


def _underscore_ok(s: str) -> bool:
    """strconv.underscoreOK: underscores only between digits (or after a base prefix)."""
    saw = "^"
    if s[:1] in ("+", "-"):
        s = s[1:]
    i = 0
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i, saw, hexa = 2, "0", s[1].lower() == "x"
    for c in s[i:]:
        if "0" <= c <= "9" or hexa and "a" <= c.lower() <= "f":
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def _parse_int64(s: str) -> int:
    """strconv.ParseInt(s, 0, 64) with the flag package's error text."""
    parse_error, range_error = _ValueError("parse error"), _ValueError("value out of range")
    if not s:
        raise parse_error
    neg = s[0] == "-"
    if s[0] in "+-":
        s = s[1:]
    # ParseUint(s, 0, 64)
    if not s:
        raise parse_error
    digits, base = s, 10
    if s[0] == "0":
        prefix = s[1:2].lower()
        if len(s) >= 3 and prefix in ("b", "o", "x"):
            base, digits = {"b": 2, "o": 8, "x": 16}[prefix], s[2:]
        else:
            base, digits = 8, s[1:]
    max_val = (1 << 64) - 1
    cutoff = max_val // base + 1
    n, underscores, overflow = 0, False, False
    for c in digits:
        if c == "_":
            underscores = True
            continue
        if "0" <= c <= "9":
            d = ord(c) - ord("0")
        elif "a" <= c.lower() <= "z" and c.isascii():
            d = ord(c.lower()) - ord("a") + 10
        else:
            raise parse_error
        if d >= base:
            raise parse_error
        if n >= cutoff or n * base + d > max_val:
            overflow = True
            break
        n = n * base + d
    if overflow:
        n = max_val
    elif underscores and not _underscore_ok(s):
        raise parse_error
    limit = 1 << 63
    if overflow or (not neg and n >= limit) or (neg and n > limit):
        raise range_error
    return -n if neg else n


def _split_value(s: str) -> tuple[str, ...]:
    try:
        return quoted_split(s)
    except ValueError as err:
        raise _ValueError(str(err)) from None


# --- Flag setters (the flag.Value.Set of each go run flag) -------------------------------------


def _with(flags: BuildFlags, name: str, value: object) -> BuildFlags:
    """dataclasses.replace of one field named at run time (the table below checks names)."""
    changes: dict[str, Any] = {name: value}
    return replace(flags, **changes)


def _set_bool(name: str) -> _Apply:
    def apply(flags: BuildFlags, value: str) -> BuildFlags:
        parsed = _parse_bool(value)
        if parsed is None:
            raise _ValueError("parse error")
        return _with(flags, name, parsed)

    return apply


def _set_string(name: str, *, empty_is_unset: bool) -> _Apply:
    def apply(flags: BuildFlags, value: str) -> BuildFlags:
        return _with(flags, name, None if empty_is_unset and value == "" else value)

    return apply


def _set_per_package(name: str) -> _Apply:
    def apply(flags: BuildFlags, value: str) -> BuildFlags:
        entry = _parse_per_package(value)
        current: tuple[PerPackageFlag, ...] = getattr(flags, name)
        return _with(flags, name, (*current, entry))

    return apply


def _parse_per_package(value: str) -> PerPackageFlag:
    """load.PerPackageFlag.set: ``[pattern=]args``; ``""`` means no args for command-line pkgs."""
    v = trim_space(value)
    if v == "":
        return PerPackageFlag(None, ())
    pattern: str | None = None
    if not v.startswith("-"):
        i = v.find("=")
        if i < 0:
            raise _ValueError("missing =<value> in <pattern>=<value>")
        if i == 0:
            raise _ValueError("missing <pattern> in <pattern>=<value>")
        if v[0] in "'\"":
            raise _ValueError(f"parameter may not start with quote character {v[0]}")
        pattern, v = trim_space(v[:i]), v[i + 1 :]
    return PerPackageFlag(pattern, _split_value(v))


def _set_p(flags: BuildFlags, value: str) -> BuildFlags:
    return replace(flags, p=_parse_int64(value))


def _set_tags(flags: BuildFlags, value: str) -> BuildFlags:
    # Go 1.12 and earlier took "-tags='a b c'"; a space or a quote selects that form.
    if " " in value or "'" in value:
        return replace(flags, tags=_split_value(value))
    return replace(flags, tags=tuple(tag for tag in value.split(",") if tag))


def _set_buildvcs(flags: BuildFlags, value: str) -> BuildFlags:
    if value in ("", "auto"):
        return replace(flags, buildvcs="auto")
    parsed = _parse_bool(value)
    if parsed is None:
        raise _ValueError("value is neither 'auto' nor a valid bool")
    return replace(flags, buildvcs="true" if parsed else "false")


def _set_compiler(flags: BuildFlags, value: str) -> BuildFlags:
    if value not in ("gc", "gccgo"):
        raise _ValueError(f"unknown compiler {go_quote(value)}")
    return replace(flags, compiler=value)


def _set_covermode(flags: BuildFlags, value: str) -> BuildFlags:
    if value not in ("", "set", "count", "atomic"):
        raise _ValueError('valid modes are "set", "count", or "atomic"')
    return replace(flags, covermode=value, cover=True)


def _set_coverpkg(flags: BuildFlags, value: str) -> BuildFlags:
    return replace(flags, coverpkg=tuple(value.split(",")) if value else (), cover=True)


def _set_exec(flags: BuildFlags, value: str) -> BuildFlags:
    return replace(flags, exec_cmd=_split_value(value))


def _set_toolexec(flags: BuildFlags, value: str) -> BuildFlags:
    return replace(flags, toolexec=_split_value(value))


def _set_chdir(flags: BuildFlags, value: str) -> BuildFlags:
    # go's main() removes a leading -C; meeting one during flag parsing is an error.
    raise _ValueError("-C flag must be first flag on command line")


_SPECS: Final[dict[str, _Spec]] = {
    **{
        name: _Spec(True, _set_bool(name))
        for name in ("a", "n", "x", "v", "work", "trimpath", "race", "msan", "asan",
                     "linkshared", "json", "modcacherw", "cover")
    },
    **{name: _Spec(False, _set_per_package(name))
       for name in ("ldflags", "gcflags", "asmflags", "gccgoflags")},
    **{
        name: _Spec(False, _set_string(name.replace("-", "_"), empty_is_unset=True))
        for name in ("mod", "modfile", "installsuffix", "overlay", "pkgdir",
                     "debug-actiongraph", "debug-runtime-trace", "debug-trace")
    },
    "buildmode": _Spec(False, _set_string("buildmode", empty_is_unset=False)),
    "pgo": _Spec(False, _set_string("pgo", empty_is_unset=False)),
    "buildvcs": _Spec(True, _set_buildvcs),
    "p": _Spec(False, _set_p),
    "tags": _Spec(False, _set_tags),
    "compiler": _Spec(False, _set_compiler),
    "covermode": _Spec(False, _set_covermode),
    "coverpkg": _Spec(False, _set_coverpkg),
    "exec": _Spec(False, _set_exec),
    "toolexec": _Spec(False, _set_toolexec),
    "C": _Spec(False, _set_chdir),
}
assert frozenset(_SPECS) == frozenset(RUN_FLAGS)


def _mark(flags: BuildFlags, name: str) -> BuildFlags:
    return replace(flags, explicit=flags.explicit | {name})


# --- $GOFLAGS ----------------------------------------------------------------------------------


def _apply_goflags(flags: BuildFlags, goflags: str) -> BuildFlags:
    """base.InitGOFLAGS then base.SetFromGOFLAGS for the go run flag set."""
    try:
        entries = quoted_split(goflags)
    except ValueError as err:
        raise UsageError(f"go: parsing $GOFLAGS: {err}", show_usage=False) from None
    for entry in entries:
        if (not entry.startswith("-") or entry in ("-", "--")
                or entry.startswith(("---", "-=", "--="))):
            raise UsageError(f"go: parsing $GOFLAGS: non-flag {go_quote(entry)}",
                             show_usage=False)
        name = entry[2:] if entry.startswith("--") else entry[1:]
        name = name.partition("=")[0]
        if name not in GO_FLAG_NAMES:
            raise UsageError(f"go: parsing $GOFLAGS: unknown flag -{name}", show_usage=False)

    where = "$GOFLAGS"
    for entry in entries:
        name, eq, value = entry.partition("=")
        if name.startswith("--"):
            name = name[1:]  # as printed: "-x"
        spec = _SPECS.get(name[1:])
        if spec is None:
            continue  # a flag of some other go command: ignored here
        if spec.is_bool:
            try:
                flags = spec.apply(flags, value if eq else "true")
            except _ValueError as err:
                if eq:
                    raise UsageError(f"go: invalid boolean value {go_quote(value)} for flag "
                                     f"{name} (from {where}): {err}") from None
                raise UsageError(f"go: invalid boolean flag {name} (from {where}): {err}") \
                    from None
        else:
            if not eq:
                raise UsageError(f"go: flag needs an argument: {name} (from {where})")
            try:
                flags = spec.apply(flags, value)
            except _ValueError as err:
                raise UsageError(f"go: invalid value {go_quote(value)} for flag {name} "
                                 f"(from {where}): {err}") from None
        flags = _mark(flags, name[1:])
    return flags


# --- The command line --------------------------------------------------------------------------


def _parse_flags(flags: BuildFlags, argv: Sequence[str]) -> tuple[BuildFlags, list[str]]:
    """flag.FlagSet.Parse: returns the flags and the arguments after them."""
    args = list(argv)
    while args:
        s = args[0]
        if len(s) < 2 or s[0] != "-":
            break
        minuses = 1
        if s[1] == "-":
            minuses = 2
            if len(s) == 2:  # "--" terminates the flags
                args.pop(0)
                break
        name = s[minuses:]
        if not name or name[0] in "-=":
            raise UsageError(f"bad flag syntax: {s}")
        args.pop(0)
        eq = name.find("=", 1)
        has_value = eq >= 0
        value = name[eq + 1 :] if has_value else ""
        if has_value:
            name = name[:eq]
        spec = _SPECS.get(name)
        if spec is None:
            if name in ("help", "h"):
                raise UsageError("")
            raise UsageError(f"flag provided but not defined: -{name}")
        if spec.is_bool:
            try:
                flags = spec.apply(flags, value if has_value else "true")
            except _ValueError as err:
                if has_value:
                    raise UsageError(
                        f"invalid boolean value {go_quote(value)} for -{name}: {err}") from None
                raise UsageError(f"invalid boolean flag {name}: {err}") from None
        else:
            if not has_value and args:
                value, has_value = args.pop(0), True
            if not has_value:
                raise UsageError(f"flag needs an argument: -{name}")
            try:
                flags = spec.apply(flags, value)
            except _ValueError as err:
                raise UsageError(
                    f"invalid value {go_quote(value)} for flag -{name}: {err}") from None
        flags = _mark(flags, name)
    return flags, args


def parse_run_args(argv: Sequence[str], goflags: str = "") -> Invocation:
    """Parse the arguments after ``go run`` exactly as go does.

    ``goflags`` is the $GOFLAGS string (applied first; the command line wins).  Raises
    :class:`UsageError` with go's message for anything go rejects before building.
    Unimplemented flags are parsed like any other: see :func:`unsupported`.
    """
    rest = list(argv)
    flags = BuildFlags()
    # main.handleChdirFlag: only a -C directly after the command name, removed before parsing.
    if rest:
        first = rest[0]
        if first in ("-C", "--C") and len(rest) >= 2:
            flags = _mark(replace(flags, chdir=rest[1]), "C")
            del rest[:2]
        elif first.startswith(("-C=", "--C=")):
            flags = _mark(replace(flags, chdir=first.partition("=")[2]), "C")
            del rest[:1]

    flags = _apply_goflags(flags, goflags)
    flags, rest = _parse_flags(flags, rest)

    # work.BuildInit: buildModeInit validates -mod, then the -p check.
    if flags.mod is not None and flags.mod not in ("readonly", "vendor", "mod"):
        raise UsageError(
            f"-mod={flags.mod} not supported (can be '', 'mod', 'readonly', or 'vendor')",
            show_usage=False)
    if flags.p is not None and flags.p <= 0:
        raise UsageError(f"go: -p must be a positive integer: {flags.p}", show_usage=False)

    tokens = tuple(argv[:len(argv) - len(rest)])
    # run.runRun
    n_files = 0
    while n_files < len(rest) and rest[n_files].endswith(".go"):
        n_files += 1
    if n_files:
        files = tuple(rest[:n_files])
        for file in files:
            if file.endswith("_test.go"):
                raise UsageError(f"go: cannot run *_test.go files ({file})", show_usage=False)
        return Invocation(flags, files, None, tuple(rest[n_files:]), tokens)
    if rest and not rest[0].startswith("-"):
        return Invocation(flags, (), rest[0], tuple(rest[1:]), tokens)
    raise UsageError("go: no go files listed", show_usage=False)


# --- rungo's own flags: watch mode ------------------------------------------------------------

WATCH_USAGE: Final = (
    "  -watch                rebuild and restart the program on every change to the build's inputs\n"
    "  -watch-signal=SIGINT  the signal that stops the program's process group before a restart\n"
    "  -watch-grace=2s       how long the program may take to exit before SIGKILL\n"
    "  -watch-debounce=50ms  how long file events must be quiet before a rebuild\n"
    "  -watch-on-error=keep  keep (or stop) the running program when a rebuild fails\n"
    "  -watch-clear          clear the screen before each restart\n"
    "  -watch-poll           poll the inputs' stats instead of using the OS's file events\n"
)
"""rungo's own flags, for `rungo help`: accepted anywhere among the build flags."""


@dataclass(frozen=True, slots=True)
class WatchFlags:
    """rungo's watch-mode flags (not go's: they are taken out before go's grammar reads the rest)."""

    on: bool = False
    signal: str = "SIGINT"          # a signal name, as -watch-signal gave it (normalised)
    grace_s: float = 2.0
    debounce_s: float = 0.05
    stop_on_error: bool = False
    clear: bool = False
    poll: bool = False


_DURATION_UNITS: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART: Final = r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)"


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration (without a sign), in seconds; "0" is zero. Raises ValueError."""
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(text):
        m = re.compile(_DURATION_PART).match(text, pos)
        if m is None:
            raise ValueError(f"time: invalid duration {go_quote(text)}")
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if not text:
        raise ValueError(f"time: invalid duration {go_quote(text)}")
    return total


def _signal_name(text: str) -> str:
    import signal as _signal

    t = text.strip().upper()
    if t.isdigit():
        try:
            return _signal.Signals(int(t)).name
        except ValueError:
            raise ValueError("unknown signal") from None
    name = t if t.startswith("SIG") else "SIG" + t
    if name not in _signal.Signals.__members__:
        raise ValueError("unknown signal")
    return name


def _watch_value(flags: WatchFlags, name: str, value: str | None) -> WatchFlags:
    if name in ("watch", "watch-clear", "watch-poll"):
        on = _parse_bool(value) if value is not None else True
        if on is None:
            raise UsageError(f"invalid boolean value {go_quote(value or '')} for -{name}: parse error")
        if name == "watch":
            return replace(flags, on=on)
        return replace(flags, clear=on) if name == "watch-clear" else replace(flags, poll=on)
    if value is None:
        raise UsageError(f"flag needs an argument: -{name}")
    try:
        if name == "watch-signal":
            return replace(flags, signal=_signal_name(value))
        if name == "watch-grace":
            return replace(flags, grace_s=parse_duration(value))
        if name == "watch-debounce":
            return replace(flags, debounce_s=parse_duration(value))
        if name == "watch-on-error":
            if value not in ("keep", "stop"):
                raise ValueError("must be keep or stop")
            return replace(flags, stop_on_error=value == "stop")
    except ValueError as e:
        raise UsageError(f"invalid value {go_quote(value)} for flag -{name}: {e}") from None
    raise UsageError(f"flag provided but not defined: -{name}")


def split_watch_flags(argv: Sequence[str]) -> tuple[WatchFlags, list[str]]:
    """Takes rungo's -watch flags out of the build flags of a `rungo run` command line (anywhere
    before the package; after it they are the program's arguments) and returns the rest for
    parse_run_args. A -watch-* flag without -watch is a usage error."""
    rest = list(argv)
    flags = WatchFlags()
    given: list[str] = []
    i = 0
    if rest[:1] in (["-C"], ["--C"]):
        i = 2
    while i < len(rest):
        s = rest[i]
        if len(s) < 2 or s[0] != "-" or s == "--":
            break
        name, eq, value = s.lstrip("-").partition("=")
        if name == "watch" or name.startswith("watch-"):
            del rest[i]
            takes_value = name not in ("watch", "watch-clear", "watch-poll")
            if takes_value and not eq and i < len(rest):
                value, eq = rest.pop(i), "="
            flags = _watch_value(flags, name, value if eq else None)
            given.append(name)
            continue
        spec = _SPECS.get(name)
        i += 2 if spec is not None and not spec.is_bool and not eq else 1
    if not flags.on and any(g != "watch" for g in given):
        first = next(g for g in given if g != "watch")
        raise UsageError(f"rungo: -{first} needs -watch", show_usage=False)
    return flags, rest


# --- Flags this rungo does not implement -------------------------------------------------------


def _in_effect(flags: BuildFlags, name: str) -> bool:
    """Whether an explicitly set, unimplemented flag changes what go run would do."""
    match name:
        case "asan" | "msan" | "linkshared" | "json":
            return bool(getattr(flags, name))
        case "cover" | "covermode" | "coverpkg":
            return flags.cover
        case "buildvcs":  # go run stamps VCS information only with -buildvcs=true
            return flags.buildvcs == "true"
        case "buildmode":
            return flags.buildmode != "default"
        case "compiler":
            return flags.compiler != "gc"
        case "pgo":  # rungo never uses PGO, which is what -pgo=off asks for
            return flags.pgo not in ("auto", "off", "")
        case "asmflags":
            return any(entry.args for entry in flags.asmflags)
        case "gccgoflags":  # ignored by the gc toolchain (-compiler=gccgo is reported itself)
            return False
        case "toolexec":
            return bool(flags.toolexec)
        case _:  # installsuffix, overlay, pkgdir, debug-*: empty means unset
            return getattr(flags, name.replace("-", "_")) is not None


def unsupported(flags: BuildFlags) -> tuple[str, ...]:
    """The explicitly set flags (names without dashes) that rungo does not implement.

    A flag set to a value that makes no difference to ``go run`` (``-msan=false``,
    ``-buildvcs=false``, ``-compiler=gc``, ``-pgo=off``, ``-gccgoflags`` under gc, ...) is not
    reported.  Order is that of :data:`RUN_FLAGS`.
    """
    return tuple(
        name for name in RUN_FLAGS
        if name in flags.explicit and name not in SUPPORTED and _in_effect(flags, name)
    )


# --- Per-package flags -------------------------------------------------------------------------

_VENDOR_CHAR: Final = "\x00"


def _replace_vendor(x: str, repl: str) -> str:
    """pkgpattern.replaceVendor: every non-final "vendor" path element becomes ``repl``."""
    if "vendor" not in x:
        return x
    elems = x.split("/")
    return "/".join(repl if e == "vendor" and i < len(elems) - 1 else e
                    for i, e in enumerate(elems))


@functools.lru_cache(maxsize=256)
def _pattern_matcher(pattern: str) -> Callable[[str], bool]:
    """pkgpattern.MatchPattern: "..." matches anything, with go's two special cases.

    A trailing "/..." also matches the empty string ("net/..." matches "net"); a wildcard never
    matches a "vendor" element of a vendored package path.
    """
    try:
        pattern.encode("utf-8")
    except UnicodeEncodeError:
        return lambda name: False
    if _VENDOR_CHAR in pattern:
        return lambda name: False
    wild = "[^\x00]*"
    s = _replace_vendor(pattern, _VENDOR_CHAR)
    vendor_tail = "/" + _VENDOR_CHAR + "/..."
    if s.endswith(vendor_tail):
        s, tail = s[: -len(vendor_tail)], f"(?:/vendor|/\x00/{wild})"
    elif s == _VENDOR_CHAR + "/...":
        s, tail = "", f"(?:/vendor|/\x00/{wild})"
    elif s.endswith("/..."):
        s, tail = s[:-4], f"(?:/{wild})?"
    else:
        tail = ""
    regex = re.compile(wild.join(re.escape(part) for part in s.split("...")) + tail, re.DOTALL)

    def match(name: str) -> bool:
        if _VENDOR_CHAR in name:
            return False
        return regex.fullmatch(_replace_vendor(name, _VENDOR_CHAR)) is not None

    return match


def _clean(path: str) -> str:
    """filepath.Clean (os.path.normpath keeps a leading "//", Clean does not)."""
    cleaned = os.path.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _rel(base: str, target: str) -> str | None:
    """filepath.Rel on cleaned paths, lexically; ``None`` where Rel returns an error."""
    if os.path.isabs(base) != os.path.isabs(target):
        return None
    base_parts = [part for part in base.split("/") if part not in ("", ".")]
    target_parts = [part for part in target.split("/") if part not in ("", ".")]
    common = 0
    while (common < min(len(base_parts), len(target_parts))
           and base_parts[common] == target_parts[common]):
        common += 1
    if ".." in base_parts[common:]:
        return None
    parts = [".."] * (len(base_parts) - common) + target_parts[common:]
    return "/".join(parts) or "."


def _is_relative_pattern(pattern: str) -> bool:
    """search.IsRelativePath."""
    return pattern.startswith(("./", "../")) or pattern in (".", "..")


def matches_pattern(
    pattern: str,
    import_path: str,
    *,
    is_std: bool,
    dir_of_pkg: str | None,
    cwd: str,
    main_module_paths: Collection[str] | None = None,
    module_path: str | None = None,
    tools: Collection[str] = (),
) -> bool:
    """load.MatchPackage(pattern, cwd)(package).

    Relative patterns ("./x", "../y/...") compare the package directory ``dir_of_pkg`` with the
    pattern's directory under ``cwd``; "all" matches everything; "std" the standard library;
    "cmd" standard packages under cmd/.  In module mode (``main_module_paths`` not ``None``),
    "tool" matches the main modules' tools (``tools``) and "work" packages whose module
    (``module_path``) is a main module.  Anything else is an import path pattern.
    """
    if _is_relative_pattern(pattern):
        i = pattern.find("...")
        if i < 0:
            directory, rest = pattern, ""
        else:
            j = pattern.rfind("/", 0, i)
            directory, rest = pattern[:j], pattern[j + 1 :]
        base = _clean(os.path.join(cwd, directory))
        if dir_of_pkg is None:
            return False
        pkg_dir = _clean(dir_of_pkg)
        if not rest:
            return pkg_dir == base
        rel = _rel(base, pkg_dir)
        if rel is None or rel == ".." or rel.startswith("../"):
            return False
        return _pattern_matcher(rest)(rel)
    if pattern == "all":
        return True
    if pattern == "std":
        return is_std
    if pattern == "cmd":
        return is_std and import_path.startswith("cmd/")
    if main_module_paths is not None:
        if pattern == "tool":
            return import_path in tools
        if pattern == "work":
            return module_path is not None and module_path in main_module_paths
    return _pattern_matcher(pattern)(import_path)


def flags_for(
    package_flags: Sequence[PerPackageFlag],
    import_path: str,
    is_cmdline_pkg: bool,
    *,
    is_std: bool = False,
    dir_of_pkg: str | None = None,
    cwd: str = "",
    main_module_paths: Collection[str] | None = None,
    module_path: str | None = None,
    tools: Collection[str] = (),
) -> tuple[str, ...]:
    """PerPackageFlag.For: the args of the last occurrence whose pattern matches the package.

    A ``None`` pattern matches the packages (or files) named on the command line.
    """
    result: tuple[str, ...] = ()
    for entry in package_flags:
        if entry.pattern is None:
            matched = is_cmdline_pkg
        else:
            matched = matches_pattern(
                entry.pattern, import_path, is_std=is_std, dir_of_pkg=dir_of_pkg, cwd=cwd,
                main_module_paths=main_module_paths, module_path=module_path, tools=tools)
        if matched:
            result = entry.args
    return result
