"""The yearly budgets of health insurance medical costs: each province's estimate for a year, and the indicative figure
of each of its facilities (Decree 146/2018/NĐ-CP Art 36 as amended by Decree 75/2023/NĐ-CP [unverified: the article
as CLAIMS_FORMAT.md reports it]; from 2025 Decree 188/2025/NĐ-CP and the Ministry's guidance on facilities' "dự kiến
chi", Decision 582/QĐ-BYT of 2026 [secondary: titles seen only]).

A figure is never overwritten: :func:`set_budget` records a new version of it from its own day (an adjustment after a
request, by 15 October for a facility and 30 October for a province), and :func:`budget_for` answers the versions in
force on a day, with their history. The same figure set again (same amount, source and day) changes nothing.

Who: national staff set a province's estimate; officers of the office that contracts a facility (or above it) set its
figure; agency staff of the province (national staff: every province) read. Plain functions; they flush, the caller
commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.auth.permissions import Permission, Principal, ensure_in_scope, permission_denied
from ansinh.cards.models import MedicalFacility
from ansinh.claims.budgets.models import HiBudget
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_SOURCE = 300
#: The largest figure accepted: 10¹⁵ dong, several times the whole national fund's yearly spending (some 10¹⁴) — a
#: province's estimate is above the 10¹³ that bounds a single payment (Hồ Chí Minh City's is some 2 × 10¹³).
MAX_BUDGET = 10**15


@dataclass
class BudgetView:
    """A province's budgets of a year as in force on a day (None: the latest versions)."""

    province: str
    year: int
    on: date | None
    total: HiBudget | None  # the province's estimate
    facilities: list[HiBudget] = field(default_factory=list)  # the facilities' figures, by code
    history: list[HiBudget] = field(default_factory=list)  # every version, newest first
    names: dict[str, str] = field(default_factory=dict)  # facility code → name

    @property
    def assigned(self) -> int:
        """The sum of the facilities' figures."""
        return sum(b.amount for b in self.facilities)

    @property
    def unassigned(self) -> int | None:
        """The estimate less the facilities' figures (None without an estimate)."""
        return None if self.total is None else self.total.amount - self.assigned

    def to_json(self) -> dict:
        return {"province": self.province, "year": self.year, "on": self.on.isoformat() if self.on else None,
                "total": budget_json(self.total) if self.total else None,
                "facilities": [budget_json(b, self.names) for b in self.facilities],
                "assigned": self.assigned, "unassigned": self.unassigned,
                "history": [budget_json(b, self.names) for b in self.history]}


def budget_json(budget: HiBudget, names: dict[str, str] | None = None) -> dict:
    return {"id": budget.id, "province": budget.province_2025, "year": budget.year,
            "facility_code": budget.facility_code,
            "facility_name": (names or {}).get(budget.facility_code or "") if budget.facility_code else None,
            "amount": budget.amount, "source": budget.source, "valid_from": budget.valid_from.isoformat(),
            "version": budget.version, "created_by": budget.created_by}


def province_office(session: Session, province: str, *, lock: bool = False) -> OrgUnit:
    """The provincial office of a (2025) province code; 404 when the agency has none."""
    code = (province or "").strip()
    if not code.isdigit() or len(code) != 2:
        raise ValidationFailed("province", "A province code has 2 digits; got {value}.", value=province)
    stmt = select(OrgUnit).where(OrgUnit.level == OrgLevel.province, OrgUnit.place_code == code)
    if lock:  # the figures of one province are versioned one at a time
        stmt = stmt.with_for_update(key_share=True).execution_options(populate_existing=True)
    office = session.scalar(stmt)
    if office is None:
        raise NotFound("The agency has no office for province {province}.", province=code)
    return office


def ensure_may_read(session: Session, principal: Principal | None, office: OrgUnit) -> None:
    """National staff read every province; other agency staff the province of their own office."""
    if principal is None:
        return
    if not principal.has(Permission.claims_budgets_read):
        raise permission_denied(Permission.claims_budgets_read)
    if principal.covers_path(office.path) or principal.org_unit_path.startswith(office.path):
        return
    raise PermissionDenied("This record belongs to another org unit, outside your scope.")


