"""``import-cq`` of a real cq reference server database (``tests/fixtures/cq-reference-server``)
into colloquy on both backends, then the imported server checked through the API against what
the reference answered (``expected.json``)."""

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from colloquy.config import Settings
from colloquy.domain import scoring
from colloquy.domain.models import Role
from colloquy.services.import_cq import CqImportReport, ImportRefused, RolePlan, import_cq
from colloquy.store.cq_reference import CqReference, NotAReferenceDatabase
from colloquy.store.protocol import DailyCount, Store
from tests.api.conftest import API, Api, bearer
from tests.conftest import UNLIMITED_WRITES
from tests.support.pgserver import PostgresServer

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cq-reference-server"
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())
PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-22"}
# The secrets the reference server ran with.
JWT_SECRET = "fixture-jwt-secret-0123456789abcdef"
PEPPER = "fixture-pepper-0123456789abcdef"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The imported server runs with the reference's pepper (and its JWT secret)."""
    return Settings(
        data_dir=tmp_path,
        database_url=SecretStr(database_url),
        jwt_secret=SecretStr(JWT_SECRET),
        api_key_pepper=SecretStr(PEPPER),
        **UNLIMITED_WRITES,
    )


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    """A copy of the reference's database: the fixture itself is never opened."""
    copy = tmp_path / "reference" / "cq.db"
    copy.parent.mkdir()
    shutil.copyfile(FIXTURE / "cq.db", copy)
    return copy


async def run_import(
    source: str | Path,
    store: Store,
    plan: RolePlan | None = None,
    progress: Callable[[int], None] | None = None,
) -> CqImportReport:
    async with CqReference(str(source)) as ref:
        return await import_cq(ref, store, plan or RolePlan(), progress)


@pytest.fixture
async def imported(reference: Path, store: Store) -> CqImportReport:
    return await run_import(reference, store)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def added(report: CqImportReport) -> dict[str, int]:
    return report.summary.added


# ---------------------------------------------------------------- what is imported


async def test_everything_is_imported_and_the_source_is_untouched(
    reference: Path, store: Store
) -> None:
    before = digest(reference)
    advanced: list[int] = []
    report = await run_import(reference, store, progress=advanced.append)
    assert advanced == [2, 3, 17]  # a page of users, of keys, of units
    assert report.summary.read == {"user": 2, "api_key": 3, "unit": 17}
    assert added(report) == {"user": 2, "api_key": 3, "unit": 17}
    assert report.skipped == []
    assert digest(reference) == before
    assert not reference.with_name("cq.db-wal").exists()


async def test_the_first_user_is_the_admin_and_the_others_review(
    imported: CqImportReport, store: Store
) -> None:
    assert imported.admins == ["alice"]
    assert imported.lines()[1] == "admin: alice"
    roles = {name: (await store.get_user(name)).role for name in PASSWORDS}
    assert roles == {"alice": Role.ADMIN, "bob": Role.REVIEWER}


async def test_running_it_twice_adds_nothing(
    imported: CqImportReport, reference: Path, store: Store, api: Api
) -> None:
    stats = await api.knowledge_stats()
    again = await run_import(reference, store)
    assert again.summary.read == imported.summary.read
    assert added(again) == {"user": 0, "api_key": 0, "unit": 0}
    assert again.admins == []
    assert again.lines() == [
        "imported: 0 of 17 units added, 0 of 2 users added, 0 of 3 API keys added "
        "(the rest were already present)"
    ]
    assert await api.knowledge_stats() == stats
    keys = await store.list_api_keys((await store.get_user("alice")).id)
    assert len(keys) == 2


# ---------------------------------------------------------------- on the imported server


async def test_alice_signs_in_with_her_old_password_and_it_is_rehashed(
    imported: CqImportReport, store: Store, api: Api
) -> None:
    assert (await store.get_credential("alice")).password_hash.startswith("$2b$12$")
    await api.login("alice", PASSWORDS["alice"])
    assert (await store.get_credential("alice")).password_hash.startswith("$argon2id$")
    await api.login("alice", PASSWORDS["alice"])  # and the new hash verifies
    wrong = await api.client.post(
        f"{API}/auth/login", json={"username": "bob", "password": PASSWORDS["alice"]}
    )
    assert wrong.status_code == 401
    assert (await store.get_credential("bob")).password_hash.startswith("$2b$12$")


