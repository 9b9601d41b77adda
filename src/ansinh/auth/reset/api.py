"""HTTP routes of the reset through the office: the officer issues a code, the citizen uses it."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from ansinh import clock
from ansinh.auth.deps import DbSession, Public, client_ip, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.auth.reset import service
from ansinh.auth.reset.schemas import PasswordResetByCode, PasswordResetDone, ResetCodeOut, ResetCodeRequest
from ansinh.auth.service import AuthError, ThrottlePolicy
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["auth"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}})

Resetter = Annotated[Principal, Depends(require(Permission.accounts_reset, scope=Scope.org_subtree))]


def throttle_policy(request: Request) -> ThrottlePolicy:
    settings = request.app.state.settings
    return ThrottlePolicy(settings.login_max_failures, timedelta(minutes=settings.login_window_minutes))


@router.post("/accounts/reset-codes", response_model=ResetCodeOut, status_code=status.HTTP_201_CREATED,
             responses={404: {"model": ErrorBody}})
def issue_reset_code(body: ResetCodeRequest, request: Request, response: Response, session: DbSession,
                     principal: Resetter) -> ResetCodeOut:
    """Issue a citizen (a registered person of your province, by citizen ID) a one-time password reset code,
    answered this once; their account is created when they have none. A new code replaces the one before."""
    issued = service.issue_reset_code(session, principal, body.citizen_id, now=clock.utcnow(),
                                      valid_hours=request.app.state.settings.reset_code_hours)
    response.headers["Cache-Control"] = "no-store"
    return ResetCodeOut(citizen_id=issued.citizen_id, username=issued.user.username, full_name=issued.full_name,
                        code=service.display_code(issued.code), valid_until=issued.expires_at,
                        account_created=issued.account_created)


@router.post("/auth/password-reset", response_model=PasswordResetDone, dependencies=[Public],
             responses={400: {"model": ErrorBody}, 429: {"model": ErrorBody}})
def reset_password_with_code(body: PasswordResetByCode, request: Request, session: DbSession) -> PasswordResetDone:
    """Set a new password with the citizen ID and the reset code the office gave (throttled like sign-ins). The
    account's sessions and tokens end and its second factor is cleared. A wrong, expired or used code: 400
    ``reset_code_invalid``."""
    try:
        user = service.use_reset_code(session, body.citizen_id, body.code, body.password, ip=client_ip(request),
                                      policy=throttle_policy(request), now=clock.utcnow(),
                                      database=request.app.state.database)
    except (service.ResetCodeInvalid, AuthError):
        session.commit()  # the failed attempt's audit event outlives the refusal
        raise
    return PasswordResetDone(username=user.username)
