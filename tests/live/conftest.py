"""Fixtures for the live tests: a real ``colloquy serve`` subprocess per backend."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.helpers import BACKENDS, Deployment, deploy


@pytest.fixture(scope="package", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One single-worker server per backend, shared by the tests of this directory.

    The admin is created without ``--role``: the first user must become an admin.
    """
    backend: str = request.param
    pg = request.getfixturevalue("pg_server") if backend == "postgres" else None
    with deploy(backend, tmp_path_factory.mktemp(f"live-{backend}"), pg) as running:
        yield running


@pytest.fixture
def sdk_env(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Environment for a ``cq.client.Client``: this server, the admin's key, and a private
    discovery cache and local store (the Client reads all of it at construction)."""
    for name in ("CQ_LOCAL_DATABASE_URL", "CQ_ADDR", "CQ_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    values = {
        "CQ_ADDR": deployment.base_url,
        "CQ_API_KEY": deployment.api_key,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "CQ_LOCAL_DB_PATH": str(tmp_path / "local" / "local.db"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values
