"""The request mixes the load generator sends, built from the corpus's skewed distributions.

Kept apart from ``run.py`` so that the smoke test drives exactly the same requests.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from urllib.parse import urlencode

from benchmarks import corpus
from benchmarks.loadgen import Request, RequestFactory

# Read-only workloads first: the write workloads change the corpus (new pending units, higher
# confidences), and the reads should see the corpus as loaded.
# ``query_cq`` needs a server of its own (``SETTINGS``), so it runs first, before ``health``
# starts the default server's run.
ORDER = (
    "query_cq",
    "health",
    "query",
    "query_mcp",
    "query_q",
    "knowledge_stats",
    "review_stats",
    "confirm",
    "flag",
    "propose",
    "mixed",
)
# Server settings a workload needs besides the defaults: ``query`` runs on the default
# ranking (hybrid), ``query_cq`` on the cq reference's.
SETTINGS: dict[str, tuple[tuple[str, str], ...]] = {"query_cq": (("CQ_RANKING", "cq"),)}
# Flag reasons as reviewers see them: mostly stale advice, some wrong, a few duplicates; about
# half the flags say why (``detail``).
FLAG_REASONS = (("stale", 0.5), ("incorrect", 0.3), ("duplicate", 0.2))
FLAG_DETAILS = (
    "the API changed in the latest major release",
    "this no longer works on Python 3.12",
    "the recommended flag was removed",
    "contradicts the official documentation",
)
# The mixed workload: mostly queries, as agents ask far more than they tell.
MIX = (("query", 0.85), ("confirm", 0.10), ("propose", 0.05))


# A version of the initialize handshake's era: what hosts send after their handshake (the
# stateless transport answers a call without one).
MCP_PROTOCOL_VERSION = "2025-06-18"


def mcp_query_call(params: list[tuple[str, str]]) -> dict[str, object]:
    """The JSON-RPC ``tools/call`` of ``query`` with the arguments of REST query ``params``."""
    arguments: dict[str, object] = {}
    for name, value in params:
        if name in ("domains", "languages", "frameworks"):
            arguments.setdefault(name, []).append(value)  # type: ignore[union-attr]
        else:
            arguments[name] = int(value) if name == "limit" else value
    call = {"name": "query", "arguments": arguments}
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call}


def settings_of(name: str) -> tuple[tuple[str, str], ...]:
    return SETTINGS.get(name, ())


@dataclass(frozen=True)
class Credentials:
    api_key: str
    session_token: str
    approved_ids: list[str]


def factories(creds: Credentials, seed: int = corpus.DEFAULT_SEED) -> dict[str, RequestFactory]:
    """One request factory per workload name."""
    text = corpus.TextPool(seed + 2)
    key_auth = (("Authorization", f"Bearer {creds.api_key}"),)
    json_key_auth = (*key_auth, ("Content-Type", "application/json"))
    mcp_headers = (
        *json_key_auth,
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", MCP_PROTOCOL_VERSION),
    )
    ids = creds.approved_ids

    def health(_rng: random.Random) -> Request:
        return Request("GET", "/api/v1/health")

    def query(rng: random.Random) -> Request:
        path = "/api/v1/knowledge?" + urlencode(corpus.query_params(rng))
        return Request("GET", path, headers=key_auth)

    def query_mcp(rng: random.Random) -> Request:
        """The ``query`` requests as an MCP host sends them: a ``tools/call`` to ``/mcp``."""
        body = json.dumps(mcp_query_call(corpus.query_params(rng))).encode()
        return Request("POST", "/mcp", body=body, headers=mcp_headers)

    def query_q(rng: random.Random) -> Request:
        """Free text as an agent describes its task, with the tags half the time."""
        params = [("q", text.take(rng, 40, 300))]
        if rng.random() < 0.5:
            params += [p for p in corpus.query_params(rng) if p[0] != "limit"]
        path = "/api/v1/knowledge?" + urlencode([*params, ("limit", "5")])
        return Request("GET", path, headers=key_auth)

    def knowledge_stats(_rng: random.Random) -> Request:
        return Request("GET", "/api/v1/knowledge/stats", headers=key_auth)

    def review_stats(_rng: random.Random) -> Request:
        auth = (("Authorization", f"Bearer {creds.session_token}"),)
        return Request("GET", "/api/v1/review/stats", headers=auth)

    def confirm(rng: random.Random) -> Request:
        path = f"/api/v1/knowledge/{rng.choice(ids)}/confirmations"
        return Request("POST", path, headers=key_auth)

    def flag(rng: random.Random) -> Request:
        """Flags lower a unit's confidence: run after the reads, as the other writes are."""
        reason = rng.choices([r for r, _ in FLAG_REASONS], [w for _, w in FLAG_REASONS])[0]
        unit, other = rng.sample(ids, 2)
        body: dict[str, str] = {"reason": reason}
        if reason == "duplicate":
            body["duplicate_of"] = other
        if rng.random() < 0.5:
            body["detail"] = rng.choice(FLAG_DETAILS)
        path = f"/api/v1/knowledge/{unit}/flags"
        return Request("POST", path, body=json.dumps(body).encode(), headers=json_key_auth)

    def propose(rng: random.Random) -> Request:
        body = json.dumps(corpus.draw_content(rng, text).proposal_body()).encode()
        return Request("POST", "/api/v1/knowledge", body=body, headers=json_key_auth)

    simple = {
        "health": health,
        "query": query,
        "query_cq": query,
        "query_mcp": query_mcp,
        "query_q": query_q,
        "knowledge_stats": knowledge_stats,
        "review_stats": review_stats,
        "confirm": confirm,
        "flag": flag,
        "propose": propose,
    }
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]

    def mixed(rng: random.Random) -> Request:
        return simple[rng.choices(names, weights=weights)[0]](rng)

    return {**simple, "mixed": mixed}
