"""The citizen's pages (mobile first): ``/me`` (personal details and totals: the citizen's landing page),
``/me/contributions`` (month by month per scheme, totals, gaps), ``/me/card`` (the digital health insurance card
with its QR code), ``/me/bills`` (what is due, with the VietQR code to pay it, and what comes due next); and what
the citizen does: ``/me/claims`` (file a claim after the eligibility preview, the unemployment benefit's monthly
report), ``/me/bank-account``, ``/me/enrol`` (voluntary social insurance, household health insurance),
``/me/notices`` and ``/me/visits``. A claim's own page is the benefits domain's (``/benefits/claims/{id}``).

Thin routes over :mod:`ansinh.portal.service`: every read is of the signed-in citizen only, and audited there.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from markupsafe import Markup

from ansinh import clock
from ansinh.auth.deps import DbSession, require
from ansinh.auth.models import Role
from ansinh.auth.permissions import Permission, Principal, Scope
from ansinh.bounds import RecordId
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import N_, gettext
from ansinh.portal import actions, service
from ansinh.web.forms import redirect, submit
from ansinh.web.labels import register_labels
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render

router = APIRouter(include_in_schema=False)
Citizen = Annotated[Principal, Depends(require(Permission.dashboard_view, scope=Scope.own_person))]
Filer = Annotated[Principal, Depends(require(Permission.benefits_file, scope=Scope.own_person))]
_Field = Annotated[str, Form(max_length=200)]
_Text = Annotated[str, Form(max_length=500)]

_CITIZEN = frozenset({Role.citizen})
for _key, _label, _href, _order in (("me", N_("My summary"), "/me", 1),
                                    ("me_contributions", N_("My contributions"), "/me/contributions", 2),
                                    ("me_card", N_("My health insurance card"), "/me/card", 3),
                                    ("me_bills", N_("My bills"), "/me/bills", 4),
                                    ("me_enrol", N_("Enrol and renew"), "/me/enrol", 6),
                                    ("me_visits", N_("My medical visits"), "/me/visits", 7),
                                    ("me_notices", N_("My notices"), "/me/notices", 9),
                                    ("me_bank", N_("My bank account"), "/me/bank-account", 10)):
    register_nav_item(NavItem(_key, _label, _href, Permission.dashboard_view, order=_order, roles=_CITIZEN))

SCHEME_LABELS = {"si_compulsory": N_("Compulsory social insurance"), "si_voluntary": N_("Voluntary social insurance"),
                 "ui": N_("Unemployment insurance"), "hi": N_("Health insurance")}
PAID_BY_LABELS = {"employer": N_("Employer and employee"), "self": N_("Yourself"), "household": N_("Household"),
                  "state_budget": N_("State budget"), "other_budget": N_("Other budget")}
BILL_TYPE_LABELS = {"voluntary": N_("Voluntary social insurance"), "household": N_("Household health insurance")}
register_labels({f"me_scheme.{k}": v for k, v in SCHEME_LABELS.items()})
register_labels({f"me_paid_by.{k}": v for k, v in PAID_BY_LABELS.items()})
register_labels({f"me_bill.{k}": v for k, v in BILL_TYPE_LABELS.items()})


def _month(text: str) -> date:
    return date.fromisoformat(text + "-01")


def _dates(item: dict | None, *keys: str) -> dict | None:
    """The ISO dates of an answer as dates, for the templates' Vietnamese formats."""
    for key in keys:
        if item and item.get(key):
            item[key] = date.fromisoformat(item[key])
    return item


def _svg(content: str | None) -> Markup | None:
    return Markup(service.qr_svg(content)) if content else None  # segno's own SVG: no user markup


@router.get("/me")
def me_page(request: Request, session: DbSession, principal: Citizen) -> Response:
    """Personal details and the totals: months of social insurance, the card, what is due, open claims."""
    today = clock.today()
    try:
        person = service.me(session, principal)
    except NotFound:
        if Role.citizen in principal.roles and not principal.is_agency_staff:  # an account not (yet) linked
            return render(request, "portal/unlinked.html")
        raise
    history = service.contributions_of(session, person, on=today)
    card = service.card_of(session, person, on=today)
    bills = service.bills_of(session, person, on=today)
    claims = service.claims_of(session, principal, person, on=today)
    if history["first_month"]:
        history["first_day"], history["last_day"] = _month(history["first_month"]), _month(history["last_month"])
    return render(request, "portal/me.html", {
        "person": _dates(service.person_view(session, person), "date_of_birth"), "history": history,
        "card": _dates(card, "valid_from", "valid_until"),
        "due": sum(b["outstanding"] for b in bills), "due_bills": sum(1 for b in bills if b["outstanding"] > 0),
        "open_claims": sum(1 for c in claims if c["decision_number"] is None and c["status"] != "withdrawn"),
        "claims": len(claims), "unread": actions.unread_notices(session, person)})


