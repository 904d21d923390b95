"""The project's one cattrs converter, strict on scalars, and JSON in and out.

cattrs by default coerces `"7"` to 7, `"false"` to True and a string to a tuple
of its characters; a CI tool reading hand-edited or hostile files must not, so
every scalar and container hook here checks the JSON type first.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import cattrs
import cattrs.errors
import cattrs.v
import orjson
from cattrs.cols import homogenous_tuple_structure_factory

from replay._model import models as _models
from replay._model.errors import InputError, InvalidValue

T = TypeVar("T")

MAX_DEPTH = 1024
"""orjson refuses JSON nested deeper than this; models never recurse into free-form data."""


class _Mismatch(TypeError):
    """A JSON value of the wrong type; its message is shown as is."""


def _format(exc: BaseException, cl: type | None) -> str:
    if isinstance(exc, _Mismatch):
        return str(exc)
    if isinstance(exc, ValueError) and exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    return cattrs.v.format_exception(exc, cl)


def _refuse_other(value: Any, allowed: tuple[type, ...], expected: str) -> None:
    """Raise `_Mismatch` unless `value` is one of the `allowed` JSON scalar types."""
    # bool is an int subclass: accept it only where bool is asked for.
    if isinstance(value, bool) and bool not in allowed:
        msg = f"expected {expected}, got a boolean"
        raise _Mismatch(msg)
    if not isinstance(value, allowed):
        msg = f"expected {expected}, got {type(value).__name__}"
        raise _Mismatch(msg)


def _strict_scalar(kind: type, accepts: tuple[type, ...]) -> Callable[[Any, type], Any]:
    def hook(value: Any, _: type) -> Any:
        _refuse_other(value, accepts, kind.__name__)
        return kind(value)

    return hook


def _is_homogenous_tuple(tp: Any) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _strict_tuple_factory(tp: Any, converter: cattrs.Converter) -> Callable[[Any, type], Any]:
    inner = homogenous_tuple_structure_factory(tp, converter)

    def hook(value: Any, cl: type) -> Any:
        if not isinstance(value, (list, tuple)):
            msg = f"expected a list, got {type(value).__name__}"
            raise _Mismatch(msg)
        return inner(value, cl)

    return hook


def _is_dict(tp: Any) -> bool:
    return typing.get_origin(tp) is dict


def _strict_dict_factory(tp: Any, converter: cattrs.Converter) -> Callable[[Any, type], Any]:
    key_type, value_type = typing.get_args(tp)
    key_hook = converter.get_structure_hook(key_type)
    value_hook = converter.get_structure_hook(value_type)

    def hook(value: Any, _: type) -> Any:
        if not isinstance(value, dict):
            msg = f"expected a table/object, got {type(value).__name__}"
            raise _Mismatch(msg)
        return {key_hook(k, key_type): value_hook(v, value_type) for k, v in value.items()}

    return hook


_SCALARS = (str, int, float, bool, type(None))


def _is_scalar_union(tp: Any) -> bool:
    args = typing.get_args(tp)
    return (
        typing.get_origin(tp) in (typing.Union, types.UnionType)
        and len([a for a in args if a is not type(None)]) > 1
        and all(a in _SCALARS for a in args)
    )


def _scalar_union_factory(tp: Any) -> Callable[[Any, type], Any]:
    allowed = typing.get_args(tp)
    names = " or ".join("null" if a is type(None) else a.__name__ for a in allowed)

    def hook(value: Any, _: type) -> Any:
        _refuse_other(value, allowed, names)
        return value

    return hook


def _enum_hook(value: Any, cl: type[enum.Enum]) -> Any:
    if not isinstance(value, str):
        msg = f"expected a string, got {type(value).__name__}"
        raise _Mismatch(msg)
    try:
        return cl(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in cl)
        msg = f"{value!r} is not one of: {choices}"
        raise ValueError(msg) from None


_FLAT = {str: "str", int: "int", float: "float", bool: "bool"}
_FACTORY: type = type(attrs.Factory(list))
"""The class of `attrs.Factory(...)` defaults (attrs types the name as a function)."""


def _flat_kind(tp: Any) -> tuple[str, bool] | None:
    """(kind, optional) of a flat field type: a scalar, an enum, or either or None."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        inner = _flat_kind(rest[0]) if len(rest) == 1 else None
        return None if inner is None else (inner[0], True)
    if tp in _FLAT:
        return _FLAT[tp], False
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "enum", False
    return None


