"""Operations of participation: employer declarations, enrolments, coverage history, participant counts.

Coverage periods are never edited: a declaration that changes the timeline marks the affected periods superseded
and inserts their replacements (see models). Declarations are validated against the registry and the rules (the
salary floor in force in the month) before anything is written; the caller's unit of work makes each one atomic.
Every change of a person's coverage first locks the person's row, so that two requests about the same person (a
double click, two offices) are applied one after the other, each seeing what the other did.

Dates and amounts are bounded for every caller (API, pages, CLI, imports): a month is not before its scheme existed
(:data:`SCHEME_STARTS`) nor more than :data:`MAX_MONTHS_AHEAD` months ahead; salaries and incomes are whole dong up
to :data:`ansinh.bounds.MAX_AMOUNT`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.auth.models import OrgLevel, OrgUnit
from ansinh.auth.permissions import Principal, org_scope
from ansinh.bounds import MAX_AMOUNT, latest_date
from ansinh.db import utcnow
from ansinh.errors import Conflict, PermissionDenied, ValidationFailed
from ansinh.formatting import month as format_month
from ansinh.formatting import number as format_number
from ansinh.participation.groups import EMPLOYER_GROUPS, FUND_GROUPS, HI_GROUPS, STATE_GROUPS
from ansinh.participation.models import CoveragePeriod, Declaration, DeclarationKind, Payer, Scheme
from ansinh.registry.models import Employer, Household, Ownership, Person, PopulationFigure, Structure
from ansinh.registry.service import lock_people
from ansinh.rules.contributions import ContributionsInput, contributions_single
from ansinh.rules.parameters import ParameterSet, get_parameters
from ansinh.rules.voluntary import VoluntaryInput, voluntary_single

EMPLOYMENT_SCHEMES = (Scheme.si_compulsory, Scheme.hi, Scheme.ui)
MAX_MONTHS_AHEAD = 12
#: The first day of each scheme: nothing is declared or enrolled before it. Health insurance: Decree 299/HĐBT of
#: 15/08/1992; compulsory social insurance: Decree 12/CP of 26/01/1995 (from 1995); voluntary social insurance: Law
#: 71/2006/QH11 (from 01/01/2008); unemployment insurance: Law 71/2006/QH11 (from 01/01/2009). An employer's
#: declaration covers social, health and unemployment insurance: it may not be earlier than compulsory SI.
SCHEME_STARTS = {Scheme.hi: date(1992, 8, 15), Scheme.si_compulsory: date(1995, 1, 1),
                 Scheme.si_voluntary: date(2008, 1, 1), Scheme.ui: date(2009, 1, 1)}


def month_start(day: date) -> date:
    return day.replace(day=1)


def check_start(field: str, start: date, scheme: Scheme, today: date) -> None:
    """A coverage start (or a declaration's month) in the range an office can need: not before the scheme existed,
    at most :data:`MAX_MONTHS_AHEAD` months ahead."""
    if not isinstance(start, date):
        raise ValidationFailed(field, "A value is required.")
    first = SCHEME_STARTS[scheme]
    if start < first:
        raise ValidationFailed(field, "{value} is before the scheme began ({first}).", value=start,
                               first=first)
    if month_start(start) > add_months(month_start(today), MAX_MONTHS_AHEAD):
        raise ValidationFailed(field, "{value} is more than {months} months ahead.", value=start,
                               months=MAX_MONTHS_AHEAD)


def check_money(field: str, value: int | None, *, positive: bool = True) -> int:
    """A salary or an income: a whole number of dong, up to :data:`ansinh.bounds.MAX_AMOUNT`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < (1 if positive else 0) or value > MAX_AMOUNT:
        raise ValidationFailed(field, "A whole number of dong from {low} to {high} is expected.",
                               low=1 if positive else 0, high=MAX_AMOUNT)
    return value


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def active(stmt, on: date):
    """Keep the periods in force on a date (and not superseded)."""
    return stmt.where(CoveragePeriod.superseded_at.is_(None), CoveragePeriod.valid_from <= on,
                      or_(CoveragePeriod.valid_to.is_(None), CoveragePeriod.valid_to > on))


def _current(session: Session, *conditions) -> list[CoveragePeriod]:
    return list(session.scalars(select(CoveragePeriod).where(CoveragePeriod.superseded_at.is_(None), *conditions)
                                .order_by(CoveragePeriod.scheme, CoveragePeriod.valid_from)))


def _copy(period: CoveragePeriod, **changes) -> CoveragePeriod:
    columns = ("person_id", "scheme", "hi_group", "valid_from", "valid_to", "insured_salary", "payer", "employer_id",
               "overlapping",
               "household_id", "member_order", "payment_months", "support_group", "declaration_id", "org_unit_id",
               "province_2008", "province_2025")
    return CoveragePeriod(**{c: getattr(period, c) for c in columns} | changes)


def _supersede(period: CoveragePeriod, declaration: Declaration | None) -> None:
    period.superseded_at = utcnow()
    period.superseded_by_declaration_id = declaration.id if declaration else None


def refresh_overlaps(session: Session, person_id: int, schemes=tuple(Scheme)) -> None:
    """Recompute the ``overlapping`` flag of a person's current periods (per scheme): true when a period shares
    a day with another current period of the same scheme. Called after every change of the person's timeline."""
    session.flush()
    for scheme in schemes:
        periods = _current(session, CoveragePeriod.person_id == person_id, CoveragePeriod.scheme == scheme)
        for period in periods:
            flag = any(other is not period and other.valid_from < (period.valid_to or date.max)
                       and period.valid_from < (other.valid_to or date.max) for other in periods)
            if period.overlapping != flag:
                period.overlapping = flag
    session.flush()


def _overlapping(session: Session, start: date, *conditions) -> list[CoveragePeriod]:
    """Current periods that reach into ``[start, ∞)``."""
    return _current(session, or_(CoveragePeriod.valid_to.is_(None), CoveragePeriod.valid_to > start), *conditions)


# --- declarations -------------------------------------------------------------------------------------

@dataclass
class DeclarationCheck:
    """What validating a declaration found: errors by field (nothing is written when there are any)."""

    errors: dict[str, str] = field(default_factory=dict)
    insured_salary: int | None = None
    floor: int | None = None
    retroactive: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def default_hi_group(employer: Employer) -> str:
    return "HC" if employer.ownership in (Ownership.state, Ownership.public_service) else "DN"


def check_declaration(session: Session, *, employer: Employer, person: Person | None, kind: DeclarationKind | str,
                      effective_month: date, insured_salary: int | None, hi_group: str | None, today: date
                      ) -> DeclarationCheck:
    """Validate without writing (the web form's live validation uses this too)."""
    from ansinh.i18n import gettext

    check = DeclarationCheck()
    try:
        kind = DeclarationKind(getattr(kind, "value", kind))
    except ValueError:
        check.errors["kind"] = gettext("The kind is join, leave or salary_change.")
        return check
    if not isinstance(effective_month, date):
        check.errors["effective_month"] = gettext("Give the month it takes effect (YYYY-MM).")
        return check
    month = month_start(effective_month)
    if month > add_months(month_start(today), MAX_MONTHS_AHEAD):
        check.errors["effective_month"] = gettext("A declaration takes effect at most 12 months ahead.")
    elif month < SCHEME_STARTS[Scheme.si_compulsory]:
        check.errors["effective_month"] = gettext("A declaration takes effect from {first} at the earliest.").format(
            first=format_month(SCHEME_STARTS[Scheme.si_compulsory]))
        return check
    check.retroactive = month < month_start(today)
    if person is None:
        check.errors["person"] = gettext("The person is not in the registry.")
        return check
    if kind in (DeclarationKind.join, DeclarationKind.salary_change):
        if insured_salary is None or insured_salary <= 0:
            check.errors["insured_salary"] = gettext("A salary is needed.")
        elif isinstance(insured_salary, bool) or not isinstance(insured_salary, int) or insured_salary > MAX_AMOUNT:
            check.errors["insured_salary"] = gettext(
                "A whole number of dong from {low} to {high} is expected.").format(low=1, high=format_number(MAX_AMOUNT))
        else:
            try:
                result = contributions_single(ContributionsInput(salary=insured_salary, on=month, region=employer.region,
                                                                 sector=employer.sector), get_parameters())
            except ValidationFailed as exc:
                check.errors["effective_month"] = exc.translated(gettext)
                return check
            floor = result["insured_salary"]["si"] if result["insured_salary"]["si"] > insured_salary else None
            check.insured_salary = insured_salary
            if floor is not None:
                check.floor = floor
                check.errors["insured_salary"] = gettext(
                    "The salary {salary} is below the floor of {floor} dong in force in {month}.").format(
                    salary=format_number(insured_salary), floor=format_number(floor), month=format_month(month))
    if hi_group is not None and hi_group not in EMPLOYER_GROUPS:
        check.errors["hi_group"] = gettext("Employers declare the groups {groups}.").format(groups=", ".join(EMPLOYER_GROUPS))
    mine = _overlapping(session, month, CoveragePeriod.person_id == person.id, CoveragePeriod.employer_id == employer.id)
    covering = [p for p in mine if p.valid_from <= month]
    # The messages do not name the person: an employer may check anyone's identifier (see participation.pages).
    if kind == DeclarationKind.join and mine:
        check.errors["person"] = gettext("This person is already declared with this employer from {month}.").format(
            month=format_month(min(p.valid_from for p in mine)))
    if kind == DeclarationKind.leave and not mine:
        check.errors["person"] = gettext("This person is not declared with this employer in {month}.").format(
            month=format_month(month))
    if kind == DeclarationKind.salary_change and not covering:
        check.errors["person"] = gettext("This person is not declared with this employer in {month}.").format(
            month=format_month(month))
    return check


def apply_declaration(session: Session, *, employer: Employer, person: Person, kind: DeclarationKind | str,
                      effective_month: date, insured_salary: int | None = None, hi_group: str | None = None,
                      submitted_by: str, today: date, import_batch_id: int | None = None) -> Declaration:
    """Validate, then rewrite the person's coverage with this employer from the month it takes effect.
    A retroactive declaration is allowed and flagged for re-billing. The person's row is locked first: two
    declarations about one person are checked and applied one after the other."""
    lock_people(session, [person])
    check = check_declaration(session, employer=employer, person=person, kind=kind, effective_month=effective_month,
                              insured_salary=insured_salary, hi_group=hi_group, today=today)
    if not check.ok:
        field_name, message = next(iter(check.errors.items()))
        error = ValidationFailed(field_name, message)
        error.errors = check.errors
        raise error
    kind = DeclarationKind(getattr(kind, "value", kind))
    month = month_start(effective_month)
    declaration = Declaration(employer_id=employer.id, person_id=person.id, kind=kind, effective_month=month,
                              insured_salary=insured_salary, hi_group=hi_group, retroactive=check.retroactive,
                              needs_rebilling=check.retroactive, import_batch_id=import_batch_id,
                              org_unit_id=employer.org_unit_id, submitted_by=submitted_by)
    session.add(declaration)
    session.flush()
    mine = _overlapping(session, month, CoveragePeriod.person_id == person.id, CoveragePeriod.employer_id == employer.id)
    if kind == DeclarationKind.join:
        group = hi_group or default_hi_group(employer)
        for scheme in EMPLOYMENT_SCHEMES:
            session.add(CoveragePeriod(
                person_id=person.id, scheme=scheme, hi_group=group if scheme == Scheme.hi else None, valid_from=month,
                insured_salary=insured_salary, payer=Payer.employer, employer_id=employer.id,
                declaration_id=declaration.id, org_unit_id=employer.org_unit_id,
                province_2008=employer.province_2008, province_2025=employer.province_2025))
    elif kind == DeclarationKind.leave:
        for period in mine:
            _supersede(period, declaration)
            if period.valid_from < month:
                session.add(_copy(period, valid_to=month, declaration_id=declaration.id))
    else:  # salary change: the period covering the month is split; later periods keep their own salary
        for period in mine:
            if period.valid_from > month:
                continue
            _supersede(period, declaration)
            if period.valid_from < month:
                session.add(_copy(period, valid_to=month))
            session.add(_copy(period, valid_from=month, insured_salary=insured_salary, declaration_id=declaration.id))
    refresh_overlaps(session, person.id, EMPLOYMENT_SCHEMES)
    return declaration


# --- enrolments ---------------------------------------------------------------------------------------

def enrol_voluntary(session: Session, *, person: Person, income: int, months: int, group: str, start: date,
                    org_unit: OrgUnit, today: date | None = None) -> CoveragePeriod:
    """Voluntary SI from a month, on a chosen income and payment mode (checked by the rules)."""
    check_start("start", start, Scheme.si_voluntary, today or clock.today())
    check_money("income", income)
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 12:
        raise ValidationFailed("months", "Voluntary social insurance is paid for 1 to 12 months; got {months}.",
                               months=months)
    lock_people(session, [person])
    month = month_start(start)
    voluntary_single(VoluntaryInput(income=income, on=month, group=group, months=months), get_parameters())
    if _overlapping(session, month, CoveragePeriod.person_id == person.id, CoveragePeriod.scheme == Scheme.si_compulsory,
                    CoveragePeriod.valid_from <= month):
        raise Conflict("{name} has compulsory social insurance in {month}.", name=person.full_name,
                       month=month)
    if _overlapping(session, month, CoveragePeriod.person_id == person.id, CoveragePeriod.scheme == Scheme.si_voluntary):
        raise Conflict("{name} is already enrolled in voluntary social insurance.", name=person.full_name)
    period = CoveragePeriod(person_id=person.id, scheme=Scheme.si_voluntary, valid_from=month, insured_salary=income,
                            payer=Payer.self, payment_months=months, support_group=group, org_unit_id=org_unit.id,
                            province_2008=person.province_2008, province_2025=person.province_2025)
    session.add(period)
    refresh_overlaps(session, person.id, (Scheme.si_voluntary,))
    return period


def end_voluntary(session: Session, *, person: Person, end: date, today: date | None = None) -> list[CoveragePeriod]:
    """Stop a person's voluntary SI from a month (the first month no longer paid): the current voluntary periods
    reaching into it are superseded, and the one begun before it is replaced by a copy ending then (``valid_to``,
    exclusive). Refused when the person has no voluntary SI from that month. Returns the replacement periods."""
    check_start("end", end, Scheme.si_voluntary, today or clock.today())
    lock_people(session, [person])
    month = month_start(end)
    mine = _overlapping(session, month, CoveragePeriod.person_id == person.id,
                        CoveragePeriod.scheme == Scheme.si_voluntary)
    if not mine:
        raise ValidationFailed("end", "{name} has no voluntary social insurance from {month}.", name=person.full_name,
                               month=format_month(month))
    kept = []
    for period in mine:
        _supersede(period, None)
        if period.valid_from < month:
            kept.append(_copy(period, valid_to=month))
    session.add_all(kept)
    refresh_overlaps(session, person.id, (Scheme.si_voluntary,))
    return kept


# --- the waiting period of a health insurance card ------------------------------------------------------------

WAITING_DAYS = "cards.waiting_period_days"
WAITING_LAPSE_DAYS = "cards.waiting_period_lapse_days"
WAITING_GROUPS = "cards.waiting_period_groups"


def coverage_start_after_payment(paid_on: date, previous_coverage_end: date | None, *, waiting_days: int,
                                 lapse_days: int) -> date:
    """The first day of cover bought on ``paid_on`` by someone of a waiting-period group (HI Law Art 16(3)(c) as
    amended by Law 51/2024): ``waiting_days`` after the payment on a first enrolment (``previous_coverage_end`` None)
    or after a lapse of ``lapse_days`` or more, the day of payment otherwise. ``previous_coverage_end`` is the end of
    the person's last cover, exclusive (the first day without it, a period's ``valid_to``): the lapse is the days from
    it to the payment. Pure."""
    if previous_coverage_end is not None and (paid_on - previous_coverage_end).days < lapse_days:
        return paid_on
    return paid_on + timedelta(days=waiting_days)


def waiting_rule(group: str, paid_on: date, parameters: ParameterSet | None = None) -> tuple[int, int] | None:
    """(waiting days, lapse days) in force on the day of payment for a card group that waits
    (``cards.waiting_period_groups`` valued 1), else None: other groups, and days before the rule's first dated
    value (the rule in force before 2025-07-01 is not modelled: see the parameter's notes)."""
    parameters = parameters or get_parameters()
    groups = parameters[WAITING_GROUPS]
    if paid_on < groups.first_date:
        return None
    if groups.at(paid_on, field_name="start").get(group) != 1:
        return None
    return (parameters[WAITING_DAYS].at(paid_on, field_name="start"),
            parameters[WAITING_LAPSE_DAYS].at(paid_on, field_name="start"))


def hi_coverage_start(group: str, paid_on: date, previous_coverage_end: date | None,
                      parameters: ParameterSet | None = None) -> date:
    """The first day of a health insurance period of ``group`` paid on ``paid_on``: after the waiting period when the
    group waits and the person joins for the first time or after a lapse (:func:`coverage_start_after_payment`), the
    day of payment otherwise. Pure given the parameters."""
    rule = waiting_rule(group, paid_on, parameters)
    if rule is None:
        return paid_on
    waiting_days, lapse_days = rule
    return coverage_start_after_payment(paid_on, previous_coverage_end, waiting_days=waiting_days,
                                        lapse_days=lapse_days)


def previous_hi_end(session: Session, person: Person, before: date) -> date | None:
    """The end (exclusive) of the person's health insurance begun before a day: the latest ``valid_to`` of the
    current HI periods starting before it (``before`` itself when one is open: covered until now); None when the
    person never had HI (a first enrolment)."""
    ends = [p.valid_to or before for p in _current(session, CoveragePeriod.person_id == person.id,
                                                     CoveragePeriod.scheme == Scheme.hi,
                                                     CoveragePeriod.valid_from < before)]
    return max(ends) if ends else None


def _has_hi(session: Session, person: Person, start: date, end: date) -> bool:
    return bool(_current(session, CoveragePeriod.person_id == person.id, CoveragePeriod.scheme == Scheme.hi,
                         CoveragePeriod.valid_from < end,
                         or_(CoveragePeriod.valid_to.is_(None), CoveragePeriod.valid_to > start)))


HOUSEHOLD_GROUP = "GD"


def enrol_household_hi(session: Session, *, household: Household, members: Sequence[Person], start: date,
                       months: int = 12, today: date | None = None) -> list[CoveragePeriod]:
    """Household HI for several members at once, each with their order of joining (for the reductions).

    ``start`` is the day the household pays (it pays when it enrols; the bill follows). A member joining for the
    first time or after a lapse (group GD waits: ``cards.waiting_period_groups``) is covered from the end of the
    waiting period (:func:`hi_coverage_start`), for the months paid: the period moves by the wait, so the card
    starts then and lasts as long."""
    check_start("start", start, Scheme.hi, today or clock.today())
    if months not in (3, 6, 12):
        raise ValidationFailed("months", "Household HI is paid for 3, 6 or 12 months; got {months}.", months=months)
    end = add_months(month_start(start), months)
    lock_people(session, members)
    order = household_enrolled_count(session, household, start, end)
    parameters = get_parameters()
    periods = []
    for person in members:
        if person.household_id != household.id:
            raise ValidationFailed("members", "{name} is not a member of household {code}.", name=person.full_name,
                                   code=household.code)
        wait = hi_coverage_start(HOUSEHOLD_GROUP, start, previous_hi_end(session, person, start), parameters) - start
        valid_from, valid_to = start + wait, end + wait
        if _has_hi(session, person, valid_from, valid_to):
            raise Conflict("{name} already has health insurance in this period.", name=person.full_name)
        order += 1
        period = CoveragePeriod(person_id=person.id, scheme=Scheme.hi, hi_group=HOUSEHOLD_GROUP,
                                valid_from=valid_from, valid_to=valid_to,
                                payer=Payer.household, household_id=household.id, member_order=order,
                                org_unit_id=household.org_unit_id, province_2008=person.province_2008,
                                province_2025=person.province_2025)
        session.add(period)
        periods.append(period)
        refresh_overlaps(session, person.id, (Scheme.hi,))
    return periods


def household_enrolled_count(session: Session, household: Household, start: date, end: date) -> int:
    """How many members of a household already have household HI in ``[start, end)``: the next member enrolled
    is number this + 1 (the household rates decrease with the order of joining)."""
    already = _current(session, CoveragePeriod.household_id == household.id, CoveragePeriod.scheme == Scheme.hi,
                       CoveragePeriod.valid_from < end, or_(CoveragePeriod.valid_to.is_(None),
                                                            CoveragePeriod.valid_to > start))
    return len({p.person_id for p in already})


def enrol_state_budget(session: Session, *, group: str, people: Sequence[Person], start: date, end: date,
                       org_unit: OrgUnit, today: date | None = None) -> list[CoveragePeriod]:
    """HI paid or supported by the State for a list (poor households, children under 6, ...).

    ``start`` is taken as the day of payment. A person of a group that waits (the State-supported groups:
    ``cards.waiting_period_groups``) joining for the first time or after a lapse is covered from the end of the
    waiting period (:func:`hi_coverage_start`) to ``end``: the list's end stays (it is the end of the status)."""
    if group not in STATE_GROUPS + FUND_GROUPS:
        raise ValidationFailed("group", "Group {group} is not one of {accepted}.", group=group,
                               accepted=", ".join(STATE_GROUPS + FUND_GROUPS))
    today = today or clock.today()
    check_start("start", start, Scheme.hi, today)
    if not isinstance(end, date) or end > latest_date(today):
        raise ValidationFailed("end", "The end is a date until {last} at the latest.",
                               last=latest_date(today))
    if end <= start:
        raise ValidationFailed("end", "The end ({end}) must be after the start ({start}).", end=end,
                               start=start)
    lock_people(session, people)
    payer = HI_GROUPS[group][1]
    parameters = get_parameters()
    periods = []
    for person in people:
        valid_from = hi_coverage_start(group, start, previous_hi_end(session, person, start), parameters)
        if valid_from >= end:  # the waiting period outlasts the list: the cover would start after its end
            raise ValidationFailed("end", "The end ({end}) must be after the start ({start}).", end=end,
                                   start=valid_from)
        if _has_hi(session, person, valid_from, end):
            raise Conflict("{name} already has health insurance in this period.", name=person.full_name)
        period = CoveragePeriod(person_id=person.id, scheme=Scheme.hi, hi_group=group, valid_from=valid_from,
                                valid_to=end,
                                payer=payer, support_group=group, org_unit_id=org_unit.id,
                                province_2008=person.province_2008, province_2025=person.province_2025)
        session.add(period)
        periods.append(period)
        refresh_overlaps(session, person.id, (Scheme.hi,))
    return periods


# --- reading ------------------------------------------------------------------------------------------

def coverage_history(session: Session, person_id: int, *, include_superseded: bool = False) -> list[CoveragePeriod]:
    stmt = select(CoveragePeriod).where(CoveragePeriod.person_id == person_id)
    if not include_superseded:
        stmt = stmt.where(CoveragePeriod.superseded_at.is_(None))
    return list(session.scalars(stmt.order_by(CoveragePeriod.scheme, CoveragePeriod.valid_from, CoveragePeriod.id)))


def coverage_on(session: Session, person_id: int, on: date) -> list[CoveragePeriod]:
    return list(session.scalars(active(select(CoveragePeriod).where(CoveragePeriod.person_id == person_id), on)))


def employer_declarations(session: Session, employer_id: int, *, limit: int = 100) -> Sequence[Declaration]:
    return session.scalars(select(Declaration).where(Declaration.employer_id == employer_id)
                           .order_by(Declaration.id.desc()).limit(limit)).all()


def _province_column(structure: Structure):
    return CoveragePeriod.province_2025 if structure == Structure.from_2025 else CoveragePeriod.province_2008


def _count_participants(session: Session, on: date, conditions: list, group_by: tuple) -> dict[tuple, int]:
    """Distinct people with a period in force on ``on``, per ``group_by`` columns, without a DISTINCT over
    millions of rows: periods never flagged ``overlapping`` are one per person and day, so they are counted
    as rows; only the few flagged ones need a distinct count (their own partial index)."""
    plain = active(select(*group_by, func.count()).where(CoveragePeriod.overlapping.is_(False), *conditions), on)
    totals: dict[tuple, int] = {}
    for *key, count in session.execute(plain.group_by(*group_by)):
        totals[tuple(key)] = count
    flagged = active(select(*group_by, func.count(func.distinct(CoveragePeriod.person_id)))
                     .where(CoveragePeriod.overlapping.is_(True), *conditions), on)
    for *key, count in session.execute(flagged.group_by(*group_by)):
        totals[tuple(key)] = totals.get(tuple(key), 0) + count
    return totals


def provinces_in_scope(session: Session, principal: Principal | None, structure: Structure) -> set[str] | None:
    """The province codes (of a structure) within the caller's scope; None for the national level and the CLI (every
    province). A provincial or local office covers its province; in the 2008 structure, the old provinces that
    became it (when the places are loaded)."""
    if principal is None or principal.org_unit_level == OrgLevel.national.value:
        return None
    from ansinh.registry.places import province_mapping
    from ansinh.registry.service import office_province_code

    own = office_province_code(session, session.get(OrgUnit, principal.org_unit_id))
    if structure == Structure.from_2025:
        return {own}
    return {old for old, new in province_mapping(session).items() if own in new} or {own}


def _summary_scope(session: Session, principal: Principal | None, province: str | None,
                   structure: Structure) -> tuple[list, set[str] | None]:
    """The conditions keeping the caller's periods, and the provinces of the caller's scope; a province outside it
    is refused (403)."""
    allowed = provinces_in_scope(session, principal, structure)
    if province and allowed is not None and province not in allowed:
        from ansinh.registry.places import province_names

        raise PermissionDenied("Province {code} is outside your scope.",
                               code=province_names(session, structure).get(province, province))
    conditions = []
    if principal is not None and principal.org_unit_level != "national":
        conditions.append(org_scope(principal, CoveragePeriod.org_unit_id))
    return conditions, allowed


def participation_summary(session: Session, principal: Principal | None, *, on: date, province: str | None = None,
                          structure: Structure = Structure.from_2025) -> dict:
    """Participants on a date, by scheme and HI group, for a province or the caller's whole scope; with the
    coverage rates when population figures of that year (or the latest before it) are loaded.

    Only within the caller's scope: a province outside it is refused (403), and the population figures are those of
    the caller's province (none for a local office, whose participants are a part of its province's)."""
    conditions, allowed = _summary_scope(session, principal, province, structure)
    if province:
        conditions.append(_province_column(structure) == province)
    per_group = _count_participants(session, on, conditions, (CoveragePeriod.scheme, CoveragePeriod.hi_group))
    flagged = sum(_count_flagged(session, on, conditions, ()).values())
    return _summary(session, principal, on, province, structure, allowed, per_group, flagged, conditions)


def participation_overview(session: Session, principal: Principal | None, *, on: date, province: str | None = None,
                           structure: Structure = Structure.from_2025) -> tuple[dict, list[dict]]:
    """The summary page's two figures from one pass over the periods of the caller's scope: the summary (of
    ``province`` or of the whole scope, as :func:`participation_summary`) and the counts per province and scheme
    (as :func:`participation_by_province`)."""
    column = _province_column(structure)
    conditions, allowed = _summary_scope(session, principal, province, structure)
    grid = _count_participants(session, on, conditions, (column, CoveragePeriod.scheme, CoveragePeriod.hi_group))
    per_group: dict[tuple, int] = {}
    for (place, scheme, group), count in grid.items():
        if not province or place == province:
            per_group[(scheme, group)] = per_group.get((scheme, group), 0) + count
    flagged = sum(count for (place, _group), count in _count_flagged(session, on, conditions, (column,)).items()
                  if not province or place == province)
    if province:
        conditions = [*conditions, column == province]
    summary = _summary(session, principal, on, province, structure, allowed, per_group, flagged, conditions)
    return summary, _per_province(grid)


def _summary(session: Session, principal: Principal | None, on: date, province: str | None, structure: Structure,
             allowed: set[str] | None, per_group: dict[tuple, int], hi_flagged: int, conditions: list) -> dict:
    """The summary from the participants per (scheme, HI group) and the flagged HI people they counted."""
    counts = {scheme.value: 0 for scheme in Scheme}
    by_group: dict[str, int] = {}
    for (scheme, group), count in per_group.items():
        scheme = Scheme(scheme).value
        if scheme == Scheme.hi.value:
            by_group[group or "?"] = by_group.get(group or "?", 0) + count
        else:
            counts[scheme] += count
    # A person in two HI groups at once (flagged) is one HI participant.
    hi_overlap = session.scalar(active(select(func.count(func.distinct(CoveragePeriod.person_id))).where(
        CoveragePeriod.scheme == Scheme.hi, CoveragePeriod.overlapping.is_(True), *conditions), on)) or 0
    counts[Scheme.hi.value] = sum(by_group.values()) - hi_flagged + hi_overlap
    result = {"on": on.isoformat(), "structure": structure.value, "province": province, **counts,
              "hi_by_group": dict(sorted(by_group.items()))}
    if province:
        province_filter = [PopulationFigure.province_code == province]
    elif allowed is not None:
        province_filter = [PopulationFigure.province_code.in_(sorted(allowed))]
    else:
        province_filter = []
    if principal is not None and principal.org_unit_level == OrgLevel.district.value:
        return result  # figures are per province: no rate for a part of it
    year = session.scalar(select(func.max(PopulationFigure.year)).where(
        PopulationFigure.structure == structure, PopulationFigure.year <= on.year, *province_filter))
    if year is not None:
        population, working_age = session.execute(
            select(func.sum(PopulationFigure.population), func.sum(PopulationFigure.working_age_population)).where(
                PopulationFigure.structure == structure, PopulationFigure.year == year, *province_filter)).one()
        population, working_age = int(population or 0), int(working_age or 0)
        if population:
            result.update(population=population, working_age_population=working_age, population_year=year,
                          hi_coverage_rate=round(counts["hi"] / population, 4),
                          si_working_age_rate=round((counts["si_compulsory"] + counts["si_voluntary"]) / working_age, 4)
                          if working_age else None)
    return result


def _count_flagged(session: Session, on: date, conditions: list, group_by: tuple) -> dict[tuple, int]:
    """Per ``group_by`` columns and HI group, the distinct people among flagged HI periods (what the per-group
    counts added)."""
    rows = session.execute(active(select(*group_by, CoveragePeriod.hi_group,
                                         func.count(func.distinct(CoveragePeriod.person_id)))
                                  .where(CoveragePeriod.scheme == Scheme.hi, CoveragePeriod.overlapping.is_(True),
                                         *conditions), on).group_by(*group_by, CoveragePeriod.hi_group))
    return {tuple(key): count for *key, count in rows}


def participation_by_province(session: Session, principal: Principal | None, *, on: date,
                              structure: Structure = Structure.from_2025) -> list[dict]:
    """Participants on a date per province and scheme (for the charts)."""
    column = _province_column(structure)
    conditions = []
    if principal is not None and principal.org_unit_level != "national":
        conditions.append(org_scope(principal, CoveragePeriod.org_unit_id))
    return _per_province(_count_participants(session, on, conditions, (column, CoveragePeriod.scheme)))


def participation_by_province_on(session: Session, days: Sequence[date],
                                 structure: Structure = Structure.from_2025) -> dict[date, list[dict]]:
    """:func:`participation_by_province` (the whole country) on several days from one pass over the periods: each
    day's count is a conditional sum over the periods in force on any of them (the report of a period and of the
    same period last year read the periods once, not twice). Each row also has ``hi_groups_plain``: the HI
    participants per beneficiary group among the periods never flagged overlapping (one per person and day; the
    flagged few are counted by :func:`ansinh.participation.flows.count_hi_groups` with ``flagged_only``)."""
    days = sorted(set(days))
    if not days:
        return {}
    column = _province_column(structure)

    def in_force(day: date):
        return and_(CoveragePeriod.valid_from <= day,
                    or_(CoveragePeriod.valid_to.is_(None), CoveragePeriod.valid_to > day))

    sums = [func.sum(case((in_force(day), 1), else_=0)) for day in days]
    plain = (select(column, CoveragePeriod.scheme, CoveragePeriod.hi_group, *sums)
             .where(CoveragePeriod.superseded_at.is_(None), CoveragePeriod.overlapping.is_(False),
                    CoveragePeriod.valid_from <= days[-1],
                    or_(CoveragePeriod.valid_to.is_(None), CoveragePeriod.valid_to > days[0]))
             .group_by(column, CoveragePeriod.scheme, CoveragePeriod.hi_group))
    totals: dict[date, dict[tuple, int]] = {day: {} for day in days}
    groups: dict[date, dict[str, dict[str, int]]] = {day: {} for day in days}
    for province, scheme, group, *counts in session.execute(plain):
        for day, count in zip(days, counts, strict=True):
            if count:
                totals[day][(province, scheme)] = totals[day].get((province, scheme), 0) + int(count)
                if Scheme(scheme) == Scheme.hi and group:
                    per_group = groups[day].setdefault(province, {})
                    per_group[group] = per_group.get(group, 0) + int(count)
    for day in days:  # people flagged in two periods of a scheme at once: a distinct count (their own index)
        flagged = active(select(column, CoveragePeriod.scheme, func.count(func.distinct(CoveragePeriod.person_id)))
                         .where(CoveragePeriod.overlapping.is_(True)), day).group_by(column, CoveragePeriod.scheme)
        for province, scheme, count in session.execute(flagged):
            totals[day][(province, scheme)] = totals[day].get((province, scheme), 0) + count
    result = {}
    for day, counts in totals.items():
        rows = _per_province(counts)
        for row in rows:  # HI participants per group, of the periods never flagged (see count_hi_groups)
            row["hi_groups_plain"] = groups[day].get(row["province"], {})
        result[day] = rows
    return result


def _per_province(counts: dict[tuple, int]) -> list[dict]:
    """Counts keyed by (province, scheme, …) as one entry per province with a count per scheme."""
    table: dict[str, dict] = {}
    for (province, scheme, *_rest), count in counts.items():
        entry = table.setdefault(province or "?", {"province": province, **{s.value: 0 for s in Scheme}})
        entry[Scheme(scheme).value] += count
    return sorted(table.values(), key=lambda e: e["province"] or "")


# --- what an employer's page shows ---------------------------------------------------------------------

@dataclass
class Worker:
    person: Person
    period: CoveragePeriod  # the compulsory SI period in force
    hi_group: str | None


def current_workers(session: Session, employer_id: int, on: date, *, limit: int = 50, offset: int = 0
                    ) -> tuple[list[Worker], int]:
    """The people covered through this employer on a date (their compulsory SI period in force), by name."""
    base = active(select(CoveragePeriod, Person).join(Person, Person.id == CoveragePeriod.person_id)
                          .where(CoveragePeriod.employer_id == employer_id,
                                 CoveragePeriod.scheme == Scheme.si_compulsory), on)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(Person.name_search, Person.id).limit(limit).offset(offset)).all()
    ids = [person.id for _, person in rows]
    groups = dict(session.execute(active(
        select(CoveragePeriod.person_id, CoveragePeriod.hi_group).where(
            CoveragePeriod.employer_id == employer_id, CoveragePeriod.scheme == Scheme.hi,
            CoveragePeriod.person_id.in_(ids)), on)).all()) if ids else {}
    return [Worker(person, period, groups.get(person.id)) for period, person in rows], total


