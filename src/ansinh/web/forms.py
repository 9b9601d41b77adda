"""One way to handle a posted form in the page routes.

A route reads its fields, then hands :func:`submit` the step that writes (a call of a service) and what to answer:

- the CSRF token is checked first (:func:`ansinh.auth.deps.verify_csrf`);
- a refusal the user can correct (``ValidationFailed``, ``Conflict``, ``PermissionDenied`` by default) rolls the
  transaction back and shows the form again with the message beside its field and what was typed, status 422;
- a success answers 303 to the page that shows the result (an htmx request: 204 with ``HX-Redirect``), its notice
  in the address (``?notice=created``); the request's unit of work commits before the answer is sent.

The fields of the forms themselves are the macros of ``templates/forms.html``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from ansinh.auth.deps import verify_csrf
from ansinh.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from ansinh.i18n import gettext
from ansinh.web.templating import is_htmx

T = TypeVar("T")

#: The refusals a form shows beside a field (anything else is an error page: 403, 404, 503).
FORM_ERRORS: tuple[type[DomainError], ...] = (ValidationFailed, Conflict, PermissionDenied)


def redirect(target: str, request: Request | None = None) -> Response:
    """303 to ``target``; to an htmx ``request``, 204 with ``HX-Redirect`` (htmx follows the header)."""
    if request is not None and is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_field(error: DomainError, default: str, *, aliases: Mapping[str, str] | None = None,
                fields: Collection[str] | None = None) -> str:
    """The form field an error is shown beside: the error's own field (renamed by ``aliases``: a service's name of
    a value → the form's), or ``default`` when it names none, or one the form does not have (``fields``)."""
    field = getattr(error, "field", None) or default
    field = (aliases or {}).get(field, field)
    return field if fields is None or field in fields else default


def field_errors(error: DomainError, default: str, **where: Any) -> dict[str, str]:
    """``{field: message}`` of one error, the message in the reader's language."""
    return {error_field(error, default, **where): error.translated(gettext)}


def submit(request: Request, session: Session, action: Callable[[], T], *,
           form: Callable[[dict[str, str]], Response], done: str | Callable[[T], str | Response],
           csrf_token: str | None, field: str = "", aliases: Mapping[str, str] | None = None,
           fields: Collection[str] | None = None, refusals: tuple[type[DomainError], ...] = FORM_ERRORS,
           status_code: int = 422, conflict_status: int | None = None, htmx: bool = True) -> Response:
    """Check the CSRF token, run ``action``; on a refusal, roll back and answer ``form(errors)`` with
    ``status_code`` (``conflict_status`` for a ``Conflict`` when given; the error beside its field: :func:`error_field` with ``field`` as the default); else
    redirect to ``done`` (or ``done(result)``: an address, or a whole answer). ``form`` runs after the rollback:
    it reloads what it shows."""
    verify_csrf(request, csrf_token)
    try:
        result = action()
    except refusals as error:
        session.rollback()
        response = form(field_errors(error, field, aliases=aliases, fields=fields))
        response.status_code = conflict_status if conflict_status and isinstance(error, Conflict) else status_code
        return response
    target = done(result) if callable(done) else done
    if isinstance(target, Response):
        return target
    return redirect(target, request if htmx else None)


def raise_first(errors: dict[str, str]) -> None:
    """An export of a list whose filters were refused answers the first refusal (the list page shows them all)."""
    if errors:
        field, message = next(iter(errors.items()))
        raise ValidationFailed(field, message)
