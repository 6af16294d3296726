"""Rows and records, mapped once: each table's row values from a record, and each record from
a row, in one place per table, so that a column is renamed or added in one function."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, bindparam, select
from sqlalchemy.engine import Connection

from colloquy.domain import scoring
from colloquy.domain.models import (
    Flag,
    FlagReason,
    KnowledgeUnit,
    ReviewStatus,
    Role,
)
from colloquy.domain.normalize import normalize_pattern
from colloquy.domain.tag_text import unit_tag_text
from colloquy.store import tables as t
from colloquy.store.protocol import (
    AliasRecord,
    ApiKeyRecord,
    AuditEntry,
    FlagInput,
    NewApiKey,
    ReviewItem,
    UnitEvent,
    UserRecord,
)

# ---------------------------------------------------------------- units

# Built once: every answer that holds a flagged unit reads its flags with it. One unit's (the
# answer of every flag) without a list to expand: expanding one costs more than the read.
_f = t.flags.c
_FLAGS_OF = (
    select(t.flags).where(_f.unit_id.in_(bindparam("unit_ids", expanding=True))).order_by(_f.id)
)
_FLAGS_OF_ONE = select(t.flags).where(_f.unit_id == bindparam("unit_id")).order_by(_f.id)


def unit_values(item: ReviewItem) -> dict[str, Any]:
    """The ``units`` row of a unit in a given review state."""
    unit = item.unit
    return {
        "id": unit.id,
        "status": item.status.value,
        "tier": unit.tier.value,
        "version": unit.version,
        "confidence": scoring.to_points(unit.evidence.confidence),
        "confirmations": unit.evidence.confirmations,
        "flag_count": len(unit.flags),
        "created_at": unit.evidence.first_observed,
        "last_confirmed": unit.evidence.last_confirmed,
        "created_by": unit.created_by,
        "reviewed_by": item.reviewed_by,
        "reviewed_at": item.reviewed_at,
        "review_note": item.review_note,
        "summary": unit.insight.summary,
        "detail": unit.insight.detail,
        "action": unit.insight.action,
        "domains": unit.domains,
        "domain_count": len(unit.domains),
        "languages": unit.context.languages,
        "frameworks": unit.context.frameworks,
        "pattern": unit.context.pattern,
        "pattern_key": normalize_pattern(unit.context.pattern),
        "extensions": unit.extensions,
        "superseded_by": unit.superseded_by,
        "tag_text": unit_tag_text(unit.domains, unit.context.languages, unit.context.frameworks),
    }


def render(conn: Connection, rows: Sequence[Row[Any]]) -> list[ReviewItem]:
    """The units of ``units`` rows with their flags, which only flagged units read (one
    statement for all of them). Each unit is validated whole, its parts as plain dicts: one
    validation, where building each part's model first is one per part."""
    flags_by_unit = _flags_of(conn, [r.id for r in rows if r.flag_count])
    return [
        ReviewItem(
            unit=KnowledgeUnit.model_validate(
                {
                    "id": r.id,
                    "version": r.version,
                    "domains": r.domains,
                    "insight": {"summary": r.summary, "detail": r.detail, "action": r.action},
                    "context": {
                        "languages": r.languages,
                        "frameworks": r.frameworks,
                        "pattern": r.pattern,
                    },
                    "evidence": {
                        "confidence": scoring.from_points(r.confidence),
                        "confirmations": r.confirmations,
                        "first_observed": r.created_at,
                        "last_confirmed": r.last_confirmed,
                    },
                    "tier": r.tier,
                    "created_by": r.created_by,
                    "superseded_by": r.superseded_by,
                    "extensions": r.extensions,
                    "flags": flags_by_unit.get(r.id, []),
                }
            ),
            status=ReviewStatus(r.status),
            reviewed_by=r.reviewed_by,
            reviewed_at=r.reviewed_at,
            review_note=r.review_note,
        )
        for r in rows
    ]