def record_declarations_listed(session: Session, principal: Principal | None, employer_id: int,
                               declarations: Sequence[Declaration]) -> None:
    """One audit event for a list of an employer's declarations: the people they are about."""
    from ansinh.registry.service import record_people_listed

    ids = sorted({d.person_id for d in declarations})
    people = session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id)).all() if ids else []
    record_people_listed(session, principal, people, what="employer_declarations",
                         query={"employer_id": employer_id, "declarations": len(declarations)})


def declarations_with_people(session: Session, employer_id: int, *, limit: int = 20) -> list[tuple]:
    """The employer's latest declarations, each with the person it is about."""
    declarations = employer_declarations(session, employer_id, limit=limit)
    ids = {d.person_id for d in declarations}
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))} if ids else {}
    return [(d, people.get(d.person_id)) for d in declarations]


# --- what the enrolment forms show before confirming ----------------------------------------------------

#: The support groups of voluntary social insurance (the rules' ``voluntary.state_support_rate`` keys).
VOLUNTARY_GROUPS = ("poor", "near_poor", "ethnic_minority", "island", "other")
HOUSEHOLD_MONTHS = (3, 6, 12)


def voluntary_payment_periods(on: date) -> list[int]:
    """The months that may be paid at once for voluntary social insurance on a date (from the rules)."""
    try:
        return sorted(set(get_parameters()["voluntary.payment_period_months"].at(on).values()))
    except Exception:  # noqa: BLE001 - before the scheme: the law's usual periods
        return [1, 3, 6, 12]


