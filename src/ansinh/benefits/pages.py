"""Web pages of benefit claims: the officer's work queue by deadline and the list of every claim (``/benefits``), the
intake (``/benefits/new``: pick the person, see their contribution record and what they may claim, file the claim),
a claim's page (``/benefits/claims/{id}``: status, legal clock, timeline, assessment, decision with its PDF, payments,
and the steps the status allows as forms) and the employers' 01B-HSB lists (``/benefits/employer-batches``).

Thin routes over :mod:`ansinh.benefits.service`: a claim is read through ``service.get_claim`` (scope checked, the
read audited) and every step goes through the workflow's functions. Agency staff act on the claims of their subtree;
a citizen sees their own claims and decisions read-only, an employer the cases it filed.
"""

from __future__ import annotations

import importlib.util
import json
import re
import typing
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh import clock, formatting
from ansinh.auth.deps import DbSession, require, verify_csrf
from ansinh.auth.models import Role
from ansinh.auth.permissions import Permission, Principal, Scope, org_scope, permission_denied
from ansinh.benefits import eligibility, service
from ansinh.benefits.models import (
    BenefitClaim,
    ClaimStatus,
    ClaimType,
    EmployerBenefitBatch,
)
from ansinh.benefits.schemas import DETAILS
from ansinh.bounds import RecordId, check_day
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import N_, get_locale, gettext
from ansinh.portal.employer.deps import require_duty
from ansinh.registry.models import Employer, Person
from ansinh.web.forms import submit
from ansinh.web.labels import label, register_labels
from ansinh.web.lists import Column, fetch_page, read_listing
from ansinh.web.navigation import NavItem, register_nav_item
from ansinh.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.benefits_read,
                                              scope=(Scope.org_subtree, Scope.own_person, Scope.own_employer)))]
Filer = Annotated[Principal, Depends(require(Permission.benefits_file, scope=Scope.org_subtree))]
Assessor = Annotated[Principal, Depends(require(Permission.benefits_assess, scope=Scope.org_subtree))]
BatchSender = Annotated[Principal, Depends(require_duty("declarations", Permission.benefits_file,
                                                        scope=(Scope.own_employer, Scope.org_subtree)))]
BatchReader = Annotated[Principal, Depends(require_duty(
    "declarations", Permission.benefits_read, scope=(Scope.org_subtree, Scope.own_person, Scope.own_employer)))]
_Filter = Annotated[str, Query(max_length=40)]
_Field = Annotated[str, Form(max_length=200)]
_Text = Annotated[str, Form(max_length=4000)]

STAFF_ROLES = frozenset(Role) - {Role.citizen, Role.employer, Role.facility, Role.supervisor}
register_nav_item(NavItem("benefits_queue", N_("Benefit claims"), "/benefits", Permission.benefits_read, order=600,
                          agency_only=True, group="benefits"))
# a citizen's claims are listed, filed and followed on the portal's page (ansinh.portal.pages)
register_nav_item(NavItem("benefits_mine", N_("My benefit claims"), "/me/claims", Permission.benefits_read,
                          order=600, group="benefits", roles=frozenset({Role.citizen})))
register_nav_item(NavItem("benefits_employer", N_("Benefit cases filed"), "/benefits", Permission.benefits_read,
                          order=600, group="benefits", roles=frozenset({Role.employer})))
register_nav_item(NavItem("benefits_new", N_("File a claim"), "/benefits/new", Permission.benefits_file, order=610,
                          agency_only=True, group="benefits"))
register_nav_item(NavItem("benefits_batches", N_("Employer lists (01B-HSB)"), "/benefits/employer-batches",
                          Permission.benefits_read, order=620, group="benefits",
                          roles=STAFF_ROLES | {Role.employer}))

TYPE_LABELS = {
    "lump_sum": N_("Lump-sum withdrawal"), "pension": N_("Pension"), "sickness": N_("Sickness benefit"),
    "maternity": N_("Maternity benefit"), "unemployment": N_("Unemployment benefit"), "funeral": N_("Funeral grant"),
    "survivor": N_("Survivor allowance"),
}
STATUS_LABELS = {
    "received": N_("Received"), "incomplete": N_("Incomplete file"), "accepted": N_("Accepted, being resolved"),
    "assessed": N_("Assessed"), "granted": N_("Granted"), "refused": N_("Refused"),
    "payment_ordered": N_("Payment ordered"), "paid": N_("Paid"), "failed": N_("Payment failed"),
    "reconciled": N_("Reconciled"), "withdrawn": N_("Withdrawn"),
}
CHANNEL_LABELS = {
    "counter": N_("At the counter"), "post": N_("By post"), "employer": N_("Through the employer (01B-HSB)"),
    "portal": N_("Online (public-service portal or app)"),
}
GROUND_LABELS = {
    "retirement_age_under_15_years": N_("Retirement age reached with under 15 years of contributions"),
    "retirement_age_under_20_years": N_("Retirement age reached with under 20 years of contributions"),
    "abroad": N_("Settling abroad"),
    "grave_illness": N_("A listed grave illness"),
    "incapacity_81": N_("Loss of working capacity of 81% or more"),
    "transitional_12_months": N_("Contributions begun before 1 July 2025, under 20 years, 12 months without "
                                 "contributing"),
    "out_of_work_12_months": N_("12 months without work or contributions"),
}
SCHEME_LABELS = {"si_compulsory": N_("Compulsory social insurance"), "si_voluntary": N_("Voluntary social insurance"),
                 "hi": N_("Health insurance"), "ui": N_("Unemployment insurance")}
