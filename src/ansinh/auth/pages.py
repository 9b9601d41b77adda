"""Pages of the auth domain beyond the sign-in form (``ansinh.web.pages``): the second step of a sign-in (a code of
the authenticator app, or its enrolment when the account's role requires one), the user's own second factor, the
reset of a password with a code from the office (public, phone-first), and the officer's page that issues the code.

Between the password and the code the browser holds a short-lived signed token (cookie ``ansinh_login_pending``,
path /login), never a session."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.auth import service as auth_service
from ansinh.auth.deps import CurrentPrincipal, DbSession, Public, client_ip, require
from ansinh.auth.models import User
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.auth.reset import service as reset_service
from ansinh.auth.reset.pdf import render_slip
from ansinh.auth.second_factor import service as second_factor
from ansinh.errors import Conflict, DomainError, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.web.forms import submit
from ansinh.web.labels import register_labels
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
PENDING_COOKIE = "ansinh_login_pending"
LOGIN_CSRF_COOKIE = "ansinh_login_csrf"

register_nav_item(NavItem("second_factor", N_("Sign-in security"), "/account/second-factor",
                          Permission.dashboard_view, order=990))
register_nav_item(NavItem("reset_codes", N_("Password reset codes"), "/accounts/reset-codes",
                          Permission.accounts_reset, order=915, group="administration"))
register_labels({
    "second_factor_enabled": N_("Second factor switched on"),
    "second_factor_disabled": N_("Second factor switched off"),
    "reset_code_issued": N_("Reset code issued"),
    "reset_code_failed": N_("Reset code refused"),
    "password_reset_by_code": N_("Password set with a reset code"),
})

Resetter = Annotated[Principal, Depends(require(Permission.accounts_reset, scope=Scope.org_subtree))]
NOTICES = {
    "on": N_("The second factor is on. From now on, sign in with your password and a code of the app."),
    "off": N_("The second factor is off."),
}


def _secret_key(request: Request) -> str:
    return request.app.state.secret_key


def _policy(request: Request) -> auth_service.ThrottlePolicy:
    settings = request.app.state.settings
    return auth_service.ThrottlePolicy(settings.login_max_failures, timedelta(minutes=settings.login_window_minutes))


def _login_form(request: Request, template: str, context: dict, *, status_code: int = 200,
                headers: dict | None = None) -> Response:
    """A form of the sign-in's steps, with its own CSRF token in a cookie of the /login path."""
    token = secrets.token_urlsafe(32)
    response = render(request, template, {"login_csrf": token, "errors": {}, **context}, status_code=status_code,
                      headers=headers)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=bool(request.app.state.settings.secure_cookies), max_age=3600, path="/login")
    return response


def _login_csrf_ok(request: Request, presented: str) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie, presented or "")


# --- the sign-in's second step -----------------------------------------------------------------------------------

def after_password(request: Request, session: Session, user: User, next_url: str) -> Response | None:
    """What follows a right password: None (no second factor: sign in), or the way to the code's form or, for a
    role that must have a second factor and has none, to its enrolment, with the pending sign-in in a cookie."""
    if second_factor.is_enrolled(session, user.id):
        step = "code"
    elif second_factor.is_required(user.role_enums, request.app.state.settings.second_factor_roles):
        step = "enrol"
    else:
        return None
    now = clock.utcnow()
    token = second_factor.sign_pending(_secret_key(request), second_factor.Pending(
        user.id, second_factor.password_stamp(user), step, next_url), now)
    response = RedirectResponse(f"/login/{step}", status_code=303)
    response.set_cookie(PENDING_COOKIE, token, httponly=True, samesite="strict",
                        secure=bool(request.app.state.settings.secure_cookies),
                        max_age=second_factor.PENDING_SECONDS, path="/login")
    return response


def _pending(request: Request, step: str) -> second_factor.Pending | None:
    pending = second_factor.read_pending(_secret_key(request), request.cookies.get(PENDING_COOKIE), clock.utcnow())
    return pending if pending is not None and pending.step == step else None


