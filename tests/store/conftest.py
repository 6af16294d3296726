"""Fixtures of the store tests beyond the suite's own (tests/conftest.py)."""

import uuid
from pathlib import Path

import pytest


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema yet, for the migration tests."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'colloquy.db'}"
    return request.getfixturevalue("pg_server").create_database(f"m_{uuid.uuid4().hex[:10]}")