register_labels({f"benefit_type.{k}": v for k, v in TYPE_LABELS.items()})
register_labels({f"benefit_status.{k}": v for k, v in STATUS_LABELS.items()})
register_labels({f"benefit_channel.{k}": v for k, v in CHANNEL_LABELS.items()})
register_labels({f"lump_sum_ground.{k}": v for k, v in GROUND_LABELS.items()})
register_labels({f"benefit_scheme.{k}": v for k, v in SCHEME_LABELS.items()})
register_labels({"payment_method.bank": N_("Bank account"), "payment_method.cash": N_("Cash at a paying point"),
                 "payment_status.ordered": N_("Ordered"), "payment_status.sent": N_("Sent to the bank"),
                 "payment_status.paid": N_("Paid"), "payment_status.failed": N_("Failed"),
                 "payment_status.cancelled": N_("Cancelled")})

#: The labels of the type-specific fields of a claim (``schemas.DETAILS``), and of the figures of an assessment and
#: the steps of a timeline; a key without a label is shown as code.
FIELD_LABELS = {
    "incapacity_percent": N_("Loss of working capacity (%)"), "illness": N_("Grave illness (as the medical file "
                                                                            "names it)"),
    "retire_on": N_("Retirement date"), "leave_from": N_("Leave from"), "days": N_("Working days of leave"),
    "hazardous": N_("Heavy, hazardous or dangerous work"), "employer_id": N_("Employer (record number)"),
    "birth_on": N_("Date of birth of the child"), "children": N_("Children born"),
    "child_order": N_("Order of the child"), "direct": N_("Filed directly (the mother left work before the birth)"),
    "decision_number": N_("Decision number"), "decision_on": N_("Decision date"),
    "employment_ended_on": N_("Employment ended on"), "benefit_months": N_("Months of benefit"),
    "monthly_amount": N_("Monthly amount"), "first_month": N_("First month paid"), "died_on": N_("Date of death"),
    "claimant_citizen_id": N_("Citizen ID of the relative who claims"), "survivor_kind": N_("Survivor allowance"),
    "amount": N_("Amount"), "eligible": N_("Eligible"), "missing": N_("Missing documents"),
    "deadline": N_("Deadline"), "channel": N_("Channel"), "appeal": N_("Appeal number"),
    "decided_by": N_("Decided before by"), "article": N_("Article of law"),
}
#: The keys of an assessment's record and computation (``eligibility.Assessment.record``, ``.figures``).
ASSESSMENT_LABELS = {
    "until": N_("Record up to"), "si_months": N_("Months of social insurance"),
    "compulsory_months": N_("Months of compulsory insurance"), "voluntary_months": N_("Months of voluntary insurance"),
    "months_before_2014": N_("Months before 2014"), "months_from_2014": N_("Months from 2014"),
    "ui_months": N_("Months of unemployment insurance"), "first_month": N_("First month of contributions"),
    "last_month": N_("Last month of contributions"), "average_salary_revalued": N_("Average salary, revalued"),
    "average_salary": N_("Average salary"), "monthly_salary": N_("Monthly insured salary"),
    "years_contributed": N_("Years of contributions"), "months_last_12": N_("Months contributed in the last 12"),
    "ground": N_("Ground"), "law": N_("Law in force"), "pension_age_reached_on": N_("Pension age reached on"),
    "source": N_("Source"), "warnings": N_("Warnings"), "pensioner": N_("Pensioner"), "kind": N_("Kind"),
    "rate": N_("Rate"), "rate_percent": N_("Rate (%)"), "daily_rate": N_("Daily rate"), "months": N_("Months"),
}
CHOICE_LABELS = {"monthly": N_("Monthly"), "one_off": N_("One-off")}
#: Working days ahead that the queue shows as upcoming (the page's reach, not a legal figure).
UPCOMING_DAYS = 5
NOTICES = {"filed": N_("The claim was filed."), "incomplete": N_("The file was marked incomplete: the clock is "
                                                                 "paused."),
           "complete": N_("The file is complete: the clock runs from that day."),
           "assess": N_("The claim was assessed from the records."), "grant": N_("The claim was granted."),
           "refuse": N_("The claim was refused."), "appeal": N_("The appeal was recorded: another officer "
                                                                "re-assesses the claim."),
           "withdraw": N_("The claim was withdrawn."), "batch": N_("The list was received."),
           "replayed": N_("This file was sent before: its outcome is shown, nothing was filed again.")}


def _is_external(principal: Principal) -> bool:
    return not principal.is_agency_staff


def _parse_day(text: str, field: str, default: date | None = None) -> date:
    value = (text or "").strip()
    if not value:
        if default is not None:
            return default
        raise ValidationFailed(field, "Give a date (YYYY-MM-DD).")
    try:
        return check_day(date.fromisoformat(value))
    except ValueError:
        raise ValidationFailed(field, "{value} is not a date (use YYYY-MM-DD).", value=value[:20]) from None