@router.get("/me/contributions")
def me_contributions(request: Request, session: DbSession, principal: Citizen) -> Response:
    """Month by month per scheme: employer, salary, who paid; totals and gaps."""
    history = service.contributions(session, principal, on=clock.today())
    for rows in history["schemes"].values():
        for row in rows:
            row["day"] = _month(row["month"])
    for gap in history["gaps"]:
        gap["from_day"], gap["to_day"] = _month(gap["from"]), _month(gap["to"])
    return render(request, "portal/contributions.html", {"history": history, "schemes": service.SCHEMES})


@router.get("/me/card")
def me_card(request: Request, session: DbSession, principal: Citizen) -> Response:
    """The digital health insurance card with its QR code."""
    card = service.card(session, principal, on=clock.today())
    qr = _svg(card and card["qr_content"])
    return render(request, "portal/card.html", {
        "card": _dates(card, "date_of_birth", "valid_from", "valid_until", "five_years_from"), "qr": qr})


@router.get("/me/bills")
def me_bills(request: Request, session: DbSession, principal: Citizen) -> Response:
    """What is due, each with its VietQR payment code; the bills already paid below."""
    bills = service.bills(session, principal, on=clock.today())
    for bill in bills:
        bill["month"] = _month(bill["period"])
        _dates(bill, "due_date")
        bill["qr"] = _svg(bill["payment"] and bill["payment"]["vietqr"])
    reminders = actions.reminders(session, service.me(session, principal), on=clock.today())
    for item in reminders:
        if item.get("period"):
            item["month"] = _month(item["period"])
        _dates(item, "ends_on")
    return render(request, "portal/bills.html", {
        "due": [b for b in bills if b["outstanding"] > 0], "paid": [b for b in bills if b["outstanding"] <= 0],
        "total_due": sum(b["outstanding"] for b in bills), "reminders": reminders,
        "notice": _notice(request.query_params.get("notice", ""))})


# --- what the citizen does ---------------------------------------------------------------------------------------

NOTICES = {"filed": N_("Your claim was filed. Its deadline and status are below."),
           "reported": N_("Your monthly report was sent."),
           "account": N_("Your bank account is registered; benefits are paid into it."),
           "enrolled": N_("You are enrolled. Pay the bill below with your banking app.")}


def _notice(code: str) -> str:
    return gettext(NOTICES[code]) if code in NOTICES else ""


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(field, "{value} is not a date (YYYY-MM-DD).", value=text[:20]) from None


def _month_field(text: str, field: str) -> date:
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}", text):
        text += "-01"
    return _day(text, field)


def _whole(text: str, field: str) -> int:
    digits = text.replace(".", "").replace(",", "").replace(" ", "").strip()
    if not re.fullmatch(r"\d{1,12}", digits):
        raise ValidationFailed(field, "{name}: {problem}", name=field, problem=gettext("not a whole number"))
    return int(digits)


@router.get("/me/claims")
def me_claims(request: Request, session: DbSession, principal: Citizen, notice: str = "") -> Response:
    """The citizen's claims (status, deadline, decision PDF) and their unemployment benefit's monthly reports."""
    claims = service.claims(session, principal, on=clock.today())
    for claim in claims:
        _dates(claim, "filed_on", "deadline", "decided_on")
    unemployment = actions.unemployment_claims(session, principal)
    return render(request, "portal/claims.html", {"claims": claims, "unemployment": unemployment,
                                                  "notice": _notice(notice[:20]), "errors": {}, "values": {}})


def _claim_form(request: Request, session, principal: Principal, *, values: dict | None = None,
                errors: dict | None = None) -> Response:
    from ansinh.benefits.pages import ground_text

    today = clock.today()
    found = actions.claim_preview(session, principal, on=today)
    grounds = [(g["code"], ground_text(g["code"], today)) for g in found["grounds"]]
    values = {"submission_id": secrets.token_hex(8), **(values or {})}
    return render(request, "portal/claim_new.html", {
        "preview": found["preview"], "grounds": grounds, "values": values,
        "relatives": [(r["citizen_id"], r["full_name"]) for r in found["relatives"]],
        "errors": errors or {}, "types": actions.PORTAL_CLAIM_TYPES},
        status_code=422 if errors else 200)


@router.get("/me/claims/new")
def me_claim_new(request: Request, session: DbSession, principal: Filer) -> Response:
    """What the record supports (the eligibility preview), then the claim's form."""
    return _claim_form(request, session, principal)


