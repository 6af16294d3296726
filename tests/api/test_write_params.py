"""The agents' write routes, answer for answer: ``POST /api/v1/knowledge`` (propose),
``POST /api/v1/knowledge/{unit_id}/confirmations`` and ``.../flags``, asked a broad table of bad
and borderline requests (malformed JSON, wrong content types, missing, extra and mistyped fields,
every length and count limit at its maximum and one past it, unit ids of every kind, several
errors at once, credentials missing beside a bad body), each pinned to the status and body, byte
for byte, that FastAPI's per-parameter solving gave when they were recorded
(``write_params_answers.json``). A route that resolves its own arguments later must keep every
answer: each 422 (type, loc, msg, input, ctx and order), which check comes first (401 before a
schema 422, but a 422 for unparseable JSON even without credentials), and every acceptance.

Accepted writes answer with values made at the time: in 2xx bodies every unit id and timestamp
is replaced by a placeholder before comparing, the rest is compared byte for byte. Re-record
(after a change meant to alter answers, never to make a failing test pass) with
``PYTHONPATH=src .venv/bin/python -m tests.api.test_write_params`` (SQLite; the tests then hold
PostgreSQL to the same answers)."""

import asyncio
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cq_schema
import httpx
import pytest
from pydantic import SecretStr

from colloquy.app import create_app
from colloquy.config import Settings
from colloquy.domain.models import Role
from colloquy.security.passwords import hash_password
from colloquy.services.knowledge import MAX_EXTENSIONS
from colloquy.store import migrate
from colloquy.store.factory import open_store
from tests.api.conftest import API, PASSWORD, Api, bearer
from tests.conftest import UNLIMITED_WRITES

ANSWERS_PATH = Path(__file__).parent / "write_params_answers.json"
ANSWERS = json.loads(ANSWERS_PATH.read_text())

