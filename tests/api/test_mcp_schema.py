"""The MCP tools' input schemas bound every argument exactly as the REST API bounds the same
field, read from the two published schemas (the tools' and OpenAPI's), so that neither side can
drift from the other."""

from collections.abc import Iterator
from typing import Any

import pytest

from colloquy.app import create_app
from colloquy.mcp_endpoint.tools import build_server
from colloquy.services.knowledge import MAX_QUERY_LIMIT

BOUND_KEYS = ("maxLength", "maxItems", "pattern")

# tool argument -> where OpenAPI describes the same field: a query parameter of
# ``GET /api/v1/knowledge``, or a (component schema, property) of a request body.
COUNTERPARTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("query", "domains"): ("parameter", "domains"),
    ("query", "languages"): ("parameter", "languages"),
    ("query", "frameworks"): ("parameter", "frameworks"),
    ("query", "pattern"): ("parameter", "pattern"),
    ("query", "q"): ("parameter", "q"),
    ("propose", "summary"): ("InsightIn", "summary"),
    ("propose", "detail"): ("InsightIn", "detail"),
    ("propose", "action"): ("InsightIn", "action"),
    ("propose", "domains"): ("ProposeRequest", "domains"),
    ("propose", "languages"): ("ContextIn", "languages"),
    ("propose", "frameworks"): ("ContextIn", "frameworks"),
    ("propose", "pattern"): ("ContextIn", "pattern"),
    ("flag", "detail"): ("FlagRequest", "detail"),
    ("flag", "duplicate_of"): ("FlagRequest", "duplicate_of"),
}


def bounds(schema: Any) -> set[tuple[str, Any]]:
    """Every bound anywhere in ``schema`` (through ``anyOf`` and ``items``), by kind."""
    return {
        (key, value) for node in _nodes(schema) for key, value in node.items() if key in BOUND_KEYS
    }


def _nodes(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for child in (*schema.get("anyOf", ()), schema.get("items")):
            yield from _nodes(child)


@pytest.fixture(scope="module")
async def tool_schemas() -> dict[str, dict[str, Any]]:
    return {tool.name: tool.input_schema for tool in await build_server().list_tools()}


@pytest.fixture
def openapi(settings, store) -> dict[str, Any]:
    return create_app(settings, store).openapi()


def rest_schema(openapi: dict[str, Any], where: tuple[str, ...]) -> dict[str, Any]:
    kind, name = where
    if kind == "parameter":
        parameters = openapi["paths"]["/api/v1/knowledge"]["get"]["parameters"]
        return next(p["schema"] for p in parameters if p["name"] == name)
    return openapi["components"]["schemas"][kind]["properties"][name]


@pytest.mark.parametrize(("tool", "argument"), sorted(COUNTERPARTS))
def test_each_argument_is_bounded_as_over_rest(
    tool_schemas: dict[str, dict[str, Any]], openapi: dict[str, Any], tool: str, argument: str
) -> None:
    ours = bounds(tool_schemas[tool]["properties"][argument])
    assert ours, f"{tool}.{argument} is unbounded"
    assert ours == bounds(rest_schema(openapi, COUNTERPARTS[tool, argument]))


def test_every_argument_has_a_counterpart_or_its_own_bound(
    tool_schemas: dict[str, dict[str, Any]],
) -> None:
    """A new argument must be added to the table above (or bounded here) to pass."""
    own = {("query", "limit"), ("confirm", "unit_id"), ("flag", "unit_id"), ("flag", "reason")}
    own |= {("propose", "extensions")}
    arguments = {
        (tool, arg) for tool, schema in tool_schemas.items() for arg in schema["properties"]
    }
    assert arguments == set(COUNTERPARTS) | own


def test_limit_unit_ids_reasons_and_extensions_are_bounded(
    tool_schemas: dict[str, dict[str, Any]],
) -> None:
    limit = tool_schemas["query"]["properties"]["limit"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, MAX_QUERY_LIMIT, 5)
    for tool in ("confirm", "flag"):
        assert bounds(tool_schemas[tool]["properties"]["unit_id"]) == {
            ("pattern", "^ku_[0-9a-f]{32}$")
        }
    flag = tool_schemas["flag"]
    assert flag["$defs"]["FlagReason"]["enum"] == ["stale", "incorrect", "duplicate"]
    extensions = tool_schemas["propose"]["properties"]["extensions"]["anyOf"][0]
    assert extensions["maxProperties"] == 20