def fast_path(conv: cattrs.Converter, cl: type[T]) -> None:
    """Register a fast structure hook for a flat attrs class that summaries hold by the 100,000.

    The hook is generated code (as attrs and cattrs generate theirs): valid records
    are built after exact type checks, 3x faster than the generated cattrs hook;
    anything unusual goes to that hook, so errors name the path exactly as before.
    """
    slow = conv.get_structure_hook(cl)
    hints = typing.get_type_hints(cl)
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(cl)  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"cl": cl, "slow": slow}
    lines = [
        "def hook(value, _):",
        "    if type(value) is not dict or not names.issuperset(value):",
        "        return slow(value, cl)",
        "    try:",
    ]
    for n, field in enumerate(fields):
        shape = _flat_kind(hints[field.name])
        if shape is None or isinstance(field.default, _FACTORY):
            msg = f"{cl.__name__}.{field.name} is not a flat field"
            raise TypeError(msg)
        kind, optional = shape
        v = f"v{n}"
        if field.default is attrs.NOTHING:
            lines.append(f"        {v} = value[{field.name!r}]")
        else:
            namespace[f"d{n}"] = field.default
            lines.append(f"        {v} = value.get({field.name!r}, d{n})")
        guard = f"{v} is not None and " if optional or field.default is None else ""
        if kind == "enum":
            namespace[f"m{n}"] = hints[field.name]._value2member_map_
            lines.append(f"        if {guard}type({v}) is str: {v} = m{n}[{v}]")
            lines.append(f"        elif {guard}True: return slow(value, cl)")
        elif kind == "float":
            lines.append(f"        if {guard}type({v}) is int: {v} = float({v})")
            lines.append(f"        elif {guard}type({v}) is not float: return slow(value, cl)")
        else:
            lines.append(f"        if {guard}type({v}) is not {kind}: return slow(value, cl)")
    count = len(fields)
    lines += [
        "    except (KeyError, TypeError):",
        "        return slow(value, cl)",
        f"    return cl({', '.join(f'v{n}' for n in range(count))})",
    ]
    namespace["names"] = frozenset(f.name for f in fields)
    exec("\n".join(lines), namespace)  # noqa: S102 - code built from our own model's fields
    conv.register_structure_hook(cl, namespace["hook"])


def with_derived(conv: cattrs.Converter, cl: type[Any]) -> None:
    """Write `cl.DERIVED` properties into JSON beside the fields; drop them when reading."""
    derived: tuple[str, ...] = cl.DERIVED
    unstructure_fields = conv.get_unstructure_hook(cl)
    structure_fields = conv.get_structure_hook(cl)

    def unstructure_hook(obj: Any) -> Any:
        document = unstructure_fields(obj)
        document.update({name: getattr(obj, name) for name in derived})
        return document

    def structure_hook(value: Any, _: type) -> Any:
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in derived}
        return structure_fields(value, cl)

    conv.register_unstructure_hook(cl, unstructure_hook)
    conv.register_structure_hook(cl, structure_hook)


