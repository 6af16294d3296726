"""Limits checked before a request reaches a route, as pure ASGI: the body's size (which also
stops chunked uploads midway), and text in the path and query string that no backend can store.
"""

import json
from collections.abc import Mapping
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from colloquy.domain.bounds import text_problem

TOO_LARGE = json.dumps({"detail": "Request body too large"}).encode()
NOT_FOUND = json.dumps({"detail": "Not Found"}).encode()


class StorableTextMiddleware:
    """Paths holding a NUL are 404 (no route names one); query strings holding one are 422.
    Both are decoded as the routes decode them, so lone surrogates already arrive replaced."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if text_problem(scope["path"]) is not None:
                await send_json(send, 404, NOT_FOUND)
                return
            problem = text_problem(unquote(scope["query_string"].decode("latin-1")))
            if problem is not None:
                body = json.dumps({"detail": f"query parameters {problem}"}).encode()
                await send_json(send, 422, body)
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """413 for bodies over ``max_bytes``: at once when Content-Length says so, otherwise as soon
    as the streamed body passes the limit (the app then sees a cut-off body, and its answer is
    replaced by the 413)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await send_json(send, 413, TOO_LARGE)
                return
        seen = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: Message) -> None:
            if not too_large:
                await send(message)
            elif message["type"] == "http.response.start":
                await send_json(send, 413, TOO_LARGE)

        await self.app(scope, limited_receive, guarded_send)


async def send_json(
    send: Send, status: int, body: bytes, headers: Mapping[str, str] | None = None
) -> None:
    """A whole JSON answer from pure ASGI code, before (or instead of) the app's own."""
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
