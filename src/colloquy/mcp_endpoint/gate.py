"""API-key authentication in front of the MCP transport: a request without a valid key is
answered 401 before any MCP message is read, so no session or server task is ever started for
it, and the tools find who is calling in the request's scope."""

import json
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from colloquy.api import faults
from colloquy.api.deps import bearer_token
from colloquy.api.limits import send_json
from colloquy.security import api_keys
from colloquy.services.errors import ServiceError
from colloquy.store.protocol import StoreFault, UserRecord
from colloquy.wiring import services

# The scope key under which the gate leaves the caller for the tools.
CALLER = "colloquy.caller"
REALM = 'Bearer realm="colloquy"'


@dataclass(frozen=True)
class Caller:
    """The owner of the request's API key, and the key (its write allowance is spent per key)."""

    user: UserRecord
    key_id: str


def caller_of(request: Request) -> Caller:
    caller = request.scope.get(CALLER)
    assert isinstance(caller, Caller), "the MCP transport is only reached through KeyGate"
    return caller


class KeyGate:
    """Pure ASGI, so that a refused request costs one key lookup and nothing of MCP."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        token = bearer_token(request)
        presented = api_keys.parse(token) if token is not None else None
        if token is None or presented is None:
            # RFC 6750: no error code when no credentials were presented at all.
            challenge = REALM if token is None else f'{REALM}, error="invalid_token"'
            await _answer(send, 401, "Invalid API key", {"WWW-Authenticate": challenge})
            return
        try:
            owner = await services(request).accounts.authenticate_key(token)
        except ServiceError as exc:
            challenge = f'{REALM}, error="invalid_token"'
            await _answer(send, exc.status_code, exc.detail, {"WWW-Authenticate": challenge})
            return
        except StoreFault as fault:
            answer = faults.answer_for(request, fault)
            await _answer(send, answer.status, answer.detail, answer.headers)
            return
        scope[CALLER] = Caller(owner, presented.key_id)
        await self.app(scope, receive, send)


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    await send_json(send, status, json.dumps({"detail": detail}).encode(), headers)
