"""Donated cards: an organisation or a local budget (a sponsor) pays the household HI or the student HI of people
it names.

A sponsor is a payer of its own, ``D:<sponsor id>``. Each sponsorship (a person, a scheme, from one month to
another, both included) creates the person's HI coverage period for those months, paid by ``other_budget``
(:class:`~ansinh.participation.models.Payer`) and held by the sponsorship, so that the coverage names the sponsor
as who paid (:func:`sponsors_of_periods`). The billing run bills each sponsor every month for its sponsorships whose
period is in force in the month (:func:`sponsor_bills`, called by :mod:`ansinh.collection.billing`), one line per
person:

- ``household_hi``: what a household's first member pays a month (:func:`ansinh.rules.household_hi.household_hi_columns`
  with one member, after the support of the person's province);
- ``student_hi``: what a student pays a month after the State's share (:func:`ansinh.rules.state_hi.state_hi_columns`,
  group ``student``; the State's own share is the State budget's and is not billed to the sponsor).

Its payments are matched by the bill's reference, allocated and posted like every payer's; :func:`sponsor_accounts`
lists what each sponsor was billed, paid and owes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh.auth.permissions import Principal, org_scope
from ansinh.collection.models import Allocation, Bill
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.i18n import N_
from ansinh.outreach.models import SPONSOR_KINDS, SPONSORED_SCHEMES, Sponsor, Sponsorship
from ansinh.outreach.scope import ensure_record_in_scope, ensure_staff, province_for, province_office
from ansinh.participation.models import CoveragePeriod, Payer, Scheme
from ansinh.participation.service import add_months, hi_conflicts, month_start, refresh_overlaps
from ansinh.registry.models import Person
from ansinh.rules.parameters import ParameterSet

SPONSOR_KIND_LABELS = {"organisation": N_("Organisation"), "local_budget": N_("Local budget")}
SPONSORED_SCHEME_LABELS = {"household_hi": N_("Household health insurance"),
                           "student_hi": N_("Health insurance for pupils and students")}
#: The card group of each sponsored scheme (codes of the HI groups, not legal figures).
SCHEME_GROUP = {"household_hi": "GD", "student_hi": "HS"}
SUPPORT_GROUP = "sponsor"
SPONSOR_NOT_FOUND = N_("Sponsor not found.")
MAX_MONTHS = 12
_TAX_CODE = re.compile(r"^\d{10}(\d{3})?$")


@dataclass
class SponsorData:
    name: str
    kind: str
    province: str | None = None
    tax_code: str | None = None


def payer_key(sponsor_id: int) -> str:
    return f"D:{sponsor_id}"


def create_sponsor(session: Session, principal: Principal | None, data: SponsorData, *, actor: str) -> Sponsor:
    name = (data.name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("name", "A name of 1 to 200 characters is required.")
    if data.kind not in SPONSOR_KINDS:
        raise ValidationFailed("kind", "The kind is one of {accepted}.", accepted=", ".join(SPONSOR_KINDS))
    tax_code = (data.tax_code or "").strip().replace("-", "") or None
    if tax_code is not None:
        from ansinh.registry.identifiers import tax_code_check_digit

        if not _TAX_CODE.match(tax_code) or tax_code_check_digit(tax_code[:9]) != int(tax_code[9]):
            raise ValidationFailed("tax_code", "A tax code has 10 digits, or 13 for a branch, with a correct check "
                                               "digit.")
    province = province_for(session, principal, data.province, required=True)
    if session.scalar(select(Sponsor.id).where(Sponsor.province_2025 == province, Sponsor.name == name)):
        raise Conflict("A sponsor named {name} exists already in this province.", name=name)
    sponsor = Sponsor(name=name, kind=data.kind, province_2025=province, tax_code=tax_code,
                      org_unit_id=province_office(session, principal, province).id, created_by=actor)
    session.add(sponsor)
    session.flush()
    return sponsor


def get_sponsor(session: Session, principal: Principal | None, sponsor_id: int) -> Sponsor:
    sponsor = session.get(Sponsor, sponsor_id)
    if sponsor is None:
        raise NotFound(SPONSOR_NOT_FOUND)
    ensure_record_in_scope(session, principal, sponsor.org_unit_id, SPONSOR_NOT_FOUND)
    return sponsor


def sponsor_person(session: Session, principal: Principal | None, sponsor: Sponsor, *, citizen_id: str,
                   scheme: str, from_month: date, to_month: date, actor: str, today: date
                   ) -> Sponsorship:
    """The sponsor pays ``scheme`` for the person with ``citizen_id`` (of the caller's scope and the sponsor's
    province) from ``from_month`` to ``to_month`` (both included, at most 12 months): the coverage period is
    created (refused when the person has health insurance in any of these months)."""
    if scheme not in SPONSORED_SCHEMES:
        raise ValidationFailed("scheme", "The scheme is one of {accepted}.", accepted=", ".join(SPONSORED_SCHEMES))
    first, last = month_start(from_month), month_start(to_month)
    if last < first:
        raise ValidationFailed("to_month", "The end ({end}) must be after the start ({start}).", end=last,
                               start=first)
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if months > MAX_MONTHS:
        raise ValidationFailed("to_month", "A sponsorship lasts at most {limit} months.", limit=MAX_MONTHS)
    if first > add_months(month_start(today), 12):
        raise ValidationFailed("from_month", "The first month is at most a year ahead.")
    stmt = select(Person).where(Person.citizen_id == (citizen_id or "").strip(), Person.merged_into_id.is_(None))
    if principal is not None and principal.org_unit_level != "national":
        stmt = stmt.where(org_scope(principal, Person.org_unit_id))
    person = session.scalar(stmt)
    if person is None:
        raise ValidationFailed("citizen_id", "No person of your scope has the citizen ID {value}.", value=citizen_id)
    if person.province_2025 != sponsor.province_2025:
        raise ValidationFailed("citizen_id", "{name} does not live in the sponsor's province.", name=person.full_name)
    from ansinh.registry.service import lock_people

    lock_people(session, [person])
    end = add_months(last, 1)
    if hi_conflicts(session, [person], first, end):
        raise Conflict("{name} already has health insurance in this period.", name=person.full_name)
    period = CoveragePeriod(person_id=person.id, scheme=Scheme.hi, hi_group=SCHEME_GROUP[scheme], valid_from=first,
                            valid_to=end, payer=Payer.other_budget, support_group=SUPPORT_GROUP,
                            household_id=person.household_id if scheme == "household_hi" else None,
                            org_unit_id=person.org_unit_id, province_2008=person.province_2008,
                            province_2025=person.province_2025)
    session.add(period)
    session.flush()
    refresh_overlaps(session, person.id, (Scheme.hi,))
    sponsorship = Sponsorship(sponsor_id=sponsor.id, person_id=person.id, scheme=scheme, from_month=first,
                              to_month=last, coverage_period_id=period.id, created_by=actor)
    session.add(sponsorship)
    session.flush()
    return sponsorship


def sponsorships_of(session: Session, sponsor: Sponsor) -> list[dict]:
    """The sponsor's sponsorships with the person and whether the coverage period is still current."""
    stmt = (select(Sponsorship, Person.full_name, Person.citizen_id, Person.si_number, CoveragePeriod.valid_from,
                   CoveragePeriod.valid_to, CoveragePeriod.superseded_at)
            .join(Person, Person.id == Sponsorship.person_id)
            .outerjoin(CoveragePeriod, CoveragePeriod.id == Sponsorship.coverage_period_id)
            .where(Sponsorship.sponsor_id == sponsor.id).order_by(Sponsorship.from_month.desc(), Sponsorship.id))
    return [{"id": s.id, "person_id": s.person_id, "full_name": name, "citizen_id": cid, "si_number": si,
             "scheme": s.scheme, "from_month": s.from_month, "to_month": s.to_month,
             "coverage_period_id": s.coverage_period_id, "valid_from": valid_from, "valid_to": valid_to,
             "current": superseded is None and valid_from is not None}
            for s, name, cid, si, valid_from, valid_to, superseded in session.execute(stmt)]


