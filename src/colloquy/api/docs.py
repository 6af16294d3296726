"""``/docs`` (Swagger UI) and ``/redoc`` from local copies of their bundles (the pinned
``fastapi-offline`` package ships them), so they render offline and under a CSP that allows no
other origin and no inline script."""

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS = "/docs-assets"
OPENAPI_URL = "/openapi.json"

router = APIRouter(include_in_schema=False)


def _page(title: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="{ASSETS}/favicon.png">{head}</head>'
        f"<body>{body}</body></html>"
    )


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return _page(
        "cq Server - Swagger UI",
        f'<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">',
        f'<div id="swagger-ui" data-openapi-url="{OPENAPI_URL}"></div>'
        f'<script src="{ASSETS}/swagger-ui-bundle.js"></script>'
        '<script src="/static/swagger-init.js"></script>',
    )


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return _page(
        "cq Server - ReDoc",
        "",
        f'<redoc spec-url="{OPENAPI_URL}"></redoc>'
        f'<script src="{ASSETS}/redoc.standalone.js"></script>',
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
