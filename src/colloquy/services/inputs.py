"""The inputs that the API and the dashboard both accept (API keys, users, a rejection), with
their limits: the API reads them as JSON bodies, the dashboard builds them from its forms, so
both refuse the same values with the same messages."""

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from colloquy.domain import bounds
from colloquy.domain.models import Role
from colloquy.domain.tags import MAX_ALIAS_LENGTH
from colloquy.services.accounts import USERNAME_MAX_LENGTH

Label = Annotated[str, StringConstraints(max_length=64)]
# A knowledge unit's id as colloquy and the cq reference make them.
KU_ID_PATTERN = r"^ku_[0-9a-f]{32}$"


class RequestBody(BaseModel):
    """A whole request body: no text in it, at any depth, that a backend cannot store."""

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        bounds.check_texts(data)
        return data


class RejectRequest(RequestBody):
    reason: str | None = Field(default=None, max_length=2000)
    duplicate_of: str | None = Field(
        default=None,
        pattern=KU_ID_PATTERN,
        description="Reject as a duplicate of this unit (another unit, pending or approved)",
    )


class ApiKeyCreateRequest(RequestBody):
    name: str = Field(min_length=1, max_length=64)
    ttl: str = Field(min_length=1, max_length=16)
    labels: list[Label] = Field(default_factory=list, max_length=16)


class UserCreateRequest(RequestBody):
    username: str = Field(min_length=1, max_length=USERNAME_MAX_LENGTH)
    password: str = Field(min_length=1, max_length=1024)
    role: Role = Role.REVIEWER


class UserUpdateRequest(RequestBody):
    role: Role | None = None
    password: str | None = Field(default=None, min_length=1, max_length=1024)


class AliasRequest(RequestBody):
    """The word an alias stands for (the alias itself is the path or the form's other field)."""

    canonical: str = Field(min_length=1, max_length=MAX_ALIAS_LENGTH)