def sponsors_of_periods(session: Session, period_ids) -> dict[int, dict]:
    """For coverage periods: who paid them when a sponsor did (period id → ``{sponsor_id, name, kind}``)."""
    ids = [int(i) for i in period_ids if i is not None]
    if not ids:
        return {}
    rows = session.execute(select(Sponsorship.coverage_period_id, Sponsor.id, Sponsor.name, Sponsor.kind)
                           .join(Sponsor, Sponsor.id == Sponsorship.sponsor_id)
                           .where(Sponsorship.coverage_period_id.in_(ids)))
    return {period: {"sponsor_id": sid, "name": name, "kind": kind} for period, sid, name, kind in rows}


def sponsor_accounts(session: Session, principal: Principal | None, *, province: str | None = None,
                     sponsor_id: int | None = None) -> list[dict]:
    """Per sponsor (of the caller's scope): people sponsored, billed (the total of its bills), paid (principal
    allocated to them, reversals left out) and owed (billed − paid). Three aggregate queries."""
    ensure_staff(principal)
    province = province_for(session, principal, province)
    stmt = select(Sponsor)
    if principal is not None and principal.org_unit_level != "national":
        stmt = stmt.where(org_scope(principal, Sponsor.org_unit_id))
    if province:
        stmt = stmt.where(Sponsor.province_2025 == province)
    if sponsor_id is not None:
        stmt = stmt.where(Sponsor.id == sponsor_id)
    sponsors = list(session.scalars(stmt.order_by(Sponsor.name, Sponsor.id)))
    if not sponsors:
        return []
    keys = [payer_key(s.id) for s in sponsors]
    billed = dict(session.execute(select(Bill.payer_key, func.sum(Bill.total)).where(Bill.payer_key.in_(keys))
                                  .group_by(Bill.payer_key)).all())
    paid = dict(session.execute(select(Bill.payer_key, func.sum(Allocation.amount))
                                .join(Allocation, Allocation.bill_id == Bill.id)
                                .where(Bill.payer_key.in_(keys), Allocation.part == "principal",
                                       Allocation.reversed.is_(False)).group_by(Bill.payer_key)).all())
    people = dict(session.execute(select(Sponsorship.sponsor_id, func.count(func.distinct(Sponsorship.person_id)))
                                  .where(Sponsorship.sponsor_id.in_([s.id for s in sponsors]))
                                  .group_by(Sponsorship.sponsor_id)).all())
    out = []
    for sponsor in sponsors:
        key = payer_key(sponsor.id)
        total, settled = int(billed.get(key) or 0), int(paid.get(key) or 0)
        out.append({"id": sponsor.id, "name": sponsor.name, "kind": sponsor.kind, "province": sponsor.province_2025,
                    "tax_code": sponsor.tax_code, "payer_key": key, "people": int(people.get(sponsor.id) or 0),
                    "billed": total, "paid": settled, "owed": total - settled})
    return out


