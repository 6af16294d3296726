"""Moving data between servers: every unit (with review state, flags and history), user (with
password hash) and API key (hash only) as JSON Lines, and back, idempotently."""

import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from colloquy.domain import bounds
from colloquy.domain.models import KnowledgeUnit, ReviewStatus, Role
from colloquy.security import api_keys
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

FORMAT = "colloquy-export"
FORMAT_VERSION = 1
BATCH = 500


class ArchiveError(ValueError):
    """A line that is not part of a colloquy export; the message names the line."""


# The kinds of record, in the order an export writes them (keys need their owners first).
KINDS = ("user", "api_key", "unit")


def _per_kind() -> dict[str, int]:
    return dict.fromkeys(KINDS, 0)


@dataclass
class ExportSummary:
    """What an export wrote, counted as it wrote it: records per kind (the header aside)."""

    written: dict[str, int] = field(default_factory=_per_kind)

    @property
    def records(self) -> int:
        return sum(self.written.values())


@dataclass
class ImportSummary:
    read: dict[str, int] = field(default_factory=_per_kind)
    added: dict[str, int] = field(default_factory=_per_kind)
    # The exporting server's pepper fingerprint (``api_keys.pepper_fingerprint``); absent from
    # exports written before it was added.
    pepper_fingerprint: str | None = None

    def refused_keys(self, pepper: str) -> int:
        """How many of the keys read this server will refuse: all of them when the export was
        made under another pepper (their hashes cannot match), else none."""
        if self.pepper_fingerprint is None:
            return 0
        if api_keys.same_pepper(pepper, self.pepper_fingerprint):
            return 0
        return self.read["api_key"]

    def line(self) -> str:
        parts = [
            f"{self.added[kind]} of {self.read[kind]} {label} added"
            for kind, label in (("unit", "units"), ("user", "users"), ("api_key", "API keys"))
        ]
        return "imported: " + ", ".join(parts) + " (the rest were already present)"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def user_line(archive: UserArchive) -> dict[str, Any]:
    return {
        "kind": "user",
        "username": archive.user.username,
        "role": archive.user.role.value,
        "created_at": _time(archive.user.created_at),
        "password_hash": archive.password_hash,
    }


def key_line(archive: KeyArchive) -> dict[str, Any]:
    key = archive.key
    return {
        "kind": "api_key",
        "id": key.id,
        "username": archive.username,
        "name": key.name,
        "labels": key.labels,
        "prefix": key.prefix,
        "ttl": key.ttl,
        "expires_at": _time(key.expires_at),
        "created_at": _time(key.created_at),
        "last_used_at": _time(key.last_used_at),
        "revoked_at": _time(key.revoked_at),
        "key_hash": archive.key_hash,
    }


def unit_line(archive: UnitArchive) -> dict[str, Any]:
    item = archive.item
    return {
        "kind": "unit",
        "knowledge_unit": item.unit.for_reviewers(),
        "status": item.status.value,
        "reviewed_by": item.reviewed_by,
        "reviewed_at": _time(item.reviewed_at),
        "review_note": item.review_note,
        "events": [
            {
                "kind": e.kind,
                "actor": e.actor,
                "at": _time(e.at),
                "note": e.note,
                "duplicate_of": e.duplicate_of,
            }
            for e in archive.events
        ],
    }


def _user(line: dict[str, Any]) -> UserArchive:
    return UserArchive(
        user=UserRecord(
            id=0,
            username=line["username"],
            role=Role(line["role"]),
            created_at=datetime.fromisoformat(line["created_at"]),
        ),
        password_hash=line["password_hash"],
    )


def _key(line: dict[str, Any]) -> KeyArchive:
    return KeyArchive(
        key=ApiKeyRecord(
            id=line["id"],
            name=line["name"],
            labels=list(line["labels"]),
            prefix=line["prefix"],
            ttl=line["ttl"],
            expires_at=datetime.fromisoformat(line["expires_at"]),
            created_at=datetime.fromisoformat(line["created_at"]),
            last_used_at=_parse_time(line["last_used_at"]),
            revoked_at=_parse_time(line["revoked_at"]),
        ),
        username=line["username"],
        key_hash=line["key_hash"],
    )


