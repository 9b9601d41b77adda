"""FastAPI dependencies: the request's unit of work, who is asking, and what they may do.

Every route takes its database session from :data:`DbSession` (one transaction per request,
committed before the response is sent) and its caller from :func:`require`::

    @router.get("/things")
    def list_things(session: DbSession, principal: Principal = Depends(require(Permission.x))): ...
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ansinh.audit.service import AuditContext, set_audit_context
from ansinh.auth import service
from ansinh.auth.permissions import Permission, Principal, Scope, permission_denied
from ansinh.errors import DomainError, PermissionDenied
from ansinh.i18n import N_

SESSION_COOKIE = "ansinh_session"
LOCALE_COOKIE = "ansinh_locale"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_IN_FIRST = N_("Please sign in.")
SESSION_EXPIRED = N_("Your session has expired. Please sign in again.")


class NotAuthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"

    def __init__(self, message: str = N_("Please sign in."), *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def request_audit_context(request: Request, principal: Principal | None = None) -> AuditContext:
    scope = request.scope
    channel = "api" if scope["path"].startswith(("/api/", "/fhir/")) else "web"
    client = scope.get("client")
    return AuditContext(
        actor_username=principal.username if principal else "anonymous",
        actor_user_id=principal.user_id if principal else None,
        actor_org_unit_id=principal.org_unit_id if principal else None,
        channel=channel,
        ip=client[0] if client else "unknown",  # as client_ip
        user_agent=_header(scope, b"user-agent"),
        request_id=scope.get("state", {}).get("request_id"),
    )


def _header(scope, name: bytes) -> str | None:
    """A request header's value (the first), read from the ASGI scope without building the request's headers."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def db_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back if it raises.

    The dependencies are coroutines, and only what waits for the database (the commit; resolving a caller not
    seen in the last seconds) goes to the thread pool: every hop to a thread and back costs a handover of the
    interpreter lock, and five of them per request halved the throughput of the card lookup."""
    unit = request.app.state.database.unit_of_work()
    session = unit.__enter__()  # creates the Session; nothing touches the database yet
    session.info["audit_context"] = request_audit_context(request)
    try:
        yield session
    except BaseException as exc:
        await run_in_threadpool(unit.__exit__, type(exc), exc, exc.__traceback__)
        raise
    else:
        if session.in_transaction():
            await run_in_threadpool(unit.__exit__, None, None, None)
        else:  # nothing to commit (or the route committed in its own thread): no hop
            unit.__exit__(None, None, None)


DbSession = Annotated[Session, Depends(db_session, scope="function")]


def _bearer_token(request: Request) -> str | None:
    header = _header(request.scope, b"authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def optional_principal(request: Request, session: DbSession) -> Principal | None:
    """The signed-in caller, or None. Bearer token first, then the session cookie (which also
    requires the CSRF header on state-changing API calls)."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    principal = remembered_principal(request)
    if principal is None:
        principal = await run_in_threadpool(_resolve_principal, request, session, _bearer_token(request))
    if principal is not None:
        bind_audit_context(request, session, principal)
    return principal


def remembered_principal(request: Request) -> Principal | None:
    """The caller of the request's bearer token when it was resolved in the last seconds (no database read), set on
    the request as :func:`optional_principal` sets it; None otherwise."""
    token = _bearer_token(request)
    principal = service.cached_principal(token) if token is not None else None
    if principal is not None:
        request.state.csrf_token = None
        request.state.session_expired = False
        request.state.principal = principal
    return principal


def bind_audit_context(request: Request, session: Session, principal: Principal) -> None:
    """The caller is the actor of what the request audits: in the session, and in this task (so that the route's
    thread, a copy of its context, sees the actor too)."""
    context = request_audit_context(request, principal)
    session.info["audit_context"] = context
    set_audit_context(context)


