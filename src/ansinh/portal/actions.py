"""What the citizen does in the portal (the VssID role), always about the signed-in citizen (and, for a household
head, their household): file a benefit claim, send the unemployment benefit's monthly report, register the bank
account benefits are paid into, enrol in voluntary social insurance or renew household health insurance (the bill
with its VietQR code at once), read notices, and read their health insurance visits.

Every function takes the caller's :class:`Principal` and starts from :func:`ansinh.registry.service.own_person`; the
work is done by the domains' own services (benefits, benefits.payments, participation, collection, notices,
claims), so the rules are the same as at the office's desk. Dates are passed in; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh.audit.service import record_read
from ansinh.auth.models import OrgUnit
from ansinh.auth.permissions import Principal
from ansinh.benefits import eligibility
from ansinh.benefits import service as benefits
from ansinh.benefits.models import BenefitClaim, ClaimType
from ansinh.errors import NotFound, ValidationFailed
from ansinh.participation import service as participation
from ansinh.participation.models import CoveragePeriod, Payer, Scheme
from ansinh.registry import service as registry
from ansinh.registry.identifiers import search_key
from ansinh.registry.models import Household, Person

#: The benefits a citizen files in the portal (the others go through the employer or the office).
PORTAL_CLAIM_TYPES = (ClaimType.lump_sum.value, ClaimType.maternity.value, ClaimType.funeral.value)
#: The voluntary support group of a self-service enrolment (the poor and near-poor groups are certified by the
#: commune's list, which the office records).
SELF_SERVICE_GROUP = "other"
#: The most visits listed.
MAX_VISITS = 200


def _me(session: Session, principal: Principal) -> Person:
    return registry.own_person(session, principal)


# --- benefit claims -------------------------------------------------------------------------------------------

def claim_preview(session: Session, principal: Principal, *, on: date) -> dict:
    """What the citizen's record supports on ``on`` for the benefits filed in the portal (the eligibility preview of
    the benefits domain, audited there), the lump-sum grounds in force, and the household members a funeral grant
    may be claimed for."""
    person = _me(session, principal)
    preview = {item["type"]: item for item in eligibility.preview(session, person, on)
               if item["type"] in PORTAL_CLAIM_TYPES}
    return {"preview": preview, "grounds": eligibility.ground_descriptions(on),
            "relatives": [{"citizen_id": p.citizen_id, "full_name": p.full_name} for p in _relatives(session, person)]}


def _relatives(session: Session, person: Person) -> list[Person]:
    if person.household_id is None:
        return []
    members = registry.household_members(session, person.household_id)
    return [m for m in members if m.id != person.id and m.citizen_id]


def file_claim(session: Session, principal: Principal, *, claim_type: str, on: date, ground: str | None = None,
               details: dict | None = None, deceased_citizen_id: str | None = None,
               external_ref: str | None = None) -> tuple[BenefitClaim, bool]:
    """File a claim electronically (channel ``portal``) through :func:`ansinh.benefits.service.file_claim`: a
    lump sum (with its ground), maternity filed directly by the mother (``direct``), or a funeral grant for a
    deceased member of the citizen's household, who claims it. ``external_ref`` (the form's submission id) makes a
    replay file nothing twice."""
    if claim_type not in PORTAL_CLAIM_TYPES:
        raise ValidationFailed("type", "Choose the benefit claimed.")
    person = _me(session, principal)
    details = dict(details or {})
    citizen_id = person.citizen_id
    if claim_type == ClaimType.maternity.value:
        details["direct"] = True
    if claim_type == ClaimType.funeral.value:
        relative = next((p for p in _relatives(session, person) if p.citizen_id == deceased_citizen_id), None)
        if relative is None:
            raise ValidationFailed("deceased", "Choose the member of your household who died.")
        citizen_id = relative.citizen_id
        details["claimant_citizen_id"] = person.citizen_id
    if external_ref is not None:
        external_ref = f"portal:{person.id}:{external_ref}"[:80]
    return benefits.file_claim(session, principal, claim_type=claim_type, citizen_id=citizen_id, filed_on=on,
                               channel="portal", ground=ground if claim_type == ClaimType.lump_sum.value else None,
                               details=details, external_ref=external_ref)


def unemployment_claims(session: Session, principal: Principal) -> list[dict]:
    """The citizen's unemployment benefits being paid, each with its months and the monthly reports sent."""
    rows, _ = benefits.claims_page(session, principal, claim_type=ClaimType.unemployment.value, limit=20)
    answer = []
    for claim in rows:
        if claim.status not in benefits.IN_BENEFIT or not claim.first_month:
            continue
        first = claim.first_month
        months = [participation.add_months(first, i).strftime("%Y-%m") for i in range(claim.benefit_months or 0)]
        answer.append({"id": claim.id, "first_month": first.isoformat(), "benefit_months": claim.benefit_months,
                       "monthly_amount": claim.monthly_amount, "months": months,
                       "reports": benefits.job_search_reports(session, claim.id)})
    return answer


