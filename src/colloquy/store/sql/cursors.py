"""Opaque page cursors: a few strings, as unpadded URL-safe base64 of a JSON list.

Each paged listing decides what its parts mean (a time and an id, an id) and checks them once
decoded; a cursor that does not decode is one this store did not issue.
"""

import base64
import binascii
import json

from colloquy.domain.bounds import text_problem


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str] | None:
    """The parts of a cursor made by ``encode_cursor``, or None if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(parts, list) or len(parts) != size:
        return None
    if not all(isinstance(p, str) and text_problem(p) is None for p in parts):
        return None
    return parts