@router.post("/me/claims/new")
def me_claim_file(request: Request, session: DbSession, principal: Filer, csrf_token: _Field = "",
                  type: _Field = "", ground: _Field = "", birth_on: _Field = "", children: _Field = "",
                  died_on: _Field = "", deceased: _Field = "", incapacity_percent: _Field = "",
                  illness: _Field = "", submission_id: _Field = "") -> Response:
    typed = {"type": type, "ground": ground, "birth_on": birth_on, "children": children, "died_on": died_on,
             "deceased": deceased, "incapacity_percent": incapacity_percent, "illness": illness,
             "submission_id": submission_id}

    def action():
        details: dict = {}
        if type == "maternity":
            details["birth_on"] = _day(birth_on, "birth_on") if birth_on else None
            if children:
                details["children"] = _whole(children, "children")
        elif type == "funeral":
            details["died_on"] = _day(died_on, "died_on") if died_on else None
        elif type == "lump_sum":
            if incapacity_percent:
                details["incapacity_percent"] = _whole(incapacity_percent, "incapacity_percent")
            if illness.strip():
                details["illness"] = illness.strip()
        details = {k: v.isoformat() if isinstance(v, date) else v for k, v in details.items() if v is not None}
        claim, _ = actions.file_claim(session, principal, claim_type=type, on=clock.today(), ground=ground or None,
                                      details=details, deceased_citizen_id=deceased or None,
                                      external_ref=submission_id[:40] or None)
        return claim

    aliases = {"details.birth_on": "birth_on", "details.died_on": "died_on", "details.children": "children",
               "details.incapacity_percent": "incapacity_percent", "details.illness": "illness"}
    return submit(request, session, action, csrf_token=csrf_token, field="type", aliases=aliases,
                  refusals=(ValidationFailed, Conflict, PermissionDenied),
                  form=lambda errors: _claim_form(request, session, principal, values=typed, errors=errors),
                  done="/me/claims?notice=filed")


@router.post("/me/claims/{claim_id}/job-search")
def me_job_search(request: Request, session: DbSession, principal: Filer, claim_id: RecordId,
                  csrf_token: _Field = "", month: _Field = "", contacts: _Field = "", note: _Text = "") -> Response:
    """The monthly job-seeking report of the citizen's unemployment benefit."""
    def action():
        return actions.report_job_search(session, principal, claim_id, month=_month_field(month, "month"),
                                         contacts=_whole(contacts, "contacts"), note=note or None,
                                         on=clock.today())

    def form(errors):
        claims = service.claims(session, principal, on=clock.today())
        for claim in claims:
            _dates(claim, "filed_on", "deadline", "decided_on")
        return render(request, "portal/claims.html", {
            "claims": claims, "unemployment": actions.unemployment_claims(session, principal), "notice": "",
            "errors": errors, "values": {"month": month, "contacts": contacts, "note": note}})

    return submit(request, session, action, csrf_token=csrf_token, field="contacts",
                  refusals=(ValidationFailed, Conflict), form=form, done="/me/claims?notice=reported")


def _bank_page(request: Request, session, principal: Principal, *, values=None, errors=None,
               notice: str = "") -> Response:
    person = service.me(session, principal)
    return render(request, "portal/bank.html", {
        "accounts": actions.bank_accounts(session, principal), "full_name": person.full_name,
        "values": values or {"holder_name": person.full_name}, "errors": errors or {}, "notice": _notice(notice)})


@router.get("/me/bank-account")
def me_bank(request: Request, session: DbSession, principal: Citizen, notice: str = "") -> Response:
    """The account benefits are paid into (masked) and the form to register a new one."""
    return _bank_page(request, session, principal, notice=notice[:20])


@router.post("/me/bank-account")
def me_bank_register(request: Request, session: DbSession, principal: Citizen, csrf_token: _Field = "",
                     bank_bin: _Field = "", account_number: _Field = "", holder_name: _Field = "") -> Response:
    typed = {"bank_bin": bank_bin, "account_number": account_number, "holder_name": holder_name}

    def action():
        return actions.register_bank_account(session, principal, bank_bin=bank_bin, account_number=account_number,
                                             holder_name=holder_name, on=clock.today())

    return submit(request, session, action, csrf_token=csrf_token, field="account_number",
                  refusals=(ValidationFailed, Conflict),
                  form=lambda errors: _bank_page(request, session, principal, values=typed, errors=errors),
                  done="/me/bank-account?notice=account")


def _enrol_page(request: Request, session, principal: Principal, *, values=None, errors=None, quote=None,
                household_quote=None) -> Response:
    today = clock.today()
    found = actions.own_household(session, principal)
    next_month = participation_month(today)
    values = {"start": next_month, "months": "1", "household_start": today.isoformat(), "household_months": "12",
              **(values or {})}
    return render(request, "portal/enrol.html", {
        "values": values, "errors": errors or {}, "quote": quote, "household_quote": household_quote,
        "household": found[0] if found else None, "members": found[1] if found else [],
        "periods": actions.participation.voluntary_payment_periods(today)},
        status_code=422 if errors else 200)