def make_converter() -> cattrs.Converter:
    """Build the strict converter (exposed for tests; use `converter`)."""
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    strict_str = _strict_scalar(str, (str,))

    def str_or_enum(value: Any, cl: type) -> Any:
        # singledispatch sends `class X(str, Enum)` here too: enums keep their own rules.
        if cl is not str and issubclass(cl, enum.Enum):
            return _enum_hook(value, cl)
        return strict_str(value, cl)

    conv.register_structure_hook(str, str_or_enum)
    conv.register_structure_hook(enum.Enum, _enum_hook)
    conv.register_structure_hook(int, _strict_scalar(int, (int,)))
    conv.register_structure_hook(float, _strict_scalar(float, (int, float)))
    conv.register_structure_hook(bool, _strict_scalar(bool, (bool,)))
    conv.register_structure_hook_factory(_is_homogenous_tuple, _strict_tuple_factory)
    conv.register_structure_hook_factory(_is_dict, _strict_dict_factory)
    conv.register_structure_hook_factory(_is_scalar_union, _scalar_union_factory)
    fast_path(conv, _models.TestResult)
    with_derived(conv, _models.Shard)
    return conv


converter = make_converter()
"""The converter every module uses."""

EnumT = TypeVar("EnumT", bound=enum.Enum)


def register_enum(cl: type[EnumT]) -> type[EnumT]:
    """Structure `cl` strictly by value, like the enums of `_models`; usable as a decorator.

    Without it the `str` hook catches `class X(str, Enum)` and returns a plain string.
    """
    converter.register_structure_hook(cl, _enum_hook)
    return cl


def problems(exc: BaseException, root: str = "$") -> list[str]:
    """Turn a structuring error into `path: problem` lines.

    The walk is cattrs' `transform_error`, with one addition: a model's
    validator (`InvalidValue`) names its field, which is appended to the path
    (`$.targets[0].env: 'A=B' is not a variable name`).
    """
    if isinstance(exc, (cattrs.ClassValidationError, cattrs.IterableValidationError)):
        with_notes, without = exc.group_exceptions()
        lines = []
        for inner, note in with_notes:
            if isinstance(note, cattrs.errors.AttributeValidationNote):
                path, cl = f"{root}.{note.name}", note.type
            else:
                path, cl = f"{root}[{note.index!r}]", note.type
            lines.extend(problems(inner, path) if _is_group(inner) else [_line(inner, path, cl)])
        return lines + [_line(inner, root, None) for inner in without]
    return [_line(exc, root, None)]


def _is_group(exc: BaseException) -> bool:
    return isinstance(exc, (cattrs.ClassValidationError, cattrs.IterableValidationError))


def _line(exc: BaseException, path: str, cl: Any) -> str:
    if isinstance(exc, InvalidValue):
        return f"{path}.{exc.field}: {exc.problem}"
    return f"{path}: {_format(exc, cl)}"


def structure(document: Any, cl: type[T], *, source: str, root: str = "$") -> T:
    """Structure `document` into `cl`, or raise `InputError` naming `source` and the path."""
    try:
        return converter.structure(document, cl)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        lines = problems(exc, root)
        msg = f"{source}: " + "; ".join(lines[:5])
        if len(lines) > 5:
            msg += f"; and {len(lines) - 5} more"
        raise InputError(msg) from None


def unstructure(obj: Any) -> Any:
    """Turn a model into plain JSON-able data."""
    return converter.unstructure(obj)


def dumps(obj: Any) -> bytes:
    """Serialise a model (or plain data) as indented JSON, with a final newline."""
    return orjson.dumps(unstructure(obj), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def parse_json(data: bytes | str, *, source: str) -> Any:
    """Parse JSON text, or raise `InputError` naming `source` and what is wrong."""
    if isinstance(data, bytes) and not data.strip():
        msg = f"{source}: empty file, expected JSON"
        raise InputError(msg)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            msg = f"{source}: JSON nested deeper than {MAX_DEPTH} levels"
        else:
            msg = f"{source}: not valid JSON ({exc})"
        raise InputError(msg) from None
    return document


def loads(data: bytes | str, cl: type[T], *, source: str) -> T:
    """Parse JSON text into a model, with errors that name `source` and the path."""
    return structure(parse_json(data, source=source), cl, source=source)
