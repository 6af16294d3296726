"""The five tools, named and shaped as the cq CLI's MCP server's (``query``, ``propose``,
``confirm``, ``flag``, ``status``) so that a prompt written for one works with the other, plus
the free text ``q`` on ``query``. Their arguments carry the REST API's bounds, from the same
constants, and their descriptions are written for the model that decides when to call them."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import cq_schema
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BeforeValidator, Field, ValidationError
from starlette.requests import Request

from colloquy import __version__
from colloquy.api import faults
from colloquy.api.knowledge import MAX_QUERY_TAGS, QueryTag, stats_body
from colloquy.api.schemas import Domain, FlagRequest, Framework, Language
from colloquy.domain import bounds
from colloquy.domain.bounds import BoundError
from colloquy.domain.models import Context as UnitContext
from colloquy.domain.models import FlagReason, Insight
from colloquy.mcp_endpoint import rendering
from colloquy.mcp_endpoint.gate import caller_of
from colloquy.services.errors import ServiceError, UnitNotFound
from colloquy.services.inputs import KU_ID_PATTERN
from colloquy.services.knowledge import MAX_EXTENSIONS, MAX_QUERY_LIMIT, MAX_QUERY_TEXT, Proposal
from colloquy.services.throttle import WriteAction
from colloquy.store.protocol import Allowance, StoreFault
from colloquy.wiring import Services, services

INSTRUCTIONS = """\
colloquy is a shared knowledge commons for coding agents: what other agents learned the hard \
way (pitfalls, workarounds, fixes that are not in the docs), reviewed by humans.
- Call `query` before you start work in an area you are unsure of, and whenever you meet an \
error you did not expect, before you debug it yourself.
- When you learn something another agent would otherwise have to rediscover, and you have \
verified it, call `propose`.
- When a unit you used proved right, `confirm` it; when it is wrong, outdated or a duplicate, \
`flag` it. Both need the unit's id from a `query` result."""

QUERY = """\
Search the shared knowledge commons for what other agents already learned about the libraries, \
tools and APIs in your task: pitfalls, workarounds and fixes, reviewed by humans. Call it \
before you start work in an area you are unsure of, and whenever you hit an error you did not \
expect, before you debug it yourself. Give the task's tags in `domains` (for example \
["python", "asyncio"]), describe the problem or paste the error message in `q`, or both. \
Returns approved knowledge units, best first: each has a summary, a detail, the action to \
take, and an `id` to confirm or flag it with."""

PROPOSE = """\
Share something you learned that another agent would otherwise have to rediscover: a pitfall, \
a non-obvious fix, a workaround, an API that behaves differently from its documentation. \
Propose it once you have verified it (the fix worked, the test passed). Write it for a \
stranger working on another codebase: `summary` is one line saying what goes wrong, `detail` \
explains when and why, `action` says what to do instead. Never include secrets, credentials, \
personal data or names from a private codebase. The unit waits for a human review before \
other agents can find it."""

CONFIRM = """\
Tell the commons that a knowledge unit proved right in your work: its confidence rises, so it \
ranks higher for the next agent. Only confirm a unit whose advice you applied and saw work. \
`unit_id` is the `id` of a unit from a `query` result."""

FLAG = """\
Report that a knowledge unit is wrong, outdated, or says the same as another: its confidence \
falls and its reviewers see the flag. `reason` is `incorrect` (the advice is wrong), `stale` \
(it was true once, e.g. before a newer release), or `duplicate` (another unit says the same: \
give that unit's id in `duplicate_of`). Say what you observed in `detail`."""

STATUS = """\
Counts over the commons: how many approved knowledge units there are, per domain and per \
confidence band. Use it to see what the commons covers; it returns no units (use `query`)."""

UnitId = Annotated[
    str, Field(pattern=KU_ID_PATTERN, description="A unit's id, as `query` returned it.")
]
Reason = Annotated[
    FlagReason,
    BeforeValidator(lambda value: value.strip().lower() if isinstance(value, str) else value),
    Field(description="incorrect, stale or duplicate."),
]
Text = Annotated[str, Field(max_length=cq_schema.PATTERN_MAX_LENGTH)]


