"""The unit list's filters (status, domain, confidence range, author, text), read here once for
both lists that take them: the API's ``/review/units`` and the dashboard's ``/units``.

Problems are returned, not raised: the dashboard shows each one beside its form and lists the
units without that filter, while the API answers its own way. What the two readers differ in
(the names their messages give the fields, and whether stray case and spaces are forgiven) is
a ``FilterReader``, so that neither reads a filter by rules of its own."""

from dataclasses import dataclass

import cq_schema

from colloquy.domain import scoring
from colloquy.domain.bounds import BoundError
from colloquy.domain.models import ReviewStatus
from colloquy.domain.normalize import normalize_tags
from colloquy.store.protocol import UnitFilter

STATUSES = frozenset(status.value for status in ReviewStatus)
STATUS_PROBLEM = "status must be pending, approved or rejected"
CREATED_BY_MAX_LENGTH = 256
TEXT_MAX_LENGTH = 200


@dataclass(frozen=True)
class FilterReader:
    """How one list reads its filters: the names its messages give them, and whether it is
    ``forgiving`` (the dashboard's form, where a person typed them: the status's letter case
    and the spaces around the author are ignored) or reads them exactly as sent (the API)."""

    domain_label: str
    min_label: str
    max_label: str
    forgiving: bool


API_READER = FilterReader("domain", "confidence_min", "confidence_max", forgiving=False)
FORM_READER = FilterReader("Domain", "Minimum confidence", "Maximum confidence", forgiving=True)


@dataclass(frozen=True)
class ParsedFilters:
    """The filters to apply and what was wrong with the rest (a bad filter is left out)."""

    filters: UnitFilter
    problems: list[str]
    unknown_status: bool


def _confidence(raw: str | float | None, name: str, problems: list[str]) -> int | None:
    """A confidence bound in points; blank is no bound."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        problems.append(f"{name} must be a number from 0 to 1")
        return None
    return scoring.to_points(value)


def parse_unit_filters(
    reader: FilterReader,
    status: str = "",
    domain: str = "",
    confidence_min: str | float | None = None,
    confidence_max: str | float | None = None,
    created_by: str = "",
    text: str = "",
) -> ParsedFilters:
    problems: list[str] = []
    status_value = status.strip().lower() if reader.forgiving else status.strip()
    unknown_status = bool(status_value) and status_value not in STATUSES
    if unknown_status:
        problems.append(STATUS_PROBLEM)
    try:
        domains = normalize_tags([domain], cq_schema.DOMAIN_MAX_LENGTH, reader.domain_label)
    except BoundError as exc:
        problems.append(str(exc))
        domains = []
    author = created_by.strip() if reader.forgiving else created_by
    filters = UnitFilter(
        status=ReviewStatus(status_value) if status_value and not unknown_status else None,
        domain=domains[0] if domains else None,
        confidence_min=_confidence(confidence_min, reader.min_label, problems),
        confidence_max=_confidence(confidence_max, reader.max_label, problems),
        created_by=author[:CREATED_BY_MAX_LENGTH] or None,
        text=text.strip()[:TEXT_MAX_LENGTH] or None,
    )
    return ParsedFilters(filters=filters, problems=problems, unknown_status=unknown_status)