def _resolve_principal(request: Request, session: Session, token: str | None) -> Principal | None:
    """The caller, read from the database: by bearer token, or by session cookie."""
    settings = request.app.state.settings
    principal: Principal | None = None
    request.state.csrf_token = None  # set when signed in with the cookie
    request.state.session_expired = False
    if token is not None:
        principal = service.principal_for_token(session, token)
        if principal is None:
            raise NotAuthenticated("The access token is invalid or has expired.")
    elif cookie := request.cookies.get(SESSION_COOKIE):
        check = service.resolve_session(session, cookie, idle=timedelta(minutes=settings.session_idle_minutes))
        request.state.session_expired = check.expired
        if check.user_session is not None:
            request.state.csrf_token = check.user_session.csrf_token
            principal = service.principal_for(check.user_session.user)
            if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
                verify_csrf(request, request.headers.get(CSRF_HEADER))
    request.state.principal = principal
    return principal


def verify_csrf(request: Request, presented: str | None) -> None:
    """State changes made with the session cookie must echo the session's CSRF token."""
    expected = getattr(request.state, "csrf_token", None)
    if expected is None:
        return
    if not presented or not hmac.compare_digest(presented, expected):
        raise PermissionDenied("The form has expired or did not come from this site. Reload the page and try again.")


def require(*permissions: Permission, scope: Scope | tuple[Scope, ...]) -> Callable[..., Principal]:
    """A dependency that returns the caller, 401 if not signed in, 403 if a permission is missing.

    ``scope`` declares on which records the route acts (:class:`Scope`); the route's service still checks each
    record against the caller (``ensure_in_scope``, ``org_scope``, the employer and facility checks)."""
    scopes = (scope,) if isinstance(scope, Scope) else tuple(scope)
    if not scopes or not all(isinstance(s, Scope) for s in scopes):
        raise TypeError("require() needs scope=Scope... (see ansinh.auth.permissions.Scope)")

    async def dependency(request: Request, principal: Annotated[Principal | None, Depends(optional_principal)]
                         ) -> Principal:
        if principal is None:
            expired = getattr(request.state, "session_expired", False)
            raise NotAuthenticated(SESSION_EXPIRED if expired else SIGN_IN_FIRST, expired=expired)
        for permission in permissions:
            if not principal.has(permission):
                raise permission_denied(permission)
        return principal

    dependency.scopes = scopes  # type: ignore[attr-defined]
    dependency.permissions = permissions  # type: ignore[attr-defined]
    return dependency


async def public() -> None:
    """Declares a route open to anyone (it answers no record data): ``dependencies=[Depends(public)]``."""


async def public_reference() -> None:
    """Declares a route open to anyone that answers reference data only (legal parameters, calculators)."""


public.scopes = (Scope.public,)  # type: ignore[attr-defined]
public_reference.scopes = (Scope.reference,)  # type: ignore[attr-defined]
#: ``dependencies=[Public]``: open to anyone, no record data.
Public = Depends(public)
#: ``dependencies=[PublicReference]``: open to anyone, reference data only.
PublicReference = Depends(public_reference)


def declared_scopes(route) -> tuple[Scope, ...]:
    """The scopes a route declares (through ``require`` or ``public`` anywhere in its dependencies); () if none."""
    found: list[Scope] = []

    def walk(dependant) -> None:
        call = getattr(dependant, "call", None)
        for scope in getattr(call, "scopes", ()):
            if scope not in found:
                found.append(scope)
        for sub in getattr(dependant, "dependencies", ()):
            walk(sub)

    walk(route.dependant)
    return tuple(found)


def declared_permissions(route) -> tuple[Permission, ...]:
    found: list[Permission] = []

    def walk(dependant) -> None:
        for permission in getattr(getattr(dependant, "call", None), "permissions", ()):
            if permission not in found:
                found.append(permission)
        for sub in getattr(dependant, "dependencies", ()):
            walk(sub)

    walk(route.dependant)
    return tuple(found)


#: The signed-in caller, acting on their own account.
CurrentPrincipal = Annotated[Principal, Depends(require(scope=Scope.own_account))]
