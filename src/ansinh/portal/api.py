"""The citizen app's back end, ``/api/v1/me``: the signed-in citizen's own records and nothing else.

Who: a citizen's account (``own_person``). No route takes a person's identifier: every answer is about the person
the account's citizen ID names (:func:`ansinh.registry.service.own_person`); any other account gets 404. Each read is
audited by the service. Dates are the application's clock (:func:`ansinh.clock.today`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId
from ansinh.errors import NotFound
from ansinh.portal import actions, service
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/me", tags=["citizen"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}})

Citizen = Annotated[Principal, Depends(require(Permission.dashboard_view, scope=Scope.own_person))]
Filer = Annotated[Principal, Depends(require(Permission.benefits_file, scope=Scope.own_person))]


@router.get("/person")
def my_person(session: DbSession, principal: Citizen) -> dict:
    """The signed-in citizen's personal details."""
    return service.person_view(session, service.me(session, principal))


@router.get("/contributions")
def my_contributions(session: DbSession, principal: Citizen) -> dict:
    """The contribution history month by month per scheme (``si_compulsory``, ``si_voluntary``, ``ui``, ``hi``)
    with salary, employer and who paid; the total months of social insurance; the gaps."""
    return service.contributions(session, principal, on=clock.today())


@router.get("/card")
def my_card(session: DbSession, principal: Citizen) -> dict:
    """The current health insurance card with its QR content and the five-years date; 404 when there is none."""
    found = service.card(session, principal, on=clock.today())
    if found is None:
        raise NotFound("You have no health insurance card.")
    return found


@router.get("/claims")
def my_claims(session: DbSession, principal: Citizen) -> dict:
    """The citizen's benefit claims with status, deadline, decision number and decision PDF link."""
    return {"claims": service.claims(session, principal, on=clock.today())}


@router.get("/bills")
def my_bills(session: DbSession, principal: Citizen) -> dict:
    """Voluntary SI bills and, for a household head, household HI bills, with the VietQR payment content of what is
    outstanding."""
    items = service.bills(session, principal, on=clock.today())
    return {"bills": items, "outstanding": sum(b["outstanding"] for b in items)}


# --- what the citizen does -----------------------------------------------------------------------------------------

class FileMyClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claim_type: Literal["lump_sum", "maternity", "funeral"] = Field(alias="type")
    ground: str | None = Field(None, max_length=40, description="Lump sum: the ground (see /api/v1/me/claims/preview).")
    details: dict = Field(default_factory=dict, description="The benefit's details (as the benefits API's).")
    deceased_citizen_id: str | None = Field(None, pattern=r"^\d{12}$",
                                            description="Funeral grant: the household member who died.")
    submission_id: str | None = Field(None, max_length=40, description="The same id again files nothing twice.")


class JobSearchReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: date = Field(description="Any day of the month reported.")
    contacts: int = Field(ge=0, le=100, description="Employers contacted in the month.")
    note: str | None = Field(None, max_length=500)


class BankAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bank_bin: str = Field(max_length=8)
    account_number: str = Field(max_length=40)
    holder_name: str = Field(max_length=120)


class VoluntaryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    income: int = Field(ge=0, le=10**10, description="The monthly income chosen (dong).")
    months: int = Field(ge=1, le=12, description="Months paid at once.")
    start: date = Field(description="The first month (any day of it).")
    confirm: bool = Field(False, description="False: the quote only; true: enrol and bill.")


class HouseholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    members: list[int] = Field(min_length=1, max_length=30, description="Person ids of the household's members.")
    start: date = Field(description="The day the household pays (cover starts then, or after the waiting period).")
    months: int = Field(12, description="3, 6 or 12.")
    confirm: bool = Field(False, description="False: the quote only; true: enrol and bill.")


def _bill(session, principal, bill) -> dict | None:
    if bill is None:
        return None
    found = [b for b in service.bills(session, principal, on=clock.today()) if b["id"] == bill.id]
    return found[0] if found else None


@router.get("/claims/preview")
def my_claim_preview(session: DbSession, principal: Citizen) -> dict:
    """What the citizen's record supports today for the benefits filed here (lump sum, maternity, funeral grant),
    the lump-sum grounds in force, and the household members a funeral grant may be claimed for."""
    return actions.claim_preview(session, principal, on=clock.today())


@router.post("/claims", status_code=201)
def file_my_claim(session: DbSession, principal: Filer, body: FileMyClaim) -> dict:
    """File a claim electronically (channel ``portal``): a lump sum with its ground, maternity filed directly, or
    a funeral grant for a deceased member of the household. The claim shows in ``/api/v1/me/claims``."""
    claim, new = actions.file_claim(session, principal, claim_type=body.claim_type, on=clock.today(),
                                    ground=body.ground, details=body.details,
                                    deceased_citizen_id=body.deceased_citizen_id, external_ref=body.submission_id)
    found = [c for c in service.claims(session, principal, on=clock.today()) if c["id"] == claim.id]
    return {**found[0], "new": new}


