"""The bounds every input must meet, on both backends: one home for the rules that keep a
value storable by PostgreSQL and SQLite alike and renderable once stored.

PostgreSQL refuses NUL in text and JSON, lone surrogates cannot be encoded as UTF-8 by either
driver (nor by a JSON response), JSONB has no NaN or Infinity, and serialising a deeply nested
value overflows the renderer's recursion limit. So text is refused if it holds any of those,
and ``extensions`` is bounded in depth and serialised size.
"""

import json
import math
import re
from typing import Any

import cq_schema

from colloquy.domain.models import KnowledgeUnit

# Containers inside ``extensions``, the object itself included.
MAX_EXTENSIONS_DEPTH = 32
# ``extensions`` as compact UTF-8 JSON.
MAX_EXTENSIONS_BYTES = 16 * 1024
# Integer query parameters (offsets and limits): the drivers' 64-bit integers overflow far
# above any real page.
MAX_INT_PARAM = 2**31 - 1

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class BoundError(ValueError):
    """An input that breaks a bound; the message says which and where."""


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL characters"
    return "must not contain lone surrogates (invalid Unicode)"


def check_text(value: str, where: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise BoundError(f"{where} {problem}")
    return value


def check_texts(value: Any, where: str = "body") -> None:
    """Refuse unstorable text anywhere in a parsed JSON value (keys included)."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            check_text(item, at)
        elif isinstance(item, dict):
            for key, child in item.items():
                check_text(str(key), f"{at} key")
                stack.append((child, f"{at}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{at}[{i}]") for i, child in enumerate(item))


def canonical_extensions(extensions: dict[str, Any] | None) -> dict[str, Any] | None:
    """``extensions`` checked against every bound, as a fresh copy of exactly what was
    serialised: what is stored is what was checked, so rendering it cannot fail."""
    if extensions is None:
        return None
    _check_json(extensions)
    try:
        encoded = json.dumps(extensions, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # only for values no JSON parser produces
        raise BoundError(f"extensions are not plain JSON: {exc}") from exc
    size = len(encoded.encode())
    if size > MAX_EXTENSIONS_BYTES:
        raise BoundError(
            f"extensions must be at most {MAX_EXTENSIONS_BYTES} bytes as JSON, got {size}"
        )
    copy: dict[str, Any] = json.loads(encoded)
    return copy


def _check_json(value: Any) -> None:
    """Depth, numbers and text of a JSON value, walked without recursion (it may be deep)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "extensions")]
    while stack:
        item, depth, at = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_EXTENSIONS_DEPTH:
                raise BoundError(f"extensions must be nested at most {MAX_EXTENSIONS_DEPTH} deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise BoundError(f"{at} keys must be strings")
                    check_text(key, f"{at} key")
                    stack.append((child, depth + 1, f"{at}.{key}"))
            else:
                stack.extend((child, depth + 1, f"{at}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, str):
            check_text(item, at)
        elif isinstance(item, bool | int) or item is None:
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise BoundError(f"{at} must be a finite number (no NaN or Infinity)")
        else:
            raise BoundError(f"{at} is not a JSON value")


def replace_unstorable(value: str) -> str:
    """``value`` with each NUL and lone surrogate replaced by U+FFFD, so that it can be stored
    and encoded (to repair text stored before these bounds, or to echo it back)."""
    return _UNSTORABLE.sub("\ufffd", value)


def replace_unstorable_in(value: Any) -> Any:
    """``replace_unstorable`` applied to every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        return replace_unstorable(value)
    if isinstance(value, dict):
        return {replace_unstorable_in(k): replace_unstorable_in(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [replace_unstorable_in(v) for v in value]
    return value


def unit_problems(unit: KnowledgeUnit, *texts: str | None) -> list[str]:
    """What stops ``unit`` (with ``texts`` kept beside it: review note, history) from being
    stored on either backend or rendered; empty when nothing does. Used where units arrive
    other than by a proposal (import) and to find units stored before these bounds."""
    problems = []
    fields = unit.model_dump(exclude={"extensions"})
    try:
        check_texts([fields, *(t for t in texts if t is not None)], "unit")
    except BoundError as exc:
        problems.append(str(exc))
    if any(
        len(domain) > cq_schema.DOMAIN_MAX_LENGTH or domain != domain.strip().lower()
        for domain in unit.domains
    ):
        problems.append(
            f"domains must be lower-case and at most {cq_schema.DOMAIN_MAX_LENGTH} characters"
        )
    try:
        canonical_extensions(unit.extensions)
    except BoundError as exc:
        problems.append(str(exc))
    if not problems:
        try:
            json.dumps(unit.for_reviewers(), ensure_ascii=False, allow_nan=False).encode()
        except (ValueError, TypeError) as exc:
            problems.append(f"cannot be rendered: {exc}")
    return problems
