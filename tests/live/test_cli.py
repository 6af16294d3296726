"""The ``colloquy`` command line against a live server's database, on both backends."""

import getpass
from pathlib import Path

import pytest

from tests.live.helpers import (
    ADMIN,
    Deployment,
    bearer,
    login,
    propose_body,
    run_cli,
    unique,
)
from tests.support.live import free_port, server_env
from tests.support.pgserver import PostgresServer


def test_first_user_is_admin(deployment: Deployment) -> None:
    # The fixture ran `colloquy user create admin --password-stdin` (no --role) first.
    assert deployment.admin_created == f"created admin {ADMIN}"


def test_user_commands(deployment: Deployment) -> None:
    name, password, new_password = unique("u"), "first-password", "second-password"
    assert deployment.cli("user", "create", name, "--password-stdin", stdin=password + "\n") == (
        f"created reviewer {name}\n"  # later users default to reviewer
    )
    assert deployment.cli("user", "set-role", name, "member") == f"{name} is now member\n"
    token = deployment.session(name, password)
    queue = deployment.request("GET", "/api/v1/review/queue", bearer(token))
    assert queue.status_code == 403  # members may not review

    assert deployment.cli(
        "user", "set-password", name, "--password-stdin", stdin=new_password + "\n"
    ) == (f"password of {name} changed\n")
    assert login(deployment.base_url, name, password).status_code == 401
    assert login(deployment.base_url, name, new_password).status_code == 200

    header, *rows = [line.split("\t") for line in deployment.cli("user", "list").splitlines()]
    assert header == ["username", "role", "created_at"]
    roles = {row[0]: row[1] for row in rows}
    assert roles[ADMIN] == "admin"
    assert roles[name] == "member"

    assert deployment.cli("user", "delete", name) == f"deleted {name}\n"
    assert login(deployment.base_url, name, new_password).status_code == 401
    users = deployment.request("GET", "/api/v1/users", deployment.jwt_headers)
    assert users.status_code == 200
    assert name not in str(users.json())


def test_key_commands(deployment: Deployment) -> None:
    name = unique("key")
    token = deployment.cli("key", "create", "--user", ADMIN, "--name", name, "--ttl", "7d").strip()
    key_id = token.split(".")[2]
    propose = {"json": propose_body(unique()), "headers": bearer(token)}
    created = deployment.request("POST", "/api/v1/knowledge", **propose)
    assert created.status_code == 201
    assert created.json()["created_by"] == ADMIN

    assert deployment.cli("key", "revoke", key_id, "--user", ADMIN) == f"revoked {key_id}\n"
    newest = latest_audit(deployment)
    assert (newest["action"], newest["actor"], newest["target"]) == ("key_revoked", CLI, ADMIN)
    assert newest["detail"] == {"key_id": key_id, "name": name}
    refused = deployment.request("POST", "/api/v1/knowledge", **propose)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid API key"}

    output = deployment.cli("key", "list", "--user", ADMIN)
    assert token.split(".")[3] not in output  # secrets are never shown again
    header, *rows = map(str.split, output.splitlines())
    assert header == ["id", "name", "prefix", "state", "expires_at"]
    listed = {row[0]: row for row in rows}
    assert listed[key_id][1] == name
    assert listed[key_id][3] == "revoked"
    live_key_id = deployment.api_key.split(".")[2]
    assert listed[live_key_id][3] == "active"
    # Revoking one key leaves the others working.
    assert (
        deployment.request(
            "POST", "/api/v1/knowledge", json=propose_body(unique()), headers=deployment.key_headers
        ).status_code
        == 201
    )


CLI = f"cli:{getpass.getuser()}"
LAST_ADMIN = "The last admin cannot be demoted or deleted; make another user an admin first"


def latest_audit(deployment: Deployment) -> dict:
    response = deployment.request(
        "GET", "/api/v1/audit", deployment.jwt_headers, params={"limit": 1}
    )
    assert response.status_code == 200, response.text
    return response.json()["data"][0]


def test_the_last_admin_stays_and_cli_actions_are_audited(deployment: Deployment) -> None:
    def admins() -> list[str]:
        users = deployment.request("GET", "/api/v1/users", deployment.jwt_headers)
        assert users.status_code == 200  # the admin's session still works
        return [u["username"] for u in users.json()["data"] if u["role"] == "admin"]

    assert admins() == [ADMIN]
    for args in (("user", "set-role", ADMIN, "member"), ("user", "delete", ADMIN)):
        done = run_cli(deployment.server.env, *args)
        assert done.returncode == 1, done.stdout
        assert done.stderr.splitlines()[-1] == f"error: {LAST_ADMIN}"
    assert admins() == [ADMIN]

    # The bootstrap `colloquy user create` is in the audit trail too, oldest.
    entries, params = [], {"limit": 200}
    while True:
        response = deployment.request("GET", "/api/v1/audit", deployment.jwt_headers, params=params)
        assert response.status_code == 200, response.text
        entries += response.json()["data"]
        if response.json()["next_cursor"] is None:
            break
        params["cursor"] = response.json()["next_cursor"]
    first = entries[-1]
    assert (first["action"], first["actor"], first["target"]) == ("user_created", CLI, ADMIN)
    assert first["detail"] == {"role": "admin"}


SECRET = "s3cretpw"
UNREACHABLE_PG = f"postgresql://u:{SECRET}@127.0.0.1:9/db"
WRONG_PASSWORD = "<the test PostgreSQL server, wrong password>"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(f"mysql://u:{SECRET}@h/db", id="mysql"),
        pytest.param(f"not a url {SECRET}", id="unparseable"),
        pytest.param(UNREACHABLE_PG, id="unreachable-postgres"),
        pytest.param(WRONG_PASSWORD, id="wrong-postgres-password"),
    ],
)
def test_serve_with_a_bad_database_url_fails_in_one_line(
    url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if url == WRONG_PASSWORD:
        pg: PostgresServer = request.getfixturevalue("pg_server")
        url = f"postgresql://{pg.user}:{SECRET}@{pg.host}:{pg.port}/{pg.database}"
    env = server_env(tmp_path, url) | {"CQ_LOG_LEVEL": "warning"}
    done = run_cli(env, "serve", "--port", str(free_port()), timeout=60)
    assert done.returncode != 0
    assert SECRET not in done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if not line.startswith("generated secrets")]
    assert len(errors) == 1, done.stderr[-3000:]
    assert errors[0].startswith("error: ")


STRONG = "x" * 32


@pytest.mark.parametrize(
    ("variable", "weak"),
    # A short pepper is accepted (keys moved from a reference server need its own): test_config.
    [("CQ_JWT_SECRET", "a"), ("CQ_JWT_SECRET", "31-bytes-is-one-short-of-enough")],
)
def test_serve_refuses_short_secrets(variable: str, weak: str, tmp_path: Path) -> None:
    """A short secret can be guessed (and sessions forged with it): the server must not start."""
    env = server_env(tmp_path, None) | {"CQ_JWT_SECRET": STRONG, "CQ_API_KEY_PEPPER": STRONG}
    env[variable] = weak
    done = run_cli(env, "serve", "--port", str(free_port()), timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: invalid setting: {variable} is {len(weak.encode())} bytes long; it must be at "
        "least 32 bytes (for example the output of `openssl rand -base64 48`), or unset it to "
        "have one generated"
    )
    assert not (tmp_path / "colloquy.db").exists()  # refused before touching the database
