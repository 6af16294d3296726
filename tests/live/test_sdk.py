"""The real cq-sdk Python client (``cq-sdk`` 0.20.2) against a live server, on both backends."""

import httpx
import pytest
from cq.client import Client, FallbackError, RemoteError
from cq.models import FlagReason, Tier

from tests.live.helpers import ADMIN, Deployment, unique


def test_round_trip(deployment: Deployment, sdk_env: dict[str, str]) -> None:
    domain = unique()
    with Client() as client:
        unit = client.propose(
            "pool exhaustion under load",
            "the default pool is too small",
            "raise the pool size",
            [domain],
            languages=["python"],
            created_by="someone-else",
        )
        assert unit.tier == Tier.PRIVATE
        assert unit.created_by == ADMIN  # the key owner, not what the client claimed
        assert unit.domains == [domain]

        # Pending units are invisible to agents until a reviewer approves them.
        assert client.query([domain]).units == []
        deployment.approve(unit.id)

        result = client.query([domain], languages=["python"])
        assert result.source == "remote"
        assert result.warnings == []
        # Best first; hybrid ranking may add other tests' units that share the word "python".
        assert result.units[0].id == unit.id
        assert unit.id not in [u.id for u in result.units[1:]]
        assert result.units[0].tier == Tier.PRIVATE

        confirmed = client.confirm(unit.id, tier=Tier.PRIVATE)
        assert confirmed.id == unit.id
        assert confirmed.evidence.confidence == pytest.approx(0.6)
        assert confirmed.evidence.confirmations == 2

        flagged = client.flag(unit.id, FlagReason.STALE, tier=Tier.PRIVATE)
        assert [f.reason for f in flagged.flags] == [FlagReason.STALE]
        assert flagged.evidence.confidence == pytest.approx(0.45)
        assert flagged.evidence.confirmations == 2

        stats = client.status()
        assert stats.warnings == []
        # The client read with its key: reads are private by default.
        anonymous = httpx.get(f"{deployment.base_url}/api/v1/knowledge/stats")
        assert anonymous.status_code == 401
        remote = deployment.request("GET", "/api/v1/knowledge/stats", deployment.key_headers)
        remote = remote.json()
        assert stats.tier_counts[Tier.LOCAL] == 0
        assert stats.tier_counts[Tier.PRIVATE] == remote["tier_counts"]["private"] >= 1
        assert stats.total_count == remote["tier_counts"]["private"]
        assert stats.domain_counts[domain] == 1
        assert stats.confidence_distribution == remote["confidence_distribution"]

    # Everything the client did is visible to reviewers.
    stored = deployment.unit(unit.id)
    assert stored["created_by"] == ADMIN
    assert stored["evidence"]["confirmations"] == 2
    assert [f["reason"] for f in stored["flags"]] == ["stale"]


def test_wrong_api_key_falls_back_locally(
    deployment: Deployment, sdk_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CQ_API_KEY", deployment.api_key[:-4] + "aaaa")
    domain = unique()
    with Client() as client:
        with pytest.raises(FallbackError) as caught:
            client.propose("s", "d", "a", [domain])
        cause = caught.value.__cause__
        assert isinstance(cause, RemoteError)
        assert cause.status_code == 401
        assert caught.value.local_unit.tier == Tier.LOCAL
        # Stored locally, nothing reached the server; the remote read is refused too.
        result = client.query([domain])
        assert [u.id for u in result.units] == [caught.value.local_unit.id]
        assert result.source == "local"
        assert any("401" in warning for warning in result.warnings), result.warnings
    pending = httpx.get(
        f"{deployment.base_url}/api/v1/review/units",
        params={"domain": domain},
        headers=deployment.jwt_headers,
    )
    assert pending.status_code == 200
    assert pending.json() == []


def test_confirm_unknown_unit_is_404(deployment: Deployment, sdk_env: dict[str, str]) -> None:
    with Client() as client:
        with pytest.raises(RemoteError) as caught:
            client.confirm("ku_" + "f" * 32, tier=Tier.PRIVATE)
        assert caught.value.status_code == 404
        with pytest.raises(RemoteError) as flagged:
            client.flag("ku_" + "f" * 32, FlagReason.INCORRECT, tier=Tier.PRIVATE)
        assert flagged.value.status_code == 404
