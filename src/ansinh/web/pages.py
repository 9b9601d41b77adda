"""The foundation's pages: sign-in and sign-out, language choice, the home dashboard, and the
administrator's views of org units, users and the audit log."""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.audit.models import AuditEvent
from ansinh.audit.service import AuditFilter, audit_scope, count_events_by_day, list_events
from ansinh.auth import service as auth_service
from ansinh.auth.api import throttle_policy
from ansinh.auth.deps import (
    Public,
    LOCALE_COOKIE,
    SESSION_COOKIE,
    DbSession,
    client_ip,
    optional_principal,
    require,
    verify_csrf,
)
from ansinh.auth.models import OrgUnit, User
from ansinh.auth.permissions import Permission, Principal, Scope, org_scope
from ansinh.db import utcnow
from ansinh.errors import DomainError
from ansinh.i18n import LOCALES, N_, gettext
from ansinh.web.navigation import DashboardTile, NavItem, register_nav_item, register_tile, tiles_for
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "ansinh_login_csrf"

register_nav_item(NavItem("home", N_("Home"), "/", Permission.dashboard_view, order=0))
register_nav_item(NavItem("org_units", N_("Org units"), "/admin/org-units", Permission.org_read, order=900, group="administration"))
register_nav_item(NavItem("users", N_("Users"), "/admin/users", Permission.users_read, order=910, group="administration"))
register_nav_item(NavItem("audit", N_("Audit log"), "/admin/audit", Permission.audit_read, order=920, group="administration"))


def _count_org_units(session: Session, principal: Principal) -> int:
    return session.scalar(select(func.count(OrgUnit.id)).where(org_scope(principal, OrgUnit.id))) or 0


def _count_users(session: Session, principal: Principal) -> int:
    return session.scalar(select(func.count(User.id)).where(org_scope(principal, User.org_unit_id))) or 0


def _count_sign_ins_today(session: Session, principal: Principal) -> int:
    start = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    stmt = select(func.count(AuditEvent.id)).where(AuditEvent.action == "login", AuditEvent.occurred_at >= start)
    scope = audit_scope(principal)
    return session.scalar(stmt.where(scope) if scope is not None else stmt) or 0


register_tile(DashboardTile("org_units", N_("Org units in your scope"), _count_org_units, Permission.org_read,
                            "/admin/org-units", order=900))
register_tile(DashboardTile("users", N_("User accounts"), _count_users, Permission.users_read, "/admin/users",
                            order=910))
register_tile(DashboardTile("sign_ins", N_("Sign-ins today"), _count_sign_ins_today, Permission.audit_read,
                            "/admin/audit?action=login", order=920))


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect a user to another site after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --- sign-in ---------------------------------------------------------------------------------

def _login_page(request: Request, *, error: str | None = None, status_code: int = 200, next_url: str = "/",
                username: str = "", headers: dict | None = None) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", {
        "error": error, "next": next_url, "username": username, "login_csrf": token,
        "expired": request.query_params.get("expired") == "1",
    }, status_code=status_code, headers=headers)
    settings = request.app.state.settings
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=bool(settings.secure_cookies),
                        max_age=3600, path="/login")
    return response


@router.get("/login", dependencies=[Public])
def login_form(request: Request, principal: Annotated[Principal | None, Depends(optional_principal)],
               next: str = "/") -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_url=safe_next(next))


