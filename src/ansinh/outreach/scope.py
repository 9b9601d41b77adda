"""Who may see and change outreach records: agency staff of the record's org-unit subtree; a province asked for is
the caller's own unless they are national staff (the command line, ``principal`` None, acts for the country)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.auth.permissions import Principal, ensure_in_scope
from ansinh.collection.arrears import ensure_province_in_scope
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import N_


def ensure_staff(principal: Principal | None) -> None:
    if principal is not None and not principal.is_agency_staff:
        raise PermissionDenied(N_("Outreach lists are for the agency's staff."))


def own_province(session: Session, principal: Principal | None) -> str | None:
    """The caller's province (2025 code); None for national staff and the command line."""
    if principal is None or principal.org_unit_level == "national":
        return None
    from ansinh.registry.service import office_province_code

    return office_province_code(session, session.get(OrgUnit, principal.org_unit_id))


def province_for(session: Session, principal: Principal | None, province: str | None, *,
                 required: bool = False) -> str | None:
    """The province a request is about: the one asked for (checked: the caller's own unless national), else the
    caller's own; ``required``: national staff must name one."""
    ensure_staff(principal)
    province = (province or "").strip() or None
    ensure_province_in_scope(session, principal, province)
    province = province or own_province(session, principal)
    if required and province is None:
        raise ValidationFailed("province", "Choose a province.")
    return province


def ensure_record_in_scope(session: Session, principal: Principal | None, org_unit_id: int, message: str) -> None:
    """A record of another org unit's subtree is not found for the caller (404, as if it did not exist)."""
    ensure_staff(principal)
    if principal is None:
        return
    try:
        ensure_in_scope(principal, session.get(OrgUnit, org_unit_id))
    except PermissionDenied:
        raise NotFound(message) from None


def province_office(session: Session, principal: Principal | None, province: str) -> OrgUnit:
    """The org unit a new record of ``province`` belongs to: the caller's own (a province or local office of that
    province), else (national staff, the command line) the province's office."""
    if principal is not None and principal.org_unit_level != "national":
        return session.get(OrgUnit, principal.org_unit_id)
    office = session.scalar(select(OrgUnit).where(OrgUnit.level == OrgLevel.province, OrgUnit.place_code == province)
                            .order_by(OrgUnit.id).limit(1))
    if office is None:
        raise ValidationFailed("province", "No office of province {province}.", province=province)
    return office
