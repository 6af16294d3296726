"""The dashboard's pages, one module per area."""

from fastapi import APIRouter

from colloquy.web.pages import audit, browse, keys, review, session, users
from colloquy.web.pages.common import PageError, SignInRequired, page_error, sign_in_required

__all__ = ["PageError", "SignInRequired", "page_error", "routers", "sign_in_required"]


def routers() -> list[APIRouter]:
    return [module.router for module in (session, review, browse, keys, users, audit)]
