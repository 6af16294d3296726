"""Routes that resolve their own arguments instead of FastAPI's dependency solving, which
analyses and validates each dependency and parameter apart: ~0.25-0.35 ms of the event loop's
CPU on every request (a third of a write's). Used for the agents' query and writes only, the
routes that take most requests; each keeps FastAPI's answers byte for byte."""

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Model = TypeVar("Model", bound=BaseModel)

# A request without a body (or an empty one), which FastAPI tells from a JSON ``null``.
NO_BODY: Final[Any] = object()


def resolved_by(handler: Handler) -> type[APIRoute]:
    """A route class answering with ``handler``, which resolves the endpoint's arguments and
    calls it. The endpoint's signature still declares them all: FastAPI documents the route
    from it (the OpenAPI document) but solves nothing on a request, so its
    ``dependency_overrides`` do not reach the route either."""

    class ResolvedRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            return handler

    return ResolvedRoute


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of ``content_type`` as JSON: ``application/json`` or
    ``application/*+json``, parameters allowed; a body without a content type is not JSON."""
    if not content_type:
        return False
    if content_type == "application/json":  # the agents' own, without parsing the header
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def json_body(request: Request) -> Any:
    """The body as FastAPI reads a JSON body parameter, before any dependency: parsed when its
    content type is JSON (a 422 when it is not JSON, even without credentials; a 400 when it is
    not UTF-8), otherwise its bytes (the model's validation refuses them), ``NO_BODY`` when
    empty."""
    try:
        body = await request.body()
        if not body:
            return NO_BODY
        if not is_json(request.headers.get("content-type")):
            return body
        return json.loads(body)
    except json.JSONDecodeError as error:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", error.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": error.msg},
                }
            ]
        ) from error
    except Exception as error:
        raise HTTPException(400, "There was an error parsing the body") from error


def validated(model: type[Model], data: Any, where: str) -> Model:
    """``data`` validated as FastAPI validates the request's ``where`` (``query``, ``body``):
    the same 422, each error located under ``where``."""
    try:
        return model.model_validate(data, from_attributes=True)
    except ValidationError as invalid:
        errors = invalid.errors(include_url=False)
        raise RequestValidationError(
            [{**error, "loc": (where, *error["loc"])} for error in errors]
        ) from None


def valid_body(model: type[Model], body: Any) -> Model:
    """``body`` (from ``json_body``) validated as FastAPI validates a body parameter."""
    if body is NO_BODY:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    return validated(model, body, "body")
