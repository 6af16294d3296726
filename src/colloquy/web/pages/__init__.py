"""The dashboard's pages, one module per area."""

from fastapi import APIRouter

from colloquy.web.pages import aliases, audit, browse, keys, review, session, users


def routers() -> list[APIRouter]:
    return [module.router for module in (session, review, browse, keys, users, aliases, audit)]