def report_job_search(session: Session, principal: Principal, claim_id: int, *, month: date, contacts: int,
                      note: str | None, on: date):
    """The monthly job-seeking report of the citizen's own unemployment benefit (on its timeline)."""
    _me(session, principal)
    return benefits.report_job_search(session, principal, claim_id, month=month, on=on, contacts=contacts,
                                      note=note)


# --- the bank account benefits are paid into ---------------------------------------------------------------------

def mask(account_number: str) -> str:
    """An account number as shown: only its last four characters (``•••• 6789``)."""
    return "•••• " + account_number[-4:]


def bank_account_view(account) -> dict:
    return {"id": account.id, "bank_bin": account.bank_bin, "account": mask(account.account_number),
            "holder_name": account.holder_name, "verified": account.verified,
            "opened_on": account.opened_on.isoformat(),
            "closed_on": account.closed_on.isoformat() if account.closed_on else None}


def bank_accounts(session: Session, principal: Principal) -> list[dict]:
    """The citizen's accounts, the open one first, each masked."""
    from ansinh.benefits.payments import service as payments

    person = _me(session, principal)
    accounts = payments.bank_accounts(session, principal, citizen_id=person.citizen_id)
    accounts.sort(key=lambda a: (a.closed_on is not None, -a.id))
    return [bank_account_view(a) for a in accounts]


def register_bank_account(session: Session, principal: Principal, *, bank_bin: str, account_number: str,
                          holder_name: str, on: date):
    """Register the account benefits are paid into: it must be in the citizen's own name as the registry has it
    (accents and case aside: the benefits payments' check); the account it replaces is closed. The same account
    again changes nothing."""
    from ansinh.benefits.payments import service as payments

    person = _me(session, principal)
    if " ".join((holder_name or "").split()) and search_key(holder_name) != search_key(person.full_name):
        raise ValidationFailed("holder_name", "The account must be in your own name, as on your record: {name}.",
                               name=person.full_name)
    account = payments.add_bank_account(session, principal, citizen_id=person.citizen_id, bank_bin=bank_bin,
                                        account_number=account_number, holder_name=holder_name, on=on)
    for other in payments.bank_accounts(session, principal, citizen_id=person.citizen_id):
        if other.id != account.id and other.closed_on is None:
            payments.close_bank_account(session, principal, other.id, on=on,
                                        reason=f"replaced by account {account.id} (portal)")
    return account


# --- voluntary social insurance and household health insurance ---------------------------------------------------

def voluntary_quote(session: Session, principal: Principal, *, income: int, months: int, start: date,
                    today: date) -> dict:
    """What voluntary social insurance on ``income`` costs per payment of ``months`` from ``start`` (the rules'
    calculator, with the support of the citizen's province)."""
    person = _me(session, principal)
    _check_months(months, today)
    return participation.voluntary_quote(income=income, months=months, group=SELF_SERVICE_GROUP, start=start,
                                         today=today, province=person.province_2025)