def _choice(value: str, allowed, default: str = "") -> str:
    return value if value in allowed else default


def _people(session: Session, ids) -> dict[int, Person]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(wanted)))}


def _audit_listed(session: Session, principal: Principal, people, what: str, query: dict) -> None:
    from ansinh.registry.service import record_people_listed

    people = list(people)
    if people:
        record_people_listed(session, principal, people, what=what, query=query)


# --- contribution record --------------------------------------------------------------------------------------

@dataclass
class PeriodRow:
    scheme: str
    valid_from: date
    valid_to: date | None
    months: int
    employer: str | None
    salary: int | None


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def months_covered(valid_from: date, valid_to: date | None, on: date) -> set[int]:
    """The months (``year * 12 + month - 1``) a period covers that began before ``on``: from the month of
    ``valid_from`` to the month before ``valid_to`` (exclusive end; an open period runs to ``on``). A period that
    starts on or after ``on`` covers none."""
    end = on if valid_to is None else min(valid_to, on)
    if end <= valid_from:
        return set()
    return set(range(_month_index(valid_from), _month_index(end - timedelta(days=1)) + 1))


def contribution_summary(periods, on: date, employers: dict[int, str]) -> dict:
    """The record of contributions as of ``on`` from coverage periods (each with ``scheme``, ``valid_from``,
    ``valid_to``, ``insured_salary``, ``employer_id``): the periods with their months, the months per scheme (a
    month counted once even when two employers covered it), and social insurance (compulsory and voluntary
    together) in years and months."""
    rows: list[PeriodRow] = []
    by_scheme: dict[str, set[int]] = {}
    for p in periods:
        scheme = getattr(p.scheme, "value", p.scheme)
        months = months_covered(p.valid_from, p.valid_to, on)
        by_scheme.setdefault(scheme, set()).update(months)
        rows.append(PeriodRow(scheme, p.valid_from, p.valid_to, len(months), employers.get(p.employer_id),
                              p.insured_salary))
    social = by_scheme.get("si_compulsory", set()) | by_scheme.get("si_voluntary", set())
    rows.sort(key=lambda r: (r.valid_from, r.scheme))
    return {"periods": rows, "months": {k: len(v) for k, v in by_scheme.items()}, "si_months": len(social),
            "si_years": len(social) // 12, "si_rest": len(social) % 12}


def person_record(session: Session, person: Person, on: date) -> dict:
    from ansinh.participation import service as participation

    periods = participation.coverage_history(session, person.id)
    employer_ids = {p.employer_id for p in periods if p.employer_id}
    employers = dict(session.execute(select(Employer.id, Employer.name).where(Employer.id.in_(employer_ids))).all()) \
        if employer_ids else {}
    return contribution_summary(periods, on, employers)


def ground_text(code: str, filed_on: date) -> str:
    """A lump-sum ground as a reader names it (the rules' description when they give one), with its article."""
    described = getattr(eligibility, "ground_descriptions", None)
    if described is not None:
        for ground in described(filed_on):
            if ground["code"] == code:
                text = label(ground.get("description") or code)  # a msgid of the rules
                return f"{text} ({ground['article']})" if ground.get("article") else text
    return gettext(GROUND_LABELS[code]) if code in GROUND_LABELS else code


def ground_choices(filed_on: date) -> list[tuple[str, str]]:
    """The grounds of a lump-sum withdrawal filed on a day (the law in force then), as (code, text)."""
    return [(code, ground_text(code, filed_on)) for code in eligibility.lump_sum_grounds(filed_on)]


def eligibility_preview(session: Session, person: Person, on: date) -> list[dict] | None:
    """What the person may claim on ``on`` (``eligibility.preview`` once the rules give it): a list of
    ``{type, eligible, amount, monthly_amount, reasons}``; None when the rules give no preview."""
    preview = getattr(eligibility, "preview", None)
    if preview is None:
        return None
    answer = preview(session, person, on)
    items = answer.items() if isinstance(answer, dict) else ((None, a) for a in answer)
    out = []
    for key, item in items:
        data = item.as_json() if hasattr(item, "as_json") else dict(item) if isinstance(item, dict) else vars(item)
        kind = data.get("type") or data.get("claim_type") or key
        out.append({"type": getattr(kind, "value", kind), "eligible": bool(data.get("eligible")),
                    "amount": data.get("amount"), "monthly_amount": data.get("monthly_amount"),
                    "kind": data.get("kind"), "grounds": [ground_text(g, on) for g in data.get("grounds") or []],
                    "reasons": [r if isinstance(r, dict) else vars(r) for r in data.get("reasons") or []]})
    return out


# --- the work queue and the list -------------------------------------------------------------------------------

COLUMNS = (
    Column("id", N_("Claim"), BenefitClaim.id, numeric=True),
    Column("person", N_("Person")),
    Column("type", N_("Benefit"), BenefitClaim.claim_type),
    Column("status", N_("Status"), BenefitClaim.status),
    Column("channel", N_("Channel")),
    Column("filed_on", N_("Filed on"), BenefitClaim.filed_on),
    Column("deadline", N_("Deadline"), BenefitClaim.deadline),
    Column("amount", N_("Amount"), BenefitClaim.amount, numeric=True),
)


def _queue_row(claim: BenefitClaim, on: date) -> dict:
    return {"claim": claim, "left": service.working_days_left(claim, on)}


@router.get("/benefits")
def benefits_page(request: Request, session: DbSession, principal: Reader, type: _Filter = "", status: _Filter = "",
                  on: _Filter = "", notice: _Filter = "") -> Response:
    """Staff: the claims whose clock runs by deadline (late, due today, upcoming) with working days left, then every
    claim of their scope; a citizen their own claims, an employer the cases it filed."""
    today = _parse_day(on, "on", clock.today())
    claim_type = _choice(type, TYPE_LABELS)
    chosen_status = _choice(status, STATUS_LABELS)
    queue = None
    if principal.is_agency_staff:
        due = service.due_claims(session, principal, on=today, days_ahead=UPCOMING_DAYS)
        queue = {key: [_queue_row(c, today) for c in rows
                       if not claim_type or ClaimType(c.claim_type).value == claim_type]
                 for key, rows in due.items()}
    filters = {"type": claim_type, "status": chosen_status, "on": on if on else ""}
    listing = read_listing(request, COLUMNS, default_sort="id", default_descending=True, filters=filters)
    stmt = select(BenefitClaim).where(service.claims_scope(principal))
    if claim_type:
        stmt = stmt.where(BenefitClaim.claim_type == claim_type)
    if chosen_status:
        stmt = stmt.where(BenefitClaim.status == chosen_status)
    claims = fetch_page(session, stmt, listing, BenefitClaim.id.desc(), scalars=True)
    queued = [r["claim"] for rows in (queue or {}).values() for r in rows]
    people = _people(session, [c.person_id for c in claims + queued])
    _audit_listed(session, principal, people.values(), "benefit_claims",
                  {"type": claim_type, "status": chosen_status, "page": listing.page})
    return render(request, "benefits/queue.html", {
        "queue": queue, "claims": claims, "listing": listing, "people": people, "on": today,
        "left": lambda c: service.working_days_left(c, today), "types": TYPE_LABELS, "statuses": STATUS_LABELS,
        "can_file": principal.has(Permission.benefits_file) and principal.is_agency_staff,
        "own_view": _is_external(principal), "is_citizen": Role.citizen in principal.roles,
        "notice": gettext(NOTICES[notice]) if notice in NOTICES else ""})


# --- intake ----------------------------------------------------------------------------------------------------

@dataclass
class DetailField:
    name: str  # the field of the type's details model
    input: str  # its form name: ``<type>.<field>``
    label: str
    kind: str  # text, date, number, checkbox, select
    required: bool
    choices: tuple = ()
    minimum: int | None = None
    maximum: int | None = None


def _field_kind(annotation) -> tuple[str, tuple]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    base = args[0]
    if typing.get_origin(base) is typing.Literal:
        return "select", typing.get_args(base)
    if base is bool:
        return "checkbox", ()
    if base is int:
        return "number", ()
    if base is date:
        return "date", ()
    return "text", ()


def detail_fields(claim_type: str) -> list[DetailField]:
    """The type-specific fields of a claim's form, from the type's details model (``schemas.DETAILS``); the
    employer's record number is left to the employer's list."""
    model = DETAILS[ClaimType(claim_type)]
    fields = []
    for name, info in model.model_fields.items():
        if name == "employer_id":
            continue
        kind, choices = _field_kind(info.annotation)
        bounds = {type(m).__name__: m for m in info.metadata}
        low = getattr(bounds.get("Ge"), "ge", None)
        high = getattr(bounds.get("Le"), "le", None)
        fields.append(DetailField(name, f"{claim_type}.{name}", FIELD_LABELS.get(name, name), kind,
                                  info.is_required(), choices, low, high))
    return fields


def read_details(claim_type: str, form: dict[str, str]) -> dict:
    """The details of a type from the form (``<type>.<field>`` names); empty fields left out, so that the model's
    defaults apply and its checks name what is missing."""
    details: dict[str, Any] = {}
    for f in detail_fields(claim_type):
        raw = (form.get(f.input) or "").strip()
        if f.kind == "checkbox":
            if raw:
                details[f.name] = True
            continue
        if not raw:
            continue
        if f.kind == "number":
            if not re.fullmatch(r"\d{1,12}", raw.replace(".", "").replace(",", "")):
                raise ValidationFailed(f"details.{f.name}", "{name}: {problem}", name=gettext(f.label),
                                       problem=gettext("not a whole number"))
            details[f.name] = int(raw.replace(".", "").replace(",", ""))
        else:
            details[f.name] = raw
    return details


def _intake_context(session: Session, principal: Principal, citizen_id: str, on: date, *,
                    values: dict | None = None, errors: dict | None = None) -> dict:
    person = record = preview = None
    errors = dict(errors or {})
    cid = re.sub(r"\s", "", citizen_id or "")
    if cid:
        if not re.fullmatch(r"\d{12}", cid):
            errors.setdefault("citizen_id", gettext("A citizen ID is 12 digits."))
        else:
            from ansinh.registry import service as registry

            person = registry.find_person(session, principal, citizen_id=cid)
            if person is None:
                errors.setdefault("citizen_id", gettext("No person with this citizen ID is registered in your "
                                                        "scope."))
            else:
                record = person_record(session, person, on)
                preview = eligibility_preview(session, person, on)
    chosen_values = {"citizen_id": cid, "filed_on": on.isoformat(), "channel": "counter", "type": "",
                     **(values or {})}
    return {"person": person, "record": record, "preview": preview, "values": chosen_values, "errors": errors,
            "on": on, "types": TYPE_LABELS, "channels": {k: v for k, v in CHANNEL_LABELS.items() if k != "portal"},
            "grounds": ground_choices(on), "fields": {t: detail_fields(t) for t in TYPE_LABELS},
            "choice_labels": CHOICE_LABELS, "schemes": SCHEME_LABELS}


def _ensure_staff(principal: Principal) -> None:
    if not principal.is_agency_staff:
        raise permission_denied(Permission.benefits_file)


@router.get("/benefits/new")
def intake_page(request: Request, session: DbSession, principal: Filer, citizen_id: _Filter = "",
                on: _Filter = "") -> Response:
    """Pick the person by citizen ID; their contribution record and what they may claim; the claim's form."""
    _ensure_staff(principal)
    errors: dict[str, str] = {}
    try:
        day = _parse_day(on, "filed_on", clock.today())
    except ValidationFailed as exc:
        errors["filed_on"], day = exc.translated(gettext), clock.today()
    context = _intake_context(session, principal, citizen_id, day, errors=errors)
    return render(request, "benefits/intake.html", context, status_code=422 if errors else 200)


@router.post("/benefits/new")
async def file_form(request: Request, session: DbSession, principal: Filer) -> Response:
    """The claim's form: the same filing as the API's (``service.file_claim``); then the claim's page."""
    _ensure_staff(principal)
    form = await request.form()
    typed = {k: str(v)[:4000] for k, v in form.items() if isinstance(v, str)}
    claim_type = _choice(typed.get("type", ""), TYPE_LABELS)
    citizen_id = typed.get("citizen_id", "").strip()
    return _file(request, session, principal, typed, claim_type, citizen_id)


def _file(request: Request, session: Session, principal: Principal, typed: dict, claim_type: str,
          citizen_id: str) -> Response:
    def action() -> BenefitClaim:
        if not claim_type:
            raise ValidationFailed("type", "Choose the benefit claimed.")
        filed_on = _parse_day(typed.get("filed_on", ""), "filed_on")
        missing = [line.strip() for line in typed.get("missing", "").splitlines() if line.strip()]
        claim, _ = service.file_claim(
            session, principal, claim_type=claim_type, citizen_id=citizen_id, filed_on=filed_on,
            channel=_choice(typed.get("channel", ""), CHANNEL_LABELS, "counter"),
            ground=typed.get("ground") or None if claim_type == "lump_sum" else None,
            details=read_details(claim_type, typed), missing=missing)
        return claim

    def form(errors: dict[str, str]) -> Response:
        try:
            day = _parse_day(typed.get("filed_on", ""), "filed_on", clock.today())
        except ValidationFailed:
            day = clock.today()
        return render(request, "benefits/intake.html", _intake_context(
            session, principal, citizen_id, day, values=typed, errors=errors))

    aliases = {f"details.{f.name}": f.input for f in detail_fields(claim_type)} if claim_type else {}
    return submit(request, session, action, csrf_token=typed.get("csrf_token"), field="type", aliases=aliases,
                  refusals=(ValidationFailed, Conflict, PermissionDenied, NotFound), form=form,
                  done=lambda claim: f"/benefits/claims/{claim.id}?notice=filed")


# --- a claim's page -------------------------------------------------------------------------------------------

S = ClaimStatus
#: The steps a claim's page offers: (action, the statuses it applies to, the permission it needs).
ACTIONS: dict[str, tuple[frozenset, Permission]] = {
    "incomplete": (frozenset({S.received, S.accepted}), Permission.benefits_assess),
    "complete": (frozenset({S.incomplete, S.received}), Permission.benefits_assess),  # received: by post
    "assess": (frozenset({S.accepted, S.assessed}), Permission.benefits_assess),
    "grant": (frozenset({S.assessed}), Permission.benefits_decide),
    "refuse": (frozenset({S.assessed}), Permission.benefits_decide),
    "appeal": (frozenset({S.granted, S.refused}), Permission.benefits_decide),
    "withdraw": (frozenset({S.received, S.incomplete, S.accepted, S.assessed}), Permission.benefits_assess),
}
#: Steps that only another officer than the one who decided may take on an appealed claim.
EXCLUDED_ACTIONS = frozenset({"assess", "grant", "refuse"})


def allowed_actions(claim: BenefitClaim, principal: Principal) -> list[str]:
    """The steps the claim's status allows that the caller may take (none for a citizen or an employer)."""
    if not principal.is_agency_staff:
        return []
    status = ClaimStatus(claim.status)
    out = []
    for action, (statuses, permission) in ACTIONS.items():
        if status not in statuses or not principal.has(permission):
            continue
        if action in EXCLUDED_ACTIONS and claim.excluded_officer == principal.username:
            continue
        if action == "grant" and not claim.eligible:
            continue
        out.append(action)
    return out


def _has_pdf() -> bool:
    return importlib.util.find_spec("ansinh.benefits.pdf") is not None


def _claim_payments(session: Session, claim_id: int) -> list[dict]:
    from ansinh.benefits.payments import service as payments

    rows = []
    for p in payments.claim_payments(session, claim_id):
        row = dict(p)
        for key in ("month", "paid_on"):
            if isinstance(row.get(key), str) and row[key]:
                text = row[key][:10]
                try:
                    row[key] = date.fromisoformat(text + "-01" if len(text) == 7 else text)
                except ValueError:
                    pass
        rows.append(row)
    return rows


def _claim_context(session: Session, principal: Principal, claim: BenefitClaim, *, errors: dict | None = None,
                   values: dict | None = None, notice: str = "") -> dict:
    today = clock.today()
    person = session.get(Person, claim.person_id)
    payee = session.get(Person, claim.payee_person_id) if claim.payee_person_id else None
    employer = session.get(Employer, claim.employer_id) if claim.employer_id else None
    return {
        "claim": claim, "person": person, "payee": payee if payee is not None and payee.id != person.id else None,
        "employer": employer, "events": service.claim_events(session, claim.id), "today": today,
        "left": service.working_days_left(claim, today), "late": service.is_late(claim, today),
        "actions": allowed_actions(claim, principal), "payments": _claim_payments(session, claim.id),
        "assessment": claim.assessment or None, "has_pdf": _has_pdf() and claim.decision_number is not None,
        "errors": errors or {}, "values": {"on": today.isoformat(), **(values or {})},
        "notice": gettext(NOTICES[notice]) if notice in NOTICES else "", "field_labels": FIELD_LABELS,
        "choice_labels": CHOICE_LABELS, "own_view": _is_external(principal), "key_text": key_text,
        "ground": ground_text(claim.ground, claim.filed_on) if claim.ground else None,
        "value_text": value_text, "assessment_text": assessment_text, "reason_text": lambda r: r.get("text_vi") if get_locale() == "vi" else r.get("text_en"),
        "can_person": principal.is_agency_staff and principal.has(Permission.registry_read),
    }


@router.get("/benefits/claims/{claim_id}")
def claim_page(request: Request, session: DbSession, principal: Reader, claim_id: RecordId,
               notice: _Filter = "") -> Response:
    """A claim: its status and legal clock, its timeline, the assessment, the decision, the payments, and the steps
    its status allows the caller."""
    claim = service.get_claim(session, principal, claim_id)
    return render(request, "benefits/claim.html", _claim_context(session, principal, claim, notice=notice))


@router.post("/benefits/claims/{claim_id}/{action}")
def claim_action(request: Request, session: DbSession, principal: Assessor, claim_id: RecordId, action: str,
                 csrf_token: _Field = "", on: _Field = "", reason: _Text = "", missing: _Text = "") -> Response:
    """One step of a claim's workflow, from the claim's page: mark incomplete, complete, assess, grant, refuse,
    appeal, withdraw. Refused steps show the page again with the reason beside the form."""
    if action not in ACTIONS:
        raise NotFound("There is nothing at this address.")
    permission = ACTIONS[action][1]
    if not principal.has(permission):
        raise permission_denied(permission)
    typed = {"on": on, "reason": reason, "missing": missing, "action": action}
    text = reason.strip() or None

    def act() -> BenefitClaim:
        day = _parse_day(on, f"{action}-on")
        if action == "incomplete":
            items = [line.strip() for line in missing.splitlines() if line.strip()]
            return service.mark_incomplete(session, principal, claim_id, missing=items, on=day, reason=text)
        if action == "complete":
            return service.complete_claim(session, principal, claim_id, on=day, reason=text)
        if action == "assess":
            return service.assess(session, principal, claim_id, on=day)
        if action == "grant":
            return service.decide(session, principal, claim_id, on=day)
        if action == "refuse":
            if not text:
                raise ValidationFailed("refuse", "Write the reason of the refusal.")
            return service.decide(session, principal, claim_id, on=day, refuse=text)
        if action == "appeal":
            return service.appeal(session, principal, claim_id, on=day, reason=reason)
        return service.withdraw_claim(session, principal, claim_id, on=day, reason=text)

    def form(errors: dict[str, str]) -> Response:
        claim = service.get_claim(session, principal, claim_id)
        return render(request, "benefits/claim.html", _claim_context(session, principal, claim, errors=errors,
                                                                     values=typed))

    aliases = {"on": f"{action}-on", "missing": f"{action}-missing", "reason": f"{action}-reason",
               "refuse": f"{action}-reason"}
    return submit(request, session, act, csrf_token=csrf_token, field=f"{action}-reason", aliases=aliases,
                  form=form, done=lambda claim: f"/benefits/claims/{claim.id}?notice={action}")


@router.get("/benefits/claims/{claim_id}/decision.pdf")
def decision_pdf(session: DbSession, principal: Reader, claim_id: RecordId) -> Response:
    """The numbered decision (Vietnamese PDF, amounts in figures and in words), for the claim's readers."""
    if not _has_pdf():
        raise NotFound("Claim {id} has no decision.", id=claim_id)
    from ansinh.benefits import pdf

    name, content = pdf.decision_document(session, principal, claim_id)
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})


