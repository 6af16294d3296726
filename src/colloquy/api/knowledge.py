"""``/api/v1/knowledge``: the agents' routes. The query and the three writes answer through
``resolved_by`` (``api.resolved``): each resolves its endpoint's arguments itself, in the order
FastAPI did, and the endpoint's signature declares them for the OpenAPI document."""

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import cq_schema
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StringConstraints

from colloquy.api.deps import KeyWriter, Reader, key_writer, reader, write_key
from colloquy.api.resolved import Handler, json_body, resolved_by, valid_body, validated
from colloquy.api.schemas import FlagRequest, ProposeRequest
from colloquy.domain.bounds import MAX_INT_PARAM
from colloquy.domain.models import Context, Insight
from colloquy.services.knowledge import MAX_QUERY_TEXT, Proposal
from colloquy.services.throttle import WriteAction
from colloquy.services.views import KnowledgeStatsView
from colloquy.wiring import Services, ServicesDep, services

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


class QueryArgs(BaseModel):
    """The query's parameters: validated in one step (``answer_query``), documented by FastAPI
    from the same fields."""

    domains: list[QueryTag] | None = Field(
        None, max_length=MAX_QUERY_TAGS, description=DOMAINS_HELP
    )
    languages: list[QueryTag] = Field([], max_length=MAX_QUERY_TAGS)
    frameworks: list[QueryTag] = Field([], max_length=MAX_QUERY_TAGS)
    pattern: str = Field("", max_length=cq_schema.PATTERN_MAX_LENGTH)
    limit: int = Field(5, gt=0, le=MAX_INT_PARAM, description="Capped at 50.")
    q: str = Field("", max_length=MAX_QUERY_TEXT, description=Q_HELP)


# How FastAPI reads a query model's fields: each list from all of its values (none: the
# default), any other field from its last value.
QUERY_LISTS = frozenset({"domains", "languages", "frameworks"})
QUERY_SCALARS = frozenset(QueryArgs.model_fields) - QUERY_LISTS


def query_args(request: Request) -> QueryArgs:
    """``request``'s query parameters, read and validated as FastAPI would (the same 422)."""
    given: dict[str, Any] = {}
    for name, value in request.query_params.multi_items():
        if name in QUERY_LISTS:
            given.setdefault(name, []).append(value)
        elif name in QUERY_SCALARS:
            given[name] = value
    return validated(QueryArgs, given, "query")


async def query(svc: ServicesDep, _reader: Reader, args: Annotated[QueryArgs, Query()]) -> Response:
    if args.domains is None and not (args.q.strip() and svc.knowledge.takes_text()):
        raise missing_domains()
    units = await svc.knowledge.query(
        args.domains or [], args.languages, args.frameworks, args.pattern, args.limit, args.q
    )
    # Each unit straight to JSON: no dict per unit to build and then encode again.
    return json_response(b'{"data":[' + b",".join(unit.agents_json() for unit in units) + b"]}")


async def answer_query(request: Request) -> Response:
    """``query``'s arguments in FastAPI's order: the services, the caller (a 401 before any
    422), then the parameters in one validation."""
    svc = services(request)
    caller = await reader(request, svc)
    return await query(svc, caller, query_args(request))


Body = TypeVar("Body", bound=BaseModel)


async def body_and_key(
    request: Request, model: type[Body], action: WriteAction
) -> tuple[Body, KeyWriter, Services]:
    """A write's arguments in FastAPI's order: the body read (its JSON's 422 or 400 even
    without credentials), the key (401), then the body validated (422)."""
    body = await json_body(request)
    svc = services(request)
    key = await write_key(request, svc, action)
    return valid_body(model, body), key, svc


async def propose(body: ProposeRequest, key: Proposer, svc: ServicesDep) -> Response:
    proposal = Proposal(
        domains=body.domains,
        insight=Insight(**body.insight.model_dump()),
        context=Context(**body.context.model_dump()),
        extensions=body.extensions,
    )
    unit = await svc.knowledge.propose(proposal, key.owner.username, key.allowance)
    return json_response(unit.reviewers_json(), 201)


async def answer_propose(request: Request) -> Response:
    return await propose(*await body_and_key(request, ProposeRequest, WriteAction.PROPOSE))


async def confirm(unit_id: str, key: Confirmer, svc: ServicesDep) -> Response:
    unit = await svc.knowledge.confirm(unit_id, key.owner.username, key.allowance)
    return json_response(unit.agents_json(), 201)


async def answer_confirm(request: Request) -> Response:
    """No body read: a confirmation ignores it, whatever it holds."""
    svc = services(request)
    key = await write_key(request, svc, WriteAction.CONFIRM)
    return await confirm(request.path_params["unit_id"], key, svc)


async def flag(unit_id: str, body: FlagRequest, key: Flagger, svc: ServicesDep) -> Response:
    unit = await svc.knowledge.flag(
        unit_id, body.reason, key.owner.username, body.detail, body.duplicate_of, key.allowance
    )
    return json_response(unit.agents_json(), 201)


async def answer_flag(request: Request) -> Response:
    """The body is checked before the unit is looked up (a 422 for a bad one, not a 404)."""
    body, key, svc = await body_and_key(request, FlagRequest, WriteAction.FLAG)
    return await flag(request.path_params["unit_id"], body, key, svc)


def add_route(
    method: str,
    path: str,
    endpoint: Callable[..., Any],
    answer: Handler,
    summary: str,
    status_code: int | None = None,
) -> None:
    """``endpoint`` documented at ``path``, answered by ``answer`` (see ``resolved_by``)."""
    router.add_api_route(
        path,
        endpoint,
        methods=[method],
        status_code=status_code,
        summary=summary,
        route_class_override=resolved_by(answer),
    )


# Matched and documented in this order, ahead of ``/stats``.
add_route("GET", "", query, answer_query, "Ranked query over approved units")
add_route("POST", "", propose, answer_propose, "Propose a unit (it waits for review)", 201)
add_route(
    "POST", "/{unit_id}/confirmations", confirm, answer_confirm, "Confirm an approved unit", 201
)
add_route("POST", "/{unit_id}/flags", flag, answer_flag, "Flag an approved unit", 201)


@router.get("/stats", summary="Counts over the commons")
async def stats(svc: ServicesDep, _reader: Reader) -> JSONResponse:
    return JSONResponse(stats_body(await svc.knowledge.stats()))
