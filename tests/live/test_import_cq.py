"""The whole move, as a team would make it, on both backends: ``colloquy import-cq`` of the
reference's database, then ``colloquy serve`` under the reference's own secrets (its pepper is
31 bytes), and the real cq-sdk client with alice's old key."""

import json
import shutil
from pathlib import Path

import httpx
import pytest
from cq.client import Client

from tests.live.helpers import BACKENDS, bearer, check_cli, fresh_database, login
from tests.support.live import live_server, server_env

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cq-reference-server"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())
SECRETS = {
    "CQ_JWT_SECRET": "fixture-jwt-secret-0123456789abcdef",
    "CQ_API_KEY_PEPPER": "fixture-pepper-0123456789abcdef",
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reference_deployment_moves_over(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg = request.getfixturevalue("pg_server") if backend == "postgres" else None
    source = tmp_path / "cq.db"
    shutil.copyfile(FIXTURE / "cq.db", source)
    with fresh_database(backend, pg) as url:
        env = server_env(tmp_path, url, settings=SECRETS)
        summary = check_cli(env, "import-cq", str(source))
        assert summary.splitlines()[0].startswith("imported: 17 of 17 units added")
        with live_server(tmp_path, url, settings=SECRETS) as server:
            signed_in = login(server.base_url, "alice", "alice-password-1")
            assert signed_in.status_code == 200, signed_in.text
            for name, value in {
                "CQ_ADDR": server.base_url,
                "CQ_API_KEY": EXPECTED["keys"]["alice"]["token"],
                "XDG_CACHE_HOME": str(tmp_path / "cache"),
                "XDG_DATA_HOME": str(tmp_path / "data"),
                "CQ_LOCAL_DB_PATH": str(tmp_path / "local" / "local.db"),
            }.items():
                monkeypatch.setenv(name, value)
            with Client() as client:
                found = client.query(["stripe"])
                assert found.source == "remote"
                assert [u.id for u in found.units][:1] == [EXPECTED["ids"][0]]
                proposed = client.propose("moved over", "from cq", "keep going", ["migration"])
                assert proposed.created_by == "alice"
            revoked = httpx.post(
                f"{server.base_url}/api/v1/knowledge/{EXPECTED['ids'][0]}/confirmations",
                headers=bearer(EXPECTED["revoked_key"]["token"]),
            )
            assert revoked.status_code == 401
