"""Web pages of outreach, for the agency's staff of a province (national staff choose the province): the people
not covered (filters, counts, a paged list, the Excel list), the tax match (upload the tax authority's files, read
the findings, open an inspection case from one), the renewals due next month (the agents' Excel list, reminders to
the citizens), the collection agents with their collections and commission, and the sponsors of donated cards.

Thin routes over the services of :mod:`ansinh.outreach`; every list of people is audited as the API's.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId, check_day
from ansinh.collection.debtors import attachment
from ansinh.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.outreach import agents, renewals, service, sponsors, tax
from ansinh.outreach.scope import own_province
from ansinh.registry.places import province_names
from ansinh.web.labels import register_labels
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.registry_read, scope=Scope.org_subtree))]
Matcher = Annotated[Principal, Depends(require(Permission.participation_read, scope=Scope.org_subtree))]
Manager = Annotated[Principal, Depends(require(Permission.participation_manage, scope=Scope.org_subtree))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 50
_Code = Annotated[str, Query(max_length=8)]
_Text = Annotated[str, Form(max_length=200)]

register_nav_item(NavItem("outreach_uncovered", N_("People not covered"), "/outreach/uncovered",
                          Permission.registry_read, order=650, agency_only=True, group="outreach"))
register_nav_item(NavItem("outreach_renewals", N_("Renewals"), "/outreach/renewals", Permission.registry_read,
                          order=655, agency_only=True, group="outreach"))
register_nav_item(NavItem("outreach_tax", N_("Tax match"), "/outreach/tax-match", Permission.participation_read,
                          order=660, agency_only=True, group="outreach"))
register_nav_item(NavItem("outreach_agents", N_("Collection agents"), "/outreach/agents", Permission.registry_read,
                          order=665, agency_only=True, group="outreach"))
register_nav_item(NavItem("outreach_sponsors", N_("Sponsors"), "/outreach/sponsors", Permission.registry_read,
                          order=670, agency_only=True, group="outreach"))
register_labels({f"outreach_group.{k}": v for k, v in service.GROUP_LABELS.items()})
register_labels({f"outreach_scheme.{k}": v for k, v in service.SCHEME_LABELS.items()})
register_labels({f"renewal_kind.{k}": v for k, v in renewals.KIND_LABELS.items()})
register_labels({f"agent_kind.{k}": v for k, v in agents.AGENT_KIND_LABELS.items()})
register_labels({f"agent_scheme.{k}": v for k, v in agents.AGENT_SCHEME_LABELS.items()})
register_labels({f"sponsor_kind.{k}": v for k, v in sponsors.SPONSOR_KIND_LABELS.items()})
register_labels({f"sponsored_scheme.{k}": v for k, v in sponsors.SPONSORED_SCHEME_LABELS.items()})


def _status(exc: DomainError) -> int:
    return getattr(exc, "status_code", 422)


def _error(exc: DomainError) -> dict[str, str]:
    field = exc.field if isinstance(exc, ValidationFailed) and exc.field else "form"
    return {field: exc.translated(gettext)}


def _month_text(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _parse_month(text: str, field: str) -> date:
    from ansinh.collection.billing_api import parse_period

    return parse_period((text or "").strip(), field)


def _parse_day(text: str, field: str) -> date:
    try:
        return check_day(date.fromisoformat((text or "").strip()))
    except ValueError:
        raise ValidationFailed(field, "A date is written YYYY-MM-DD; got {value}.", value=text) from None


def _common(session: Session, principal: Principal, province: str) -> dict:
    """The province choice: national staff pick one; an officer's is fixed."""
    own = own_province(session, principal)
    names = province_names(session)
    return {"national": own is None, "province": (province or "").strip() or own or "", "names": names,
            "provinces": sorted(names.items())}


# --- people not covered ---------------------------------------------------------------------------------------