async def test_old_keys_propose_and_the_revoked_one_is_refused(
    imported: CqImportReport, api: Api
) -> None:
    for owner in ("alice", "bob"):
        unit = await api.propose(EXPECTED["keys"][owner]["token"], domains=["imported"])
        assert unit["id"].startswith("ku_")
    revoked = await api.client.post(
        f"{API}/knowledge",
        json={
            "domains": ["imported"],
            "insight": {"summary": "s", "detail": "d", "action": "a"},
        },
        headers=bearer(EXPECTED["revoked_key"]["token"]),
    )
    assert revoked.status_code == 401
    assert revoked.json() == {"detail": "Invalid API key"}


async def test_keys_keep_their_names_expiry_and_revocation(
    imported: CqImportReport, api: Api
) -> None:
    token = await api.login("alice", PASSWORDS["alice"])
    listed = {k["id"]: k for k in await api.list_keys(token)}
    agent, old = listed[EXPECTED["keys"]["alice"]["id"]], listed[EXPECTED["revoked_key"]["id"]]
    assert (agent["name"], agent["ttl"], agent["revoked_at"]) == ("alice-agent", "90d", None)
    assert agent["expires_at"] == "2027-03-01T11:06:16.173875+00:00"
    assert agent["prefix"] == EXPECTED["keys"]["alice"]["token"].split(".")[3][:8]
    assert (old["name"], old["revoked_at"]) == ("alice-old", "2026-12-01T11:06:16.199663+00:00")
    assert old["is_active"] is False


async def test_knowledge_stats_match_the_reference(imported: CqImportReport, api: Api) -> None:
    assert await api.knowledge_stats() == EXPECTED["knowledge_stats"]


async def test_review_stats_match_the_reference(
    imported: CqImportReport, api: Api, store: Store
) -> None:
    token = await api.login("alice", PASSWORDS["alice"])
    stats = await api.review_stats(token)
    expected = EXPECTED["review_stats"]
    assert stats["counts"] == expected["counts"]
    assert stats["domains"] == expected["domains"]
    assert stats["recent_activity"] == expected["recent_activity"]
    # The one legitimate difference: the reference's float arithmetic left a unit confirmed
    # three times at 0.7999999999999999, so it counted it in "0.6-0.8"; colloquy keeps basis
    # points, so that unit is at 0.8 and counts in "0.8-1.0" (wire-spec 8, item 12).
    drifted = [
        u for u in EXPECTED["units"].values() if u["knowledge_unit"]["evidence"]["confidence"] < 0.8
    ]
    assert sum(u["knowledge_unit"]["evidence"]["confidence"] > 0.8 - 1e-9 for u in drifted) == 1
    moved = dict(expected["confidence_distribution"])
    moved["0.6-0.8"] -= 1
    moved["0.8-1.0"] += 1
    assert stats["confidence_distribution"] == moved
    # The daily trend is relative to today; the days themselves, read without a clock:
    overview = await store.review_overview([0], 20, date(2026, 11, 1))
    (reported,) = expected["trends"]["daily"]
    assert overview.daily == [
        DailyCount(
            day=date.fromisoformat(reported["date"]),
            proposed=reported["proposed"],
            approved=reported["approved"],
            rejected=reported["rejected"],
        )
    ]


def _times_equal(ours: str | None, theirs: str | None) -> bool:
    if ours is None or theirs is None:
        return ours is theirs
    return datetime.fromisoformat(ours) == datetime.fromisoformat(theirs)


async def test_each_unit_matches_what_the_reference_answered(
    imported: CqImportReport, api: Api
) -> None:
    token = await api.login("alice", PASSWORDS["alice"])
    assert list(EXPECTED["units"]) == EXPECTED["ids"]
    for unit_id, theirs in EXPECTED["units"].items():
        ours = await api.review_item(token, unit_id)
        assert (ours["status"], ours["reviewed_by"]) == (theirs["status"], theirs["reviewed_by"])
        assert _times_equal(ours["reviewed_at"], theirs["reviewed_at"])
        mine, reference = ours["knowledge_unit"], theirs["knowledge_unit"]
        for name in ("id", "version", "domains", "insight", "context", "tier", "created_by"):
            assert mine[name] == reference[name], (unit_id, name)
        # colloquy leaves out what is null (superseded_by, extensions) instead of sending null
        for name in ("superseded_by", "extensions"):
            assert mine.get(name) == reference[name]
        evidence, their_evidence = mine["evidence"], reference["evidence"]
        assert evidence["confirmations"] == their_evidence["confirmations"]
        # basis points: 0.7999999999999999 there is 0.8 here
        assert evidence["confidence"] == scoring.from_points(
            scoring.to_points(their_evidence["confidence"])
        )
        for name in ("first_observed", "last_confirmed"):
            assert _times_equal(evidence[name], their_evidence[name])
        assert [(f["reason"], f.get("detail"), f.get("duplicate_of")) for f in mine["flags"]] == [
            (f["reason"], f["detail"], f["duplicate_of"]) for f in reference["flags"]
        ]
        for flag, their_flag in zip(mine["flags"], reference["flags"], strict=True):
            assert _times_equal(flag["timestamp"], their_flag["timestamp"])