def _unit(line: dict[str, Any]) -> UnitArchive:
    archive = UnitArchive(
        item=ReviewItem(
            unit=KnowledgeUnit.model_validate(line["knowledge_unit"]),
            status=ReviewStatus(line["status"]),
            reviewed_by=line["reviewed_by"],
            reviewed_at=_parse_time(line["reviewed_at"]),
            review_note=line.get("review_note"),
        ),
        events=[
            UnitEvent(
                kind=e["kind"],
                actor=e["actor"],
                at=datetime.fromisoformat(e["at"]),
                note=e["note"],
                # Absent from archives written before rejections named an original.
                duplicate_of=e.get("duplicate_of"),
            )
            for e in line["events"]
        ],
    )
    problems = bounds.unit_problems(archive.item.unit)
    if problems:
        raise bounds.BoundError(
            f"unit {archive.item.unit.id}: {'; '.join(problems)} "
            "(run `colloquy doctor --fix` where it was exported from, then export again)"
        )
    return archive


_PARSERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "user": _user,
    "api_key": _key,
    "unit": _unit,
}


async def _pages(
    fetch: Callable[[str | None, int], Any], cursor_of: Callable[[Any], str]
) -> AsyncIterator[Any]:
    after: str | None = None
    while True:
        page = await fetch(after, BATCH)
        for entry in page:
            yield entry
        if len(page) < BATCH:
            return
        after = cursor_of(page[-1])


def _header(pepper: str | None) -> dict[str, Any]:
    header: dict[str, Any] = {"kind": FORMAT, "version": FORMAT_VERSION}
    if pepper is not None:
        header["pepper_fingerprint"] = api_keys.pepper_fingerprint(pepper)
    return header


async def _lines(store: Store, pepper: str | None) -> AsyncIterator[dict[str, Any]]:
    """The whole store, line by line: a header, then users, API keys and units."""
    yield _header(pepper)
    async for user in _pages(store.export_users, lambda a: a.user.username):
        yield user_line(user)
    async for key in _pages(store.export_keys, lambda a: a.key.id):
        yield key_line(key)
    async for unit in _pages(store.export_units, lambda a: a.item.unit.id):
        yield unit_line(unit)


async def export(
    store: Store,
    write: Callable[[str], object],
    progress: Callable[[int], None] | None = None,
    pepper: str | None = None,
) -> ExportSummary:
    """Write the whole store as JSON Lines, each line to ``write`` with its newline; the summary
    counts what was written, and ``progress`` advances by each unit. With the server's
    ``pepper``, the header carries its fingerprint (never the pepper) for ``import`` to check."""
    summary = ExportSummary()
    async for line in _lines(store, pepper):
        write(json.dumps(line) + "\n")
        kind = line["kind"]
        if kind in summary.written:
            summary.written[kind] += 1
        if kind == "unit" and progress is not None:
            progress(1)
    return summary


def _checked_header(line: dict[str, Any], number: int) -> dict[str, Any]:
    if line.get("version") != FORMAT_VERSION:
        raise ArchiveError(f"line {number}: unsupported export version")
    fingerprint = line.get("pepper_fingerprint")
    if fingerprint is not None and not (
        isinstance(fingerprint, str) and api_keys.FINGERPRINT.fullmatch(fingerprint)
    ):
        raise ArchiveError(f"line {number}: pepper_fingerprint is not a fingerprint")
    return line


def parse_lines(lines: Iterable[str]) -> Iterator[tuple[str, Any, int]]:
    """(kind, archive record, bytes consumed) for each line; the header's record is the checked
    header line itself."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            kind = line["kind"]
            if kind == FORMAT:
                yield kind, _checked_header(line, number), len(raw)
                continue
            bounds.check_texts(line, kind)
            yield kind, _PARSERS[kind](line), len(raw)
        except ArchiveError:
            raise
        except bounds.BoundError as exc:
            raise ArchiveError(f"line {number}: {exc}") from exc
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ArchiveError(f"line {number}: not a colloquy export line ({exc})") from exc


async def import_lines(
    store: Store, lines: Iterable[str], progress: Callable[[int], None] | None = None
) -> ImportSummary:
    """Load an export; running it twice adds nothing the second time."""
    summary = ImportSummary()
    pending: dict[str, list[Any]] = {kind: [] for kind in KINDS}
    writers = {
        "user": store.import_users,
        "api_key": store.import_keys,
        "unit": store.import_units,
    }

    async def flush(kind: str) -> None:
        if pending[kind]:
            summary.added[kind] += await writers[kind](pending[kind])
            pending[kind] = []

    for kind, record, size in parse_lines(lines):
        if kind == FORMAT:
            summary.pepper_fingerprint = record.get("pepper_fingerprint")
        else:
            summary.read[kind] += 1
            pending[kind].append(record)
            # Keys need their owners, so users are always written before any key batch.
            if kind == "api_key":
                await flush("user")
            if len(pending[kind]) >= BATCH:
                await flush(kind)
        if progress is not None:
            progress(size)
    for kind in KINDS:
        await flush(kind)
    return summary
