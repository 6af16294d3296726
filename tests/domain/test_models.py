"""The agents' view of a unit: the dict (for other renderers) and the JSON a query answers with
are the same thing."""

import json
from datetime import UTC, datetime

from colloquy.domain.models import (
    Context,
    Evidence,
    Flag,
    FlagReason,
    Insight,
    KnowledgeUnit,
)

AT = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def _unit(**changes: object) -> KnowledgeUnit:
    fields: dict[str, object] = {
        "id": "ku_0123",
        "domains": ["api", "é-tag"],
        "insight": Insight(summary='s\u2028"quoted"', detail="d\n\t", action="a"),
        "context": Context(languages=["python"], pattern="retry"),
        "evidence": Evidence(
            confidence=0.0001, confirmations=3, first_observed=AT, last_confirmed=AT
        ),
        "created_by": "proposer",
        "extensions": {"x:y": {"list": [1, 2.5, None, "ü"], "deep": {"t": True}}},
        "flags": [
            Flag(reason=FlagReason.STALE, timestamp=AT, detail="for reviewers only"),
            Flag(reason=FlagReason.DUPLICATE, timestamp=AT, duplicate_of="ku_other"),
        ],
    }
    return KnowledgeUnit(**(fields | changes))  # type: ignore[arg-type]


def _as_json_response(body: object) -> bytes:
    """How Starlette's JSONResponse encodes a body."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def test_agents_json_is_the_agents_view_byte_for_byte():
    for unit in (_unit(), _unit(extensions=None, flags=[], superseded_by="ku_next")):
        assert unit.agents_json() == _as_json_response(unit.for_agents())


def test_agents_never_see_the_proposer_or_flag_details():
    view = _unit().for_agents()
    assert "created_by" not in view
    assert view["flags"] == [
        {"reason": "stale", "timestamp": "2026-01-02T03:04:05.123456Z"},
        {"reason": "duplicate", "timestamp": "2026-01-02T03:04:05.123456Z",
         "duplicate_of": "ku_other"},
    ]  # fmt: skip
    assert json.loads(_unit().agents_json()) == view
