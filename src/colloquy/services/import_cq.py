"""``colloquy import-cq``: a cq reference server's users, API keys and units, brought over
through the same store writes as ``colloquy import`` (``services.archive``), so running it twice
adds nothing.

What the reference keeps maps as it is: bcrypt hashes (verified at sign-in, then rehashed to
argon2id), key hashes (HMAC-SHA256 with the pepper, as here), units with their review state,
evidence and flags. What it lacks is made up the way colloquy would have recorded it: a role
per user (the reference lets anyone review) and each unit's proposal and decision events,
which feed the review activity and history.
"""

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from colloquy.domain import bounds
from colloquy.domain.models import KnowledgeUnit, ReviewStatus, Role
from colloquy.services.accounts import validate_username
from colloquy.services.archive import BATCH, ImportSummary
from colloquy.services.errors import InvalidInput
from colloquy.store.cq_reference import CqKeyRow, CqReference, CqUnitRow, CqUserRow
from colloquy.store.protocol import (
    ApiKeyRecord,
    KeyArchive,
    ReviewItem,
    Store,
    UnitArchive,
    UnitEvent,
    UserArchive,
    UserRecord,
)

Row = TypeVar("Row", CqUserRow, CqKeyRow, CqUnitRow)


class ImportRefused(ValueError):
    """Nothing was imported: the flags ask for what the source cannot give."""


@dataclass(frozen=True)
class RolePlan:
    """Roles for the users the import creates (existing users keep theirs): ``admins`` by name,
    everyone else ``others``. With no admin named, the first reference user (by id) that the
    import creates becomes one, if this server has no admin yet."""

    admins: frozenset[str] = frozenset()
    others: Role = Role.REVIEWER


@dataclass
class CqImportReport:
    summary: ImportSummary = field(default_factory=ImportSummary)
    admins: list[str] = field(default_factory=list)
    """Users this import created as admins."""
    kept: list[str] = field(default_factory=list)
    """Named admins that existed here already, left as they were."""
    skipped: list[str] = field(default_factory=list)
    """Records not imported, each with why."""

    def lines(self) -> list[str]:
        lines = [self.summary.line()]
        if self.admins:
            lines.append(f"admin: {', '.join(self.admins)}")
        lines += [f"{name} existed here already; role left as it was" for name in self.kept]
        lines += [f"skipped {reason}" for reason in self.skipped]
        return lines


