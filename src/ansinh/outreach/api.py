"""HTTP routes of outreach (agency staff only, within their org-unit subtree; a province asked for must be their
own unless they are national staff): the people without health insurance (JSON, paged, and the Excel list), the
matching of the tax authority's files and opening an inspection case from a finding, the renewals due next month
(JSON, Excel, reminders), the collection agents with their collections and commission, and the sponsors of donated
cards with the people they pay for."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import Day, Offset, RecordId
from ansinh.collection.debtors import attachment
from ansinh.errors import PermissionDenied, ValidationFailed
from ansinh.i18n import N_
from ansinh.outreach import agents, renewals, service, sponsors, tax
from ansinh.registry.import_api import in_import_lane
from ansinh.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/outreach", tags=["outreach"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
    422: {"model": ErrorBody}})
Lister = Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))]
Matcher = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
Inspector = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Province = Annotated[str | None, Query(max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$",
                                       description="2025 province code (officers: their own).")]
Commune = Annotated[str | None, Query(max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$",
                                      description="A commune (place code).")]


def _staff(principal: Principal) -> None:
    if not principal.is_agency_staff:
        raise PermissionDenied(N_("Outreach lists are for the agency's staff."))


def _listing(session, principal: Principal, on: date | None, province: str | None, commune: str | None):
    _staff(principal)
    return service.uncovered_people(session, principal, on=on or clock.today(), province=province, commune=commune)


@router.get("/uncovered")
def uncovered(session: DbSession, principal: Lister, on: Day | None = None, province: Province = None,
              commune: Commune = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              offset: Annotated[Offset, Query()] = 0) -> dict:
    """The people without health insurance on ``on`` (default today) in the caller's scope: counts by group and
    by commune, and the people (paged) with their group and what they could join. Audited."""
    listing = _listing(session, principal, on, province, commune)
    result = listing.to_json(limit=limit, offset=offset)
    service.audit_listing(session, principal, listing, result["rows"], what="outreach.uncovered")
    return result


@router.get("/uncovered.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The list for collection agents (Excel)."}})
def uncovered_xlsx(session: DbSession, principal: Lister, on: Day | None = None, province: Province = None,
                   commune: Commune = None) -> Response:
    """The same list as Excel, every person (audited as an export)."""
    listing = _listing(session, principal, on, province, commune)
    service.audit_listing(session, principal, listing, listing.page(listing.total, 0), what="outreach.uncovered.xlsx")
    name = f"uncovered-{province or 'scope'}{'-' + commune if commune else ''}-{listing.on.isoformat()}.xlsx"
    return Response(service.uncovered_xlsx(listing), media_type=XLSX,
                    headers={"Content-Disposition": attachment(name)})


@router.post("/tax-match", responses={200: {"description": "the findings (bad rows named, left out)"},
                                      422: {"description": "a file could not be read or lacks its columns"}})
async def tax_match(request: Request, session: DbSession, principal: Matcher,
                    enterprises: Annotated[UploadFile, File(description="CSV (UTF-8) or .xlsx: tax_code, name, "
                                                                        "address, employee_count")],
                    withholdings: Annotated[UploadFile | None, File(description="CSV or .xlsx: employer_tax_code, "
                                                                                "citizen_id, month (YYYY-MM)")]
                    = None,
                    on: Annotated[Day | None, Form(description="Date of the declared workers (default today).")]
                    = None) -> JSONResponse:
    """Match the tax authority's enterprises (and income tax withheld per worker) with the registry: enterprises
    not registered, employers declaring fewer workers than the tax data show, workers with tax withheld but no
    compulsory social insurance that month. Nothing is written but the audit."""
    _staff(principal)
    day = on or clock.today()
    if day > clock.today():
        raise ValidationFailed("on", "The date {value} is after today.", value=day)
    first = await enterprises.read()
    second = await withholdings.read() if withholdings is not None else None

    def work() -> JSONResponse:
        report = tax.tax_match(session, principal, enterprises=first, enterprises_name=enterprises.filename or "",
                               on=day, withholdings=second,
                               withholdings_name=(withholdings.filename or "") if withholdings is not None else None)
        tax.audit_match(session, principal, report)
        session.commit()
        return JSONResponse(report.to_json(), status_code=200 if report.status == "done" else 422)

    return await in_import_lane(request, work)


class CaseIn(BaseModel):
    tax_code: str = Field(min_length=10, max_length=14, pattern=r"^[0-9-]{10,14}$",
                          description="The employer's tax code (a finding of the match).")
    on: Day | None = Field(None, description="The day the case opens (default today).")
    findings: str | None = Field(None, max_length=4000, description="What the match found (the case's findings).")


@router.post("/tax-match/cases", status_code=201,
             responses={200: {"description": "the employer's open case (nothing opened)"}})
def open_case(body: CaseIn, session: DbSession, principal: Inspector) -> JSONResponse:
    """Open an inspection case for a registered employer of the caller's scope from a finding; its open case, if
    it has one, is the answer (200: nothing changed)."""
    _staff(principal)
    day = body.on or clock.today()
    if day > clock.today():
        raise ValidationFailed("on", "The date {value} is after today.", value=day)
    case, opened = tax.open_inspection(session, principal, tax_code=body.tax_code, on=day, findings=body.findings)
    return JSONResponse({"case_id": case.id, "employer_id": case.employer_id, "opened": opened,
                         "opened_on": case.opened_on.isoformat(), "status": case.status,
                         "findings": case.findings}, status_code=201 if opened else 200)


# --- renewals ------------------------------------------------------------------------------------------------

Month = Annotated[str, Query(max_length=7, pattern=r"^\d{4}-\d{2}$", description="The month of the list (YYYY-MM): "
                                                                                 "what ends the month after it.")]


def _renewals(session, principal: Principal, province: str | None, month: str, commune: str | None):
    from ansinh.collection.billing_api import parse_period

    return renewals.renewals_due(session, principal, province=province, month=parse_period(month, "month"),
                                 commune=commune)


@router.get("/renewals")
def renewals_list(session: DbSession, principal: Lister, month: Month, province: Province = None,
                  commune: Commune = None) -> dict:
    """The HI cards and voluntary SI payment cycles of the province that end the month after ``month``, by
    commune (audited)."""
    listing = _renewals(session, principal, province, month, commune)
    renewals.audit_renewals(session, principal, listing, what="outreach.renewals")
    return listing.to_json()


@router.get("/renewals.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The renewals list for the agents (Excel)."}})
def renewals_xlsx(session: DbSession, principal: Lister, month: Month, province: Province = None,
                  commune: Commune = None) -> Response:
    listing = _renewals(session, principal, province, month, commune)
    renewals.audit_renewals(session, principal, listing, what="outreach.renewals.xlsx")
    name = f"renewals-{listing.province}{'-' + commune if commune else ''}-{month}.xlsx"
    return Response(renewals.renewals_xlsx(listing), media_type=XLSX,
                    headers={"Content-Disposition": attachment(name)})


class RenewalNoticesIn(BaseModel):
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="The month of the list (YYYY-MM).")
    province: str | None = Field(None, max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$")
    commune: str | None = Field(None, max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$")


@router.post("/renewals/notices")
def renewal_notices(body: RenewalNoticesIn, session: DbSession, principal: Inspector) -> dict:
    """Remind every person of the list (a notice each, once per person, card or cycle and month: a second call
    sends nothing)."""
    listing = _renewals(session, principal, body.province, body.month, body.commune)
    renewals.audit_renewals(session, principal, listing, what="outreach.renewals.notices")
    return {"month": body.month, "province": listing.province, "total": len(listing.rows),
            **renewals.send_reminders(session, listing, on=clock.today())}


# --- collection agents ---------------------------------------------------------------------------------------

class AgentIn(BaseModel):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(post_office|commune_agent)$")
    province: str | None = Field(None, max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$")
    commune: str | None = Field(None, max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$")


class CollectionIn(BaseModel):
    reference: str = Field(min_length=9, max_length=32, description="The bill's reference.")
    amount: int = Field(gt=0, le=10**12, description="Dong collected.")
    collected_on: Day = Field(description="The day the agent took the money.")
    receipt: str = Field(min_length=1, max_length=30, description="The agent's receipt number.")


def _months(since: str | None, until: str | None) -> tuple[date, date]:
    from ansinh.collection.billing_api import parse_period

    today = clock.today()
    last = parse_period(until, "until") if until else date(today.year, today.month, 1)
    first = parse_period(since, "since") if since else date(last.year, 1, 1)
    return first, last


OptionalMonth = Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]


@router.get("/agents")
def agents_list(session: DbSession, principal: Lister, province: Province = None) -> list[dict]:
    """The collection agents of the caller's scope."""
    return [agents.agent_json(a) for a in agents.list_agents(session, principal, province=province)]