@router.get("/unemployment")
def my_unemployment(session: DbSession, principal: Citizen) -> dict:
    """The citizen's unemployment benefits being paid, their months and the monthly job-seeking reports sent."""
    return {"claims": actions.unemployment_claims(session, principal)}


@router.post("/claims/{claim_id}/job-search-reports", status_code=201)
def report_job_search(session: DbSession, principal: Filer, claim_id: RecordId, body: JobSearchReport) -> dict:
    """The monthly report of job seeking during the citizen's own unemployment benefit (once per month)."""
    event = actions.report_job_search(session, principal, claim_id, month=body.month, contacts=body.contacts,
                                      note=body.note, on=clock.today())
    return {"claim_id": claim_id, **event.details, "on": event.on.isoformat()}


@router.get("/bank-accounts")
def my_bank_accounts(session: DbSession, principal: Citizen) -> dict:
    """The accounts benefits are paid into, masked; the open one first."""
    return {"accounts": actions.bank_accounts(session, principal)}


@router.post("/bank-accounts", status_code=201)
def register_my_bank_account(session: DbSession, principal: Citizen, body: BankAccountIn) -> dict:
    """Register the account benefits are paid into (in the citizen's own name as the registry has it); the
    account it replaces is closed."""
    account = actions.register_bank_account(session, principal, bank_bin=body.bank_bin,
                                            account_number=body.account_number, holder_name=body.holder_name,
                                            on=clock.today())
    return actions.bank_account_view(account)


@router.post("/voluntary")
def enrol_voluntary(session: DbSession, principal: Citizen, body: VoluntaryIn) -> dict:
    """Voluntary social insurance: the quote (``confirm`` false), or the enrolment with its first bill and its
    VietQR payment content (``confirm`` true)."""
    today = clock.today()
    quote = actions.voluntary_quote(session, principal, income=body.income, months=body.months, start=body.start,
                                    today=today)
    if not body.confirm:
        return {"quote": quote}
    period, bill = actions.enrol_voluntary(session, principal, income=body.income, months=body.months,
                                           start=body.start, today=today)
    return {"quote": quote, "enrolled_from": period.valid_from.isoformat(), "bill": _bill(session, principal, bill)}


@router.get("/household")
def my_household(session: DbSession, principal: Citizen) -> dict:
    """The household the citizen heads, with its members; 404 when they head none."""
    found = actions.own_household(session, principal)
    if found is None:
        raise NotFound("You are not the head of a household.")
    household, members = found
    return {"code": household.code, "members": [{"id": m.id, "full_name": m.full_name,
                                                  "date_of_birth": m.date_of_birth.isoformat(),
                                                  "relation_to_head": m.relation_to_head} for m in members]}


@router.post("/household")
def renew_household(session: DbSession, principal: Citizen, body: HouseholdIn) -> dict:
    """Household health insurance for chosen members: the quote (``confirm`` false), or the enrolment with its
    bill(s) and their VietQR payment content (``confirm`` true)."""
    quote = actions.household_quote(session, principal, member_ids=body.members, start=body.start,
                                    months=body.months)
    quote = {**quote, "end": quote["end"].isoformat()}
    if not body.confirm:
        return {"quote": quote}
    periods, bills = actions.renew_household(session, principal, member_ids=body.members, start=body.start,
                                             months=body.months, today=clock.today())
    return {"quote": quote, "periods": [{"person_id": p.person_id, "valid_from": p.valid_from.isoformat(),
                                         "valid_to": p.valid_to.isoformat()} for p in periods],
            "bills": [_bill(session, principal, b) for b in bills]}


@router.get("/reminders")
def my_reminders(session: DbSession, principal: Citizen) -> dict:
    """What comes due next: the next voluntary payment and the end of the household's cover."""
    return {"reminders": actions.reminders(session, service.me(session, principal), on=clock.today())}


@router.get("/notices")
def my_notices(session: DbSession, principal: Citizen) -> dict:
    """The citizen's notices, newest first, in the reader's language, and how many are unread."""
    return actions.notices(session, principal)


@router.post("/notices/{notice_id}/read", status_code=204)
def read_notice(session: DbSession, principal: Citizen, notice_id: RecordId) -> None:
    """Mark one of the citizen's notices read (another's: 404)."""
    actions.mark_notice_read(session, principal, notice_id)


@router.get("/visits")
def my_visits(session: DbSession, principal: Citizen) -> dict:
    """Health insurance visits: facility, dates, total cost, what the fund paid, what the citizen paid; totals."""
    return actions.visits(session, principal)