def _check_months(months: int, today: date) -> None:
    allowed = participation.voluntary_payment_periods(today)
    if months not in allowed:
        raise ValidationFailed("months", "Voluntary social insurance is paid for {accepted} months at once.",
                               accepted=", ".join(str(m) for m in allowed))


def enrol_voluntary(session: Session, principal: Principal, *, income: int, months: int, start: date,
                    today: date):
    """Enrol the citizen in voluntary social insurance from the month of ``start`` and bill the first payment at
    once (collection's billing, by the same rules as the month's run): returns (the coverage period, the bill)."""
    from ansinh.collection.billing import bill_payer

    person = _me(session, principal)
    _check_months(months, today)
    if participation.month_start(start) < participation.month_start(today):
        raise ValidationFailed("start", "The first month is this month or a later one.")
    office = session.get(OrgUnit, person.org_unit_id)
    period = participation.enrol_voluntary(session, person=person, income=income, months=months,
                                           group=SELF_SERVICE_GROUP, start=start, org_unit=office, today=today)
    session.flush()
    bill = bill_payer(session, payer_key=f"P:{person.id}", period=period.valid_from, today=today)
    return period, bill


def own_household(session: Session, principal: Principal) -> tuple[Household, list[Person]] | None:
    """The household the citizen heads, with its members; None when they head none."""
    person = _me(session, principal)
    household = session.scalar(select(Household).where(Household.head_person_id == person.id))
    if household is None:
        return None
    members = list(registry.household_members(session, household.id))
    registry.record_people_listed(session, principal, members, what="household_members",
                                  query={"household_id": household.id, "purpose": "portal_household_hi"})
    return household, members


def _chosen(session: Session, principal: Principal, member_ids) -> tuple[Household, list[Person]]:
    found = own_household(session, principal)
    if found is None:
        raise NotFound("You are not the head of a household.")
    household, members = found
    wanted = {int(i) for i in member_ids}
    chosen = [m for m in members if m.id in wanted]
    if not chosen or len(chosen) != len(wanted):
        raise ValidationFailed("members", "Choose the members of your household to insure.")
    return household, chosen


def household_quote(session: Session, principal: Principal, *, member_ids, start: date, months: int) -> dict:
    """What household health insurance for the chosen members costs (the decreasing household rates after the
    members already insured in the period)."""
    household, chosen = _chosen(session, principal, member_ids)
    return participation.household_hi_quote(session, household, len(chosen), start, months)


def renew_household(session: Session, principal: Principal, *, member_ids, start: date, months: int,
                    today: date) -> tuple[list[CoveragePeriod], list]:
    """Household health insurance for the chosen members from ``start`` (the day the household pays), billed at
    once: returns (the periods, the bills: one per month the members' cover starts in)."""
    from ansinh.collection.billing import bill_payer

    household, chosen = _chosen(session, principal, member_ids)
    periods = participation.enrol_household_hi(session, household=household, members=chosen, start=start,
                                               months=months, today=today)
    session.flush()
    months_billed = sorted({participation.month_start(p.valid_from) for p in periods})
    bills = [b for b in (bill_payer(session, payer_key=f"H:{household.id}", period=m, today=today)
                         for m in months_billed) if b is not None]
    return periods, bills


