"""HTTP routes of the auth domain: tokens, the caller, org units, users."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from ansinh.bounds import Offset, RecordId
from ansinh.auth import service
from ansinh.auth.deps import Public, CurrentPrincipal, DbSession, NotAuthenticated, client_ip, require
from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Permission, Principal, Scope, ensure_in_scope
from ansinh.auth.schemas import (
    Me,
    OrgUnitOut,
    PasswordReset,
    PasswordResetOut,
    TokenOut,
    TokenRequest,
    UserCreate,
    UserOut,
    UserUpdate,
)
from ansinh.errors import NotFound, ValidationFailed
from ansinh.idempotency import IdempotencyKeyHeader, idempotent
from ansinh.schemas import ErrorBody, Page

router = APIRouter(prefix="/api/v1", tags=["auth"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}})


def throttle_policy(request: Request) -> service.ThrottlePolicy:
    settings = request.app.state.settings
    return service.ThrottlePolicy(settings.login_max_failures, timedelta(minutes=settings.login_window_minutes))


@router.post("/auth/token", response_model=TokenOut, status_code=status.HTTP_201_CREATED,
             responses={429: {"model": ErrorBody}}, dependencies=[Public])
def create_token(body: TokenRequest, request: Request, response: Response, session: DbSession) -> TokenOut:
    """Exchange a username (or a citizen's 12-digit citizen ID) and password for a bearer token; with ``otp``, the
    code of the authenticator app, for an account with a second factor."""
    try:
        user = service.authenticate(session, body.username, body.password, ip=client_ip(request),
                                    policy=throttle_policy(request), database=request.app.state.database,
                                    otp=body.otp, required_roles=request.app.state.settings.second_factor_roles)
    except service.AuthError:
        # The failed attempt and its audit event must outlive the refusal: commit them first.
        session.commit()
        raise
    days = request.app.state.settings.api_token_days
    token, stored = service.issue_api_token(session, user, lifetime=timedelta(days=days), name=body.name)
    response.headers["Cache-Control"] = "no-store"
    return TokenOut(access_token=token, expires_at=stored.expires_at)


@router.delete("/auth/token", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(request: Request, session: DbSession, _: CurrentPrincipal) -> Response:
    """Revoke the bearer token used for this call."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not service.revoke_api_token(session, header[7:].strip()):
        raise NotAuthenticated("Only a bearer token can be revoked here.")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=Me)
def read_me(session: DbSession, principal: CurrentPrincipal) -> Me:
    """The signed-in user, their org unit and what they may do."""
    user = service.get_user(session, principal, principal.user_id)
    return Me(
        user=UserOut.model_validate(user),
        org_unit=OrgUnitOut.model_validate(user.org_unit),
        permissions=sorted(p.value for p in principal.permissions),
    )


@router.get("/org-units", response_model=list[OrgUnitOut])
def list_org_units(session: DbSession,
                   principal: Annotated[Principal, Depends(require(Permission.org_read, scope=Scope.org_subtree))]) -> list[OrgUnit]:
    """The org units in the caller's subtree."""
    return list(service.list_org_units(session, principal))


@router.get("/org-units/{org_unit_id}", response_model=OrgUnitOut)
def read_org_unit(org_unit_id: RecordId, session: DbSession,
                  principal: Annotated[Principal, Depends(require(Permission.org_read, scope=Scope.org_subtree))]) -> OrgUnit:
    """One org unit; 403 when it lies outside the caller's subtree."""
    return _org_unit_or_404(session, principal, org_unit_id)


@router.get("/org-units/{org_unit_id}/users", response_model=Page[UserOut])
def list_org_unit_users(org_unit_id: RecordId, session: DbSession,
                        principal: Annotated[Principal, Depends(require(Permission.users_read, scope=Scope.org_subtree))],
                        limit: int = Query(50, ge=1, le=500), offset: Offset = 0) -> Page[UserOut]:
    """Users of one org unit and its subtree; 403 outside the caller's subtree."""
    return _users_page(session, principal, _org_unit_or_404(session, principal, org_unit_id), limit, offset)