def _query_tags(what: str) -> Any:
    """A query's list of tags, bounded as the REST query's."""
    return Annotated[
        list[QueryTag],
        Field(max_length=MAX_QUERY_TAGS, description=f"{what}: lower-case tags."),
    ]


def _request(ctx: Context) -> Request:
    request = ctx.request_context.request
    assert isinstance(request, Request)
    return request


@contextmanager
def _as_tool_errors(request: Request) -> Iterator[None]:
    """Every anticipated failure as a tool error the model can read and act on: never a
    protocol error, never a bare 'Error executing tool'."""
    try:
        yield
    except ServiceError as exc:
        raise ToolError(exc.detail) from exc
    except BoundError as exc:
        raise ToolError(str(exc)) from exc
    except ValidationError as exc:
        raise ToolError(_readable(exc)) from exc
    except StoreFault as fault:
        raise ToolError(faults.answer_for(request, fault).detail) from fault


def _readable(invalid: ValidationError) -> str:
    """Each problem as ``field: message``, without pydantic's links and echoed input."""
    problems = []
    for error in invalid.errors():
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(problems)


class _CommonsServer(MCPServer):
    """Arguments that break the input schema, reported as plainly as the tools' own errors."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            if not isinstance(exc.__cause__, ValidationError):
                raise
            raise ToolError(f"Invalid arguments for {name}: {_readable(exc.__cause__)}") from (
                exc.__cause__
            )


def _not_found(unit_id: str) -> ToolError:
    return ToolError(
        f"No approved knowledge unit has the id {unit_id}: the id is unknown, or the unit is "
        "still waiting for review (only approved units can be confirmed or flagged)."
    )


def _result(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured
    )


def _writer(request: Request, action: WriteAction) -> tuple[Services, str, Allowance | None]:
    """The services, the caller's name and what the caller's key spends on a write of
    ``action`` (the write spends it, as the REST API's do)."""
    caller = caller_of(request)
    svc = services(request)
    return svc, caller.user.username, svc.limits.allowance(action, caller.key_id)


async def query(
    ctx: Context,
    # The defaults are never mutated (B006).
    domains: _query_tags("The task's domains: topics, tools, libraries") = [],  # noqa: B006
    languages: _query_tags("The languages in use") = [],  # noqa: B006
    frameworks: _query_tags("The frameworks in use") = [],  # noqa: B006
    pattern: Annotated[Text, Field(description="A code or design pattern in play.")] = "",
    limit: Annotated[
        int, Field(ge=1, le=MAX_QUERY_LIMIT, description="How many units, at most.")
    ] = 5,
    q: Annotated[
        str,
        Field(
            max_length=MAX_QUERY_TEXT,
            description="Free text: the task or the error message, in plain words.",
        ),
    ] = "",
) -> CallToolResult:
    request = _request(ctx)
    svc = services(request)
    with _as_tool_errors(request):
        bounds.check_texts([domains, languages, frameworks, pattern, q], "query")
        if not any(d.strip() for d in domains) and not (q.strip() and svc.knowledge.takes_text()):
            raise ToolError(
                "Give the task's tags in domains"
                + (", or describe it in q." if svc.knowledge.takes_text() else ".")
            )
        units = await svc.knowledge.query(domains, languages, frameworks, pattern, limit, q)
    data = [unit.for_agents() for unit in units]
    return _result(rendering.query_text(data), {"data": data})


async def propose(
    ctx: Context,
    summary: Annotated[
        str,
        Field(
            min_length=1,
            max_length=cq_schema.SUMMARY_MAX_LENGTH,
            description="One line: what goes wrong, or what is true that is not obvious.",
        ),
    ],
    detail: Annotated[
        str,
        Field(
            min_length=1,
            max_length=cq_schema.DETAIL_MAX_LENGTH,
            description="When it happens and why: versions, symptoms, the cause.",
        ),
    ],
    action: Annotated[
        str,
        Field(
            min_length=1,
            max_length=cq_schema.ACTION_MAX_LENGTH,
            description="What to do instead: the fix or the workaround.",
        ),
    ],
    domains: Annotated[
        list[Domain],
        Field(
            min_length=1,
            max_length=cq_schema.DOMAINS_MAX_ITEMS,
            description="Where it applies: lower-case tags such as a language, tool or topic.",
        ),
    ],
    languages: Annotated[
        list[Language],
        Field(max_length=cq_schema.LANGUAGES_MAX_ITEMS, description="Languages it concerns."),
    ] = [],  # noqa: B006
    frameworks: Annotated[
        list[Framework],
        Field(max_length=cq_schema.FRAMEWORKS_MAX_ITEMS, description="Frameworks it concerns."),
    ] = [],  # noqa: B006
    pattern: Annotated[Text, Field(description="A code or design pattern it concerns.")] = "",
    extensions: Annotated[
        dict[str, Any] | None,
        Field(
            max_length=MAX_EXTENSIONS,
            description="Extra fields under namespace:key names (for example 'acme:ticket').",
        ),
    ] = None,
) -> CallToolResult:
    request = _request(ctx)
    with _as_tool_errors(request):
        svc, proposer, allowance = _writer(request, WriteAction.PROPOSE)
        proposal = Proposal(
            domains=domains,
            insight=Insight(summary=summary, detail=detail, action=action),
            context=UnitContext(languages=languages, frameworks=frameworks, pattern=pattern),
            extensions=extensions,
        )
        unit = (await svc.knowledge.propose(proposal, proposer, allowance)).for_reviewers()
    return _result(rendering.proposed_text(unit), unit)


async def confirm(ctx: Context, unit_id: UnitId) -> CallToolResult:
    request = _request(ctx)
    with _as_tool_errors(request):
        svc, confirmer, allowance = _writer(request, WriteAction.CONFIRM)
        try:
            unit = (await svc.knowledge.confirm(unit_id, confirmer, allowance)).for_agents()
        except UnitNotFound:
            raise _not_found(unit_id) from None
    return _result(rendering.confirmed_text(unit), unit)


async def flag(
    ctx: Context,
    unit_id: UnitId,
    reason: Reason,
    detail: Annotated[
        str | None,
        Field(
            max_length=cq_schema.FLAG_DETAIL_MAX_LENGTH,
            description="What you observed that makes the unit wrong or outdated.",
        ),
    ] = None,
    duplicate_of: Annotated[
        str | None,
        Field(
            pattern=KU_ID_PATTERN,
            description="With reason duplicate: the id of the unit that says the same.",
        ),
    ] = None,
) -> CallToolResult:
    request = _request(ctx)
    with _as_tool_errors(request):
        # The REST body's own rules: storable text, and a duplicate names its original.
        body = FlagRequest(reason=reason, detail=detail or None, duplicate_of=duplicate_of or None)
        svc, flagger, allowance = _writer(request, WriteAction.FLAG)
        try:
            unit = await svc.knowledge.flag(
                unit_id, body.reason, flagger, body.detail, body.duplicate_of, allowance
            )
        except UnitNotFound:
            raise _not_found(unit_id) from None
    shown = unit.for_agents()
    return _result(rendering.flagged_text(shown, body.reason.value), shown)


async def status(ctx: Context) -> CallToolResult:
    request = _request(ctx)
    with _as_tool_errors(request):
        stats = stats_body(await services(request).knowledge.stats())
    return _result(rendering.status_text(stats), stats)


READ_ONLY = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)


def build_server() -> MCPServer:
    """A fresh server: its transport's session manager runs once, for one app's lifetime."""
    server = _CommonsServer(
        name="colloquy", version=__version__, instructions=INSTRUCTIONS, subscriptions=False
    )
    server.add_tool(query, description=QUERY, annotations=READ_ONLY, title="Query the commons")
    server.add_tool(propose, description=PROPOSE, annotations=WRITE, title="Propose a unit")
    server.add_tool(
        confirm, description=CONFIRM, annotations=WRITE, title="Confirm a unit proved right"
    )
    server.add_tool(flag, description=FLAG, annotations=WRITE, title="Flag a unit")
    server.add_tool(status, description=STATUS, annotations=READ_ONLY, title="Commons counts")
    return server
