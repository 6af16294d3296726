"""The one clock and the one timestamp format, shared by every layer (a leaf: imports nothing of
colloquy), so that services, routes, pages and the CLI need not import each other for them."""

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, aware and in UTC: the store refuses naive datetimes."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """``datetime.isoformat()`` (``+00:00``), the format of review and account timestamps."""
    return None if value is None else value.isoformat()