def reminders(session: Session, person: Person, *, on: date) -> list[dict]:
    """What comes due next (pure reads, no bill written): the next payment of an open voluntary enrolment (its
    month and the amount by the rules) and, for a household head, the end of the household's cover."""
    out = []
    voluntary = session.scalars(select(CoveragePeriod).where(
        CoveragePeriod.person_id == person.id, CoveragePeriod.scheme == Scheme.si_voluntary,
        CoveragePeriod.payer == Payer.self, CoveragePeriod.superseded_at.is_(None),
        (CoveragePeriod.valid_to.is_(None)) | (CoveragePeriod.valid_to > on))
        .order_by(CoveragePeriod.valid_from.desc()).limit(1)).first()
    if voluntary is not None and voluntary.insured_salary:
        step = voluntary.payment_months or 1
        start = participation.month_start(voluntary.valid_from)
        current = participation.month_start(on)
        elapsed = (current.year - start.year) * 12 + current.month - start.month
        ahead = max(elapsed + 1, 0)  # the next payment month after the current one (the start, if still ahead)
        due = participation.add_months(start, -(-ahead // step) * step)
        if voluntary.valid_to is None or due < voluntary.valid_to:
            try:
                quote = participation.voluntary_quote(income=voluntary.insured_salary, months=step,
                                                      group=voluntary.support_group or "other", start=due,
                                                      today=on, province=person.province_2025)
                out.append({"type": "voluntary", "period": due.strftime("%Y-%m"), "months": step,
                            "amount": quote["payable"]})
            except ValidationFailed:
                pass
    household = session.scalar(select(Household).where(Household.head_person_id == person.id))
    if household is not None:
        end = session.scalar(select(func.max(CoveragePeriod.valid_to)).where(
            CoveragePeriod.household_id == household.id, CoveragePeriod.scheme == Scheme.hi,
            CoveragePeriod.superseded_at.is_(None)))
        if end is not None:
            out.append({"type": "household", "ends_on": end.isoformat(), "ended": end <= on})
    return out


# --- notices ------------------------------------------------------------------------------------------------------

def notices(session: Session, principal: Principal) -> dict:
    """The citizen's notices, newest first, and how many are unread."""
    from ansinh.notices import service as notices_service

    person = _me(session, principal)
    rows = notices_service.list_notices(session, person_id=person.id)
    return {"notices": [notices_service.notice_view(n) for n in rows],
            "unread": notices_service.count_unread(session, person_id=person.id)}


def unread_notices(session: Session, person: Person) -> int:
    from ansinh.notices.service import count_unread

    return count_unread(session, person_id=person.id)


def mark_notice_read(session: Session, principal: Principal, notice_id: int) -> None:
    """Mark one of the citizen's notices read (another's is not found)."""
    from ansinh.notices.service import mark_read

    mark_read(session, notice_id, person_id=_me(session, principal).id)


# --- health insurance visits ---------------------------------------------------------------------------------------

def visits(session: Session, principal: Principal) -> dict:
    """The citizen's health insurance visits (the facilities' claims, current version), newest first: facility,
    dates, total cost, what the fund paid (claimed less what the appraisal disallowed) and what they paid
    themselves (co-payment and what the insurance does not cover); with the totals."""
    from ansinh.cards.models import MedicalFacility
    from ansinh.claims.models import Claim

    person = _me(session, principal)
    rows = session.execute(select(Claim, MedicalFacility.name).outerjoin(
        MedicalFacility, MedicalFacility.code == Claim.facility_code).where(
        Claim.person_id == person.id, Claim.superseded_at.is_(None))
        .order_by(Claim.arrived_at.desc(), Claim.id.desc()).limit(MAX_VISITS)).all()
    items = []
    for claim, facility in rows:
        record_read(session, "claim", claim.id, org_unit_id=claim.org_unit_id, person_ref=person.citizen_id)
        fund = max(int(claim.fund_claimed) - int(claim.disallowed or 0), 0)
        items.append({"id": claim.id, "facility_code": claim.facility_code, "facility": facility,
                      "arrived_on": claim.arrived_at.date().isoformat(),
                      "discharged_on": claim.discharged_at.date().isoformat() if claim.discharged_at else None,
                      "inpatient": (claim.treatment_days or 0) > 0 and claim.admitted_at is not None,
                      "diagnosis": claim.main_icd, "total_cost": int(claim.total_hospital),
                      "fund_paid": fund, "patient_paid": int(claim.patient_copay) + int(claim.patient_pays),
                      "state": claim.state})
    totals = {key: sum(v[key] for v in items) for key in ("total_cost", "fund_paid", "patient_paid")}
    return {"visits": items, "totals": totals}