def voluntary_quote(*, income: int, months: int, group: str, start: date, today: date | None = None,
                    province: str | None = None) -> dict:
    """What a voluntary enrolment costs per payment period, by the rules' calculator (the contribution, the State's
    support, the support of ``province`` (the person's 2025 province code) when given, what is left to pay); raises :class:`ValidationFailed` naming the field, as :func:`enrol_voluntary`."""
    check_start("start", start, Scheme.si_voluntary, today or clock.today())
    check_money("income", income)
    if group not in VOLUNTARY_GROUPS:
        raise ValidationFailed("group", "Group {group} is not one of {accepted}.", group=group,
                               accepted=", ".join(VOLUNTARY_GROUPS))
    return voluntary_single(VoluntaryInput(income=income, on=month_start(start), group=group, months=months,
                                           province=province), get_parameters())


def household_of_head(session: Session, principal: Principal, citizen_id: str) -> tuple[Household, list[Person]]:
    """The household whose head has this citizen ID, within the caller's scope, with its members (the lookup and
    the list are audited). Not found, or outside the scope: the same answer (an identifier never tells whether
    it is registered elsewhere)."""
    from ansinh.registry.service import find_person, household_members, record_people_listed

    citizen_id = "".join((citizen_id or "").split())
    if not (citizen_id.isdigit() and len(citizen_id) == 12):
        raise ValidationFailed("head", "A citizen ID has 12 digits; got {value}.", value=citizen_id)
    head = find_person(session, principal, citizen_id=citizen_id)
    household = session.get(Household, head.household_id) if head is not None and head.household_id else None
    if household is None or household.head_person_id != head.id:
        raise ValidationFailed("head", "No household headed by this citizen ID is registered in your scope.")
    members = list(household_members(session, household.id))
    record_people_listed(session, principal, members, what="household_members",
                         query={"household_id": household.id, "purpose": "household_hi_enrolment"})
    return household, members


