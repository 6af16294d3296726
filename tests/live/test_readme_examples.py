"""The README's Python examples, run as written against a live server: the cq-sdk proposal, the
reviewer's approval over the API, then the agent's query, confirm and flags. Only the address,
the reviewer's name and the password prompt are swapped for this server's."""

import getpass
import re
from pathlib import Path

import httpx
import pytest

from tests.live.helpers import ADMIN, ADMIN_PASSWORD, deploy

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE_ADDR = "http://127.0.0.1:3000"


def python_blocks(section: str) -> list[str]:
    """The ```python blocks of one README section (from its heading to the next heading of
    level 2 or 3; a one-hash line in a block is a comment)."""
    text = README.read_text()
    start = text.index(f"\n{section}\n") + len(section) + 2
    following = re.search(r"^#{2,3} ", text[start:], re.MULTILINE)
    end = start + following.start() if following else len(text)
    return re.findall(r"```python\n(.*?)```", text[start:end], re.DOTALL)


def test_sdk_and_review_examples_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    propose, use = python_blocks("### Python: cq-sdk")
    (review,) = python_blocks("### Reviewing over the API")
    (tmp_path / "server").mkdir()
    with deploy("sqlite", tmp_path / "server") as deployment:
        for name, value in {
            "CQ_ADDR": deployment.base_url,
            "CQ_API_KEY": deployment.api_key,
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "CQ_LOCAL_DB_PATH": str(tmp_path / "local" / "local.db"),
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(getpass, "getpass", lambda *_: ADMIN_PASSWORD)
        agent: dict[str, object] = {}
        exec(propose, agent)
        unit_id = agent["unit"].id  # type: ignore[attr-defined]
        reviewer = review.replace(EXAMPLE_ADDR, deployment.base_url)
        exec(reviewer.replace('"alice"', repr(ADMIN)), {})
        exec(use, agent)
        agent["client"].close()  # type: ignore[attr-defined]

        printed = capsys.readouterr().out.splitlines()
        assert printed[0] == f"proposed {unit_id}"
        assert "200" in printed  # the reviewer approved the oldest pending unit: this one
        assert printed[-1] == "422"  # the duplicate flag without duplicate_of
        found = [line.split()[0] for line in printed if line.startswith("ku_")]
        assert unit_id in found[1:]  # listed in the queue, then found by the query
        item = httpx.get(
            f"{deployment.base_url}/api/v1/review/{unit_id}",
            headers=deployment.jwt_headers,
            timeout=10,
        ).json()
        unit = item["knowledge_unit"]
        assert item["status"] == "approved"
        assert unit["evidence"]["confirmations"] == 2
        assert [flag["reason"] for flag in unit["flags"]] == ["stale"]