# --- the employers' lists (01B-HSB) ------------------------------------------------------------------------------

def _own_employer(session: Session, principal: Principal) -> Employer | None:
    """The employer an employer account acts for (by its tax code); None for agency staff."""
    if Role.employer not in principal.roles or principal.is_agency_staff:
        return None
    employer = session.scalar(select(Employer).where(Employer.tax_code == (principal.subject_ref or "-")))
    if employer is None:
        raise NotFound("No employer is linked to this account.")
    return employer


def batches_scope(session: Session, principal: Principal):
    """The lists the caller may see: an employer account its own, staff their subtree's, a citizen none."""
    employer = _own_employer(session, principal)
    if employer is not None:
        return EmployerBenefitBatch.employer_id == employer.id
    if not principal.is_agency_staff:
        return EmployerBenefitBatch.id.is_(None)
    return org_scope(principal, EmployerBenefitBatch.org_unit_id)


BATCH_COLUMNS = (
    Column("submitted_on", N_("Sent on"), EmployerBenefitBatch.submitted_on),
    Column("employer", N_("Employer")),
    Column("file_name", N_("File")),
    Column("lines", N_("Lines"), EmployerBenefitBatch.lines, numeric=True),
    Column("filed", N_("Filed"), EmployerBenefitBatch.filed, numeric=True),
    Column("rejected", N_("Rejected"), EmployerBenefitBatch.rejected, numeric=True),
)
#: The largest 01B-HSB list accepted from the page (bytes): some ten thousand lines.
BATCH_MAX_BYTES = 5_000_000


