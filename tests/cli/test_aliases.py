"""``colloquy alias list|add|remove`` on both backends: the same rules and audit trail as the
API, with the command line named as the actor."""

import asyncio
import getpass
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from colloquy.cli import app
from colloquy.domain.tags import DEFAULT_ALIASES
from colloquy.store.factory import open_store

CLI = f"cli:{getpass.getuser()}"


@pytest.fixture
def alias_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str):
    for name in [n for n in os.environ if n.startswith("CQ_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    def run(*args: str, code: int = 0) -> Result:
        flags = ["--data-dir", str(tmp_path), "--database-url", database_url]
        result = CliRunner().invoke(app, ["alias", *args, *flags])
        assert result.exit_code == code, result.output
        return result

    return run


def audit_trail(database_url: str) -> list[tuple[str, str, str, dict[str, str]]]:
    async def read() -> list[tuple[str, str, str, dict[str, str]]]:
        store = open_store(database_url)
        try:
            page = await store.audit_page(None, 10)
        finally:
            await store.close()
        return [(e.action, e.actor, e.target, e.detail) for e in page.items]

    return asyncio.run(read())


def rows(result: Result) -> list[list[str]]:
    return [line.split("\t") for line in result.stdout.splitlines()]


def test_list_prints_a_header_and_every_alias(alias_cli):
    header, *listed = rows(alias_cli("list"))
    assert header == ["alias", "canonical", "added_by", "added_at"]
    assert [r[:3] for r in listed] == [
        [a, DEFAULT_ALIASES[a], "colloquy"] for a in sorted(DEFAULT_ALIASES)
    ]
    assert all(r[3].endswith("+00:00") for r in listed)


def test_add_and_remove_are_listed_and_audited(alias_cli, database_url):
    assert alias_cli("add", "KBNs", "Kubernetes").stdout == "added kbn -> kubernetes\n"
    assert alias_cli("add", "kbn", "kubernetes").stdout == "already stored: kbn -> kubernetes\n"
    listed = {r[0]: r for r in rows(alias_cli("list"))}
    assert listed["kbn"][1:3] == ["kubernetes", CLI]
    assert alias_cli("remove", "kbn").stdout == "removed kbn -> kubernetes\n"
    assert "kbn" not in {r[0] for r in rows(alias_cli("list"))}
    assert audit_trail(database_url) == [
        ("alias_removed", CLI, "kbn", {"canonical": "kubernetes"}),
        ("alias_added", CLI, "kbn", {"canonical": "kubernetes"}),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "k8s", "kube"), "'k8s' is already an alias of 'kubernetes'; remove it first"),
        (("add", "kub", "k8s"), "'k8s' is itself an alias of 'kubernetes'; use that"),
        (("add", "x", "two words"), "an alias must be one word"),
        (("add", "pods", "pod"), "cannot be an alias of itself"),
        (("remove", "never"), "Alias not found"),
    ],
)
def test_refusals_exit_1_with_the_reason(alias_cli, database_url, args, message):
    result = alias_cli(*args, code=1)
    assert message in result.stderr
    assert result.stdout == ""
    assert len(rows(alias_cli("list"))) == len(DEFAULT_ALIASES) + 1
    assert audit_trail(database_url) == []
