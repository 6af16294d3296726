"""How the dashboard words numbers and values for people: counted nouns, JSON to read."""

import json
from typing import Any


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` and its noun: "1 unit", "2 units" (``nouns`` for an irregular plural)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def as_json(value: Any) -> str:
    """A JSON value as a person reads it: characters as they are (not ``\\u0027``), nested
    values indented, keys in order (PostgreSQL's JSONB keeps them in its own). Plain text: the
    page's autoescaping makes it safe in HTML."""
    nested = isinstance(value, dict | list) and bool(value)
    return json.dumps(value, ensure_ascii=False, indent=2 if nested else None, sort_keys=True)