def _utc(value: Any) -> datetime:
    """A reference timestamp (ISO text with ``Z``, ``+00:00`` or none, or a datetime) in UTC."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _utc_or_none(value: Any) -> datetime | None:
    return None if value is None else _utc(value)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def user_archive(row: CqUserRow, role: Role) -> UserArchive:
    return UserArchive(
        user=UserRecord(
            id=0,
            username=validate_username(bounds.check_text(row.username, "username")),
            role=role,
            created_at=_utc(row.created_at),
        ),
        password_hash=bounds.check_text(row.password_hash, "password hash"),
    )


def key_archive(row: CqKeyRow) -> KeyArchive:
    labels = _json(row.labels) or []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ValueError("labels are not a list of strings")
    bounds.check_texts([row.name, row.prefix, row.ttl, row.key_hash, labels], "key")
    return KeyArchive(
        key=ApiKeyRecord(
            id=row.id,
            name=row.name,
            labels=labels,
            prefix=row.prefix,
            ttl=row.ttl,
            expires_at=_utc(row.expires_at),
            created_at=_utc(row.created_at),
            last_used_at=_utc_or_none(row.last_used_at),
            revoked_at=_utc_or_none(row.revoked_at),
        ),
        username=row.username,
        key_hash=row.key_hash,
    )


def unit_archive(row: CqUnitRow) -> UnitArchive:
    """The unit with its review state, and the events colloquy would have recorded for it: its
    proposal by its proposer and, once decided, the decision by its reviewer."""
    unit = KnowledgeUnit.model_validate(_json(row.data))
    if unit.id != row.id:
        raise ValueError(f"its data names another id, {unit.id}")
    problems = bounds.unit_problems(unit, row.reviewed_by)
    if problems:
        raise ValueError("; ".join(problems))
    status = ReviewStatus(row.status)
    reviewed_at = _utc_or_none(row.reviewed_at)
    events = [UnitEvent(kind="proposed", actor=unit.created_by, at=unit.evidence.first_observed)]
    if status is not ReviewStatus.PENDING and reviewed_at is not None:
        events.append(UnitEvent(kind=status.value, actor=row.reviewed_by or "", at=reviewed_at))
    item = ReviewItem(
        unit=unit,
        status=status,
        reviewed_by=None if status is ReviewStatus.PENDING else row.reviewed_by,
        reviewed_at=None if status is ReviewStatus.PENDING else reviewed_at,
    )
    return UnitArchive(item=item, events=events)


async def _has_admin(store: Store) -> bool:
    after: str | None = None
    while True:
        page = await store.list_users(after, BATCH)
        if any(user.role is Role.ADMIN for user in page.items):
            return True
        if page.next_cursor is None:
            return False
        after = page.next_cursor


async def _first_new_user(store: Store, rows: Sequence[CqUserRow]) -> str | None:
    """The first of ``rows`` that this import can create: a valid name, not taken here."""
    for row in rows:
        try:
            name = validate_username(row.username)
        except InvalidInput:
            continue
        if name == row.username and await store.get_user(name) is None:
            return name
    return None


async def _pages(
    fetch: Callable[[Any, int], Awaitable[list[Row]]], cursor: Callable[[Row], Any]
) -> AsyncIterator[list[Row]]:
    after = None
    while True:
        page = await fetch(after, BATCH)
        if page:
            yield page
        if len(page) < BATCH:
            return
        after = cursor(page[-1])


async def import_cq(
    source: CqReference,
    store: Store,
    plan: RolePlan,
    progress: Callable[[int], None] | None = None,
) -> CqImportReport:
    """Users, then their API keys, then units, a page at a time; what exists here already (by
    username or id) is left alone. ``progress`` advances by each record read."""
    missing = sorted(plan.admins - await source.usernames(sorted(plan.admins)))
    if missing:
        raise ImportRefused(f"no user {', '.join(missing)} in the source")
    admins = set(plan.admins)
    report = CqImportReport()
    pick_admin = not admins and not await _has_admin(store)
    unimported: set[str] = set()
    async for rows in _pages(source.users, lambda r: r.id):
        if pick_admin:
            first_new = await _first_new_user(store, rows)
            if first_new is not None:
                admins.add(first_new)
                pick_admin = False
        users = _convert(
            rows,
            "user",
            lambda r: user_archive(r, Role.ADMIN if r.username in admins else plan.others),
            lambda r: r.username,
            report,
        )
        unimported |= {r.username for r in rows} - {u.user.username for u in users}
        for name in sorted(admins & {u.user.username for u in users}):
            if await store.get_user(name) is None:
                report.admins.append(name)
            elif name in plan.admins:
                report.kept.append(name)
        report.summary.added["user"] += await store.import_users(users)
        _advance(progress, rows)
    async for rows in _pages(source.keys, lambda r: r.id):
        owned = [r for r in rows if r.username not in unimported]
        report.summary.read["api_key"] += len(rows) - len(owned)
        report.skipped += [
            f"api key {r.id} of {r.username}: its owner was not imported"
            for r in rows
            if r.username in unimported
        ]
        keys = _convert(owned, "api_key", key_archive, lambda r: f"{r.id} of {r.username}", report)
        report.summary.added["api_key"] += await store.import_keys(keys)
        _advance(progress, rows)
    async for rows in _pages(source.units, lambda r: r.id):
        units = _convert(rows, "unit", unit_archive, lambda r: r.id, report)
        report.summary.added["unit"] += await store.import_units(units)
        _advance(progress, rows)
    return report


def _convert(
    rows: Sequence[Row],
    kind: str,
    convert: Callable[[Row], Any],
    name: Callable[[Row], str],
    report: CqImportReport,
) -> list[Any]:
    """The rows converted; each that cannot be is noted in the report, with why."""
    converted = []
    for row in rows:
        report.summary.read[kind] += 1
        try:
            converted.append(convert(row))
        # ValueError covers a model's validation errors; InvalidInput, a username's.
        except (ValueError, TypeError, InvalidInput) as exc:
            reason = str(exc).splitlines()[0]
            report.skipped.append(f"{kind.replace('_', ' ')} {name(row)}: {reason}")
    return converted


def _advance(progress: Callable[[int], None] | None, rows: Sequence[Any]) -> None:
    if progress is not None:
        progress(len(rows))