def participation_month(today: date) -> str:
    return actions.participation.add_months(actions.participation.month_start(today), 1).strftime("%Y-%m")


@router.get("/me/enrol")
def me_enrol(request: Request, session: DbSession, principal: Citizen) -> Response:
    """Voluntary social insurance, and household health insurance for a household head: the quote before
    confirming, then the bill with its VietQR code."""
    return _enrol_page(request, session, principal)


@router.post("/me/enrol/voluntary")
def me_enrol_voluntary(request: Request, session: DbSession, principal: Citizen, csrf_token: _Field = "",
                       income: _Field = "", months: _Field = "", start: _Field = "", confirm: _Field = "") -> Response:
    typed = {"income": income, "months": months, "start": start}
    today = clock.today()

    def read():
        return _whole(income, "income"), _whole(months, "months"), _month_field(start, "start")

    if not confirm:
        from ansinh.auth.deps import verify_csrf

        verify_csrf(request, csrf_token)
        try:
            chosen = read()
            quote = actions.voluntary_quote(session, principal, income=chosen[0], months=chosen[1], start=chosen[2],
                                            today=today)
        except ValidationFailed as error:
            return _enrol_page(request, session, principal, values=typed,
                               errors={error.field: error.translated(gettext)})
        return _enrol_page(request, session, principal, values=typed, quote=quote)

    def action():
        chosen = read()
        return actions.enrol_voluntary(session, principal, income=chosen[0], months=chosen[1], start=chosen[2],
                                       today=today)

    return submit(request, session, action, csrf_token=csrf_token, field="income",
                  refusals=(ValidationFailed, Conflict),
                  form=lambda errors: _enrol_page(request, session, principal, values=typed, errors=errors),
                  done="/me/bills?notice=enrolled")


@router.post("/me/enrol/household")
async def me_enrol_household(request: Request, session: DbSession, principal: Citizen) -> Response:
    form = await request.form()
    members = [str(v) for v in form.getlist("member") if str(v).isdigit()][:30]
    start, months = str(form.get("household_start", ""))[:10], str(form.get("household_months", ""))[:2]
    typed = {"household_start": start, "household_months": months, "member": members}
    csrf_token, confirm = str(form.get("csrf_token", "")), form.get("confirm")
    today = clock.today()

    def read():
        if not members:
            raise ValidationFailed("members", "Choose the members of your household to insure.")
        return [int(m) for m in members], _day(start, "household_start"), _whole(months, "household_months")

    if not confirm:
        from ansinh.auth.deps import verify_csrf

        verify_csrf(request, csrf_token)
        try:
            ids, day, count = read()
            quote = actions.household_quote(session, principal, member_ids=ids, start=day, months=count)
        except (ValidationFailed, NotFound) as error:
            field = getattr(error, "field", "members")
            return _enrol_page(request, session, principal, values=typed, errors={field: error.translated(gettext)})
        return _enrol_page(request, session, principal, values=typed, household_quote=quote)

    def action():
        ids, day, count = read()
        return actions.renew_household(session, principal, member_ids=ids, start=day, months=count, today=today)

    aliases = {"start": "household_start", "months": "household_months"}
    return submit(request, session, action, csrf_token=csrf_token, field="members", aliases=aliases,
                  refusals=(ValidationFailed, Conflict),
                  form=lambda errors: _enrol_page(request, session, principal, values=typed, errors=errors),
                  done="/me/bills?notice=enrolled")


@router.get("/me/notices")
def me_notices(request: Request, session: DbSession, principal: Citizen) -> Response:
    """The citizen's notices, newest first; unread ones marked."""
    found = actions.notices(session, principal)
    for item in found["notices"]:
        _dates(item, "sent_on")
    return render(request, "portal/notices.html", found)


@router.post("/me/notices/{notice_id}/read")
def me_notice_read(request: Request, session: DbSession, principal: Citizen, notice_id: RecordId,
                   csrf_token: _Field = "") -> Response:
    """Mark a notice read, then back to the notices."""
    from ansinh.auth.deps import verify_csrf

    verify_csrf(request, csrf_token)
    actions.mark_notice_read(session, principal, notice_id)
    return redirect("/me/notices", request)


@router.get("/me/visits")
def me_visits(request: Request, session: DbSession, principal: Citizen) -> Response:
    """Health insurance visits: facility, date, total cost, what the fund paid and what the citizen paid."""
    found = actions.visits(session, principal)
    for item in found["visits"]:
        _dates(item, "arrived_on", "discharged_on")
    return render(request, "portal/visits.html", found)