def _flags_of(conn: Connection, unit_ids: list[str]) -> dict[str, list[Flag]]:
    """The flags of each of ``unit_ids``, oldest first."""
    if not unit_ids:
        return {}
    if len(unit_ids) == 1:
        result = conn.execute(_FLAGS_OF_ONE, {"unit_id": unit_ids[0]})
    else:
        result = conn.execute(_FLAGS_OF, {"unit_ids": unit_ids})
    flags_by_unit: dict[str, list[Flag]] = {}
    for f in result:
        flags_by_unit.setdefault(f.unit_id, []).append(to_flag(f))
    return flags_by_unit


def prepare_flags(conn: Connection) -> None:
    """Compile and prepare both of ``render``'s reads of flags on ``conn`` (they read none)."""
    _flags_of(conn, [""])
    _flags_of(conn, ["", ""])


def load(conn: Connection, where: ColumnElement[bool]) -> ReviewItem | None:
    """The one unit that ``where`` picks, rendered, or None."""
    rows = conn.execute(select(t.units).where(where)).all()
    items = render(conn, rows)
    return items[0] if items else None


# ---------------------------------------------------------------- flags and events


def flag_values(unit_id: str, flag: Flag | FlagInput, actor: str, at: datetime) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "reason": flag.reason.value,
        "detail": flag.detail,
        "duplicate_of": flag.duplicate_of,
        "actor": actor,
        "created_at": at,
    }


def to_flag(row: Row[Any]) -> Flag:
    return Flag(
        reason=FlagReason(row.reason),
        timestamp=row.created_at,
        detail=row.detail,
        duplicate_of=row.duplicate_of,
    )


def event_values(
    unit_id: str,
    kind: str,
    actor: str,
    at: datetime,
    note: str | None,
    duplicate_of: str | None = None,
) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "kind": kind,
        "actor": actor,
        "at": at,
        "note": note,
        "duplicate_of": duplicate_of,
    }


def to_event(row: Row[Any]) -> UnitEvent:
    return UnitEvent(
        kind=row.kind, actor=row.actor, at=row.at, note=row.note, duplicate_of=row.duplicate_of
    )


# ---------------------------------------------------------------- accounts


def user_values(username: str, password_hash: str, role: Role, at: datetime) -> dict[str, Any]:
    return {
        "username": username,
        "password_hash": password_hash,
        "role": role.value,
        "created_at": at,
    }


def to_user(row: Row[Any]) -> UserRecord:
    return UserRecord(
        id=row.id, username=row.username, role=Role(row.role), created_at=row.created_at
    )


def api_key_values(key: NewApiKey | ApiKeyRecord, user_id: int, key_hash: str) -> dict[str, Any]:
    """A new key has been neither used nor revoked; an imported one keeps when it was."""
    values = {
        "id": key.id,
        "user_id": user_id,
        "name": key.name,
        "labels": key.labels,
        "key_prefix": key.prefix,
        "key_hash": key_hash,
        "ttl": key.ttl,
        "expires_at": key.expires_at,
        "created_at": key.created_at,
    }
    if isinstance(key, ApiKeyRecord):
        values |= {"last_used_at": key.last_used_at, "revoked_at": key.revoked_at}
    return values


def to_api_key(row: Row[Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        name=row.name,
        labels=row.labels,
        prefix=row.key_prefix,
        ttl=row.ttl,
        expires_at=row.expires_at,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def audit_values(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
    }


def to_audit_entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        action=row.action, actor=row.actor, target=row.target, at=row.at, detail=row.detail
    )


def alias_values(record: AliasRecord) -> dict[str, Any]:
    return {
        "alias": record.alias,
        "canonical": record.canonical,
        "added_by": record.added_by,
        "added_at": record.added_at,
    }


def to_alias(row: Row[Any]) -> AliasRecord:
    return AliasRecord(row.alias, row.canonical, row.added_by, row.added_at)
