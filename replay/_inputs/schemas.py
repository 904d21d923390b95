"""JSON Schema (draft 2020-12) of the artifacts replay writes, generated from the models.

The schemas are derived, never written by hand: `model_schema` walks an attrs
class's fields and resolved type hints, so a field added to a model shows up
in its schema the next time `scripts/gen_schemas.py` runs (and a test fails
until it does). To publish another artifact, add one line to `SCHEMAS`: a
name and either the attrs class or a function returning the schema.
"""

from __future__ import annotations

import ast
import enum
import inspect
import itertools
import textwrap
import types
import typing
from collections.abc import Callable
from typing import Any, Union

import attrs
import orjson

from replay._core.bisect import BisectReport
from replay._core.diff import TriageDiff
from replay._core.digest import FailureDigest
from replay._core.flakes import FlakeReport
from replay._core.summary import DERIVED_KEYS, SHARED_TESTS_KEY
from replay._inputs.audit import AuditReport, QuarantineReport, WaiverAudit
from replay._inputs.verify import INDEX_SCHEMA, VerifyReport
from replay._model.convert import unstructure
from replay._model.models import SUMMARY_SCHEMA, Plan, Summary, TargetResult

DIALECT = "https://json-schema.org/draft/2020-12/schema"

Schema = dict[str, Any]
SchemaSource = type | Callable[[], Schema]

_SCALARS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _doc(obj: object) -> str | None:
    """The first paragraph of a docstring, on one line."""
    text = inspect.getdoc(obj)
    if not text:
        return None
    return " ".join(text.split("\n\n", 1)[0].split())


