"""Reading a submitted form: refused when it holds text that no backend can store, or (for a
signed-in viewer) when its CSRF token is not the session's; and the words for a rejected one."""

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from colloquy.domain.bounds import text_problem
from colloquy.services.errors import ServiceError
from colloquy.web.auth import Viewer
from colloquy.web.errors import PageError
from colloquy.web.security import CSRF_FIELD, csrf_matches


async def storable_form(request: Request, me: Viewer | None = None) -> FormData:
    """The submitted form, refused (422) if any field holds text no backend can store."""
    form = await request.form()
    for name, value in form.multi_items():
        problem = text_problem(name) or (text_problem(value) if isinstance(value, str) else None)
        if problem is not None:
            raise PageError(422, "Invalid characters", f"Form fields {problem}.", me)
    return form


async def checked_form(request: Request, me: Viewer) -> FormData:
    """The submitted form of a signed-in page, refused (403) without the session's CSRF token."""
    form = await storable_form(request, me)
    if not csrf_matches(form.get(CSRF_FIELD), me.csrf):
        raise PageError(
            403,
            "Form check failed",
            "This form has expired or did not come from this site. "
            "Go back, reload the page and try again.",
            me,
        )
    return form


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def form_failure(exc: ValidationError | ServiceError) -> tuple[str, int]:
    """The message and status a form page shows for a rejected submission."""
    if isinstance(exc, ValidationError):
        return validation_message(exc), 422
    return exc.detail, exc.status_code
