"""Health and node discovery."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

router = APIRouter(tags=["meta"])


@router.get("/api/v1/health", summary="Liveness (does not touch the database)")
async def health() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/.well-known/cq-node.json", summary="Node discovery: always 404, use the defaults")
async def node_discovery() -> JSONResponse:
    return JSONResponse({"detail": "Not Found"}, status_code=404)