def household_hi_quote(session: Session, household: Household, count: int, start: date, months: int) -> dict:
    """What ``count`` more members of a household pay for ``months`` of household HI from ``start``: each one's
    order of joining (after those already enrolled in the period), the monthly amount by the decreasing household
    rates of the rules, the amount for the period, and the total."""
    from ansinh.rules.household_hi import HouseholdHIInput, household_hi_single

    if months not in HOUSEHOLD_MONTHS:
        raise ValidationFailed("months", "Household HI is paid for 3, 6 or 12 months; got {months}.", months=months)
    end = add_months(month_start(start), months)
    already = household_enrolled_count(session, household, start, end)
    if count < 1:
        return {"already": already, "end": end, "members": [], "total": 0}
    rates = household_hi_single(HouseholdHIInput(members=already + count, on=start), get_parameters())
    rows = [{"order": row["order"], "monthly": row["monthly"], "amount": row["monthly"] * months}
            for row in rates["members"][already:]]
    return {"already": already, "end": end, "members": rows, "total": sum(r["amount"] for r in rows)}


def hi_conflicts(session: Session, people: Sequence[Person], start: date, end: date) -> dict[int, str]:
    """The people of a list who already have health insurance in ``[start, end)`` (person id → the message
    msgid): what :func:`enrol_state_budget` would refuse, found for every line at once."""
    from ansinh.i18n import N_

    return {person.id: N_("Already has health insurance in this period.") for person in people
            if _has_hi(session, person, start, end)}


