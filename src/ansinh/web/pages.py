"""The foundation's pages: sign-in and sign-out, language choice, the home dashboard, and the
administrator's views of org units, users and the audit log."""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from babel.dates import format_date
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ansinh import clock, i18n
from ansinh.clock import VIETNAM
from ansinh.audit.models import AuditEvent
from ansinh.audit.service import AuditFilter, audit_scope, count_events_by_day, events_query
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
from ansinh.auth.models import OrgLevel, OrgUnit, Role, User
from ansinh.bounds import RecordId
from ansinh.auth.permissions import Permission, Principal, Scope, org_scope
from ansinh.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import LOCALES, N_, gettext
from ansinh.web.navigation import DashboardTile, NavItem, register_nav_item, register_tile, tiles_for
from ansinh.web.labels import label, register_labels
from ansinh.web.lists import Column, fetch_page, parse_filter_date, read_listing, sorted_by, stream_rows, xlsx_response
from ansinh.web.records import RECORD_TYPES, describe_records, record_type_label
from ansinh.web.forms import raise_first, submit
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
#: Days on the dashboard's chart: day and month, as each language writes them.
CHART_DAY_PATTERNS = {"vi": "dd/MM", "en": "d MMM"}
LOGIN_CSRF_COOKIE = "ansinh_login_csrf"

register_nav_item(NavItem("home", N_("Home"), "/", Permission.dashboard_view, order=0))
register_nav_item(NavItem("org_units", N_("Org units"), "/admin/org-units", Permission.org_read, order=900, group="administration"))
register_nav_item(NavItem("users", N_("Users"), "/admin/users", Permission.users_read, order=910, group="administration"))
register_nav_item(NavItem("audit", N_("Audit log"), "/admin/audit", Permission.audit_read, order=920, group="administration"))


register_labels({
    "roles_changed": N_("Roles changed"),
    "password_reset": N_("Password reset"),
    "refused": N_("Refused"),
    "export": N_("Exported"),
    "bulk_insert": N_("Created in bulk"),
    "bulk_update": N_("Changed in bulk"),
    "bulk_delete": N_("Deleted in bulk"),
    "web": N_("Web"),
    "api": N_("API"),
    "cli": N_("Command line"),
    "job": N_("Background job"),
})


def _count_org_units(session: Session, principal: Principal) -> int:
    return session.scalar(select(func.count(OrgUnit.id)).where(org_scope(principal, OrgUnit.id))) or 0


def _count_users(session: Session, principal: Principal) -> int:
    return session.scalar(select(func.count(User.id)).where(org_scope(principal, User.org_unit_id))) or 0


def _count_sign_ins_today(session: Session, principal: Principal) -> int:
    start = datetime.combine(clock.today(), datetime.min.time(), tzinfo=VIETNAM)  # midnight in Vietnam
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
        "reset_done": request.query_params.get("reset") == "1",
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
    try:
        user = auth_service.check_password(session, username, password, ip=client_ip(request),
                                           policy=throttle_policy(request), database=request.app.state.database)
    except DomainError as exc:  # wrong credentials or throttled: one message, nothing that helps guessing
        retry = getattr(exc, "retry_after_seconds", None)
        return _login_page(request, error=exc.translated(gettext), status_code=exc.status_code, next_url=next_url,
                           username=username, headers={"Retry-After": str(retry)} if retry else None)
    from ansinh.auth.pages import after_password  # the second factor's steps (a code, or the enrolment)

    pending = after_password(request, session, user, next_url)
    if pending is not None:
        return pending
    auth_service.complete_sign_in(session, user, ip=client_ip(request))
    return signed_in(request, session, user, next_url)


