"""API-key lifetimes: ``<integer><s|m|h|d>``, at most 365 days, with the reference's messages."""

import re
from datetime import timedelta

MAX_TTL = timedelta(days=365)
MAX_TTL_LENGTH = 16
_GRAMMAR = re.compile(r"[0-9]+[smhd]", re.ASCII)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class InvalidTtl(ValueError):
    """A TTL that does not parse; the message is shown to the user as is."""


def parse_ttl(raw: str) -> tuple[str, timedelta]:
    """The canonical string and duration of a TTL such as ``30d``."""
    shown = repr(raw)[:64]
    canonical = raw.strip().lower()
    if not canonical:
        raise InvalidTtl("ttl is required")
    if not _GRAMMAR.fullmatch(canonical):
        raise InvalidTtl(
            f"{shown} is not a valid duration: expected <integer><s|m|h|d>, e.g. 30d, 12h"
        )
    amount = int(canonical[:-1])
    if amount == 0:
        raise InvalidTtl(f"{shown}: ttl must be greater than zero")
    seconds = amount * _UNIT_SECONDS[canonical[-1]]
    if len(canonical) > MAX_TTL_LENGTH or seconds > MAX_TTL.total_seconds():
        raise InvalidTtl(f"{shown} exceeds the maximum of 365d")
    return canonical, timedelta(seconds=seconds)