def _field_docs(cl: type) -> dict[str, str]:
    """The attribute docstrings of `cl` (a string right under a field), read from its source."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cl)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


class _Builder:
    """Turns types into schema fragments, collecting named classes in `$defs`."""

    def __init__(self) -> None:
        self.defs: dict[str, Schema] = {}

    def ref(self, name: str) -> Schema:
        return {"$ref": f"#/$defs/{name}"}

    def of(self, tp: Any) -> Schema:
        """The schema of one type hint."""
        if tp is Any:
            return {}
        if tp in _SCALARS:
            return {"type": _SCALARS[tp]}
        if typing.get_origin(tp) is not None:
            return self._generic(tp)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return self._enum(tp)
        if isinstance(tp, type) and attrs.has(tp):
            if tp.__name__ not in self.defs:
                self.defs[tp.__name__] = {}  # placeholder: a class may refer to itself
                self.defs[tp.__name__] = self.object(tp)
            return self.ref(tp.__name__)
        msg = f"no JSON Schema for type {tp!r}"
        raise TypeError(msg)

    def _generic(self, tp: Any) -> Schema:
        """Unions, tuples, lists, dicts and literals."""
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        schema: Schema
        if origin in (Union, types.UnionType):
            members = [self.of(a) for a in args]
            if all(set(m) == {"type"} and isinstance(m["type"], str) for m in members):
                schema = {"type": [m["type"] for m in members]}
            else:
                schema = {"anyOf": members}
        elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            schema = {"type": "array", "items": self.of(args[0])}
        elif origin is tuple:
            schema = {
                "type": "array",
                "prefixItems": [self.of(a) for a in args],
                "items": False,
                "minItems": len(args),
            }
        elif origin in (list, frozenset, set):
            schema = {"type": "array", "items": self.of(args[0])}
        elif origin is dict and args[0] is str:
            schema = {"type": "object", "additionalProperties": self.of(args[1])}
        elif origin is typing.Literal:
            schema = {"enum": list(args)}
        else:
            msg = f"no JSON Schema for type {tp!r} (JSON object keys are strings)"
            raise TypeError(msg)
        return schema

    def _enum(self, tp: type[enum.Enum]) -> Schema:
        if tp.__name__ not in self.defs:
            values = [m.value for m in tp]
            definition: Schema = {"enum": values}
            if all(isinstance(v, str) for v in values):
                definition = {"type": "string", "enum": values}
            if doc := _doc(tp):
                definition["description"] = doc
            self.defs[tp.__name__] = definition
        return self.ref(tp.__name__)

    def object(self, cl: type) -> Schema:
        """The object schema of an attrs class: its fields, the required ones, nothing else."""
        hints = typing.get_type_hints(cl)
        docs = _field_docs(cl)
        properties: dict[str, Schema] = {}
        required = []
        for field in attrs.fields(cl):
            prop = self.of(hints[field.name])
            if field.name in docs:
                prop = {**prop, "description": docs[field.name]}
            default = field.default
            if default is attrs.NOTHING:
                required.append(field.name)
            elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                if not default.takes_self:
                    prop = {**prop, "default": unstructure(default.factory())}
            else:
                prop = {**prop, "default": unstructure(default)}
            properties[field.name] = prop
        for name in getattr(cl, "DERIVED", ()):
            about = inspect.getdoc(getattr(cl, name)) or ""
            properties[name] = {
                "type": "string",
                "description": f"Derived, ignored on read. {about}".strip(),
            }
        schema: Schema = {"type": "object"}
        if doc := _doc(cl):
            schema["description"] = doc
        schema["properties"] = properties
        schema["required"] = required
        schema["additionalProperties"] = False
        return schema


def model_schema(cl: type, *, title: str | None = None) -> Schema:
    """A complete schema document for the attrs class `cl`, nested classes in `$defs`."""
    builder = _Builder()
    body = builder.object(cl)
    schema: Schema = {"$schema": DIALECT, "title": title or cl.__name__, **body}
    if builder.defs:
        schema["$defs"] = dict(sorted(builder.defs.items()))
    return schema


def _names(description: str) -> Schema:
    """A property holding a list of target names."""
    return {"type": "array", "items": {"type": "string"}, "description": description}


_PI_SUMMARY_PROPERTIES: dict[str, Schema] = {
    "total_suites": {"type": "integer", "description": "Targets of a kind other than unit/vcr."},
    "passed_suites": {"type": "integer"},
    "failed_suites": {"type": "integer"},
    "failed_names": _names(
        "Outstanding targets of a kind other than unit/vcr (upstream: e2e suites)."
    ),
    "total_units": {"type": "integer", "description": "Targets of kind unit or vcr."},
    "passed_units": {"type": "integer"},
    "failed_units": {"type": "integer"},
    "failed_unit_names": _names("Outstanding targets of kind unit or vcr."),
    "replay_bundle": {
        "type": "object",
        "properties": {"one_command_replay": {"type": ["string", "null"]}},
        "required": ["one_command_replay"],
        "additionalProperties": False,
    },
    "outstanding": _names("Every target the chain still owes a passing run."),
}
"""The upstream (pi) fields `summary_document` derives from the targets."""


_SHARED_TESTS_PROPERTY: Schema = {
    "const": True,
    "description": (
        "The attempt's tests are its target's `tests`, stored once there; the attempt then has "
        "no `tests` key. Earlier versions wrote both copies, which read the same."
    ),
}


def summary_schema() -> Schema:
    """`summary.json`: the `Summary` model plus the upstream fields derived from its targets.

    An attempt whose tests are its target's writes `tests_as_target` instead of them.
    """
    schema = model_schema(Summary, title=SUMMARY_SCHEMA)
    schema["properties"].update(_PI_SUMMARY_PROPERTIES)
    attempt = schema["$defs"]["Attempt"]
    attempt["properties"][SHARED_TESTS_KEY] = _SHARED_TESTS_PROPERTY
    attempt["not"] = {"required": ["tests", SHARED_TESTS_KEY]}
    return schema


def plan_schema() -> Schema:
    """`--dry-run` output (`replay._core.planning.plan_document`): the parent's records by name."""
    schema = model_schema(Plan)
    parent = schema["properties"]["parent"]
    parent["items"] = {"type": "string"}
    parent["description"] = "Names of the targets this rerun runs again (their parent records)."
    return schema


def evidence_index_schema() -> Schema:
    """`index.json` written by `replay verify`."""
    return model_schema(VerifyReport, title=INDEX_SCHEMA)


SCHEMAS: dict[str, SchemaSource] = {
    "summary": summary_schema,
    "plan": plan_schema,
    "evidence_index": evidence_index_schema,
    "waiver_audit": WaiverAudit,
    "quarantine_report": QuarantineReport,
    "audit_report": AuditReport,
    "failure_digest": FailureDigest,
    "triage_diff": TriageDiff,
    "flake_report": FlakeReport,
    "bisect_report": BisectReport,
    "target_result": TargetResult,
}
"""Published schemas: file stem -> attrs class or schema function. Add new artifacts here."""

if set(_PI_SUMMARY_PROPERTIES) != DERIVED_KEYS:  # pragma: no cover - caught by the tests
    msg = "the summary schema's pi fields differ from replay._core.summary.DERIVED_KEYS"
    raise RuntimeError(msg)


def build_schema(name: str) -> Schema:
    """The schema document published as `schemas/<name>.schema.json`."""
    source = SCHEMAS[name]
    if isinstance(source, type):
        return model_schema(source)
    return source()


def render_all() -> dict[str, bytes]:
    """Every published schema as `{file name: bytes}`, exactly as committed under `schemas/`."""
    return {
        f"{name}.schema.json": orjson.dumps(
            build_schema(name), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        )
        for name in sorted(SCHEMAS)
    }
