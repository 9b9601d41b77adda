"""The citizen's own records (the VssID role): personal details, the contribution history per scheme, the current
health insurance card, benefit claims and the bills to pay, always of the signed-in citizen only.

Every function takes the caller's :class:`Principal` and starts from :func:`ansinh.registry.service.own_person` (the
person whose citizen ID the account carries; 404 for any other account, staff included), so there is no parameter
through which another person could be asked for. Each read of personal data is audited (``record_read``). Dates are
passed in (``on``): the interfaces give the application's clock.

The contribution history reuses the benefits' record (:mod:`ansinh.benefits.records`) for the total months of social
insurance (each month counted once whatever number of employers) and the gaps; the per-scheme lists come from the same
coverage periods (the participation history), one line per period and month.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.audit.service import record_read
from ansinh.auth.permissions import Principal
from ansinh.benefits import records
from ansinh.benefits import service as benefits_service
from ansinh.cards.models import CardStatus
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Employer, Household, Person

#: The schemes of the contribution history, in the order shown.
SCHEMES = ("si_compulsory", "si_voluntary", "ui", "hi")
#: The most claims and bills listed (a citizen has a handful; the bound keeps an answer small).
MAX_ITEMS = 200


def me(session: Session, principal: Principal) -> Person:
    """The signed-in citizen's person record (the read audited); 404 for an account that is not a citizen's."""
    return registry.own_person(session, principal)


def person_view(session: Session, person: Person) -> dict:
    """Personal details as the citizen sees them."""
    household = session.get(Household, person.household_id) if person.household_id else None
    return {"id": person.id, "full_name": person.full_name, "citizen_id": person.citizen_id,
            "si_number": person.si_number, "date_of_birth": person.date_of_birth.isoformat(),
            "sex": person.sex.value, "ethnicity": person.ethnicity, "address": person.address, "phone": person.phone,
            "household": None if household is None else {
                "code": household.code, "is_head": household.head_person_id == person.id,
                "relation_to_head": person.relation_to_head}}


# --- contributions ------------------------------------------------------------------------------------------------

def _month_text(index: int) -> str:
    return records.month_of(index).strftime("%Y-%m")


def period_months(periods: list[dict], until: date) -> pl.DataFrame:
    """Coverage periods (dicts: ``scheme, valid_from, valid_to, insured_salary, employer_id, payer``) → one row per
    period and month covered before the month of ``until`` (pure): ``scheme, month`` (:func:`records.month_index`),
    ``salary, employer_id, paid_by``. A period ``[valid_from, valid_to)`` covers the months from the month of
    ``valid_from`` to the month of its last day, as in the benefits' record."""
    schema = {"scheme": pl.String, "valid_from": pl.Date, "valid_to": pl.Date, "insured_salary": pl.Int64,
              "employer_id": pl.Int64, "payer": pl.String}
    frame = pl.DataFrame(periods, schema=schema)
    limit = records.month_index(until)
    last = records.index_expr(pl.col("valid_to") - pl.duration(days=1)) + 1
    spans = frame.select(
        "scheme", salary=pl.col("insured_salary"), employer_id="employer_id", paid_by="payer",
        start=records.index_expr(pl.col("valid_from")),
        end=pl.min_horizontal(pl.when(pl.col("valid_to").is_null()).then(pl.lit(limit, pl.Int64)).otherwise(last),
                              pl.lit(limit, pl.Int64)),
    ).filter(pl.col("end") > pl.col("start"))
    return (spans.with_columns(month=pl.int_ranges("start", "end", dtype=pl.Int64)).explode("month")
            .select("scheme", "month", "salary", "employer_id", "paid_by").sort("scheme", "month", "employer_id"))


def gaps(record: records.Record) -> list[dict]:
    """Runs of months without social insurance between the first and the last month of it (pure)."""
    si = record.months.filter(pl.col("compulsory") | pl.col("voluntary"))["month"].sort()
    found = []
    previous = None
    for month in si:  # a person's months: a few hundred at most
        if previous is not None and month > previous + 1:
            found.append({"from": _month_text(previous + 1), "to": _month_text(month - 1), "months": month - previous - 1})
        previous = month
    return found