def _pending_user(session: Session, pending: second_factor.Pending | None) -> User | None:
    if pending is None:
        return None
    user = session.get(User, pending.user_id)
    if user is None or not user.is_active or second_factor.password_stamp(user) != pending.password_stamp:
        return None
    return user


def _start_over() -> Response:
    response = RedirectResponse("/login?expired=1", status_code=303)
    response.delete_cookie(PENDING_COOKIE, path="/login")
    return response


def _finish(request: Request, session: Session, user: User, next_url: str) -> Response:
    from ansinh.web.pages import signed_in

    auth_service.complete_sign_in(session, user, ip=client_ip(request))
    response = signed_in(request, session, user, next_url)
    response.delete_cookie(PENDING_COOKIE, path="/login")
    return response


def _claim(request: Request, session: Session, pending: second_factor.Pending) -> None:
    """Count a code typed against the sign-in's limit, before the request's session reads anything."""
    def username(claim: Session) -> str:
        user = claim.get(User, pending.user_id)
        return user.username if user is not None else f"#{pending.user_id}"

    auth_service.claim_attempt(session, username, client_ip(request), _policy(request), clock.utcnow(),
                               request.app.state.database)


def _refused(error: DomainError) -> dict:
    headers = {"Retry-After": str(error.retry_after_seconds)} if getattr(error, "retry_after_seconds", None) else None
    return {"status_code": error.status_code, "headers": headers}


@router.get("/login/code", dependencies=[Public])
def code_form(request: Request, session: DbSession) -> Response:
    if _pending_user(session, _pending(request, "code")) is None:
        return _start_over()
    return _login_form(request, "login_code.html", {})


@router.post("/login/code", dependencies=[Public])
def code_submit(request: Request, session: DbSession, code: Annotated[str, Form(max_length=12)] = "",
                csrf_token: Annotated[str, Form()] = "") -> Response:
    """The code of the authenticator app: counted against the sign-in's limit; a code is accepted once."""
    pending = _pending(request, "code")
    if pending is None:
        return _start_over()
    if not _login_csrf_ok(request, csrf_token):
        return _login_form(request, "login_code.html", {"error": gettext(
            "The sign-in form has expired. Please try again.")}, status_code=400)
    try:
        _claim(request, session, pending)
    except auth_service.TooManyAttempts as exc:
        return _login_form(request, "login_code.html", {"error": exc.translated(gettext)}, **_refused(exc))
    user = _pending_user(session, pending)
    if user is None:
        return _start_over()
    if not second_factor.check_code(session, user, code, at=clock.utcnow()):
        auth_service.record_failed_sign_in(session, user, user.username, client_ip(request), clock.utcnow(),
                                           reason="second_factor_wrong")
        return _login_form(request, "login_code.html", {"error": gettext(
            "The code is not right, or was used already. Type the six digits the app shows now.")}, status_code=401)
    return _finish(request, session, user, pending.next_url)


def _enrol_context(user: User, factor) -> dict:
    uri = second_factor.provisioning_uri(factor.secret, user.username)
    return {"qr": Markup(second_factor.qr_svg(uri)), "secret": second_factor.grouped_secret(factor.secret),
            "raw_secret": factor.secret, "account": user.username}


@router.get("/login/enrol", dependencies=[Public])
def enrol_form(request: Request, session: DbSession) -> Response:
    """A role that must sign in with a second factor, not set up yet: set it up now, before anything else."""
    user = _pending_user(session, _pending(request, "enrol"))
    if user is None:
        return _start_over()
    return _login_form(request, "login_enrol.html", _enrol_context(user, second_factor.start_enrolment(session, user)))


