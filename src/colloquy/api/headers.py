"""The security headers of every response, in one place.

Every response gets ``nosniff``, no framing and a same-origin referrer. Pages get a strict
Content-Security-Policy: the dashboard allows nothing but its own files; the API docs (Swagger UI
and ReDoc, served from local copies) also need the inline styles and the worker their bundles
create. Responses are not stored by caches (they carry tokens, keys and private units) unless
they are static assets, which are revalidated instead.
"""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
DOCS_PATHS = frozenset({"/docs", "/redoc"})
# Mounted files that never carry secrets: caches keep them but check back (ETag) before use.
ASSET_PREFIXES = ("/static/", "/docs-assets/")


def headers_for(path: str) -> dict[str, str]:
    csp = DOCS_CSP if path in DOCS_PATHS else STRICT_CSP
    cache = "no-cache" if path.startswith(ASSET_PREFIXES) else "no-store"
    return COMMON | {"Content-Security-Policy": csp, "Cache-Control": cache}


class SecurityHeadersMiddleware:
    """Adds ``headers_for(path)`` to every HTTP response, keeping any a route set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