async def test_each_unit_has_its_proposal_and_decision_in_its_history(
    imported: CqImportReport, store: Store
) -> None:
    for unit_id, theirs in EXPECTED["units"].items():
        history = [(e.kind, e.actor) for e in await store.history(unit_id, 10)]
        proposer = theirs["knowledge_unit"]["created_by"]
        decided = [] if theirs["status"] == "pending" else [(theirs["status"], "alice")]
        assert history == [("proposed", proposer), *decided]


# ---------------------------------------------------------------- roles and existing users


async def test_flags_choose_the_admins_and_the_others_role(reference: Path, store: Store) -> None:
    report = await run_import(reference, store, RolePlan(frozenset({"bob"}), Role.MEMBER))
    assert report.admins == ["bob"]
    roles = {name: (await store.get_user(name)).role for name in PASSWORDS}
    assert roles == {"alice": Role.MEMBER, "bob": Role.ADMIN}


async def test_an_unknown_admin_name_imports_nothing(reference: Path, store: Store) -> None:
    with pytest.raises(ImportRefused, match=r"^no user carol in the source$"):
        await run_import(reference, store, RolePlan(frozenset({"carol"})))
    assert (await store.list_users(None, 10)).items == []


async def test_existing_users_keep_their_role_and_password(
    reference: Path, store: Store, api: Api
) -> None:
    await api.user("alice", Role.MEMBER)  # colloquy's alice, with the tests' PASSWORD
    report = await run_import(reference, store)
    assert added(report)["user"] == 1
    # no admin here yet, and alice exists: the first user the import creates is the admin
    assert report.admins == ["bob"]
    assert (await store.get_user("alice")).role is Role.MEMBER
    await api.login("alice")
    # the reference's keys of that name are hers now
    await api.propose(EXPECTED["keys"]["alice"]["token"])
    old = await api.client.post(
        f"{API}/auth/login", json={"username": "alice", "password": PASSWORDS["alice"]}
    )
    assert old.status_code == 401


async def test_with_an_admin_here_nobody_imported_becomes_one(
    reference: Path, store: Store, api: Api
) -> None:
    await api.user("root", Role.ADMIN)
    report = await run_import(reference, store)
    assert report.admins == []
    assert {(await store.get_user(n)).role for n in PASSWORDS} == {Role.REVIEWER}


async def test_a_named_admin_who_exists_here_keeps_the_role_she_has(
    reference: Path, store: Store, api: Api
) -> None:
    await api.user("alice", Role.REVIEWER)
    report = await run_import(reference, store, RolePlan(frozenset({"alice"})))
    assert (report.admins, report.kept) == ([], ["alice"])
    assert "alice existed here already; role left as it was" in report.lines()
    assert (await store.get_user("alice")).role is Role.REVIEWER


# ---------------------------------------------------------------- what cannot come over


async def test_a_unit_that_cannot_be_stored_is_skipped_and_named(
    reference: Path, store: Store
) -> None:
    first, second = EXPECTED["ids"][:2]
    with sqlite3.connect(reference) as db:
        (data,) = db.execute("SELECT data FROM knowledge_units WHERE id = ?", (first,)).fetchone()
        broken = json.loads(data)
        broken["insight"]["summary"] = "nul \x00 inside"
        db.execute("UPDATE knowledge_units SET data = ? WHERE id = ?", (json.dumps(broken), first))
        db.execute("UPDATE knowledge_units SET data = '{not json' WHERE id = ?", (second,))
    db.close()
    report = await run_import(reference, store)
    assert added(report)["unit"] == 15
    assert sorted(report.skipped) == sorted(
        [
            f"unit {first}: unit[0].insight.summary must not contain NUL characters",
            f"unit {second}: Expecting property name enclosed in double quotes: line 1 column 2 "
            "(char 1)",
        ]
    )
    assert await store.get_unit(first) is None


