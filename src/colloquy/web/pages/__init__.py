"""The dashboard's pages, one module per area."""

from fastapi import APIRouter

from colloquy.web.pages import aliases, audit, browse, keys, review, session, setup, users


def routers() -> list[APIRouter]:
    pages = (session, setup, review, browse, keys, users, aliases, audit)
    return [module.router for module in pages]