@router.post("/login/enrol", dependencies=[Public])
def enrol_submit(request: Request, session: DbSession, code: Annotated[str, Form(max_length=12)] = "",
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    pending = _pending(request, "enrol")
    if pending is None:
        return _start_over()
    try:
        if not _login_csrf_ok(request, csrf_token):
            raise ValidationFailed("code", "The sign-in form has expired. Please try again.")
        _claim(request, session, pending)
    except (auth_service.TooManyAttempts, ValidationFailed) as exc:
        user = _pending_user(session, pending)
        if user is None:
            return _start_over()
        return _login_form(request, "login_enrol.html", {**_enrol_context(user, second_factor.start_enrolment(
            session, user)), "errors": {"code": exc.translated(gettext)}}, **_refused(exc))
    user = _pending_user(session, pending)
    if user is None:
        return _start_over()
    factor = second_factor.start_enrolment(session, user)
    try:
        second_factor.confirm_enrolment(session, user, code, at=clock.utcnow())
    except ValidationFailed as exc:
        auth_service.record_failed_sign_in(session, user, user.username, client_ip(request), clock.utcnow(),
                                           reason="second_factor_wrong")
        return _login_form(request, "login_enrol.html", {**_enrol_context(user, factor),
                                                         "errors": {"code": exc.translated(gettext)}},
                           **_refused(exc))
    return _finish(request, session, user, pending.next_url)


# --- the user's own second factor --------------------------------------------------------------------------------

def _account_page(request: Request, session: Session, principal: Principal, *, errors: dict | None = None,
                  notice: str | None = None, status_code: int = 200) -> Response:
    user = session.get(User, principal.user_id)
    factor = second_factor.second_factor_of(session, user.id)
    context = {"enrolled": factor is not None and factor.confirmed_at is not None, "factor": factor,
               "errors": errors or {}, "notice": notice,
               "required": second_factor.is_required(principal.roles, request.app.state.settings.second_factor_roles)}
    if not context["enrolled"]:
        context.update(_enrol_context(user, second_factor.start_enrolment(session, user)))
    return render(request, "account/second_factor.html", context, status_code=status_code)


@router.get("/account/second-factor")
def second_factor_page(request: Request, session: DbSession, principal: CurrentPrincipal,
                       done: str = "") -> Response:
    """The second factor of the signed-in user: set it up (a QR code and the secret, confirmed with a code), or see
    since when it is on and switch it off."""
    return _account_page(request, session, principal, notice=gettext(NOTICES[done]) if done in NOTICES else None)


@router.post("/account/second-factor")
def second_factor_confirm(request: Request, session: DbSession, principal: CurrentPrincipal,
                          code: Annotated[str, Form(max_length=12)] = "",
                          csrf_token: Annotated[str, Form()] = "") -> Response:
    def confirm() -> None:
        second_factor.confirm_enrolment(session, session.get(User, principal.user_id), code, at=clock.utcnow())

    return submit(request, session, confirm, csrf_token=csrf_token, field="code",
                  refusals=(ValidationFailed, Conflict),
                  form=lambda errors: _account_page(request, session, principal, errors=errors),
                  done="/account/second-factor?done=on", htmx=False)


@router.post("/account/second-factor/off")
def second_factor_off(request: Request, session: DbSession, principal: CurrentPrincipal,
                      password: Annotated[str, Form(max_length=256)] = "",
                      code: Annotated[str, Form(max_length=12)] = "",
                      csrf_token: Annotated[str, Form()] = "") -> Response:
    """Switch the second factor off: with the password and a current code."""
    def switch_off() -> None:
        second_factor.disable_second_factor(session, session.get(User, principal.user_id), password, code,
                                            at=clock.utcnow())

    return submit(request, session, switch_off, csrf_token=csrf_token, field="code",
                  form=lambda errors: _account_page(request, session, principal, errors=errors),
                  done="/account/second-factor?done=off", htmx=False)


# --- the reset of a password with a code from the office ---------------------------------------------------------

@router.get("/login/reset", dependencies=[Public])
def reset_form(request: Request, citizen_id: str = "") -> Response:
    return _login_form(request, "login_reset.html", {"form": {"citizen_id": citizen_id[:20]}})


@router.post("/login/reset", dependencies=[Public])
def reset_submit(request: Request, session: DbSession, citizen_id: Annotated[str, Form(max_length=20)] = "",
                 code: Annotated[str, Form(max_length=20)] = "", password: Annotated[str, Form(max_length=256)] = "",
                 password2: Annotated[str, Form(max_length=256)] = "",
                 csrf_token: Annotated[str, Form()] = "") -> Response:
    """Set a new password with the citizen ID and the code on the office's slip; then sign in."""
    form = {"citizen_id": citizen_id, "code": code}
    if not _login_csrf_ok(request, csrf_token):
        return _login_form(request, "login_reset.html", {"form": form, "error": gettext(
            "The sign-in form has expired. Please try again.")}, status_code=400)
    if password != password2:
        return _login_form(request, "login_reset.html", {"form": form, "errors": {
            "password2": gettext("The two passwords differ.")}}, status_code=422)
    try:
        reset_service.use_reset_code(session, citizen_id, code, password, ip=client_ip(request), policy=_policy(request),
                                     now=clock.utcnow(), database=request.app.state.database)
    except ValidationFailed as exc:
        session.rollback()
        return _login_form(request, "login_reset.html", {"form": form, "errors": {
            exc.field if exc.field in ("citizen_id", "password") else "code": exc.translated(gettext)}},
            status_code=422)
    except DomainError as exc:  # a wrong, expired or used code (audited, committed), or too many attempts
        return _login_form(request, "login_reset.html", {"form": form, "error": exc.translated(gettext)},
                           **_refused(exc))
    return RedirectResponse("/login?reset=1", status_code=303)


# --- the officer: issue a reset code -----------------------------------------------------------------------------

@router.get("/accounts/reset-codes")
def reset_codes_page(request: Request, principal: Resetter) -> Response:
    return render(request, "account/reset_code.html", {"form": {}, "errors": {}, "issued": None})


@router.post("/accounts/reset-codes")
def reset_code_issue(request: Request, session: DbSession, principal: Resetter,
                     citizen_id: Annotated[str, Form(max_length=20)] = "",
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    """Issue a citizen of the officer's province a one-time reset code, shown on this answer only (with the button
    that prints its slip)."""
    def issue() -> reset_service.IssuedCode:
        return reset_service.issue_reset_code(session, principal, citizen_id, now=clock.utcnow(),
                                              valid_hours=request.app.state.settings.reset_code_hours)

    def shown(issued: reset_service.IssuedCode) -> Response:
        return render(request, "account/reset_code.html", {
            "form": {}, "errors": {}, "issued": issued, "display_code": reset_service.display_code(issued.code)})

    return submit(request, session, issue, csrf_token=csrf_token, field="citizen_id",
                  refusals=(ValidationFailed, Conflict),
                  form=lambda errors: render(request, "account/reset_code.html", {
                      "form": {"citizen_id": citizen_id}, "errors": errors, "issued": None}),
                  done=shown, htmx=False)


@router.post("/accounts/reset-codes/slip.pdf")
def reset_code_slip(request: Request, session: DbSession, principal: Resetter,
                    citizen_id: Annotated[str, Form(max_length=20)] = "", code: Annotated[str, Form(max_length=20)] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    """The slip of a code just issued: printed only for the live code it carries (checked against its hash)."""
    from ansinh.auth.deps import verify_csrf

    verify_csrf(request, csrf_token)
    user, stored = reset_service.live_code_matches(session, principal, citizen_id, code, now=clock.utcnow())
    pdf = render_slip(citizen_id=user.subject_ref or citizen_id, full_name=user.full_name,
                      code=reset_service.normalise_code(code), valid_until=stored.expires_at,
                      issued_at=stored.issued_at, office_name=principal.org_unit_name, username=user.username)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="ma-dat-lai-{user.subject_ref or user.id}.pdf"',
        "Cache-Control": "no-store"})