def sponsor_bills_of(session: Session, sponsor: Sponsor) -> list[dict]:
    rows = session.execute(select(Bill.id, Bill.period, Bill.reference, Bill.total, Bill.workers, Bill.due_date)
                           .where(Bill.payer_key == payer_key(sponsor.id)).order_by(Bill.period.desc()))
    return [dict(row._mapping) for row in rows]


def sponsor_json(sponsor: Sponsor) -> dict:
    return {"id": sponsor.id, "name": sponsor.name, "kind": sponsor.kind, "province": sponsor.province_2025,
            "tax_code": sponsor.tax_code, "payer_key": payer_key(sponsor.id)}


# --- billing (called by the billing run, chunk 0) --------------------------------------------------------------

_SCHEMA = {"sponsor_id": pl.Int64, "person_id": pl.Int64, "scheme": pl.String, "person_province": pl.String,
           "province_2025": pl.String, "org_unit_id": pl.Int64}


def sponsor_bills(session: Session, month: date, province: str | None, p: ParameterSet,
                  only: set[str] | None = None):
    """(lines, payers, refusals) of the sponsors for month ``month`` in the shapes of
    :mod:`ansinh.collection.billing`: one payer ``D:<id>`` per sponsor (of ``province``, None: all) with a
    sponsored period in force in the month, one ``health`` line per person (side ``sponsor``)."""
    from ansinh.collection.billing import Refusal, rows_apart
    from ansinh.rules.household_hi import household_hi_columns
    from ansinh.rules.state_hi import state_hi_columns

    stmt = (select(Sponsor.id, Sponsorship.person_id, Sponsorship.scheme, CoveragePeriod.province_2025,
                   Sponsor.province_2025, Sponsor.org_unit_id)
            .join(Sponsorship, Sponsorship.sponsor_id == Sponsor.id)
            .join(CoveragePeriod, CoveragePeriod.id == Sponsorship.coverage_period_id)
            .where(CoveragePeriod.superseded_at.is_(None), CoveragePeriod.valid_from <= month,
                   (CoveragePeriod.valid_to.is_(None)) | (CoveragePeriod.valid_to > month)))
    if province:
        stmt = stmt.where(Sponsor.province_2025 == province)
    if only is not None:
        ids = [int(k[2:]) for k in only if k.startswith("D:") and k[2:].isdigit()]
        stmt = stmt.where(Sponsor.id.in_(ids or [-1]))
    periods = pl.DataFrame([tuple(r) for r in session.execute(stmt)], schema=_SCHEMA, orient="row")
    periods = periods.with_columns(payer_key=pl.lit("D:") + pl.col("sponsor_id").cast(pl.String))
    payers = periods.unique("payer_key", keep="first", maintain_order=True).select(
        "payer_key", payer_type=pl.lit("sponsor"), employer_id=pl.lit(None, pl.Int64),
        person_id=pl.lit(None, pl.Int64), household_id=pl.lit(None, pl.Int64), province_2025="province_2025",
        org_unit_id="org_unit_id")
    refusals: list = []
    amounts = []
    combos = periods.select("scheme", "person_province").unique(maintain_order=True)
    for scheme, frame in (("household_hi", combos.filter(pl.col("scheme") == "household_hi")),
                          ("student_hi", combos.filter(pl.col("scheme") == "student_hi"))):
        if frame.is_empty():
            continue
        if scheme == "household_hi":
            def compute(f):
                return household_hi_columns(f.select(members=pl.lit(1, pl.Int64), on=pl.lit(month),
                                                     province="person_province"), p)
        else:
            def compute(f):
                return state_hi_columns(f.select(group=pl.lit("student"), on=pl.lit(month), months=pl.lit(1),
                                                 province_support_pct=pl.lit(0)), p)
        accepted, computed, bad = rows_apart(frame, compute)
        for combo, error in bad:
            refused = periods.join(pl.DataFrame([combo], schema=frame.schema), on=["scheme", "person_province"],
                                   how="semi", nulls_equal=True)
            refusals += [Refusal.of(key, error) for key in refused["payer_key"].unique().sort().to_list()]
        if computed is None:
            continue
        monthly = (computed["member_payable"].list.first() if scheme == "household_hi"
                   else computed["monthly_payable"])
        amounts.append(accepted.with_columns(amount=monthly.cast(pl.Int64)))
    if not amounts:
        return (pl.DataFrame(schema={"payer_key": pl.String, "person_id": pl.Int64, "fund": pl.String,
                                     "side": pl.String, "insured_salary": pl.Int64, "amount": pl.Int64,
                                     "for_period": pl.Date, "adjustment": pl.Boolean}), payers, refusals)
    periods = periods.join(pl.concat(amounts), on=["scheme", "person_province"], how="inner", nulls_equal=True)
    lines = periods.filter(pl.col("amount") > 0).select(
        "payer_key", "person_id", fund=pl.lit("health"), side=pl.lit("sponsor"),
        insured_salary=pl.lit(None, pl.Int64), amount="amount", for_period=pl.lit(month), adjustment=pl.lit(False))
    return lines, payers, refusals