def _batch_service():
    """The 01B-HSB service (``benefits.employer_batch``), or None while it is not there."""
    if importlib.util.find_spec("ansinh.benefits.employer_batch") is None:
        return None
    from ansinh.benefits import employer_batch

    return employer_batch


def _ensure_not_citizen(principal: Principal) -> None:
    if Role.citizen in principal.roles and not principal.is_agency_staff:
        raise permission_denied(Permission.benefits_file)


def _batches_response(request: Request, session: Session, principal: Principal, *, error: str = "",
                      problems: list | None = None, tax_code: str = "", status_code: int = 200) -> Response:
    employer = _own_employer(session, principal)
    listing = read_listing(request, BATCH_COLUMNS, default_sort="submitted_on", default_descending=True)
    stmt = select(EmployerBenefitBatch).where(batches_scope(session, principal))
    batches = fetch_page(session, stmt, listing, EmployerBenefitBatch.id.desc(), scalars=True)
    names = dict(session.execute(select(Employer.id, Employer.name)
                                 .where(Employer.id.in_({b.employer_id for b in batches}))).all()) if batches else {}
    locale = request_locale(request)
    return render(request, "benefits/batches.html", {
        "listing": listing, "batches": batches, "names": names, "employer": employer, "error": error,
        "problems": [{"row": p.row, "column": p.column, "value": p.value,
                      "reason": p.reason_vi if locale == "vi" else p.reason_en} for p in problems or []],
        "tax_code": tax_code,
        "can_send": principal.has(Permission.benefits_file) and _batch_service() is not None
        and (employer is not None or principal.is_agency_staff)}, status_code=status_code)