# Placeholders: the units each test makes (one approved, one pending), and in 2xx bodies any
# other unit id (a new proposal's) and every timestamp.
APPROVED = "@APPROVED@"
PENDING = "@PENDING@"
NEW_ID = re.compile(r"ku_[0-9a-f]{32}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
UNKNOWN = "ku_" + "0" * 32


@dataclass(frozen=True)
class Ask:
    """One request: a path under ``/api/v1/knowledge`` (placeholders allowed), its body as
    sent, its content type, and its credentials (``key``: a valid API key, ``bad``: a malformed
    one, ``none``: no Authorization header)."""

    path: str = ""
    body: bytes | None = None
    content_type: str | None = "application/json"
    auth: str = "key"


def js(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


GOOD: dict[str, Any] = {
    "domains": ["web"],
    "insight": {"summary": "S", "detail": "D", "action": "A"},
}


def proposal(**changes: Any) -> dict[str, Any]:
    """GOOD with top-level fields replaced (``None`` drops one); an ``insight`` dict merges
    into GOOD's."""
    body = {**GOOD, "insight": dict(GOOD["insight"])}
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        elif name == "insight" and isinstance(value, dict):
            body["insight"].update(value)
        else:
            body[name] = value
    return body


def propose(value: Any, **ask: Any) -> Ask:
    return Ask("", js(value), **ask)


def confirm(unit: str = APPROVED, **ask: Any) -> Ask:
    return Ask(f"/{unit}/confirmations", **({"content_type": None} | ask))


def flag(value: Any, unit: str = APPROVED, **ask: Any) -> Ask:
    return Ask(f"/{unit}/flags", js(value), **ask)


def tags(count: int, length: int = 8) -> list[str]:
    return [f"{i:0{length}d}" for i in range(count)]


DOMAIN = cq_schema.DOMAIN_MAX_LENGTH
LANGUAGE = cq_schema.LANGUAGE_MAX_LENGTH
FRAMEWORK = cq_schema.FRAMEWORK_MAX_LENGTH
PATTERN = cq_schema.PATTERN_MAX_LENGTH
SUMMARY = cq_schema.SUMMARY_MAX_LENGTH
DETAIL = cq_schema.DETAIL_MAX_LENGTH
ACTION = cq_schema.ACTION_MAX_LENGTH
CREATED_BY = cq_schema.CREATED_BY_MAX_LENGTH
FLAG_DETAIL = cq_schema.FLAG_DETAIL_MAX_LENGTH


def extensions(count: int) -> dict[str, int]:
    return {f"x:{i}": i for i in range(count)}


CASES: dict[str, Ask] = {
    # propose: accepted, plain and at every limit
    "propose-plain": propose(GOOD),
    "propose-everything": propose(
        proposal(
            context={"languages": ["Python"], "frameworks": ["fastapi"], "pattern": "Pool"},
            extensions={"impl:x": 1, "a-b_c:ü": [None, 1.5, {"k": "v"}]},
            created_by="someone else",
            id="ku_given",
            tier="global",
            insight={"extra": "dropped"},
        )
    ),
    "propose-at-every-limit": propose(
        proposal(
            domains=[*tags(cq_schema.DOMAINS_MAX_ITEMS - 1, DOMAIN), "D" * DOMAIN],
            insight={"summary": "s" * SUMMARY, "detail": "d" * DETAIL, "action": "a" * ACTION},
            context={
                "languages": tags(cq_schema.LANGUAGES_MAX_ITEMS, LANGUAGE),
                "frameworks": tags(cq_schema.FRAMEWORKS_MAX_ITEMS, FRAMEWORK),
                "pattern": "p" * PATTERN,
            },
            extensions=extensions(MAX_EXTENSIONS),
            created_by="c" * CREATED_BY,
        )
    ),
    "propose-non-ascii": propose(
        proposal(
            domains=["データ", " Ünïcode ", "データ"],
            insight={"summary": "é" * SUMMARY, "detail": "🙂 détail", "action": "動作"},
            context={"languages": ["Ωmega"], "pattern": "ñ"},
        )
    ),
    "propose-empty-strings-and-nulls": propose(
        proposal(insight={"summary": "", "detail": "", "action": ""})
        | {"extensions": None, "created_by": None, "context": {}}
    ),
    "propose-empty-extensions": propose(proposal(extensions={})),
    # propose: the body itself
    "propose-malformed-json": Ask("", b'{"domains": ["web"'),
    "propose-trailing-comma": Ask("", b'{"domains": ["web"],}'),
    "propose-empty-body": Ask("", b""),
    "propose-no-body": Ask("", None, content_type=None),
    "propose-text-plain": propose(GOOD, content_type="text/plain"),
    "propose-form": Ask("", b"domains=web", content_type="application/x-www-form-urlencoded"),
    "propose-json-charset": propose(GOOD, content_type="application/json; charset=utf-8"),
    "propose-vendor-json": propose(GOOD, content_type="application/vnd.api+json"),
    "propose-body-array": propose([GOOD]),
    "propose-body-string": propose("web"),
    "propose-body-null": propose(None),
    "propose-body-empty-object": propose({}),
    "propose-latin1-bytes": Ask("", b'{"domains": ["\xe9"]}'),
    # propose: missing and mistyped fields
    "propose-missing-insight": propose(proposal(insight=None)),
    "propose-missing-domains": propose(proposal(domains=None)),
    "propose-insight-missing-action": propose(
        proposal() | {"insight": {"summary": "S", "detail": "D"}}
    ),
    "propose-insight-null": propose(proposal() | {"insight": None}),
    "propose-insight-string": propose(proposal() | {"insight": "S"}),
    "propose-insight-number": propose(proposal(insight={"summary": 5})),
    "propose-context-null": propose(proposal() | {"context": None}),
    "propose-context-list": propose(proposal(context=["Python"])),
    "propose-languages-string": propose(proposal(context={"languages": "Python"})),
    "propose-pattern-number": propose(proposal(context={"pattern": 3})),
    "propose-domains-string": propose(proposal(domains="web")),
    "propose-domains-number-item": propose(proposal(domains=["web", 1, None])),
    "propose-domains-empty": propose(proposal(domains=[])),
    "propose-domains-blank": propose(proposal(domains=[" ", ""])),
    "propose-extensions-list": propose(proposal(extensions=["impl:x"])),
    "propose-created-by-number": propose(proposal(created_by=7)),
    # propose: one past each limit
    "propose-domains-too-many": propose(proposal(domains=tags(cq_schema.DOMAINS_MAX_ITEMS + 1))),
    "propose-domain-too-long": propose(proposal(domains=["web", "d" * (DOMAIN + 1)])),
    "propose-domain-too-long-non-ascii": propose(proposal(domains=["é" * (DOMAIN + 1)])),
    "propose-summary-too-long": propose(proposal(insight={"summary": "s" * (SUMMARY + 1)})),
    "propose-detail-too-long": propose(proposal(insight={"detail": "d" * (DETAIL + 1)})),
    "propose-action-too-long": propose(proposal(insight={"action": "a" * (ACTION + 1)})),
    "propose-languages-too-many": propose(
        proposal(context={"languages": tags(cq_schema.LANGUAGES_MAX_ITEMS + 1)})
    ),
    "propose-language-too-long": propose(proposal(context={"languages": ["l" * (LANGUAGE + 1)]})),
    "propose-frameworks-too-many": propose(
        proposal(context={"frameworks": tags(cq_schema.FRAMEWORKS_MAX_ITEMS + 1)})
    ),
    "propose-framework-too-long": propose(
        proposal(context={"frameworks": ["f" * (FRAMEWORK + 1)]})
    ),
    "propose-pattern-too-long": propose(proposal(context={"pattern": "p" * (PATTERN + 1)})),
    "propose-extensions-too-many": propose(proposal(extensions=extensions(MAX_EXTENSIONS + 1))),
    "propose-extension-key-bad": propose(proposal(extensions={"Bad:x": 1, "nocolon": 2})),
    "propose-created-by-too-long": propose(proposal(created_by="c" * (CREATED_BY + 1))),
    "propose-nul-in-text": propose(proposal(insight={"summary": "a\x00b"})),
    "propose-lone-surrogate": Ask(
        "", b'{"domains": ["web"], "insight": {"summary": "\\ud800", "detail": "", "action": ""}}'
    ),
    "propose-several-errors": propose(
        {
            "domains": [*tags(cq_schema.DOMAINS_MAX_ITEMS + 1), 3],
            "insight": {"summary": "s" * (SUMMARY + 1), "detail": None},
            "context": {"languages": "Python", "pattern": "p" * (PATTERN + 1)},
            "created_by": 1,
        }
    ),
    # propose: which check comes first
    "propose-no-key-bad-body": propose({}, auth="none"),
    "propose-bad-key-several-errors": propose(
        {"domains": [], "insight": "x", "context": None}, auth="bad"
    ),
    "propose-no-key-malformed-json": Ask("", b"{", auth="none"),
    "propose-no-key-good-body": propose(GOOD, auth="none"),
    # confirm
    "confirm-approved": confirm(),
    "confirm-pending": confirm(PENDING),
    "confirm-unknown": confirm(UNKNOWN),
    "confirm-malformed-id": confirm("not-a-unit"),
    "confirm-uppercase-id": confirm("ku_" + "A" * 32),
    "confirm-long-id": confirm("ku_" + "a" * 2000),
    "confirm-non-ascii-id": confirm("ku_%C3%A9t%C3%A9"),
    "confirm-ignores-malformed-body": confirm(body=b"{not json", content_type="application/json"),
    "confirm-ignores-text-body": confirm(body=b"hello", content_type="text/plain"),
    "confirm-no-key": confirm(auth="none"),
    "confirm-bad-key-unknown": confirm(UNKNOWN, auth="bad"),
    # flag: accepted
    "flag-stale": flag({"reason": "stale"}),
    "flag-incorrect-longest-detail": flag({"reason": "incorrect", "detail": "x" * FLAG_DETAIL}),
    "flag-duplicate-of-pending": flag({"reason": "duplicate", "duplicate_of": PENDING}),
    "flag-stale-with-duplicate-of": flag(
        {"reason": "stale", "duplicate_of": UNKNOWN, "detail": "ßü 🙂", "extra": 1}
    ),
    "flag-nulls": flag({"reason": "incorrect", "detail": None, "duplicate_of": None}),
    # flag: the body itself
    "flag-malformed-json": Ask(f"/{APPROVED}/flags", b'{"reason": stale}'),
    "flag-empty-body": Ask(f"/{APPROVED}/flags", b""),
    "flag-no-body": Ask(f"/{APPROVED}/flags", None, content_type=None),
    "flag-text-plain": flag({"reason": "stale"}, content_type="text/plain"),
    "flag-body-array": flag(["stale"]),
    "flag-body-string": flag("stale"),
    "flag-body-empty-object": flag({}),
    # flag: fields
    "flag-reason-unknown": flag({"reason": "wrong"}),
    "flag-reason-uppercase": flag({"reason": "STALE"}),
    "flag-reason-number": flag({"reason": 1}),
    "flag-reason-null": flag({"reason": None}),
    "flag-detail-too-long": flag({"reason": "stale", "detail": "x" * (FLAG_DETAIL + 1)}),
    "flag-detail-too-long-non-ascii": flag({"reason": "stale", "detail": "é" * (FLAG_DETAIL + 1)}),
    "flag-detail-number": flag({"reason": "stale", "detail": 5}),
    "flag-duplicate-without-target": flag({"reason": "duplicate"}),
    "flag-duplicate-empty-target": flag({"reason": "duplicate", "duplicate_of": ""}),
    "flag-duplicate-of-unknown": flag({"reason": "duplicate", "duplicate_of": UNKNOWN}),
    "flag-duplicate-of-self": flag({"reason": "duplicate", "duplicate_of": APPROVED}),
    "flag-duplicate-of-short": flag({"reason": "duplicate", "duplicate_of": "ku_123"}),
    "flag-duplicate-of-uppercase": flag({"reason": "duplicate", "duplicate_of": "ku_" + "A" * 32}),
    "flag-duplicate-of-too-long": flag({"reason": "duplicate", "duplicate_of": UNKNOWN + "0"}),
    "flag-duplicate-of-number": flag({"reason": "duplicate", "duplicate_of": 5}),
    "flag-nul-in-detail": flag({"reason": "stale", "detail": "a\x00"}),
    "flag-several-errors": flag(
        {"reason": "nope", "detail": "x" * (FLAG_DETAIL + 1), "duplicate_of": "ku_1"}
    ),
    # flag: unit ids, and which check comes first
    "flag-pending": flag({"reason": "stale"}, PENDING),
    "flag-unknown": flag({"reason": "stale"}, UNKNOWN),
    "flag-long-id": flag({"reason": "stale"}, "x" * 2000),
    "flag-unknown-bad-body": flag({"reason": "wrong"}, UNKNOWN),
    "flag-no-key-bad-body": flag({"reason": "wrong"}, auth="none"),
    "flag-bad-key-unknown-unit": flag({"reason": "stale"}, UNKNOWN, auth="bad"),
    "flag-no-key-malformed-json": Ask(f"/{UNKNOWN}/flags", b"[", auth="none"),
}


async def made_units(api: Api) -> tuple[str, dict[str, str]]:
    """An agent's API key, and the units every case may name: one approved, one pending."""
    key = await api.key(await api.token("agent", Role.MEMBER))
    reviewer = await api.token("rita", Role.REVIEWER)
    approved = await api.approved(key, reviewer, summary="approved")
    pending = await api.propose(key, summary="pending")
    return key, {APPROVED: approved["id"], PENDING: pending["id"]}


async def answer(api: Api, ask: Ask) -> list[object]:
    """The case's status and body, its units' ids put back as placeholders (and in a 2xx body
    every other unit id and every timestamp too)."""
    key, units = await made_units(api)
    path, body = ask.path, ask.body
    for placeholder, unit_id in units.items():
        path = path.replace(placeholder, unit_id)
        body = body.replace(placeholder.encode(), unit_id.encode()) if body else body
    headers = {"Content-Type": ask.content_type} if ask.content_type else {}
    if ask.auth == "key":
        headers |= bearer(key)
    elif ask.auth == "bad":
        headers |= bearer("cq_not_a_key")
    response = await api.client.post(f"{API}/knowledge{path}", content=body, headers=headers)
    text = response.text
    for placeholder, unit_id in units.items():
        text = text.replace(unit_id, placeholder)
    if response.is_success:
        text = TIMESTAMP.sub("@TIME@", NEW_ID.sub("@NEW@", text))
    return [response.status_code, text]


@pytest.mark.parametrize("case", CASES)
async def test_write_requests_answer_as_recorded(api: Api, case: str) -> None:
    assert await answer(api, CASES[case]) == ANSWERS[case]


def test_every_recorded_answer_is_asked() -> None:
    """No recorded answer left without its case (nor a case without one)."""
    assert set(ANSWERS) == set(CASES)


def test_recorded_answers_cover_each_kind() -> None:
    """The table reaches every kind of answer it means to pin (a re-recording that turned them
    all into one status would show here too)."""
    statuses = {status for status, _ in ANSWERS.values()}
    assert {201, 401, 404, 422} <= statuses


async def record() -> None:
    """Ask every case of a fresh SQLite app, one database per case (copies of one migrated
    template) as the tests do, and write the answers file."""
    password = await hash_password(PASSWORD)
    answers: dict[str, list[object]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        template = Path(scratch) / "template.db"
        await migrate.upgrade(f"sqlite:///{template}")
        for name, ask in CASES.items():
            path = Path(scratch) / "case.db"
            shutil.copyfile(template, path)
            url = f"sqlite+aiosqlite:///{path}"
            settings = Settings(
                data_dir=Path(scratch),
                database_url=SecretStr(url),
                jwt_secret=SecretStr("test-jwt-secret-" + "x" * 32),
                api_key_pepper=SecretStr("test-pepper-" + "y" * 32),
                **UNLIMITED_WRITES,
            )
            store = open_store(url)
            transport = httpx.ASGITransport(app=create_app(settings, store))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                answers[name] = await answer(Api(http, store, settings, password), ask)
            await store.close()
    ANSWERS_PATH.write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    asyncio.run(record())
