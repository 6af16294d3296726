"""SQL functions that each backend spells its own way, behind one construct each. (What the
store does differently per backend, beyond a function's name, is ``store.sql.dialects``.)"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

F = TypeVar("F", bound=type[FunctionElement[Any]])


def _spelled(sqlite: str, postgresql: str) -> Callable[[F], F]:
    """Compile a function construct to ``sqlite(...)`` by default and ``postgresql(...)`` there."""

    def register(cls: F) -> F:
        for dialect, name in ((None, sqlite), ("postgresql", postgresql)):

            def render(element: Any, compiler: SQLCompiler, _name: str = name, **kw: Any) -> str:
                return f"{_name}({compiler.process(element.clauses, **kw)})"

            compiles(cls, *([dialect] if dialect else []))(render)
        return cls

    return register


@_spelled("instr", "strpos")
class Position(FunctionElement[int]):
    """Where ``needle`` starts in ``text`` (1-based; 0 when absent), case-sensitively."""

    type = Integer()
    inherit_cache = True


# Hundreds of small rows cost far more to fetch one by one than one JSON value to decode: each
# row is a separate step through the driver (and, on SQLite, a fresh wait for the GIL). So the
# dashboards' aggregates come back as JSON, whose key and element order is not relied on.


@_spelled("json_group_object", "json_object_agg")
class JsonObjectAgg(FunctionElement[Any]):
    """The aggregated (key, value) rows as one JSON object; NULL over no rows on PostgreSQL."""

    type = JSON()
    inherit_cache = True


@_spelled("json_group_array", "json_agg")
class JsonArrayAgg(FunctionElement[Any]):
    """The aggregated values as one JSON array; NULL over no rows on PostgreSQL."""

    type = JSON()
    inherit_cache = True


@_spelled("json_array", "json_build_array")
class JsonArray(FunctionElement[Any]):
    """A JSON array of the arguments: one row, packed for ``JsonArrayAgg``."""

    type = JSON()
    inherit_cache = True


def json_timestamp(text: str) -> datetime:
    """A timestamp column as rendered inside JSON: SQLite's naive UTC text, or PostgreSQL's
    ISO 8601 with an offset."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