def _uncovered_context(request: Request, session: Session, principal: Principal, on: str, province: str,
                       commune: str, group: str, page: int) -> tuple[dict, int]:
    context = {**_common(session, principal, province), "on": on or clock.today().isoformat(), "commune": commune,
               "group": group if group in service.GROUPS else "", "groups": service.GROUPS, "errors": {},
               "listing": None, "rows": [], "page": 1, "pages": 1}
    try:
        day = _parse_day(context["on"], "on")
        if day > clock.today():
            raise ValidationFailed("on", "The date {value} is after today.", value=day)
        listing = service.uncovered_people(session, principal, on=day, province=context["province"] or None,
                                           commune=commune.strip() or None)
    except (ValidationFailed, PermissionDenied) as exc:
        context["errors"] = _error(exc)
        return context, _status(exc)
    rows = listing.rows
    if context["group"]:
        import polars as pl

        rows = rows.filter(pl.col("group") == context["group"])
    pages = max(1, -(-rows.height // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = rows.slice((page - 1) * PAGE_SIZE, PAGE_SIZE).to_dicts()
    service.audit_listing(session, principal, listing, shown, what="outreach.uncovered")
    query = "&".join(f"{k}={v}" for k, v in (("on", context["on"]), ("province", context["province"]),
                                              ("commune", commune), ("group", context["group"])) if v)
    context.update(listing=listing, rows=shown, page=page, pages=pages, query=query, filtered_total=rows.height,
                   by_group=listing.by_group(), by_commune=listing.by_commune())
    return context, 200


@router.get("/outreach/uncovered")
def uncovered_page(request: Request, session: DbSession, principal: Reader, on: Annotated[str, Query(max_length=10)]
                   = "", province: _Code = "", commune: _Code = "", group: Annotated[str, Query(max_length=20)] = "",
                   page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    context, status = _uncovered_context(request, session, principal, on, province, commune, group, page)
    return render(request, "outreach/uncovered.html", context, status_code=status)


@router.get("/outreach/uncovered.xlsx")
def uncovered_download(request: Request, session: DbSession, principal: Reader,
                       on: Annotated[str, Query(max_length=10)] = "", province: _Code = "",
                       commune: _Code = "") -> Response:
    day = _parse_day(on or clock.today().isoformat(), "on")
    listing = service.uncovered_people(session, principal, on=day, province=province.strip() or None,
                                       commune=commune.strip() or None)
    service.audit_listing(session, principal, listing, listing.page(listing.total, 0), what="outreach.uncovered.xlsx")
    name = f"uncovered-{province or 'scope'}{'-' + commune if commune else ''}-{day.isoformat()}.xlsx"
    return Response(service.uncovered_xlsx(listing), media_type=XLSX,
                    headers={"Content-Disposition": attachment(name)})


# --- tax match ------------------------------------------------------------------------------------------------

@router.get("/outreach/tax-match")
def tax_match_page(request: Request, session: DbSession, principal: Matcher) -> Response:
    return render(request, "outreach/tax_match.html", {"report": None, "errors": {},
                                                      "on": clock.today().isoformat(),
                                                      "can_open": principal.has(Permission.participation_manage)})


@router.post("/outreach/tax-match")
async def tax_match_upload(request: Request, session: DbSession, principal: Matcher,
                           enterprises: Annotated[UploadFile, File()],
                           withholdings: Annotated[UploadFile | None, File()] = None,
                           on: Annotated[str, Form(max_length=10)] = "",
                           csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    from ansinh.registry.import_api import in_import_lane

    first = await enterprises.read()
    second = await withholdings.read() if withholdings is not None and withholdings.filename else None
    context = {"report": None, "errors": {}, "on": on or clock.today().isoformat(),
               "can_open": principal.has(Permission.participation_manage)}

    def work() -> Response:
        try:
            if not principal.is_agency_staff:
                raise PermissionDenied(N_("Outreach lists are for the agency's staff."))
            day = _parse_day(context["on"], "on")
            if day > clock.today():
                raise ValidationFailed("on", "The date {value} is after today.", value=day)
            report = tax.tax_match(session, principal, enterprises=first, enterprises_name=enterprises.filename or "",
                                   on=day, withholdings=second,
                                   withholdings_name=withholdings.filename if second is not None else None)
        except (ValidationFailed, PermissionDenied) as exc:
            context["errors"] = _error(exc)
            return render(request, "outreach/tax_match.html", context, status_code=_status(exc))
        tax.audit_match(session, principal, report)
        session.commit()
        lines = report.error_lines("vi" if getattr(request.state, "locale", "vi") == "vi" else "en")
        context.update(report=report, error_lines=lines, finding_text=tax.finding_text)
        return render(request, "outreach/tax_match.html", context,
                      status_code=200 if report.status == "done" else 422)

    return await in_import_lane(request, work)


@router.post("/outreach/tax-match/cases")
def tax_match_case(request: Request, session: DbSession, principal: Manager,
                   tax_code: Annotated[str, Form(max_length=14)] = "",
                   findings: Annotated[str, Form(max_length=4000)] = "",
                   csrf_token: Annotated[str, Form()] = "") -> Response:
    """Open an inspection case for the employer of a finding (its open case, if it has one)."""
    verify_csrf(request, csrf_token)
    if not principal.is_agency_staff:
        raise PermissionDenied(N_("Outreach lists are for the agency's staff."))
    case, _opened = tax.open_inspection(session, principal, tax_code=tax_code.strip(), on=clock.today(),
                                        findings=findings.strip() or None)
    session.commit()
    return RedirectResponse(f"/collection/inspections/{case.id}", status_code=303)


# --- renewals -------------------------------------------------------------------------------------------------

def _renewals_context(session: Session, principal: Principal, month: str, province: str, commune: str) -> tuple:
    context = {**_common(session, principal, province), "month": month or _month_text(clock.today()),
               "commune": commune, "errors": {}, "listing": None, "sent": None,
               "can_notify": principal.has(Permission.participation_manage)}
    if context["national"] and not context["province"]:
        context["choose_province"] = True  # national staff: a list is of one province
        return context, None, 200
    try:
        listing = renewals.renewals_due(session, principal, province=context["province"] or None,
                                        month=_parse_month(context["month"], "month"), commune=commune or None)
    except (ValidationFailed, PermissionDenied) as exc:
        context["errors"] = _error(exc)
        return context, None, _status(exc)
    context.update(listing=listing, counts=listing.counts(), by_commune=listing.by_commune(),
                   query="&".join(f"{k}={v}" for k, v in (("month", context["month"]),
                                                          ("province", context["province"]),
                                                          ("commune", commune)) if v))
    return context, listing, 200


@router.get("/outreach/renewals")
def renewals_page(request: Request, session: DbSession, principal: Reader,
                  month: Annotated[str, Query(max_length=7)] = "", province: _Code = "",
                  commune: _Code = "") -> Response:
    context, listing, status = _renewals_context(session, principal, month, province, commune)
    if listing is not None:
        renewals.audit_renewals(session, principal, listing, what="outreach.renewals")
    return render(request, "outreach/renewals.html", context, status_code=status)


@router.get("/outreach/renewals.xlsx")
def renewals_download(request: Request, session: DbSession, principal: Reader,
                      month: Annotated[str, Query(max_length=7)] = "", province: _Code = "",
                      commune: _Code = "") -> Response:
    listing = renewals.renewals_due(session, principal, province=province or None,
                                    month=_parse_month(month, "month"), commune=commune or None)
    renewals.audit_renewals(session, principal, listing, what="outreach.renewals.xlsx")
    name = f"renewals-{listing.province}{'-' + commune if commune else ''}-{month}.xlsx"
    return Response(renewals.renewals_xlsx(listing), media_type=XLSX,
                    headers={"Content-Disposition": attachment(name)})


@router.post("/outreach/renewals/notices")
def renewals_notify(request: Request, session: DbSession, principal: Manager,
                    month: Annotated[str, Form(max_length=7)] = "", province: Annotated[str, Form(max_length=8)] = "",
                    commune: Annotated[str, Form(max_length=8)] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    context, listing, status = _renewals_context(session, principal, month, province, commune)
    if listing is not None:
        renewals.audit_renewals(session, principal, listing, what="outreach.renewals.notices")
        context["sent"] = renewals.send_reminders(session, listing, on=clock.today())
        session.commit()
    return render(request, "outreach/renewals.html", context, status_code=status)


# --- collection agents ----------------------------------------------------------------------------------------

def _year_months(since: str = "", until: str = "") -> tuple[date, date]:
    """The months of the commission shown: ``since``..``until`` (YYYY-MM) when given, else this year's so far."""
    today = clock.today()
    last = _parse_month(until, "until") if until else date(today.year, today.month, 1)
    first = _parse_month(since, "since") if since else date(last.year, 1, 1)
    return first, last


def _agents_context(session: Session, principal: Principal, province: str, since: str = "", until: str = "") -> dict:
    context = {**_common(session, principal, province), "errors": {}, "form": {},
               "can_manage": principal.has(Permission.participation_manage), "kinds": agents.AGENT_KINDS}
    chosen = context["province"] or None
    context["agents"] = agents.list_agents(session, principal, province=chosen)
    first, last = _year_months(since, until)
    totals: dict[int, dict] = {}
    for row in agents.commissions(session, principal, since=first, until=last, province=chosen):
        entry = totals.setdefault(row["agent_id"], {"collected": 0, "commission": 0})
        entry["collected"] += row["collected"]
        entry["commission"] += row["commission"]
    context.update(totals=totals, since=first, until=last,
                   months_query=f"since={_month_text(first)}&until={_month_text(last)}")
    return context


@router.get("/outreach/agents")
def agents_page(request: Request, session: DbSession, principal: Reader, province: _Code = "",
                since: Annotated[str, Query(max_length=7)] = "", until: Annotated[str, Query(max_length=7)] = ""
                ) -> Response:
    try:
        context = _agents_context(session, principal, province, since, until)
    except (ValidationFailed, PermissionDenied) as exc:
        context = {**_common(session, principal, ""), "errors": _error(exc), "agents": [], "totals": {},
                   "can_manage": False, "kinds": agents.AGENT_KINDS, "form": {}, "since": None, "until": None,
                   "months_query": ""}
        return render(request, "outreach/agents.html", context, status_code=_status(exc))
    return render(request, "outreach/agents.html", context)


@router.post("/outreach/agents")
def agents_create(request: Request, session: DbSession, principal: Manager, code: Annotated[str, Form(max_length=20)]
                  = "", name: _Text = "", kind: Annotated[str, Form(max_length=20)] = "",
                  province: Annotated[str, Form(max_length=8)] = "", commune: Annotated[str, Form(max_length=8)] = "",
                  csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    try:
        agent = agents.create_agent(session, principal, agents.AgentData(code=code, name=name, kind=kind,
                                                                         province=province, commune=commune))
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        session.rollback()
        context = _agents_context(session, principal, province)
        context.update(errors=_error(exc), form={"code": code, "name": name, "kind": kind, "commune": commune})
        return render(request, "outreach/agents.html", context, status_code=_status(exc))
    session.commit()
    return RedirectResponse(f"/outreach/agents/{agent.id}", status_code=303)


def _agent_context(session: Session, principal: Principal, agent, since: str = "", until: str = "") -> dict:
    first, last = _year_months(since, until)
    rows = agents.commissions(session, principal, since=first, until=last, province=agent.province_2025,
                              agent_id=agent.id)
    return {"agent": agent, "commissions": rows, "collections": agents.collections_of(session, agent),
            "total_collected": sum(r["collected"] for r in rows), "total_commission": sum(r["commission"] for r in rows),
            "since": first, "until": last, "since_text": _month_text(first), "until_text": _month_text(last),
            "errors": {}, "form": {"collected_on": clock.today().isoformat()},
            "can_manage": principal.has(Permission.participation_manage), "created": None}


@router.get("/outreach/agents/{agent_id}")
def agent_page(request: Request, session: DbSession, principal: Reader, agent_id: RecordId,
               since: Annotated[str, Query(max_length=7)] = "", until: Annotated[str, Query(max_length=7)] = ""
               ) -> Response:
    agent = agents.get_agent(session, principal, agent_id)
    return render(request, "outreach/agent.html", _agent_context(session, principal, agent, since, until))


@router.post("/outreach/agents/{agent_id}/collections")
def agent_collect(request: Request, session: DbSession, principal: Manager, agent_id: RecordId,
                  reference: Annotated[str, Form(max_length=40)] = "", amount: Annotated[str, Form(max_length=20)] = "",
                  collected_on: Annotated[str, Form(max_length=10)] = "",
                  receipt: Annotated[str, Form(max_length=40)] = "",
                  csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    agent = agents.get_agent(session, principal, agent_id)
    try:
        digits = amount.replace(".", "").replace(",", "").replace(" ", "")
        if not digits.isdigit() or int(digits) <= 0:
            raise ValidationFailed("amount", "The amount must be a positive whole number of dong, got {value}.",
                                   value=amount)
        collection, new = agents.record_collection(session, principal, agent, reference=reference,
                                                   amount=int(digits),
                                                   collected_on=_parse_day(collected_on, "collected_on"),
                                                   receipt=receipt, today=clock.today())
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        session.rollback()
        agent = agents.get_agent(session, principal, agent_id)
        context = _agent_context(session, principal, agent)
        context.update(errors=_error(exc), form={"reference": reference, "amount": amount,
                                                 "collected_on": collected_on, "receipt": receipt})
        return render(request, "outreach/agent.html", context, status_code=_status(exc))
    session.commit()
    return RedirectResponse(f"/outreach/agents/{agent.id}?created={1 if new else 0}", status_code=303)


# --- sponsors -------------------------------------------------------------------------------------------------

def _sponsors_context(session: Session, principal: Principal, province: str) -> dict:
    context = {**_common(session, principal, province), "errors": {}, "form": {},
               "can_manage": principal.has(Permission.participation_manage), "kinds": sponsors.SPONSOR_KINDS}
    context["accounts"] = sponsors.sponsor_accounts(session, principal, province=context["province"] or None)
    return context


@router.get("/outreach/sponsors")
def sponsors_page(request: Request, session: DbSession, principal: Reader, province: _Code = "") -> Response:
    try:
        context = _sponsors_context(session, principal, province)
    except (ValidationFailed, PermissionDenied) as exc:
        context = {**_common(session, principal, ""), "errors": _error(exc), "accounts": [], "can_manage": False,
                   "kinds": sponsors.SPONSOR_KINDS, "form": {}}
        return render(request, "outreach/sponsors.html", context, status_code=_status(exc))
    return render(request, "outreach/sponsors.html", context)


@router.post("/outreach/sponsors")
def sponsors_create(request: Request, session: DbSession, principal: Manager, name: _Text = "",
                    kind: Annotated[str, Form(max_length=20)] = "", province: Annotated[str, Form(max_length=8)] = "",
                    tax_code: Annotated[str, Form(max_length=14)] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    try:
        sponsor = sponsors.create_sponsor(session, principal, sponsors.SponsorData(
            name=name, kind=kind, province=province, tax_code=tax_code), actor=principal.username)
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        session.rollback()
        context = _sponsors_context(session, principal, province)
        context.update(errors=_error(exc), form={"name": name, "kind": kind, "tax_code": tax_code})
        return render(request, "outreach/sponsors.html", context, status_code=_status(exc))
    session.commit()
    return RedirectResponse(f"/outreach/sponsors/{sponsor.id}", status_code=303)


def _sponsor_context(session: Session, principal: Principal, sponsor) -> dict:
    from types import SimpleNamespace

    from ansinh.registry.service import record_people_listed

    people = sponsors.sponsorships_of(session, sponsor)
    record_people_listed(session, principal, [SimpleNamespace(id=r["person_id"], si_number=r["si_number"])
                                              for r in people], what="outreach.sponsorships", total=len(people),
                         query={"sponsor_id": sponsor.id})
    account = sponsors.sponsor_accounts(session, principal, province=sponsor.province_2025, sponsor_id=sponsor.id)
    today = clock.today()
    return {"sponsor": sponsor, "account": account[0] if account else None, "people": people,
            "bills": sponsors.sponsor_bills_of(session, sponsor), "errors": {},
            "form": {"from_month": _month_text(today), "to_month": _month_text(date(today.year, 12, 1))},
            "schemes": sponsors.SPONSORED_SCHEME_LABELS,
            "can_manage": principal.has(Permission.participation_manage)}


@router.get("/outreach/sponsors/{sponsor_id}")
def sponsor_page(request: Request, session: DbSession, principal: Reader, sponsor_id: RecordId) -> Response:
    sponsor = sponsors.get_sponsor(session, principal, sponsor_id)
    return render(request, "outreach/sponsor.html", _sponsor_context(session, principal, sponsor))


@router.post("/outreach/sponsors/{sponsor_id}/sponsorships")
def sponsor_add_person(request: Request, session: DbSession, principal: Manager, sponsor_id: RecordId,
                       citizen_id: Annotated[str, Form(max_length=12)] = "",
                       scheme: Annotated[str, Form(max_length=20)] = "",
                       from_month: Annotated[str, Form(max_length=7)] = "",
                       to_month: Annotated[str, Form(max_length=7)] = "",
                       csrf_token: Annotated[str, Form()] = "") -> Response:
    verify_csrf(request, csrf_token)
    sponsor = sponsors.get_sponsor(session, principal, sponsor_id)
    try:
        sponsors.sponsor_person(session, principal, sponsor, citizen_id=citizen_id, scheme=scheme,
                                from_month=_parse_month(from_month, "from_month"),
                                to_month=_parse_month(to_month, "to_month"), actor=principal.username,
                                today=clock.today())
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        session.rollback()
        sponsor = sponsors.get_sponsor(session, principal, sponsor_id)
        context = _sponsor_context(session, principal, sponsor)
        context.update(errors=_error(exc), form={"citizen_id": citizen_id, "scheme": scheme,
                                                 "from_month": from_month, "to_month": to_month})
        return render(request, "outreach/sponsor.html", context, status_code=_status(exc))
    session.commit()
    return RedirectResponse(f"/outreach/sponsors/{sponsor.id}", status_code=303)