def signed_in(request: Request, session: Session, user: User, next_url: str) -> Response:
    """The sign-in succeeded (the password, and the code when needed): a session, its cookie, on to ``next_url``."""
    settings = request.app.state.settings
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
    if Role.citizen in principal.roles and not principal.is_agency_staff:
        return RedirectResponse("/me", status_code=303)  # the citizen's landing: their own records (portal)
    if Role.employer in principal.roles and not principal.is_agency_staff:
        return RedirectResponse("/employer", status_code=303)  # the employer's landing: what is due (portal.employer)
    tiles = [(tile, tile.compute(session, principal)) for tile in tiles_for(principal)]
    chart = None
    if principal.has(Permission.audit_read):
        today = clock.today()
        days = [today - timedelta(days=n) for n in range(13, -1, -1)]
        since = datetime.combine(days[0], datetime.min.time(), tzinfo=VIETNAM)
        counts = count_events_by_day(session, since, scope=audit_scope(principal))
        locale = i18n.get_locale()
        chart = json.dumps({"labels": [format_date(d, CHART_DAY_PATTERNS.get(locale, "dd/MM"), locale=locale)
                                       for d in days],
                            "values": [counts.get(d.isoformat(), 0) for d in days],
                            "label": gettext("Recorded actions per day")})
    return render(request, "dashboard.html", {"tiles": tiles, "chart": chart})


# --- administration: org units -----------------------------------------------------------------

OrgReader = Annotated[Principal, Depends(require(Permission.org_read, scope=Scope.org_subtree))]
OrgManager = Annotated[Principal, Depends(require(Permission.org_manage, scope=Scope.org_subtree))]
UserReader = Annotated[Principal, Depends(require(Permission.users_read, scope=Scope.org_subtree))]
UserManager = Annotated[Principal, Depends(require(Permission.users_manage, scope=Scope.org_subtree))]
AuditReader = Annotated[Principal, Depends(require(Permission.audit_read, scope=Scope.org_subtree))]


def _org_units_context(session: Session, principal: Principal, **extra) -> dict:
    units = auth_service.list_org_units(session, principal)
    counts = dict(session.execute(
        select(User.org_unit_id, func.count(User.id)).where(org_scope(principal, User.org_unit_id))
        .group_by(User.org_unit_id)).all())
    base_depth = principal.org_unit_path.count("/")
    places = auth_service.place_names(session, {u.place_code for u in units})
    rows = [(u, u.path.count("/") - base_depth, counts.get(u.id, 0), places.get(u.place_code)) for u in units]
    return {"rows": rows, "provinces": [u for u in units if u.level == OrgLevel.province],
            "can_manage": principal.has(Permission.org_manage), "users_read": Permission.users_read, "errors": {}, "form": {},
            "created": None, **extra}


@router.get("/admin/org-units")
def org_units_page(request: Request, session: DbSession, principal: OrgReader,
                   created: int | None = Query(None, ge=1, le=2**31)) -> Response:
    context = _org_units_context(session, principal)
    context["created"] = next((u for u, *_ in context["rows"] if u.id == created), None)
    return render(request, "org_units.html", context)


@router.post("/admin/org-units")
def create_org_unit_page(request: Request, session: DbSession, principal: OrgManager,
                         parent: Annotated[str, Form(max_length=12)] = "",
                         code: Annotated[str, Form(max_length=40)] = "",
                         name: Annotated[str, Form(max_length=200)] = "",
                         place: Annotated[str, Form(max_length=120)] = "",
                         csrf_token: Annotated[str, Form()] = "") -> Response:
    """Open a local office under a provincial office of the caller's subtree."""
    form = {"parent": parent, "code": code, "name": name, "place": place}

    def open_office() -> OrgUnit:
        unit = auth_service.get_org_unit(session, principal, int(parent)) if parent.isdigit() else None
        if unit is None:
            raise ValidationFailed("parent", "Choose the provincial office the new office belongs to.")
        return auth_service.open_local_office(session, principal, parent=unit, code=code, name=name, place=place)

    return submit(request, session, open_office, csrf_token=csrf_token, refusals=(ValidationFailed,),
                  form=lambda errors: render(request, "org_units.html", _org_units_context(
                      session, principal, errors=errors, form=form)),
                  done=lambda created: f"/admin/org-units?created={created.id}#unit-{created.id}", htmx=False)