def people_by_citizen_ids(session: Session, principal: Principal, citizen_ids: Sequence[str]) -> dict[str, Person]:
    """The people of the caller's scope with these citizen IDs (citizen ID → person), read in batches; the list is
    audited as one event. An ID registered outside the scope is simply absent (as an unknown one)."""
    from ansinh.registry.service import record_people_listed

    wanted = sorted(set(citizen_ids))
    found: dict[str, Person] = {}
    for index in range(0, len(wanted), 500):
        batch = wanted[index:index + 500]
        for person in session.scalars(select(Person).where(Person.citizen_id.in_(batch),
                                                           org_scope(principal, Person.org_unit_id))):
            found[person.citizen_id] = person
    record_people_listed(session, principal, sorted(found.values(), key=lambda p: p.id), what="state_budget_list",
                         query={"lines": len(citizen_ids)})
    return found


# --- the list of declarations -----------------------------------------------------------------------------

#: A declaration's state for the office: in time, retroactive and waiting to be billed again, or re-billed.
DECLARATION_STATUSES = ("on_time", "needs_rebilling", "rebilled")


@dataclass
class DeclarationFilters:
    employer: str = ""  # a tax code, or words of the name
    kind: str = ""
    status: str = ""
    submitted_from: date | None = None
    submitted_to: date | None = None
    province: str = ""  # the employer's province (2025 structure)


