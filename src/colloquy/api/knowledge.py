"""``/api/v1/knowledge``: the agents' routes."""

from typing import Annotated, Any

import cq_schema
from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import StringConstraints

from colloquy.api.deps import KeyWriter, Reader, key_writer
from colloquy.api.schemas import FlagRequest, ProposeRequest
from colloquy.domain.bounds import MAX_INT_PARAM
from colloquy.domain.models import Context, Insight
from colloquy.services.knowledge import MAX_QUERY_TEXT, Proposal
from colloquy.services.throttle import WriteAction
from colloquy.services.views import KnowledgeStatsView
from colloquy.wiring import ServicesDep

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])

Proposer = Annotated[KeyWriter, key_writer(WriteAction.PROPOSE)]
Confirmer = Annotated[KeyWriter, key_writer(WriteAction.CONFIRM)]
Flagger = Annotated[KeyWriter, key_writer(WriteAction.FLAG)]

QueryTag = Annotated[str, StringConstraints(max_length=cq_schema.DOMAIN_MAX_LENGTH)]
MAX_QUERY_TAGS = cq_schema.DOMAINS_MAX_ITEMS


def json_response(body: bytes, status: int = 200) -> Response:
    """An answer already serialised: units are written by pydantic straight to JSON bytes
    (``KnowledgeUnit.agents_json``), the same bytes in every route that answers with them."""
    return Response(body, status_code=status, media_type="application/json")


def stats_body(stats: KnowledgeStatsView) -> dict[str, Any]:
    """The ``/knowledge/stats`` body: integers only, all four buckets always present."""
    return {
        "total_count": stats.total_count,
        "tier_counts": stats.tier_counts,
        "domain_counts": stats.domain_counts,
        "confidence_distribution": {b.label: b.count for b in stats.confidence},
    }


DOMAINS_HELP = "The task's tags. Required, unless q is given and the server ranks `hybrid`."
Q_HELP = (
    "Free text: a description of the agent's task or the error message it met (at most "
    f"{MAX_QUERY_TEXT:,} characters). Ranked by its words as plain words: quotes and search "
    "operators in it have no meaning. With q, domains may be left out. A server whose "
    "CQ_RANKING is `cq` ignores q (and then requires domains)."
)


def missing_domains() -> RequestValidationError:
    """The 422 of a query with neither ``domains`` nor a ``q`` that counts."""
    return RequestValidationError(
        [
            {
                "type": "missing",
                "loc": ("query", "domains"),
                "msg": "Field required: give domains, or q where the server ranks hybrid",
                "input": None,
            }
        ]
    )


@router.get("", summary="Ranked query over approved units")
async def query(
    svc: ServicesDep,
    _reader: Reader,
    domains: Annotated[
        list[QueryTag] | None, Query(max_length=MAX_QUERY_TAGS, description=DOMAINS_HELP)
    ] = None,
    languages: Annotated[list[QueryTag], Query(max_length=MAX_QUERY_TAGS)] = [],  # noqa: B006
    frameworks: Annotated[list[QueryTag], Query(max_length=MAX_QUERY_TAGS)] = [],  # noqa: B006
    pattern: Annotated[str, Query(max_length=cq_schema.PATTERN_MAX_LENGTH)] = "",
    limit: Annotated[int, Query(gt=0, le=MAX_INT_PARAM, description="Capped at 50.")] = 5,
    q: Annotated[str, Query(max_length=MAX_QUERY_TEXT, description=Q_HELP)] = "",
) -> Response:
    if domains is None and not (q.strip() and svc.knowledge.takes_text()):
        raise missing_domains()
    units = await svc.knowledge.query(domains or [], languages, frameworks, pattern, limit, q)
    # Each unit straight to JSON: no dict per unit to build and then encode again.
    return json_response(b'{"data":[' + b",".join(unit.agents_json() for unit in units) + b"]}")


@router.post("", status_code=201, summary="Propose a unit (it waits for review)")
async def propose(body: ProposeRequest, key: Proposer, svc: ServicesDep) -> Response:
    proposal = Proposal(
        domains=body.domains,
        insight=Insight(**body.insight.model_dump()),
        context=Context(**body.context.model_dump()),
        extensions=body.extensions,
    )
    unit = await svc.knowledge.propose(proposal, key.owner.username, key.allowance)
    return json_response(unit.reviewers_json(), 201)


@router.post("/{unit_id}/confirmations", status_code=201, summary="Confirm an approved unit")
async def confirm(unit_id: str, key: Confirmer, svc: ServicesDep) -> Response:
    unit = await svc.knowledge.confirm(unit_id, key.owner.username, key.allowance)
    return json_response(unit.agents_json(), 201)


@router.post("/{unit_id}/flags", status_code=201, summary="Flag an approved unit")
async def flag(unit_id: str, body: FlagRequest, key: Flagger, svc: ServicesDep) -> Response:
    unit = await svc.knowledge.flag(
        unit_id, body.reason, key.owner.username, body.detail, body.duplicate_of, key.allowance
    )
    return json_response(unit.agents_json(), 201)


@router.get("/stats", summary="Counts over the commons")
async def stats(svc: ServicesDep, _reader: Reader) -> JSONResponse:
    return JSONResponse(stats_body(await svc.knowledge.stats()))
