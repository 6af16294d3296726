"""Fixtures shared by the benchmark tools' tests."""

from pathlib import Path

import pytest

from tests.support.pgserver import PostgresServer


@pytest.fixture(params=["sqlite", "postgres"])
def bench_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for a benchmark corpus, on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'colloquy.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = f"bench_{tmp_path.name[-20:].replace('-', '_').lower()}"
    return server.create_database(name)