def declarations_select(principal: Principal, filters: DeclarationFilters, *, employer_id: int | None = None):
    """``select(Declaration, Employer, Person)`` of the declarations the caller may see (one employer's for an
    employer user, the org subtree's for agency staff), filtered; sorting and paging are the caller's."""
    from datetime import datetime, time, timedelta, timezone

    from ansinh.registry.identifiers import search_key

    stmt = (select(Declaration, Employer, Person).join(Employer, Employer.id == Declaration.employer_id)
            .join(Person, Person.id == Declaration.person_id))
    if employer_id is not None:
        stmt = stmt.where(Declaration.employer_id == employer_id)
    else:
        stmt = stmt.where(org_scope(principal, Declaration.org_unit_id))
    text = (filters.employer or "").strip()
    if text:
        digits = text.replace("-", "").replace(" ", "")
        if digits.isdigit():
            stmt = stmt.where(Employer.tax_code.startswith(digits, autoescape=True))
        else:
            stmt = stmt.where(Employer.name_search.contains(search_key(text), autoescape=True))
    if filters.kind in {k.value for k in DeclarationKind}:
        stmt = stmt.where(Declaration.kind == DeclarationKind(filters.kind))
    if filters.status == "on_time":
        stmt = stmt.where(Declaration.retroactive.is_(False))
    elif filters.status == "needs_rebilling":
        stmt = stmt.where(Declaration.needs_rebilling.is_(True))
    elif filters.status == "rebilled":
        stmt = stmt.where(Declaration.retroactive.is_(True), Declaration.needs_rebilling.is_(False))
    # Days are Vietnam's: from its midnight, to the next midnight after the last day (in UTC, as stored).
    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), clock.VIETNAM).astimezone(timezone.utc)

    if filters.submitted_from is not None:
        stmt = stmt.where(Declaration.submitted_at >= midnight(filters.submitted_from))
    if filters.submitted_to is not None:
        stmt = stmt.where(Declaration.submitted_at < midnight(filters.submitted_to + timedelta(days=1)))
    if filters.province:
        stmt = stmt.where(Employer.province_2025 == filters.province)
    return stmt


