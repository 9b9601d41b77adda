"""The duty of an employer's account as a route dependency, for every route an employer's staff can reach (the
employer portal's and the older ones of participation, benefits and collection), so that a duty is enforced
wherever its work can be done, not only on the portal's own pages."""

from __future__ import annotations

from collections.abc import Callable
from fastapi import Depends

from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import Role
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.portal.employer import service


def require_duty(area: str, *permissions: Permission, scope: Scope | tuple[Scope, ...]) -> Callable[..., Principal]:
    """:func:`ansinh.auth.deps.require`, and for the account of an employer the duty covering ``area`` (a key of
    :data:`ansinh.portal.employer.service.AREAS`): 403 otherwise. Agency staff and other roles pass as ``require``
    lets them."""
    if area not in service.AREAS:
        raise ValueError(f"unknown area of an employer's work: {area!r}")
    allowed = require(*permissions, scope=scope)

    # Depends as a default: the annotations are strings, and ``allowed`` is not a name the module could resolve.
    def dependency(session: DbSession, principal: Principal = Depends(allowed)) -> Principal:  # noqa: B008
        if not principal.is_agency_staff and Role.employer in principal.roles:
            service.ensure_duty(service.employer_account(session, principal), area)
        return principal

    return dependency
