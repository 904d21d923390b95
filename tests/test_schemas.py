"""Published JSON Schemas: generated from the models, committed, and never stale."""

from __future__ import annotations

import datetime as dt
import enum
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import attrs
import pytest
from _support import make_summary, make_target
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replay._adapters import adapter_names
from replay._core.planning import plan_document
from replay._core.summary import DERIVED_KEYS, SHARED_TESTS_KEY, summary_document
from replay._inputs.audit import audit_document
from replay._inputs.schemas import (
    DIALECT,
    SCHEMAS,
    build_schema,
    model_schema,
    render_all,
)
from replay._inputs.verify import IndexedFile, VerifyReport
from replay._model import models
from replay._model.convert import unstructure
from replay._model.models import TestStatus

# The models refuse what no run can use (a NUL byte, `KEY=` names, shard 5 of 2): draw
# within their validators, so every drawn model is one replay could write.
_word = st.text(st.characters(codec="utf-8", exclude_characters="\0"))
_env = st.dictionaries(
    st.text(st.characters(codec="utf-8", exclude_characters="\0="), min_size=1), _word
)
_seconds = st.none() | st.floats(0, models.MAX_SECONDS)
_name = st.text(st.characters(codec="utf-8", exclude_characters="\0/"), min_size=1).filter(
    lambda n: n not in (".", "..")
)