@router.get("/users", response_model=Page[UserOut])
def list_users(session: DbSession, principal: Annotated[Principal, Depends(require(Permission.users_read, scope=Scope.org_subtree))],
               limit: int = Query(50, ge=1, le=500), offset: Offset = 0) -> Page[UserOut]:
    """Users in the caller's subtree."""
    return _users_page(session, principal, None, limit, offset)


def _org_unit_or_404(session, principal: Principal, org_unit_id: int) -> OrgUnit:
    unit = service.get_org_unit(session, principal, org_unit_id)
    if unit is None:
        raise NotFound("Org unit {id} does not exist.", id=org_unit_id)
    return unit


def _users_page(session, principal: Principal, within: OrgUnit | None, limit: int, offset: int) -> Page[UserOut]:
    users, total = service.list_users(session, principal, within=within, limit=limit, offset=offset)
    return Page[UserOut](items=[UserOut.model_validate(u) for u in users], total=total, limit=limit, offset=offset)


@router.get("/users/{user_id}", response_model=UserOut)
def read_user(user_id: RecordId, session: DbSession,
              principal: Annotated[Principal, Depends(require(Permission.users_read, scope=Scope.org_subtree))]) -> UserOut:
    """One user's record (the read is audited); 403 outside the caller's subtree."""
    user = service.get_user(session, principal, user_id)
    if user is None:
        raise NotFound("User {id} does not exist.", id=user_id)
    return UserOut.model_validate(user)


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, request: Request, session: DbSession,
                principal: Annotated[Principal, Depends(require(Permission.users_manage, scope=Scope.org_subtree))],
                idempotency_key: IdempotencyKeyHeader = None) -> UserOut:
    """Create a user in an org unit of your subtree (the password is checked for strength). With an
    ``Idempotency-Key``, the same request sent again answers the same user and creates no other."""

    def create() -> UserOut:
        unit = service.get_org_unit_by_code(session, body.org_unit_code)
        if unit is None:
            raise ValidationFailed("org_unit_code", "Org unit {code} does not exist.", code=body.org_unit_code)
        ensure_in_scope(principal, unit)
        user = service.register_user(
            session, principal, username=body.username, password=body.password, full_name=body.full_name,
            org_unit=unit,
            roles=body.roles, email=body.email, subject_ref=body.subject_ref, locale=body.locale,
        )
        return UserOut.model_validate(user)

    # the password is not part of what is stored: the fingerprint covers it, the stored answer does not carry it
    return idempotent(session, request, principal, idempotency_key, body.model_dump(mode="json"), create,
                      status_code=status.HTTP_201_CREATED)


Manager = Annotated[Principal, Depends(require(Permission.users_manage, scope=Scope.org_subtree))]


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: RecordId, body: UserUpdate, session: DbSession, principal: Manager) -> UserOut:
    """Give a user of your subtree a new set of roles (only roles you may give; never your own account)."""
    user = service.managed_user(session, principal, user_id)
    service.update_user_roles(session, principal, user, body.roles, subject_ref=body.subject_ref)
    return UserOut.model_validate(user)


@router.post("/users/{user_id}/deactivation", response_model=UserOut)
def deactivate_user(user_id: RecordId, session: DbSession, principal: Manager) -> UserOut:
    """Deactivate a user: no more sign-in; their sessions and API tokens end at once."""
    user = service.deactivate_user(session, principal, service.managed_user(session, principal, user_id))
    return UserOut.model_validate(user)


@router.delete("/users/{user_id}/deactivation", response_model=UserOut)
def reactivate_user(user_id: RecordId, session: DbSession, principal: Manager) -> UserOut:
    """Reactivate a deactivated user."""
    user = service.reactivate_user(session, principal, service.managed_user(session, principal, user_id))
    return UserOut.model_validate(user)


@router.post("/users/{user_id}/password-reset", response_model=PasswordResetOut)
def reset_password(user_id: RecordId, body: PasswordReset, response: Response, session: DbSession,
                   principal: Manager) -> PasswordResetOut:
    """Set a temporary password (checked for strength), or have one generated and answered once. The user's
    sessions and API tokens end."""
    user = service.managed_user(session, principal, user_id)
    generated = service.reset_password(session, principal, user, body.password or None)
    response.headers["Cache-Control"] = "no-store"
    return PasswordResetOut(user_id=user.id, temporary_password=generated)

