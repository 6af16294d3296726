"""Normalisation rules shared by every entry point (API, CLI, import)."""

import secrets
import uuid
from collections.abc import Iterable

from colloquy.domain.bounds import BoundError


def normalize_tags(
    values: Iterable[str], max_length: int | None = None, what: str = "tags"
) -> list[str]:
    """Trim, lower-case, drop empties and de-duplicate, keeping first-seen order (domains).

    ``max_length`` applies to the normalised tags (what is stored and compared): lower-casing
    can lengthen a string (``İ`` becomes two characters)."""
    seen: dict[str, None] = {}
    for value in values:
        tag = value.strip().lower()
        if max_length is not None and len(tag) > max_length:
            raise BoundError(f"{what} must be at most {max_length} characters once lower-cased")
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def normalize_labels(values: Iterable[str]) -> list[str]:
    """Trim, drop empties and de-duplicate labels, keeping case and first-seen order."""
    seen: dict[str, None] = {}
    for value in values:
        label = value.strip()
        if label:
            seen.setdefault(label, None)
    return list(seen)


def normalize_pattern(pattern: str) -> str:
    """Patterns match case-insensitively, so they are compared in this form."""
    return pattern.strip().lower()


def new_unit_id() -> str:
    """A fresh knowledge-unit id: ``ku_`` and 32 lowercase hex digits."""
    return "ku_" + uuid.uuid4().hex


def new_key_id() -> str:
    """A fresh API-key id: 32 lowercase hex digits."""
    return uuid.uuid4().hex


def new_token_id() -> str:
    """A fresh session-token id (JWT ``jti``)."""
    return secrets.token_hex(16)
