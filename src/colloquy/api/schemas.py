"""The API's own request bodies, with the cq-schema limits enforced (422 with a clear message);
those the dashboard accepts too live in ``colloquy.services.inputs``."""

from typing import Annotated, Any

import cq_schema
from pydantic import BaseModel, Field, StringConstraints, model_validator

from colloquy.domain.models import FlagReason
from colloquy.services.accounts import USERNAME_MAX_LENGTH
from colloquy.services.inputs import KU_ID_PATTERN, RequestBody

Domain = Annotated[str, StringConstraints(max_length=cq_schema.DOMAIN_MAX_LENGTH)]
Language = Annotated[str, StringConstraints(max_length=cq_schema.LANGUAGE_MAX_LENGTH)]
Framework = Annotated[str, StringConstraints(max_length=cq_schema.FRAMEWORK_MAX_LENGTH)]


class InsightIn(BaseModel):
    summary: str = Field(max_length=cq_schema.SUMMARY_MAX_LENGTH)
    detail: str = Field(max_length=cq_schema.DETAIL_MAX_LENGTH)
    action: str = Field(max_length=cq_schema.ACTION_MAX_LENGTH)


class ContextIn(BaseModel):
    languages: list[Language] = Field(
        default_factory=list, max_length=cq_schema.LANGUAGES_MAX_ITEMS
    )
    frameworks: list[Framework] = Field(
        default_factory=list, max_length=cq_schema.FRAMEWORKS_MAX_ITEMS
    )
    pattern: str = Field(default="", max_length=cq_schema.PATTERN_MAX_LENGTH)


class ProposeRequest(RequestBody):
    domains: list[Domain] = Field(min_length=1, max_length=cq_schema.DOMAINS_MAX_ITEMS)
    insight: InsightIn
    context: ContextIn = Field(default_factory=ContextIn)
    extensions: dict[str, Any] | None = None
    created_by: str | None = Field(
        default=None,
        max_length=cq_schema.CREATED_BY_MAX_LENGTH,
        description="Accepted and ignored: the server records the API key's owner.",
    )


class FlagRequest(RequestBody):
    reason: FlagReason
    detail: str | None = Field(default=None, max_length=cq_schema.FLAG_DETAIL_MAX_LENGTH)
    duplicate_of: str | None = Field(default=None, pattern=KU_ID_PATTERN)

    @model_validator(mode="after")
    def _duplicate_needs_target(self) -> "FlagRequest":
        if self.reason is FlagReason.DUPLICATE and not self.duplicate_of:
            raise ValueError("duplicate_of is required when reason is duplicate")
        return self


class LoginRequest(RequestBody):
    username: str = Field(max_length=USERNAME_MAX_LENGTH)
    password: str = Field(description="Over-long passwords are refused with 401, as wrong ones.")