def employer_names(session: Session, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Employer.id, Employer.name).where(Employer.id.in_(ids))).all())


def contributions(session: Session, principal: Principal, *, on: date) -> dict:
    """The signed-in citizen's contribution history up to the month before ``on``'s month: per scheme the months with
    salary (the voluntary income for voluntary social insurance), employer and who paid; the total months of social
    insurance (each month once) as years and months; the gaps."""
    return contributions_of(session, me(session, principal), on=on)


def contributions_of(session: Session, person: Person, *, on: date) -> dict:
    """:func:`contributions` of a person already read by :func:`me` (one page showing several parts reads it once)."""
    periods = [{"scheme": p.scheme.value, "valid_from": p.valid_from, "valid_to": p.valid_to,
                "insured_salary": p.insured_salary, "employer_id": p.employer_id, "payer": p.payer.value}
               for p in participation.coverage_history(session, person.id)]
    months = period_months(periods, on)
    names = employer_names(session, months["employer_id"].unique().to_list())
    record = records.record_of(session, person.id, on)
    record_read(session, "contribution_history", person.id, org_unit_id=person.org_unit_id,
                person_ref=person.citizen_id)
    schemes: dict[str, list[dict]] = {scheme: [] for scheme in SCHEMES}
    for row in months.iter_rows(named=True):
        schemes.setdefault(row["scheme"], []).append({
            "month": _month_text(row["month"]), "salary": row["salary"],
            "employer": names.get(row["employer_id"]) if row["employer_id"] else None,
            "employer_id": row["employer_id"], "paid_by": row["paid_by"]})
    total = record.si_months
    return {"until": on.isoformat(), "total_si_months": total,
            "total_si": {"years": total // 12, "months": total % 12},
            "compulsory_months": record.compulsory_months, "voluntary_months": total - record.compulsory_months,
            "ui_months": record.ui_months,
            "first_month": record.first_month and record.first_month.strftime("%Y-%m"),
            "last_month": record.last_month and record.last_month.strftime("%Y-%m"),
            "schemes": schemes, "gaps": gaps(record)}


# --- card ---------------------------------------------------------------------------------------------------------

def card(session: Session, principal: Principal, *, on: date) -> dict | None:
    """The signed-in citizen's current health insurance card (None: no card), with what its QR code says and the
    date from which they have five years of continuous cover."""
    return card_of(session, me(session, principal), on=on)


def card_of(session: Session, person: Person, *, on: date) -> dict | None:
    """:func:`card` of a person already read by :func:`me`."""
    from ansinh.cards import service as cards
    from ansinh.cards.pdf import qr_payload

    found = cards.current_card(session, person.id)
    if found is None:
        return None
    record_read(session, "hi_card", found.id, org_unit_id=found.org_unit_id, person_ref=person.citizen_id)
    valid = found.valid_from <= on and (found.valid_until is None or on <= found.valid_until)
    return {"card_code": found.card_code, "full_name": person.full_name,
            "date_of_birth": person.date_of_birth.isoformat(), "hi_group": found.hi_group,
            "benefit_digit": found.benefit_digit, "province_code": found.province_code,
            "valid_from": found.valid_from.isoformat(),
            "valid_until": found.valid_until and found.valid_until.isoformat(),
            "registered_facility": found.registered_facility,
            "five_years_from": found.five_years_from and found.five_years_from.isoformat(),
            "status": found.status.value, "valid_on": valid and found.status is CardStatus.active,
            "qr_content": qr_payload(found, person)}


def qr_svg(content: str) -> str:
    """A QR code as inline SVG (segno, error correction M)."""
    from ansinh.collection.vietqr import qr_svg as svg

    return svg(content, scale=4)


# --- claims -------------------------------------------------------------------------------------------------------

def claims(session: Session, principal: Principal, *, on: date) -> list[dict]:
    """The signed-in citizen's benefit claims (their own and those they are paid for), newest first, each read
    audited: type, status, filing day, deadline, working days left, decision number and the decision PDF's link."""
    return claims_of(session, principal, me(session, principal), on=on)


def claims_of(session: Session, principal: Principal, person: Person, *, on: date) -> list[dict]:
    """:func:`claims` of the person :func:`me` read for ``principal`` (the claims are chosen by the principal's
    scope, ``benefits.service.claims_scope``; ``person`` only marks which are their own)."""
    rows, _total = benefits_service.claims_page(session, principal, limit=MAX_ITEMS)
    answer = []
    for claim in rows:
        record_read(session, "benefit_claim", claim.id, org_unit_id=claim.org_unit_id, person_ref=claim.person_ref)
        view = benefits_service.claim_view(claim)
        answer.append({
            "id": claim.id, "type": view["type"], "status": view["status"], "filed_on": view["filed_on"],
            "deadline": view["deadline"], "working_days_left": benefits_service.working_days_left(claim, on)
            if claim.resolved_on is None else None,
            "own": claim.person_id == person.id, "amount": claim.amount, "monthly_amount": claim.monthly_amount,
            "decision_number": claim.decision_number,
            "decided_on": claim.decided_on and claim.decided_on.isoformat(),
            "decision_pdf": f"/benefits/claims/{claim.id}/decision.pdf" if claim.decision_number else None,
            "page": f"/benefits/claims/{claim.id}"})
    return answer


# --- bills --------------------------------------------------------------------------------------------------------

def bills(session: Session, principal: Principal, *, on: date) -> list[dict]:
    """Voluntary social insurance bills of the signed-in citizen and, for a household head, the household's health
    insurance bills, newest first: amount, paid, outstanding, due date, and for what is outstanding the VietQR
    payment payload (the agency's account, the outstanding amount, the bill reference)."""
    return bills_of(session, me(session, principal), on=on)


def bills_of(session: Session, person: Person, *, on: date) -> list[dict]:
    """:func:`bills` of a person already read by :func:`me`."""
    from ansinh.collection.bills_pages import OUTSTANDING
    from ansinh.collection.models import Bill

    keys = [f"P:{person.id}"]
    households = session.scalars(select(Household).where(Household.head_person_id == person.id)).all()
    keys += [f"H:{h.id}" for h in households]
    rows = session.execute(select(Bill, OUTSTANDING.label("outstanding"))
                           .where(Bill.payer_key.in_(keys), Bill.payer_type.in_(("voluntary", "household")))
                           .order_by(Bill.period.desc(), Bill.id.desc()).limit(MAX_ITEMS)).all()
    answer = []
    for bill, outstanding in rows:
        outstanding = int(outstanding or 0)
        record_read(session, "bill", bill.id, org_unit_id=bill.org_unit_id, person_ref=person.citizen_id)
        answer.append({"id": bill.id, "type": bill.payer_type, "period": bill.period.strftime("%Y-%m"),
                       "reference": bill.reference, "total": bill.total, "paid": bill.total - outstanding,
                       "outstanding": max(outstanding, 0), "due_date": bill.due_date.isoformat(),
                       "overdue": outstanding > 0 and bill.due_date < on, "workers": bill.workers,
                       "payment": _payment(bill, outstanding) if outstanding > 0 else None})
    return answer


def _payment(bill, amount: int) -> dict | None:
    from ansinh.collection import payments, vietqr

    try:
        account = payments.collection_accounts()[0]
        payload = vietqr.vietqr_payload(bank_bin=account.bank_bin, account=account.account, amount=amount,
                                        reference=bill.reference)
    except (LookupError, ValueError):
        return None
    return {"bank_bin": account.bank_bin, "account": account.account, "amount": amount, "reference": bill.reference,
            "vietqr": payload}