@router.post("/agents", status_code=201)
def agent_create(body: AgentIn, session: DbSession, principal: Inspector) -> dict:
    agent = agents.create_agent(session, principal, agents.AgentData(
        code=body.code, name=body.name, kind=body.kind, province=body.province, commune=body.commune))
    return agents.agent_json(agent)


@router.get("/agents/{agent_id}")
def agent_detail(agent_id: RecordId, session: DbSession, principal: Lister, since: OptionalMonth = None,
                 until: OptionalMonth = None) -> dict:
    """An agent, its latest collections and its commission per month and scheme."""
    agent = agents.get_agent(session, principal, agent_id)
    first, last = _months(since, until)
    rows = agents.commissions(session, principal, since=first, until=last, province=agent.province_2025,
                              agent_id=agent.id)
    return {**agents.agent_json(agent), "commissions": [agents.commission_json(r) for r in rows],
            "collections": [{**c, "collected_on": c["collected_on"].isoformat()}
                            for c in agents.collections_of(session, agent)]}


@router.post("/agents/{agent_id}/collections", status_code=201,
             responses={200: {"description": "the same receipt recorded already (nothing changed)"}})
def agent_collect(agent_id: RecordId, body: CollectionIn, session: DbSession, principal: Inspector) -> JSONResponse:
    """Money the agent took for a voluntary SI or household HI bill: recorded as a payment of the bill's payer
    (matched, allocated) and counted for the agent's commission."""
    agent = agents.get_agent(session, principal, agent_id)
    collection, new = agents.record_collection(session, principal, agent, reference=body.reference,
                                               amount=body.amount, collected_on=body.collected_on,
                                               receipt=body.receipt, today=clock.today())
    return JSONResponse({"id": collection.id, "payment_id": collection.payment_id, "bill_id": collection.bill_id,
                         "scheme": collection.scheme, "amount": collection.amount, "created": new},
                        status_code=201 if new else 200)