def record_declarations_listed_all(session: Session, principal: Principal, people: Sequence[Person], query: dict, *,
                                   total: int) -> None:
    """One audit event for a page of the declarations list: the people its rows are about."""
    from ansinh.registry.service import record_people_listed

    unique = list({p.id: p for p in people}.values())
    record_people_listed(session, principal, unique, what="declarations", query=query, total=total)


def record_declarations_exported(session: Session, principal: Principal, query: dict) -> None:
    """One audit event for an Excel export of the declarations list: who exported which filters."""
    from ansinh.audit.service import record_event

    record_event(session, "export", "declaration", None, org_unit_id=principal.org_unit_id,
                 details={"what": "declarations", "query": {k: v for k, v in query.items() if v not in (None, "")}})


def hi_coverage_of(session: Session, person_ids) -> "pl.DataFrame":  # noqa: F821 - polars imported below
    """The current health insurance coverage periods of some people (``person_ids``: ids, or a subquery of ids), in
    one read, for batch work (the claims appraisal): ``person_id, valid_from, valid_to``."""
    import polars as pl

    from ansinh.bulk import read_frame

    return read_frame(session, select(CoveragePeriod.person_id, CoveragePeriod.valid_from, CoveragePeriod.valid_to)
                      .where(CoveragePeriod.person_id.in_(person_ids), CoveragePeriod.scheme == Scheme.hi,
                             CoveragePeriod.superseded_at.is_(None)),
                      {"person_id": pl.Int64, "valid_from": pl.Date, "valid_to": pl.Date})