# --- administration: users ---------------------------------------------------------------------

USER_COLUMNS = (
    Column("username", N_("Username"), User.username),
    Column("name", N_("Full name"), User.full_name),
    Column("org_unit", N_("Org unit"), OrgUnit.name),
    Column("roles", N_("Roles")),
    Column("last_login", N_("Last sign-in"), User.last_login_at),
)
USER_STATUSES = {"active": N_("Active"), "inactive": N_("Deactivated")}


def _user_filters(session: Session, principal: Principal, org_unit: str, role: str, status: str, q: str):
    """The users query of the list and of its export, from the filters typed by the reader."""
    unit = None
    if org_unit.isdigit():
        unit = session.get(OrgUnit, int(org_unit))
        if unit is not None and not principal.covers_path(unit.path):
            unit = None
    chosen_role = next((r for r in Role if r.value == role), None)
    active = {"active": True, "inactive": False}.get(status)
    return auth_service.users_query(principal, within=unit, role=chosen_role, active=active, text=q)


def _listing_of_users(request: Request, org_unit: str, role: str, status: str, q: str):
    return read_listing(request, USER_COLUMNS, default_sort="username",
                        filters={"org_unit": org_unit, "role": role, "status": status, "q": q})


@router.get("/admin/users")
def users_page(request: Request, session: DbSession, principal: UserReader,
               org_unit: str = Query("", max_length=12), role: str = Query("", max_length=32),
               status: str = Query("", max_length=12), q: str = Query("", max_length=100)) -> Response:
    listing = _listing_of_users(request, org_unit, role, status, q)
    stmt = _user_filters(session, principal, org_unit, role, status, q)
    users = fetch_page(session, stmt, listing, User.id, scalars=True)
    return render(request, "users.html", {
        "users": users, "listing": listing, "units": auth_service.list_org_units(session, principal),
        "roles": list(Role), "statuses": USER_STATUSES, "can_manage": principal.has(Permission.users_manage)})


@router.get("/admin/users/export.xlsx")
def users_export(request: Request, session: DbSession, principal: UserReader,
                 org_unit: str = Query("", max_length=12), role: str = Query("", max_length=32),
                 status: str = Query("", max_length=12), q: str = Query("", max_length=100)) -> Response:
    """Exactly the filtered users, in the list's order, as an Excel file."""
    listing = _listing_of_users(request, org_unit, role, status, q)
    stmt = sorted_by(_user_filters(session, principal, org_unit, role, status, q), listing, User.id)
    headers = [gettext(t) for t in (N_("Username"), N_("Full name"), N_("E-mail"), N_("Org unit"), N_("Roles"),
                                    N_("Acts for"), N_("Active"), N_("Last sign-in"), N_("Created"))]

    def rows():
        for (user,) in stream_rows(session, stmt.options(selectinload(User.roles))):
            yield (user.username, user.full_name, user.email, user.org_unit.name,
                   ", ".join(label(r) for r in user.role_enums), user.subject_ref,
                   gettext("Yes") if user.is_active else gettext("No"), user.last_login_at, user.created_at)

    return xlsx_response("users.xlsx", headers, rows(), sheet_name=gettext("Users"))


def _user_form_context(session: Session, principal: Principal, **extra) -> dict:
    return {"units": auth_service.list_org_units(session, principal),
            "grantable": auth_service.grantable_roles(principal), "errors": {}, "form": {"roles": []},
            "subject_roles": [r.value for r in auth_service.SUBJECT_ROLES], **extra}


@router.get("/admin/users/new")
def new_user_page(request: Request, session: DbSession, principal: UserManager) -> Response:
    return render(request, "admin/user_new.html", _user_form_context(session, principal))