@router.get("/commissions")
def commissions(session: DbSession, principal: Lister, province: Province = None, since: OptionalMonth = None,
                until: OptionalMonth = None) -> dict:
    """Per agent, month and scheme: amount collected and commission (the rate in force on the month)."""
    first, last = _months(since, until)
    rows = agents.commissions(session, principal, since=first, until=last, province=province)
    return {"since": f"{first:%Y-%m}", "until": f"{last:%Y-%m}",
            "rows": [agents.commission_json(r) for r in rows],
            "total_collected": sum(r["collected"] for r in rows),
            "total_commission": sum(r["commission"] for r in rows)}


# --- sponsors ------------------------------------------------------------------------------------------------

class SponsorIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(organisation|local_budget)$")
    province: str | None = Field(None, max_length=8, pattern=r"^[0-9A-Za-z]{1,8}$")
    tax_code: str | None = Field(None, max_length=14, pattern=r"^[0-9-]{10,14}$")


class SponsorshipIn(BaseModel):
    citizen_id: str = Field(pattern=r"^\d{12}$")
    scheme: str = Field(pattern="^(household_hi|student_hi)$")
    from_month: str = Field(pattern=r"^\d{4}-\d{2}$")
    to_month: str = Field(pattern=r"^\d{4}-\d{2}$")


@router.get("/sponsors")
def sponsors_list(session: DbSession, principal: Lister, province: Province = None) -> list[dict]:
    """The sponsors of the caller's scope with what each was billed, paid and owes."""
    return sponsors.sponsor_accounts(session, principal, province=province)


@router.post("/sponsors", status_code=201)
def sponsor_create(body: SponsorIn, session: DbSession, principal: Inspector) -> dict:
    sponsor = sponsors.create_sponsor(session, principal, sponsors.SponsorData(
        name=body.name, kind=body.kind, province=body.province, tax_code=body.tax_code), actor=principal.username)
    return sponsors.sponsor_json(sponsor)


def _sponsor_view(session, principal: Principal, sponsor) -> dict:
    from ansinh.registry.service import record_people_listed

    people = sponsors.sponsorships_of(session, sponsor)
    record_people_listed(session, principal, [SimpleNamespace(id=r["person_id"], si_number=r["si_number"])
                                              for r in people], what="outreach.sponsorships", total=len(people),
                         query={"sponsor_id": sponsor.id})
    account = sponsors.sponsor_accounts(session, principal, province=sponsor.province_2025, sponsor_id=sponsor.id)
    return {**sponsors.sponsor_json(sponsor), **(account[0] if account else {}),
            "sponsorships": [{**r, "from_month": f"{r['from_month']:%Y-%m}", "to_month": f"{r['to_month']:%Y-%m}",
                              "valid_from": r["valid_from"].isoformat() if r["valid_from"] else None,
                              "valid_to": r["valid_to"].isoformat() if r["valid_to"] else None} for r in people],
            "bills": [{**b, "period": f"{b['period']:%Y-%m}", "due_date": b["due_date"].isoformat()}
                      for b in sponsors.sponsor_bills_of(session, sponsor)]}


@router.get("/sponsors/{sponsor_id}")
def sponsor_detail(sponsor_id: RecordId, session: DbSession, principal: Lister) -> dict:
    """A sponsor, the people it pays for (audited), its bills and account."""
    return _sponsor_view(session, principal, sponsors.get_sponsor(session, principal, sponsor_id))


@router.post("/sponsors/{sponsor_id}/sponsorships", status_code=201)
def sponsorship_create(sponsor_id: RecordId, body: SponsorshipIn, session: DbSession, principal: Inspector) -> dict:
    """The sponsor pays a person's household HI or student HI for these months (the coverage period is created;
    the billing run bills the sponsor)."""
    from ansinh.collection.billing_api import parse_period

    sponsor = sponsors.get_sponsor(session, principal, sponsor_id)
    made = sponsors.sponsor_person(session, principal, sponsor, citizen_id=body.citizen_id, scheme=body.scheme,
                                   from_month=parse_period(body.from_month, "from_month"),
                                   to_month=parse_period(body.to_month, "to_month"), actor=principal.username,
                                   today=clock.today())
    return {"id": made.id, "sponsor_id": sponsor.id, "person_id": made.person_id, "scheme": made.scheme,
            "from_month": f"{made.from_month:%Y-%m}", "to_month": f"{made.to_month:%Y-%m}",
            "coverage_period_id": made.coverage_period_id}
