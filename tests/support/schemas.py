"""Validate response bodies against the cq-schema JSON Schemas (the cq v1 wire contract).

``cq_schema`` ships the schema documents; the ``$ref``s between them ("knowledge_unit.json")
resolve through a ``referencing`` registry holding every bundled document under its ``$id``.
Beyond the schema, KU timestamps must be RFC 3339 with a zone, as the Go SDK requires.
"""

from datetime import datetime
from functools import cache
from typing import Any

import cq_schema
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_NAMES = (
    "confirm",
    "flag",
    "health",
    "knowledge_unit",
    "node_discovery",
    "propose",
    "query",
    "review",
    "scoring",
    "stats",
)


def _load(name: str) -> dict[str, Any]:
    return cq_schema.load_schema(name.removesuffix(".json"))


@cache
def registry() -> Registry:
    resources = []
    for name in SCHEMA_NAMES:
        contents = _load(name)
        resource = Resource.from_contents(contents, default_specification=DRAFT202012)
        resources.append((contents["$id"], resource))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for one bundled schema, e.g. ``"knowledge_unit"`` or ``"stats.json"``."""
    schema = _load(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(
        schema, registry=registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def validate(name: str, body: Any) -> None:
    """Raise AssertionError listing every violation of schema ``name`` by ``body``."""
    errors = sorted(validator(name).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{list(e.absolute_path)}: {e.message}" for e in errors]
        raise AssertionError(f"body does not validate against {name}:\n" + "\n".join(lines))


def _assert_timestamp(value: Any, where: str) -> None:
    assert isinstance(value, str), f"{where}: {value!r} is not a string"
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, f"{where}: {value!r} has no zone"
    assert parsed.utcoffset().total_seconds() == 0, f"{where}: {value!r} is not UTC"


def assert_ku(body: Any) -> dict[str, Any]:
    """``body`` is a schema-valid knowledge unit with zoned UTC timestamps; returns it."""
    validate("knowledge_unit", body)
    evidence = body.get("evidence", {})
    for key in ("first_observed", "last_confirmed"):
        if key in evidence:
            _assert_timestamp(evidence[key], f"evidence.{key}")
    for i, flag in enumerate(body.get("flags", [])):
        if "timestamp" in flag:
            _assert_timestamp(flag["timestamp"], f"flags[{i}].timestamp")
    return body


def assert_kus(bodies: Any) -> list[dict[str, Any]]:
    assert isinstance(bodies, list), bodies
    return [assert_ku(body) for body in bodies]


def assert_stats(body: Any) -> dict[str, Any]:
    """``body`` is a schema-valid ``StoreStats`` (the ``/knowledge/stats`` response)."""
    validate("stats", body)
    return body