@router.post("/login", dependencies=[Public])
def login(request: Request, session: DbSession, username: Annotated[str, Form(max_length=128)] = "",
          password: Annotated[str, Form(max_length=256)] = "", csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    next_url = safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        return _login_page(request, error=gettext("The sign-in form has expired. Please try again."),
                           status_code=400, next_url=next_url, username=username)
    settings = request.app.state.settings
    try:
        user = auth_service.authenticate(session, username, password, ip=client_ip(request),
                                         policy=throttle_policy(request), database=request.app.state.database)
    except DomainError as exc:  # wrong credentials or throttled: one message, nothing that helps guessing
        retry = getattr(exc, "retry_after_seconds", None)
        return _login_page(request, error=exc.translated(gettext), status_code=exc.status_code, next_url=next_url,
                           username=username, headers={"Retry-After": str(retry)} if retry else None)
    token, _ = auth_service.start_session(
        session, user, ip=client_ip(request), user_agent=request.headers.get("user-agent"),
        max_age=timedelta(minutes=settings.session_max_minutes),
    )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=bool(settings.secure_cookies),
                        max_age=settings.session_max_minutes * 60, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    if LOCALE_COOKIE not in request.cookies:
        response.set_cookie(LOCALE_COOKIE, user.locale, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.post("/logout", dependencies=[Public])
def logout(request: Request, session: DbSession, principal: Annotated[Principal | None, Depends(optional_principal)],
           csrf_token: Annotated[str, Form()] = "") -> Response:
    if principal is not None:
        verify_csrf(request, csrf_token)
        auth_service.end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}", dependencies=[Public])
def choose_language(code: str, request: Request, session: DbSession,
                    principal: Annotated[Principal | None, Depends(optional_principal)],
                    next: str = "/") -> Response:
    """Switch the language of the interface; remembered in a cookie and, when signed in, on the user."""
    if code not in LOCALES:
        code = "vi"
    if principal is not None:
        auth_service.set_user_locale(session, principal.user_id, code)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LOCALE_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
    return response


# --- pages -----------------------------------------------------------------------------------

@router.get("/")
def dashboard(request: Request, session: DbSession,
              principal: Annotated[Principal, Depends(require(Permission.dashboard_view, scope=(Scope.own_account, Scope.org_subtree)))]) -> Response:
    tiles = [(tile, tile.compute(session, principal)) for tile in tiles_for(principal)]
    chart = None
    if principal.has(Permission.audit_read):
        today = clock.today()
        days = [today - timedelta(days=n) for n in range(13, -1, -1)]
        since = datetime.combine(days[0], datetime.min.time(), tzinfo=utcnow().tzinfo)
        counts = count_events_by_day(session, since, scope=audit_scope(principal))
        chart = json.dumps({"labels": [d.strftime("%d/%m") for d in days],
                            "values": [counts.get(d.isoformat(), 0) for d in days],
                            "label": gettext("Recorded actions per day")})
    return render(request, "dashboard.html", {"tiles": tiles, "chart": chart})


@router.get("/admin/org-units")
def org_units_page(request: Request, session: DbSession,
                   principal: Annotated[Principal, Depends(require(Permission.org_read, scope=Scope.org_subtree))]) -> Response:
    units = auth_service.list_org_units(session, principal)
    counts = dict(session.execute(
        select(User.org_unit_id, func.count(User.id)).where(org_scope(principal, User.org_unit_id))
        .group_by(User.org_unit_id)).all())
    base_depth = principal.org_unit_path.count("/")
    rows = [(u, u.path.count("/") - base_depth, counts.get(u.id, 0)) for u in units]
    return render(request, "org_units.html", {"rows": rows})


@router.get("/admin/users")
def users_page(request: Request, session: DbSession,
               principal: Annotated[Principal, Depends(require(Permission.users_read, scope=Scope.org_subtree))],
               page: int = Query(1, ge=1)) -> Response:
    size = 50
    users, total = auth_service.list_users(session, principal, limit=size, offset=(page - 1) * size)
    return render(request, "users.html", {"users": users, "total": total, "page": page,
                                          "pages": max(1, (total + size - 1) // size)})


@router.get("/admin/audit")
def audit_page(request: Request, session: DbSession,
               principal: Annotated[Principal, Depends(require(Permission.audit_read, scope=Scope.org_subtree))],
               actor: str = "", action: str = "", entity_type: str = "", entity_id: str = "", person_ref: str = "",
               since: str = "", until: str = "", page: int = Query(1, ge=1)) -> Response:
    def parse_day(text: str, field: str):
        if not text:
            return None
        try:
            return datetime.fromisoformat(text).replace(tzinfo=utcnow().tzinfo)
        except ValueError:
            errors.append(gettext("{field}: not a date (use YYYY-MM-DD).").format(field=field))
            return None

    errors: list[str] = []
    since_at = parse_day(since, gettext("From"))
    until_at = parse_day(until, gettext("Until"))
    if until_at is not None:
        until_at += timedelta(days=1)
    flt = AuditFilter(actor_username=actor.strip().lower() or None, action=action or None,
                      entity_type=entity_type or None, entity_id=entity_id or None, person_ref=person_ref or None,
                      since=since_at, until=until_at)
    size = 50
    events, total = list_events(session, flt, scope=audit_scope(principal), limit=size, offset=(page - 1) * size)
    query = {k: v for k, v in {"actor": actor, "action": action, "entity_type": entity_type, "entity_id": entity_id,
                               "person_ref": person_ref, "since": since, "until": until}.items() if v}
    return render(request, "audit.html", {
        "events": events, "total": total, "page": page, "pages": max(1, (total + size - 1) // size),
        "filters": query, "query": urlencode(query), "errors": errors,
        "actions": ["create", "update", "delete", "read", "login", "login_failed", "logout", "token_issued"],
    })