def _drawn(cl: type[Any], **overrides: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Every field of `cl` drawn from its type, except `overrides`."""
    hints = typing.get_type_hints(cl)
    fields = {f.name: overrides.get(f.name, st.from_type(hints[f.name])) for f in attrs.fields(cl)}
    return st.builds(cl, **fields)


st.register_type_strategy(
    models.Shard,
    st.integers(1, 64).flatmap(
        lambda total: st.builds(models.Shard, index=st.integers(0, total - 1), total=st.just(total))
    ),
)
st.register_type_strategy(
    models.Job,
    _drawn(
        models.Job,
        id=_name,
        target=_name,
        kind=_word,
        adapter=st.sampled_from(adapter_names()),
        argv=st.lists(_word, min_size=1).map(tuple),
        env=_env,
        cwd=st.none() | _word,
        timeout=_seconds,
        tests=st.lists(_word).map(tuple),
        junit_path=st.none() | _word,
        suite_command=st.lists(_word).map(tuple),
        retries=st.none() | st.integers(0, models.MAX_RETRIES),
        slow=_seconds,
        terminate_after=st.none() | st.integers(1, models.MAX_RETRIES),
        leak_timeout=_seconds,
        group=st.none() | _word,
        weight=st.integers(1, models.MAX_PARALLELISM),
        setup=st.lists(_word).map(tuple),
    ),
)
st.register_type_strategy(
    models.RetryPolicy,
    _drawn(
        models.RetryPolicy,
        retries=st.integers(0, models.MAX_RETRIES),
        delay=st.floats(0, models.MAX_SECONDS),
        max_failures=st.none() | st.integers(0),
        max_tests=st.integers(1),
    ),
)
st.register_type_strategy(
    models.Plan,
    _drawn(
        models.Plan,
        jobs=st.lists(st.from_type(models.Job), unique_by=lambda j: j.id).map(tuple),
        parallelism=st.integers(1, models.MAX_PARALLELISM),
        no_tests=st.sampled_from(models.NO_TESTS_RULES),
        groups=st.dictionaries(st.text(min_size=1), st.integers(1)),
        # At most one setup and one teardown job, and no `parent` (the same records as
        # `carried`): a plan drawn with all of them in full is too big for hypothesis.
        setup=st.lists(st.from_type(models.Job), max_size=1).map(tuple),
        teardown=st.lists(st.from_type(models.Job), max_size=1).map(tuple),
        parent=st.just(()),
    ),
)

SCHEMA_DIR = Path(__file__).parent.parent / "schemas"
REGENERATE = "run `python scripts/gen_schemas.py` and commit schemas/"


@pytest.mark.slow
def test_committed_schemas_are_current() -> None:
    """Every file under schemas/ is exactly what the models generate today."""
    wanted = render_all()
    present = {p.name: p.read_bytes() for p in SCHEMA_DIR.glob("*.schema.json")}
    stale = sorted(n for n in wanted.keys() | present.keys() if wanted.get(n) != present.get(n))
    assert [] == stale, f"stale schemas {stale}: {REGENERATE}"


@pytest.mark.slow
def test_every_registered_schema_is_a_2020_12_document() -> None:
    """Each registry entry builds a draft 2020-12 object schema with a title."""
    for name in SCHEMAS:
        schema = build_schema(name)
        assert (DIALECT, "object", True) == (
            schema["$schema"],
            schema["type"],
            bool(schema["title"]),
        )


def test_summary_schema_has_the_pi_fields() -> None:
    """The summary schema adds exactly the derived upstream fields `summary_document` writes."""
    properties = build_schema("summary")["properties"]
    assert DERIVED_KEYS == {k for k in properties if k not in attrs.fields_dict(models.Summary)}


class _Colour(str, enum.Enum):
    """A colour."""

    RED = "red"
    BLUE = "blue"


@attrs.frozen
class _Inner:
    """Inner."""

    n: int


@attrs.frozen
class _Everything:
    """One field of every supported kind."""

    text: str
    maybe: int | None
    ratio: float
    flag: bool
    names: tuple[str, ...]
    pair: tuple[int, str]
    env: dict[str, str]
    colour: _Colour
    inner: _Inner
    inners: tuple[_Inner, ...]
    either: _Inner | str
    literal: Literal["a", "b"]
    anything: Any
    """Documented field."""
    defaulted: int = 3
    factory: dict[str, int] = attrs.field(factory=dict)


def test_model_schema_maps_every_kind_of_field() -> None:
    """Scalars, unions, tuples, dicts, enums, nested classes and literals map as documented."""
    schema = model_schema(_Everything)
    inner = {"$ref": "#/$defs/_Inner"}
    expected_properties = {
        "text": {"type": "string"},
        "maybe": {"type": ["integer", "null"]},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "names": {"type": "array", "items": {"type": "string"}},
        "pair": {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
            "items": False,
            "minItems": 2,
        },
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "colour": {"$ref": "#/$defs/_Colour"},
        "inner": inner,
        "inners": {"type": "array", "items": inner},
        "either": {"anyOf": [inner, {"type": "string"}]},
        "literal": {"enum": ["a", "b"]},
        "anything": {"description": "Documented field."},
        "defaulted": {"type": "integer", "default": 3},
        "factory": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "default": {},
        },
    }
    expected_defs = {
        "_Colour": {
            "type": "string",
            "enum": ["red", "blue"],
            "description": "A colour.",
        },
        "_Inner": {
            "type": "object",
            "description": "Inner.",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
            "additionalProperties": False,
        },
    }
    assert expected_properties == schema["properties"]
    assert expected_defs == schema["$defs"]
    assert [f.name for f in attrs.fields(_Everything)][:13] == schema["required"]


@attrs.frozen
class _BadKeys:
    """Keys JSON cannot have."""

    table: dict[int, str]


@attrs.frozen
class _BadType:
    """A type with no JSON form."""

    blob: bytes


@pytest.mark.parametrize("model", [_BadKeys, _BadType])
def test_unsupported_types_are_refused(model: type) -> None:
    """A type with no JSON Schema is a `TypeError`, not a silently wrong schema."""
    with pytest.raises(TypeError, match="no JSON Schema"):
        model_schema(model)


# ── validating real documents against the generated schemas ────────────────────

_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
    "object": dict,
    "array": list,
}


def _is(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    return isinstance(value, _TYPES[name])


def _errors(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "$") -> list[str]:
    """A validator for the keywords the generator emits (enough to prove the schemas right)."""
    errors: list[str] = []
    if "$ref" in schema:
        errors += _errors(value, root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root, path)
    if "anyOf" in schema and all(_errors(value, s, root, path) for s in schema["anyOf"]):
        errors.append(f"{path}: matches no alternative")
    if "const" in schema and not (
        value == schema["const"] and type(value) is type(schema["const"])
    ):
        errors.append(f"{path}: {value!r} is not {schema['const']!r}")
    if "not" in schema and not _errors(value, schema["not"], root, path):
        errors.append(f"{path}: matches what it must not")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, n) for n in names):
            return [*errors, f"{path}: expected {names}, got {type(value).__name__}"]
    if isinstance(value, dict) and (schema.get("type") == "object" or "required" in schema):
        errors += _object_errors(value, schema, root, path)
    if isinstance(value, list) and schema.get("type") == "array":
        prefix = schema.get("prefixItems", [])
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else schema.get("items", {})
            if sub is False:
                errors.append(f"{path}[{i}]: unexpected item")
            else:
                errors += _errors(item, sub, root, f"{path}[{i}]")
    return errors


def _object_errors(
    value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], path: str
) -> list[str]:
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    errors = [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]
    for key, item in value.items():
        if key in properties:
            errors += _errors(item, properties[key], root, f"{path}.{key}")
        elif extra is False:
            errors.append(f"{path}: unexpected {key}")
        elif isinstance(extra, dict):
            errors += _errors(item, extra, root, f"{path}.{key}")
    return errors


def test_validator_is_not_vacuous() -> None:
    """The test validator rejects a summary with a wrong type and an unknown key."""
    schema = build_schema("summary")
    summary = make_summary()
    document = summary_document(summary)
    document["run_id"] = 7
    document["colour"] = "red"
    expected = ["$.run_id: expected ['string'], got int", "$: unexpected colour"]
    assert expected == _errors(document, schema, schema)


def test_shared_tests_marker_is_in_the_summary_schema() -> None:
    """An attempt may say `tests_as_target: true` instead of its tests, but not both."""
    schema = build_schema("summary")
    test = models.TestResult(name="t", status=TestStatus.PASSED)
    first = models.Attempt(number=1, tests=(test,))
    summary = make_summary(make_target("a", "passed", attempts=(first,), tests=(test,)))
    document = summary_document(summary)
    attempt = document["targets"][0]["attempts"][0]
    assert attempt[SHARED_TESTS_KEY] is True
    assert [] == _errors(document, schema, schema)
    attempt[SHARED_TESTS_KEY] = False
    attempt["tests"] = []
    expected = [
        "$.targets[0].attempts[0]: matches what it must not",
        "$.targets[0].attempts[0].tests_as_target: False is not True",
    ]
    assert expected == _errors(document, schema, schema)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "model", "to_document", "examples"),
    [
        pytest.param("summary", models.Summary, summary_document, 40, id="summary"),
        pytest.param("plan", models.Plan, plan_document, 25, id="plan"),
    ],
)
def test_written_documents_validate(
    name: str, model: type[Any], to_document: Callable[[Any], Any], examples: int
) -> None:
    """Any summary document replay writes, and any plan (`--dry-run` output), is valid under
    its published schema."""
    schema = build_schema(name)

    # Fewer examples than the profile: each one walks the whole published schema.
    @settings(max_examples=examples, suppress_health_check=[HealthCheck.too_slow])
    @given(st.from_type(model))
    def validates(value: Any) -> None:
        assert [] == _errors(to_document(value), schema, schema)

    validates()


def test_audit_documents_validate() -> None:
    """An audit with every state validates under the audit, waiver and quarantine schemas."""
    waiver = {
        "owner": "o",
        "created": "2026-02-10",
        "expires": "2026-02-24",
        "bead": "b",
        "reason": "r",
        "scope": "both",
        "remove_when": "w",
    }
    quarantine = {
        "category": "FLAKE-NET",
        "owner": "o",
        "quarantined": "2026-02-10",
        "expires": "2026-02-18",
        "bead": "b",
        "evidence": "e",
        "repro": "r",
        "reason": "r",
        "remove_when": "w",
    }
    report = audit_document(
        {
            "suite": {"unit": {"files": ["b", "a"]}},
            "waiver": {"ok": waiver, "bad": {"owner": "o"}},
            "quarantine": {"t": quarantine, "u": {"owner": 3}},
        },
        source="c.toml",
        test_stems=["a", "c"],
        today=dt.date(2026, 2, 17),
        generated_at="G",
    )
    for name, document in [
        ("audit_report", unstructure(report)),
        ("waiver_audit", unstructure(report.waiver_audit)),
        ("quarantine_report", unstructure(report.quarantine_report)),
    ]:
        schema = build_schema(name)
        assert (name, []) == (name, _errors(document, schema, schema))


def test_evidence_index_validates() -> None:
    """An `index.json` validates under the evidence index schema."""
    report = VerifyReport(
        run_id="r",
        ok=False,
        files=(IndexedFile(path="summary.json", size=3, sha256="0" * 64, schema="x"),),
        problems=("a: missing",),
    )
    schema = build_schema("evidence_index")
    assert [] == _errors(unstructure(report), schema, schema)