@router.get("/benefits/employer-batches")
def batches_page(request: Request, session: DbSession, principal: BatchReader) -> Response:
    """An employer's lists of sickness and maternity cases (01B-HSB) with their outcome, and the upload form; staff
    see the lists of their scope and may send one for an employer of their scope."""
    _ensure_not_citizen(principal)
    return _batches_response(request, session, principal)


@router.post("/benefits/employer-batches")
async def send_batch(request: Request, session: DbSession, principal: BatchSender, csrf_token: _Field = "",
                     tax_code: Annotated[str, Form(max_length=20)] = "",
                     file: Annotated[UploadFile | None, File()] = None) -> Response:
    """The upload: the same as the API's (``employer_batch.submit_employer_batch``): each line filed as a claim or
    rejected with its reason; a file that cannot be read writes nothing; the same file twice files nothing twice."""
    verify_csrf(request, csrf_token)
    _ensure_not_citizen(principal)
    module = _batch_service()
    if module is None:
        raise NotFound("There is nothing at this address.")
    typed = tax_code.strip()
    name = (file.filename or "") if file is not None else ""
    if not name:
        return _batches_response(request, session, principal, error=gettext("Choose the list (01B-HSB) to send."),
                                 tax_code=typed, status_code=422)
    content = await file.read(BATCH_MAX_BYTES + 1)
    if len(content) > BATCH_MAX_BYTES:
        return _batches_response(request, session, principal, tax_code=typed, status_code=422,
                                 error=gettext("The file is larger than {size} MB.").format(
                                     size=BATCH_MAX_BYTES // 1_000_000))
    try:
        report = module.submit_employer_batch(session, principal, content=content, file_name=name,
                                              employer_tax_code=typed or None, on=clock.today())
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        session.rollback()
        return _batches_response(request, session, principal, error=exc.translated(gettext), tax_code=typed,
                                 status_code=422)
    if report.status == "rejected" or report.batch_id is None:
        session.rollback()
        return _batches_response(request, session, principal, tax_code=typed, status_code=422, problems=report.errors,
                                 error=gettext("The list was not read: nothing was filed."))
    session.commit()
    from ansinh.web.forms import redirect

    notice = "replayed" if report.status == "replayed" else "batch"
    return redirect(f"/benefits/employer-batches/{report.batch_id}?notice={notice}", request)


@router.get("/benefits/employer-batches/{batch_id}")
def batch_page(request: Request, session: DbSession, principal: BatchReader, batch_id: RecordId,
               notice: _Filter = "") -> Response:
    """A list's outcome, line by line: the claim filed (or filed before), or why the line was rejected."""
    if Role.citizen in principal.roles and not principal.is_agency_staff:
        raise NotFound("List {id} does not exist.", id=batch_id)
    module = _batch_service()
    if module is not None:
        batch = module.get_batch(session, principal, batch_id)
    else:
        batch = session.scalar(select(EmployerBenefitBatch).where(EmployerBenefitBatch.id == batch_id,
                                                                  batches_scope(session, principal)))
        if batch is None:
            raise NotFound("List {id} does not exist.", id=batch_id)
    employer = session.get(Employer, batch.employer_id)
    locale = request_locale(request)
    outcomes = []
    for line in batch.outcomes or []:
        error = line.get("error")
        if isinstance(error, dict):
            error = {"column": error.get("column"), "value": error.get("value"),
                     "reason": error.get("reason_vi" if locale == "vi" else "reason_en") or error.get("reason_vi")}
        elif error:
            error = {"column": None, "value": None, "reason": str(error)}
        status = line.get("status") or ("filed" if line.get("claim_id") else "rejected")
        outcomes.append({**line, "error": error, "status": status})
    return render(request, "benefits/batch.html", {
        "batch": batch, "employer": employer, "outcomes": outcomes,
        "notice": gettext(NOTICES[notice]) if notice in NOTICES else ""})


# --- showing what an assessment and a timeline hold -------------------------------------------------------------

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CODE = re.compile(r"[a-z0-9]+(_[a-z0-9]+)+")


def key_text(key: object, labels: dict | None = None) -> Markup:
    """A key of an assessment's record or figures, or of a step's details: its label, else the key as code."""
    text = str(key)
    labels = labels or FIELD_LABELS
    if text in labels:
        return Markup.escape(gettext(labels[text]))
    return Markup("<code>{}</code>").format(text)


def value_text(value: Any, depth: int = 0, labels: dict | None = None) -> Markup:
    """A value of an assessment or a step as a reader reads it: numbers and dates the way of the page's language,
    yes/no, a message in the reader's language, lists and tables nested (three levels at most), internal codes as
    code."""
    if value is None:
        return Markup("—")
    if isinstance(value, bool):
        return Markup.escape(gettext("Yes") if value else gettext("No"))
    if isinstance(value, int | float):
        return Markup.escape(formatting.number(value))
    if isinstance(value, str):
        if _ISO_DAY.fullmatch(value):
            try:
                return Markup.escape(formatting.day(date.fromisoformat(value)))
            except ValueError:
                pass
        if _CODE.fullmatch(value):
            return Markup("<code>{}</code>").format(value)
        return Markup.escape(value)
    if depth >= 3:
        return Markup("<code>{}</code>").format(json.dumps(value, ensure_ascii=False, default=str)[:500])
    if isinstance(value, dict):
        if "text_vi" in value and "text_en" in value:  # a message in both languages (a warning, a reason)
            text = value["text_vi"] if get_locale() == "vi" else value["text_en"]
            return Markup.escape(f"{text} ({value['article']})" if value.get("article") else text)
        items = Markup("").join(Markup("<dt>{}</dt><dd>{}</dd>").format(
            key_text(k, labels), _keyed_value(k, v, depth, labels)) for k, v in value.items())
        return Markup('<dl class="facts small">{}</dl>').format(items)
    if isinstance(value, list | tuple):
        items = Markup("").join(Markup("<li>{}</li>").format(value_text(v, depth + 1, labels)) for v in value[:100])
        return Markup("<ul>{}</ul>").format(items)
    return Markup.escape(str(value))


def _keyed_value(key: str, value: Any, depth: int, labels: dict | None) -> Markup:
    if key == "channel" and isinstance(value, str) and value in CHANNEL_LABELS:
        return Markup.escape(gettext(CHANNEL_LABELS[value]))
    if key in ("survivor_kind", "kind") and isinstance(value, str) and value in CHOICE_LABELS:
        return Markup.escape(gettext(CHOICE_LABELS[value]))
    return value_text(value, depth + 1, labels)


def assessment_text(value: Any) -> Markup:
    """An assessment's record or computation, its keys named as the rules mean them."""
    return value_text(value, labels={**FIELD_LABELS, **ASSESSMENT_LABELS})
