"""Who is asking: the signed-in viewer of a page, read from the session cookie, and role guards.

Both failures are raised here and answered in ``errors``: no valid session sends the browser to
sign in; a role that may not see the page gets a 403 page."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from colloquy.domain.models import Role
from colloquy.services.accounts import REVIEW_ROLES, Session
from colloquy.services.errors import ServiceError
from colloquy.store.protocol import UserRecord
from colloquy.web.security import SESSION_COOKIE, form_keys, session_binding
from colloquy.wiring import ServicesDep

ADMIN_ROLES = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Viewer:
    """A signed-in user, with the CSRF token that their forms carry."""

    session: Session
    csrf: str

    @property
    def user(self) -> UserRecord:
        return self.session.user

    @property
    def reviewer(self) -> bool:
        return self.session.user.role in REVIEW_ROLES

    @property
    def admin(self) -> bool:
        return self.session.user.role is Role.ADMIN


class SignInRequired(Exception):
    """No session, or one that has ended (``ended``): sign in, then come back to ``next_path``."""

    def __init__(self, next_path: str, ended: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.ended = ended


class NotAllowed(Exception):
    """The viewer's role may not see this page."""

    def __init__(self, viewer: Viewer, message: str) -> None:
        super().__init__(message)
        self.viewer = viewer
        self.message = message


def _here(request: Request) -> str:
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def viewer(request: Request, svc: ServicesDep) -> Viewer:
    """The dependency of every signed-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired(_here(request), ended=False)
    try:
        session = await svc.accounts.session(token)
    except ServiceError as exc:
        raise SignInRequired(_here(request), ended=True) from exc
    binding = session_binding(session.token_id, token)
    return Viewer(session=session, csrf=form_keys(request).token("session", binding))


ViewerDep = Annotated[Viewer, Depends(viewer)]


def require(me: Viewer, roles: frozenset[Role]) -> None:
    if me.user.role not in roles:
        needed = "an admin" if roles == ADMIN_ROLES else "a reviewer or admin"
        raise NotAllowed(me, f"This page is for {needed}; you are a {me.user.role}.")
