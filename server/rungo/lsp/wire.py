"""Reading the editor's JSON into rungo's dataclasses: a strict cattrs converter, camelCase on the wire.

Nothing is coerced: a string must be a string, a bool a bool, a whole number a whole number, a list a
list. A value of the wrong shape raises WrongType; a validation hook raises InvalidValue with its own
words. `failures` flattens cattrs' validation groups into (field path, error) pairs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, Mapping, get_args, get_origin

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override


class InvalidValue(ValueError):
    """A value its field does not accept; the text says why (without naming the field)."""


class WrongType(InvalidValue):
    """A value of another JSON type than its field's."""


def camel(name: str) -> str:
    """go_path -> goPath; a name without underscores is returned as it is."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def describe(t: Any, plural: bool = False) -> str:
    """What a value of type t looks like in JSON, in words: "a list of strings"."""
    t = getattr(t, "__supertype__", t)     # a NewType reads as its base
    origin = get_origin(t)
    if origin in (list, tuple):
        return ("lists of " if plural else "a list of ") + describe(get_args(t)[0], True)
    if origin in (dict, Mapping):
        return ("objects of " if plural else "an object of ") + describe(get_args(t)[1], True)
    one, many = _NAMES.get(t, ("an object", "objects"))
    return many if plural else one


_NAMES: dict[Any, tuple[str, str]] = {
    str: ("a string", "strings"),
    bool: ("true or false", "booleans"),
    int: ("a whole number", "whole numbers"),
}


def _primitive(kind: type) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise WrongType(f"must be {describe(kind)}")
        return value
    return structure


def _is_sequence(t: Any) -> bool:
    return get_origin(t) in (list, tuple)


def _is_mapping(t: Any) -> bool:
    return get_origin(t) in (dict, Mapping)


def make_converter() -> cattrs.Converter:
    """A converter that reads dataclasses from camelCase objects (snake_case keys are understood too)
    and refuses every value of another type than its field's."""
    conv = cattrs.Converter(forbid_extra_keys=False)
    for kind in (str, bool, int):
        conv.register_structure_hook(kind, _primitive(kind))

    def sequence(t: Any) -> Callable[[Any, Any], Any]:
        item = get_args(t)[0]
        build = tuple if get_origin(t) is tuple else list

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, list):
                raise WrongType(f"must be {describe(t)}")
            try:
                return build(conv.structure(v, item) for v in value)
            except WrongType:
                raise WrongType(f"must be {describe(t)}") from None
        return structure

    def mapping(t: Any) -> Callable[[Any, Any], Any]:
        item = get_args(t)[1]

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise WrongType(f"must be {describe(t)}")
            try:
                return {k: conv.structure(v, item) for k, v in value.items()}
            except WrongType:
                raise WrongType(f"must be {describe(t)}") from None
        return structure

    def record(cl: Any) -> Callable[[Any, Any], Any]:
        renames: dict[str, Any] = {f.name: override(rename=camel(f.name)) for f in dataclasses.fields(cl)}
        structure_fields = make_dict_structure_fn(cl, conv, **renames)

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, dict):
                raise WrongType("must be an object")
            return structure_fields({camel(k) if isinstance(k, str) else k: v for k, v in value.items()}, cl)
        return structure

    def unstructure_record(cl: Any) -> Any:
        renames: dict[str, Any] = {f.name: override(rename=camel(f.name)) for f in dataclasses.fields(cl)}
        return make_dict_unstructure_fn(cl, conv, **renames)

    conv.register_structure_hook_factory(_is_sequence, sequence)
    conv.register_structure_hook_factory(_is_mapping, mapping)
    conv.register_structure_hook_factory(dataclasses.is_dataclass, record)
    conv.register_unstructure_hook_factory(dataclasses.is_dataclass, unstructure_record)
    return conv


def failures(error: BaseException, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], BaseException]]:
    """Each failed field of a structuring error, by its path of attribute names, with its own error."""
    if isinstance(error, cattrs.ClassValidationError):
        located, other = error.group_exceptions()
        for sub, note in located:
            yield from failures(sub, (*path, note.name))
        for sub in other:
            yield path, sub
    else:
        yield path, error


def field_text(path: tuple[str, ...], error: BaseException) -> str:
    """One failure in words, its field as the client spells it: "diagnostics.delayMs: must be …"."""
    where = ".".join(camel(p) for p in path)
    if isinstance(error, KeyError):
        return f"{where}: is required"
    return f"{where}: {error}" if where else str(error)