def _check(year: int, amount: int, source: str, valid_from: date) -> str:
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed("year", "A year from {first} to {last}.", first=FIRST_YEAR, last=LAST_YEAR)
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_BUDGET:
        raise ValidationFailed("amount", "The amount is a whole number of dong from 0 to {limit}.", limit=MAX_BUDGET)
    text = " ".join((source or "").split())
    if not text or len(text) > MAX_SOURCE:
        raise ValidationFailed("source", "Name the decision that sets the figure (1 to {n} characters).",
                               n=MAX_SOURCE)
    if valid_from.year not in (year - 1, year):
        raise ValidationFailed("valid_from", "A figure of {year} takes effect in {year} or at the end of the year "
                                             "before.", year=year)
    return text


def set_budget(session: Session, *, province: str, year: int, amount: int, source: str, valid_from: date,
               facility_code: str | None = None, principal: Principal | None = None,
               actor: str | None = None) -> HiBudget:
    """Record a province's yearly estimate (``facility_code`` None) or a facility's indicative figure, as a new version
    from ``valid_from``; the figure in force already the same (amount, source and day) is answered unchanged."""
    text = _check(year, amount, source, valid_from)
    office = province_office(session, province)
    facility = None
    if facility_code:
        facility = session.scalar(select(MedicalFacility).where(MedicalFacility.code == facility_code.strip()))
        if facility is None:
            raise NotFound("Facility {code} is not registered.", code=facility_code)
        if facility.province_2025 != office.place_code:
            raise ValidationFailed("facility", "Facility {code} is not of province {province}.", code=facility.code,
                                   province=office.place_code)
    if principal is not None:
        if not principal.has(Permission.claims_budgets_manage):
            raise permission_denied(Permission.claims_budgets_manage)
        if facility is None and principal.org_unit_level != OrgLevel.national.value:
            raise PermissionDenied("The yearly estimate of a province is set by the national agency.")
        ensure_in_scope(principal, session.get(OrgUnit, facility.org_unit_id) if facility else office)
    office = province_office(session, office.place_code, lock=True)
    key = facility.code if facility else ""
    current = session.scalar(select(HiBudget).where(
        HiBudget.province_2025 == office.place_code, HiBudget.year == year, HiBudget.budget_key == key)
        .order_by(HiBudget.version.desc()).limit(1))
    if current is not None and (current.amount, current.source, current.valid_from) == (amount, text, valid_from):
        return current
    if current is not None and valid_from < current.valid_from:
        raise ValidationFailed("valid_from", "Version {version} of this figure takes effect on {day}: a new version "
                                             "takes effect on that day or later.", version=current.version,
                               day=current.valid_from)
    budget = HiBudget(province_2025=office.place_code, year=year, facility_code=facility.code if facility else None,
                      budget_key=key, amount=amount, source=text, valid_from=valid_from,
                      version=(current.version + 1) if current else 1, org_unit_id=office.id,
                      created_by=(principal.username if principal else actor or "system")[:64])
    savepoint = session.begin_nested()
    try:
        session.add(budget)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        raise Conflict("This figure was changed meanwhile: look at it again.") from None
    savepoint.commit()
    return budget


def budget_for(session: Session, province: str, year: int, *, on: date | None = None,
               principal: Principal | None = None) -> BudgetView:
    """The province's estimate for the year and its facilities' figures, each the version in force on ``on`` (the
    latest version that took effect on or before it; None: the latest versions), with every version."""
    office = province_office(session, province)
    ensure_may_read(session, principal, office)
    history = list(session.scalars(select(HiBudget).where(
        HiBudget.province_2025 == office.place_code, HiBudget.year == year)
        .order_by(HiBudget.budget_key, HiBudget.version.desc())))
    chosen: dict[str, HiBudget] = {}
    for budget in history:  # newest version first within a key
        if budget.budget_key in chosen or (on is not None and budget.valid_from > on):
            continue
        chosen[budget.budget_key] = budget
    codes = sorted(k for k in chosen if k)
    names = dict(session.execute(select(MedicalFacility.code, MedicalFacility.name).where(
        MedicalFacility.code.in_({b.facility_code for b in history if b.facility_code} or {"-"}))).all())
    ordered = sorted(history, key=lambda b: (b.created_at, b.id), reverse=True)
    return BudgetView(province=office.place_code, year=year, on=on, total=chosen.get(""),
                      facilities=[chosen[c] for c in codes], history=ordered, names=names)


def budget_years(session: Session, province: str) -> list[int]:
    """The years with a figure for the province, newest first."""
    return list(session.scalars(select(HiBudget.year).where(HiBudget.province_2025 == province)
                                .group_by(HiBudget.year).order_by(HiBudget.year.desc())))


def count_budgets(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(HiBudget)) or 0