@router.post("/admin/users")
def create_user_page(request: Request, session: DbSession, principal: UserManager,
                     username: Annotated[str, Form(max_length=64)] = "",
                     full_name: Annotated[str, Form(max_length=200)] = "",
                     email: Annotated[str, Form(max_length=254)] = "",
                     org_unit: Annotated[str, Form(max_length=12)] = "",
                     roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
                     subject_ref: Annotated[str, Form(max_length=32)] = "",
                     password: Annotated[str, Form(max_length=256)] = "",
                     locale: Annotated[str, Form(max_length=8)] = "vi",
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    """Create a user in an org unit of the caller's subtree, with roles the caller may give."""
    form = {"username": username, "full_name": full_name, "email": email, "org_unit": org_unit, "roles": roles,
            "subject_ref": subject_ref, "locale": locale}

    def register() -> User:
        unit = session.get(OrgUnit, int(org_unit)) if org_unit.isdigit() else None
        if unit is None or not principal.covers_path(unit.path):
            raise ValidationFailed("org_unit", "Choose the org unit the user works in.")
        return auth_service.register_user(
            session, principal, username=username, password=password, full_name=full_name, org_unit=unit,
            roles=_roles_from(roles), email=email, subject_ref=subject_ref, locale=locale if locale in LOCALES else "vi")

    return submit(request, session, register, csrf_token=csrf_token, field="roles",
                  refusals=(ValidationFailed, PermissionDenied),
                  form=lambda errors: render(request, "admin/user_new.html", _user_form_context(
                      session, principal, errors=errors, form=form)),
                  done=lambda user: f"/admin/users/{user.id}?done=created", htmx=False)


def _roles_from(values: list[str]) -> list[Role]:
    known = {r.value: r for r in Role}
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValidationFailed("roles", "Unknown role {role}.", role=unknown[0][:32])
    return [known[v] for v in values]


USER_NOTICES = {
    "created": N_("The user account was created."),
    "roles": N_("The roles were saved."),
    "deactivated": N_("The account was deactivated; its sessions and API tokens were ended."),
    "reactivated": N_("The account was reactivated."),
    "password": N_("The temporary password was set; the user's sessions were ended."),
}


def _notice(key: str) -> str:
    return gettext(USER_NOTICES[key])


def _user_page(request: Request, session: DbSession, principal: Principal, user: User, *, status_code: int = 200,
               **extra) -> Response:
    context = {"user": user, "grantable": auth_service.grantable_roles(principal),
               "can_manage": principal.has(Permission.users_manage) and user.id != principal.user_id,
               "is_self": user.id == principal.user_id, "errors": {}, "notice": None, "temporary_password": None,
               "subject_roles": [r.value for r in auth_service.SUBJECT_ROLES],
               "can_audit": principal.has(Permission.audit_read), **extra}
    return render(request, "admin/user.html", context, status_code=status_code)


def _user_or_404(session: Session, principal: Principal, user_id: int) -> User:
    user = auth_service.get_user(session, principal, user_id)
    if user is None:
        raise NotFound("User {id} does not exist.", id=user_id)
    return user


@router.get("/admin/users/{user_id}")
def user_page(request: Request, session: DbSession, principal: UserReader, user_id: RecordId,
              done: str = Query("", max_length=20)) -> Response:
    user = _user_or_404(session, principal, user_id)
    notice = _notice(done) if done in USER_NOTICES else None
    return _user_page(request, session, principal, user, notice=notice)


@router.post("/admin/users/{user_id}/roles")
def user_roles_page(request: Request, session: DbSession, principal: UserManager, user_id: RecordId,
                    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
                    subject_ref: Annotated[str, Form(max_length=32)] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    return _change_user(
        request, session, principal, user_id, csrf_token, "roles", lambda user: auth_service.update_user_roles(
            session, principal, user, _roles_from(roles), subject_ref=subject_ref or None))


def _change_user(request: Request, session: Session, principal: Principal, user_id: int, csrf_token: str,
                 done: str, change: Callable[[User], object]) -> Response:
    """A change of a user the caller manages (403 / 404 otherwise), then the user's page with the notice ``done``
    (or the answer ``change`` returns); a refused value shown on that page (422)."""
    def act() -> tuple[User, object]:
        user = auth_service.managed_user(session, principal, user_id)
        return user, change(user)

    def answer(result: tuple[User, object]) -> str | Response:
        user, outcome = result
        return outcome if isinstance(outcome, Response) else f"/admin/users/{user.id}?done={done}"

    return submit(request, session, act, csrf_token=csrf_token, refusals=(ValidationFailed,), done=answer,
                  form=lambda errors: _user_page(request, session, principal,
                                                 auth_service.managed_user(session, principal, user_id), errors=errors),
                  htmx=False)


@router.post("/admin/users/{user_id}/deactivation")
def user_deactivation_page(request: Request, session: DbSession, principal: UserManager, user_id: RecordId,
                           csrf_token: Annotated[str, Form()] = "") -> Response:
    return _change_user(request, session, principal, user_id, csrf_token, "deactivated",
                        lambda user: auth_service.deactivate_user(session, principal, user))


@router.post("/admin/users/{user_id}/reactivation")
def user_reactivation_page(request: Request, session: DbSession, principal: UserManager, user_id: RecordId,
                           csrf_token: Annotated[str, Form()] = "") -> Response:
    return _change_user(request, session, principal, user_id, csrf_token, "reactivated",
                        lambda user: auth_service.reactivate_user(session, principal, user))


@router.post("/admin/users/{user_id}/password")
def user_password_page(request: Request, session: DbSession, principal: UserManager, user_id: RecordId,
                       password: Annotated[str, Form(max_length=256)] = "",
                       generate: Annotated[str, Form(max_length=8)] = "",
                       csrf_token: Annotated[str, Form()] = "") -> Response:
    """Set the temporary password the officer typed, or generate one (shown on this answer only)."""
    def reset(user: User) -> Response | None:
        if not generate and not password:
            raise ValidationFailed("password", "Type a temporary password, or generate one.")
        generated = auth_service.reset_password(session, principal, user, None if generate else password)
        if generated:
            return _user_page(request, session, principal, user, temporary_password=generated,
                              notice=_notice("password"))
        return None

    return _change_user(request, session, principal, user_id, csrf_token, "password", reset)


# --- administration: the audit log --------------------------------------------------------------

AUDIT_COLUMNS = (
    Column("time", N_("Time"), AuditEvent.occurred_at),
    Column("user", N_("User"), AuditEvent.actor_username),
    Column("action", N_("Action"), AuditEvent.action),
    Column("record", N_("Record")),
    Column("channel", N_("Channel")),
    Column("address", N_("Address")),
    Column("details", N_("Details")),
)
AUDIT_ACTIONS = ("create", "update", "delete", "read", "login", "login_failed", "logout", "token_issued",
                 "roles_changed", "password_reset", "refused", "export", "bulk_insert", "bulk_update", "bulk_delete")
AUDIT_FIELDS = ("actor", "action", "entity_type", "entity_id", "person_ref", "org_unit", "since", "until")


def _audit_filter(session: Session, principal: Principal, values: dict[str, str]) -> tuple[AuditFilter, dict]:
    """The filter of the audit list and its export; the errors (by field) of what could not be read."""
    errors: dict[str, str] = {}

    def day(field: str) -> datetime | None:
        try:
            found = parse_filter_date(values[field], field)
        except ValidationFailed as exc:
            errors[field] = exc.translated(gettext)
            return None
        return datetime.combine(found, datetime.min.time(), tzinfo=VIETNAM) if found else None

    since_at, until_at = day("since"), day("until")
    if until_at is not None:
        until_at += timedelta(days=1)
    unit_path = None
    if values["org_unit"].isdigit():
        unit = session.get(OrgUnit, int(values["org_unit"]))
        if unit is not None and principal.covers_path(unit.path):
            unit_path = unit.path
    flt = AuditFilter(actor_username=values["actor"].strip().lower() or None, action=values["action"] or None,
                      entity_type=values["entity_type"] or None, entity_id=values["entity_id"].strip() or None,
                      person_ref=values["person_ref"].strip() or None, since=since_at, until=until_at,
                      org_unit_path=unit_path)
    return flt, errors


def _audit_values(actor: str, action: str, entity_type: str, entity_id: str, person_ref: str, org_unit: str,
                  since: str, until: str) -> dict[str, str]:
    return dict(zip(AUDIT_FIELDS, (actor, action, entity_type, entity_id, person_ref, org_unit, since, until),
                    strict=True))


@router.get("/admin/audit")
def audit_page(request: Request, session: DbSession, principal: AuditReader,
               actor: str = Query("", max_length=64), action: str = Query("", max_length=32),
               entity_type: str = Query("", max_length=64), entity_id: str = Query("", max_length=64),
               person_ref: str = Query("", max_length=32), org_unit: str = Query("", max_length=12),
               since: str = Query("", max_length=10), until: str = Query("", max_length=10)) -> Response:
    values = _audit_values(actor, action, entity_type, entity_id, person_ref, org_unit, since, until)
    listing = read_listing(request, AUDIT_COLUMNS, default_sort="time", default_descending=True, filters=values)
    flt, errors = _audit_filter(session, principal, values)
    order = AuditEvent.id.desc() if listing.descending else AuditEvent.id.asc()
    events = fetch_page(session, events_query(flt, scope=audit_scope(principal)), listing, order, scalars=True)
    records = describe_records(session, [(e.entity_type, e.entity_id) for e in events]
                               + ([(entity_type, entity_id)] if entity_type and entity_id else []))
    return render(request, "audit.html", {
        "events": events, "listing": listing, "filters": values, "errors": errors, "records": records,
        "about": records.get((entity_type, entity_id)) if entity_type and entity_id else None,
        "actions": AUDIT_ACTIONS, "record_types": sorted(RECORD_TYPES, key=record_type_label),
        "record_type_label": record_type_label, "units": auth_service.list_org_units(session, principal),
    }, status_code=422 if errors else 200)


@router.get("/admin/audit/export.xlsx")
def audit_export(request: Request, session: DbSession, principal: AuditReader,
                 actor: str = Query("", max_length=64), action: str = Query("", max_length=32),
                 entity_type: str = Query("", max_length=64), entity_id: str = Query("", max_length=64),
                 person_ref: str = Query("", max_length=32), org_unit: str = Query("", max_length=12),
                 since: str = Query("", max_length=10), until: str = Query("", max_length=10)) -> Response:
    """Exactly the filtered events, in the list's order, as an Excel file (records named as on the page)."""
    values = _audit_values(actor, action, entity_type, entity_id, person_ref, org_unit, since, until)
    listing = read_listing(request, AUDIT_COLUMNS, default_sort="time", default_descending=True, filters=values)
    flt, errors = _audit_filter(session, principal, values)
    raise_first(errors)
    order = AuditEvent.id.desc() if listing.descending else AuditEvent.id.asc()
    stmt = sorted_by(events_query(flt, scope=audit_scope(principal)), listing, order)
    headers = [gettext(t) for t in (N_("Time"), N_("User"), N_("Action"), N_("Record type"), N_("Record"),
                                    N_("Person (citizen ID or SI number)"), N_("Channel"), N_("Address"),
                                    N_("Details"))]

    def rows():
        batch: list[AuditEvent] = []
        for (event,) in stream_rows(session, stmt):
            batch.append(event)
            if len(batch) >= 1000:
                yield from _audit_rows(session, batch)
                batch = []
        yield from _audit_rows(session, batch)

    return xlsx_response("audit.xlsx", headers, rows(), sheet_name=gettext("Audit log"))


def _audit_rows(session: Session, events: list[AuditEvent]):
    records = describe_records(session, [(e.entity_type, e.entity_id) for e in events])
    for e in events:
        record = records.get((e.entity_type, e.entity_id))
        yield (e.occurred_at, e.actor_username, label(e.action), record_type_label(e.entity_type),
               record.text if record else "", e.person_ref, e.channel, e.ip,
               json.dumps(e.changes, ensure_ascii=False)[:30000] if e.changes else None)