async def test_a_database_that_is_not_the_reference_is_refused(
    tmp_path: Path, sqlite_template: Path, store: Store
) -> None:
    with pytest.raises(NotAReferenceDatabase, match=r"^not a cq reference server database"):
        await run_import(sqlite_template, store)  # a colloquy database
    with pytest.raises(NotAReferenceDatabase, match=r"no such file$"):
        await run_import(tmp_path / "missing.db", store)


# ---------------------------------------------------------------- a PostgreSQL source

# The reference's schema (Alembic revision 0001) in PostgreSQL, from the fixture's SQLite one.
REFERENCE_SCHEMA = """
CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY);
CREATE TABLE knowledge_units (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    reviewed_by TEXT,
    reviewed_at TEXT,
    created_at TEXT,
    tier TEXT NOT NULL DEFAULT 'private'
);
CREATE TABLE knowledge_unit_domains (
    unit_id TEXT NOT NULL REFERENCES knowledge_units (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    PRIMARY KEY (unit_id, domain)
);
CREATE INDEX idx_domains_domain ON knowledge_unit_domains (domain);
CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '[]',
    key_prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    ttl TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX idx_api_keys_user ON api_keys (user_id);
"""
# In the order their foreign keys need.
REFERENCE_TABLES = (
    "alembic_version",
    "users",
    "knowledge_units",
    "knowledge_unit_domains",
    "api_keys",
)
SOURCE_DATABASE = "cq_reference_source"
READER, READER_PASSWORD = "cq_reader", "reader-password"


@pytest.fixture
async def postgres_source(reference: Path, pg_server: PostgresServer) -> str:
    """The fixture's rows in a throwaway PostgreSQL database with the reference's schema; the
    URL of a role that may only read it, in the spelling the reference's settings use."""
    pg_server.drop_database(SOURCE_DATABASE)
    pg_server.create_database(SOURCE_DATABASE)
    pg_server.execute_sql(
        f"DROP ROLE IF EXISTS {READER}; CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'"
    )
    conn = await asyncpg.connect(pg_server.dsn_for(SOURCE_DATABASE))
    try:
        await conn.execute(REFERENCE_SCHEMA)
        with sqlite3.connect(reference) as db:
            for table in REFERENCE_TABLES:
                cursor = db.execute(f"SELECT * FROM {table}")
                columns = [c[0] for c in cursor.description]
                marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
                await conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    cursor.fetchall(),
                )
        db.close()
        await conn.execute("SELECT setval('users_id_seq', (SELECT max(id) FROM users))")
        await conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}")
    finally:
        await conn.close()
    return (
        f"postgresql+psycopg://{READER}:{READER_PASSWORD}@{pg_server.host}:{pg_server.port}"
        f"/{SOURCE_DATABASE}"
    )


async def test_a_postgresql_source_imports_the_same(
    postgres_source: str, store: Store, api: Api
) -> None:
    report = await run_import(postgres_source, store)
    assert added(report) == {"user": 2, "api_key": 3, "unit": 17}
    assert (report.admins, report.skipped) == (["alice"], [])
    assert await api.knowledge_stats() == EXPECTED["knowledge_stats"]
    await api.login("alice", PASSWORDS["alice"])
    await api.propose(EXPECTED["keys"]["bob"]["token"])
    again = await run_import(postgres_source, store)
    assert added(again) == {"user": 0, "api_key": 0, "unit": 0}


async def test_a_user_whose_name_colloquy_refuses_is_skipped_with_her_keys(
    reference: Path, store: Store
) -> None:
    with sqlite3.connect(reference) as db:
        db.execute("UPDATE users SET username = 'alice smith' WHERE username = 'alice'")
    db.close()
    report = await run_import(reference, store)
    assert report.summary.read == {"user": 2, "api_key": 3, "unit": 17}
    assert added(report) == {"user": 1, "api_key": 1, "unit": 17}
    assert report.admins == ["bob"]
    assert sorted(report.skipped) == [
        f"api key {EXPECTED['keys']['alice']['id']} of alice smith: its owner was not imported",
        f"api key {EXPECTED['revoked_key']['id']} of alice smith: its owner was not imported",
        "user alice smith: username must be 1-64 characters without spaces",
    ]
