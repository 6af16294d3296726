"""The knowledge unit and its parts, as they travel on the cq v1 wire."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Tier(StrEnum):
    LOCAL = "local"
    PRIVATE = "private"
    PUBLIC = "public"


class FlagReason(StrEnum):
    STALE = "stale"
    INCORRECT = "incorrect"
    DUPLICATE = "duplicate"


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Role(StrEnum):
    """Admins manage users; reviewers decide; members only hold API keys."""

    ADMIN = "admin"
    REVIEWER = "reviewer"
    MEMBER = "member"


class Insight(BaseModel):
    model_config = ConfigDict(frozen=True)
    summary: str
    detail: str
    action: str


class Context(BaseModel):
    model_config = ConfigDict(frozen=True)
    languages: list[str] = Field(default_factory=list)
    frameworks: list[str] = Field(default_factory=list)
    pattern: str = ""


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True)
    confidence: float
    confirmations: int
    first_observed: datetime
    last_confirmed: datetime


class Flag(BaseModel):
    model_config = ConfigDict(frozen=True)
    reason: FlagReason
    timestamp: datetime
    detail: str | None = None
    duplicate_of: str | None = None


# What agents are never shown: who proposed a unit, and what its flaggers wrote.
_HIDDEN_FROM_AGENTS: dict[str, Any] = {"created_by": True, "flags": {"__all__": {"detail"}}}


class KnowledgeUnit(BaseModel):
    """A unit as stored and served; ``created_by`` and flag details are hidden from agents."""

    model_config = ConfigDict(frozen=True)
    id: str
    version: int = 1
    domains: list[str]
    insight: Insight
    context: Context
    evidence: Evidence
    tier: Tier = Tier.PRIVATE
    created_by: str = ""
    superseded_by: str | None = None
    extensions: dict[str, Any] | None = None
    flags: list[Flag] = Field(default_factory=list)

    def for_agents(self) -> dict[str, Any]:
        """The data-plane view: no proposer, no flag details (schema: never returned to agents)."""
        return self.model_dump(mode="json", exclude_none=True, exclude=_HIDDEN_FROM_AGENTS)

    def agents_json(self) -> bytes:
        """``for_agents`` as compact JSON, serialised in one step (no dict in between): what a
        query, a confirm and a flag answer with, for each unit. Every unit answer is written by
        pydantic's serialiser, so a unit is the same bytes in each (``json.dumps`` writes some
        floats otherwise: ``1e-05`` for ``0.00001``). The serialiser's own bytes, which
        ``model_dump_json`` would decode to a string (and we encode again)."""
        return self.__pydantic_serializer__.to_json(
            self, exclude_none=True, exclude=_HIDDEN_FROM_AGENTS
        )

    def for_reviewers(self) -> dict[str, Any]:
        """The full view, proposer and flag details included."""
        return self.model_dump(mode="json", exclude_none=True)

    def reviewers_json(self) -> bytes:
        """``for_reviewers`` as compact JSON, by the writer of ``agents_json``: what a proposal
        answers with."""
        return self.__pydantic_serializer__.to_json(self, exclude_none=True)