#: The schemes a contribution record is made of (benefits): social insurance, compulsory and voluntary, and
#: unemployment insurance.
CONTRIBUTION_SCHEMES = (Scheme.si_compulsory, Scheme.si_voluntary, Scheme.ui)


def contribution_coverage_of(session: Session, person_ids, schemes=CONTRIBUTION_SCHEMES) -> "pl.DataFrame":  # noqa: F821
    """The current (not superseded) coverage periods of some people in the contribution schemes (``person_ids``: ids,
    or a subquery of ids), in one read, for the benefits' records: ``person_id, scheme, valid_from, valid_to,
    insured_salary, employer_id``."""
    import polars as pl

    from ansinh.bulk import read_frame

    return read_frame(session, select(CoveragePeriod.person_id, CoveragePeriod.scheme, CoveragePeriod.valid_from,
                                      CoveragePeriod.valid_to, CoveragePeriod.insured_salary, CoveragePeriod.employer_id)
                      .where(CoveragePeriod.person_id.in_(person_ids),
                             CoveragePeriod.scheme.in_([Scheme(s).value for s in schemes]),
                             CoveragePeriod.superseded_at.is_(None)),
                      {"person_id": pl.Int64, "scheme": pl.String, "valid_from": pl.Date, "valid_to": pl.Date,
                       "insured_salary": pl.Int64, "employer_id": pl.Int64})
