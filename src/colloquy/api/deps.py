"""Request dependencies: the services, and who is calling (API key or session token)."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from colloquy.domain.models import Role
from colloquy.security import api_keys
from colloquy.services.accounts import REVIEW_ROLES, AccountService, Session
from colloquy.services.errors import InvalidApiKey, MissingAuthorization
from colloquy.services.throttle import WriteAction
from colloquy.store.protocol import Allowance, UserRecord
from colloquy.wiring import Services, ServicesDep

BEARER = "Bearer "


def bearer_token(request: Request) -> str | None:
    """The token after a case-sensitive ``Bearer `` prefix, untrimmed, as the reference reads it."""
    header = request.headers.get("authorization")
    if header is None or not header.startswith(BEARER):
        return None
    return header[len(BEARER) :]


async def reader(request: Request, svc: ServicesDep) -> UserRecord | None:
    """The caller of a read route; ``None`` when reads are public and no one is named."""
    if svc.public_read:
        return None
    token = bearer_token(request)
    if token is None:
        raise InvalidApiKey()
    return await svc.accounts.authenticate_reader(token)


Reader = Annotated[UserRecord | None, Depends(reader)]


async def session(request: Request, svc: ServicesDep) -> Session:
    token = bearer_token(request)
    if token is None:
        raise MissingAuthorization()
    return await svc.accounts.session(token)


SessionDep = Annotated[Session, Depends(session)]


@dataclass(frozen=True)
class KeyWriter:
    """The owner of the request's API key, and what its write spends (the route hands it to
    the write, which spends it in its own transaction)."""

    owner: UserRecord
    allowance: Allowance | None


async def write_key(request: Request, svc: Services, action: WriteAction) -> KeyWriter:
    """The request's API key, authenticated, with its allowance for writes of ``action``: the
    write spends it (429 with ``Retry-After`` when it is spent), once the request is valid."""
    token = bearer_token(request)
    presented = api_keys.parse(token) if token is not None else None
    if presented is None:
        raise InvalidApiKey()
    owner = await svc.accounts.key_owner(presented)
    return KeyWriter(owner, svc.limits.allowance(action, presented.key_id))


def key_writer(action: WriteAction) -> Any:
    """``write_key`` as one dependency (not one on top of another for the key's owner: FastAPI
    resolves each dependency on every request). The agents' write routes call ``write_key``
    themselves and declare this for the OpenAPI document."""

    async def writer(request: Request, svc: ServicesDep) -> KeyWriter:
        return await write_key(request, svc, action)

    return Depends(writer)


async def reviewer(current: SessionDep) -> UserRecord:
    AccountService.require_role(current.user, REVIEW_ROLES)
    return current.user


async def admin(current: SessionDep) -> UserRecord:
    AccountService.require_role(current.user, frozenset({Role.ADMIN}))
    return current.user


Reviewer = Annotated[UserRecord, Depends(reviewer)]
Admin = Annotated[UserRecord, Depends(admin)]
