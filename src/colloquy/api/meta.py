"""Health, readiness and node discovery."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from colloquy.wiring import ServicesDep

router = APIRouter(tags=["meta"])


@router.get("/api/v1/health", summary="Liveness (does not touch the database)")
async def health() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/api/v1/ready",
    summary="Readiness: 200 when the database answers, else 503 with Retry-After",
    responses={503: {"description": "The database is unavailable"}},
)
async def ready(svc: ServicesDep) -> JSONResponse:
    await svc.store.ping()
    return JSONResponse({"status": "ready"})


@router.get("/.well-known/cq-node.json", summary="Node discovery: always 404, use the defaults")
async def node_discovery() -> JSONResponse:
    return JSONResponse({"detail": "Not Found"}, status_code=404)
