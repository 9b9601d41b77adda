"""Running the automatic appraisal on the claims in the tables and keeping what it found.

:func:`appraise_claims` picks the current version of each episode (of a facility, a settlement month, or both,
within the principal's org units), reads everything the rules need in a few set-based reads (the claims, their
lines, the people's registry facts, cards and coverage through their domains' services, the facilities' contracts
and classifications on each visit day, the price lists and the ICD-10 catalogue when available, and the other claims
of the same people as history), runs the engine (:mod:`.engine`) and writes the run: the findings (bulk), each claim's
outcome, disallowed amount and appraisal time, each line's disallowed amount. Findings of earlier runs on the same
claims are superseded (kept, with ``superseded_at``), overridden ones included: a new run decides again.

Times: the tables keep UTC; the engine works in Vietnam's local time (the day the facility wrote).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta

import polars as pl
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from ansinh.audit.service import record_event
from ansinh.auth.permissions import Permission, Principal, ensure_permission, org_scope
from ansinh.bulk import bulk_insert
from ansinh.claims.appraisal.engine import CLAIM_SCHEMA, LINE_SCHEMA, AppraisalBatch, appraise
from ansinh.claims.appraisal.models import AppraisalRun, Finding
from ansinh.claims.models import Claim, ClaimLine
from ansinh.db import utcnow
from ansinh.errors import ValidationFailed
from ansinh.rules.parameters import ParameterSet, get_parameters

VIETNAM = "Asia/Ho_Chi_Minh"
#: Other claims of the same people read as history: from this many days before the earliest visit of the batch (the
#: longest period of ``claims.many_visits_period_days``), and every stay still running then.
HISTORY_PARAMETER = "claims.many_visits_period_days"

PricesFor = Callable[[Session, list[str], date, date], pl.DataFrame]
IcdKnown = Callable[[pl.Series], pl.Series]


def _default_prices() -> PricesFor | None:
    """``prices_for`` of the price lists, once that part exists (None until then: the price rules find nothing)."""
    try:
        from ansinh.claims.prices.service import prices_for  # type: ignore[attr-defined]
    except ImportError:
        return None
    return prices_for


def _default_icd() -> IcdKnown | None:
    try:
        from ansinh.claims.catalogues import icd10_is_known  # type: ignore[attr-defined]
    except ImportError:
        return None
    return icd10_is_known


def _claim_filter(principal: Principal, facility_code: str | None, month: date | None) -> list:
    conditions = [Claim.superseded_at.is_(None), org_scope(principal, Claim.org_unit_id)]
    if facility_code is not None:
        conditions.append(Claim.facility_code == facility_code)
    if month is not None:
        conditions += [Claim.settlement_year == month.year, Claim.settlement_month == month.month]
    return conditions


def _local(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """UTC moments as Vietnam's local time without a zone."""
    return frame.with_columns(pl.col(column).dt.replace_time_zone("UTC").dt.convert_time_zone(VIETNAM)
                              .dt.replace_time_zone(None).dt.cast_time_unit("us") for column in columns)


def _frame(session: Session, columns: list, schema: dict, *conditions, order_by=None) -> pl.DataFrame:
    stmt = select(*columns).where(*conditions)
    if order_by is not None:
        stmt = stmt.order_by(order_by)
    rows = session.execute(stmt).all()
    aware = {name: (pl.Datetime("us", "UTC") if dtype == pl.Datetime("us") else dtype) for name, dtype in schema.items()}
    return pl.DataFrame([tuple(row) for row in rows], schema=aware, orient="row")


CLAIM_COLUMNS = {"claim_id": Claim.id, "facility_code": Claim.facility_code, "person_id": Claim.person_id,
                 "card_code": Claim.card_code, "date_of_birth": Claim.date_of_birth,
                 "visit_category": Claim.visit_category, "care_type": Claim.care_type, "main_icd": Claim.main_icd,
                 "other_icd": Claim.other_icd, "arrived_at": Claim.arrived_at, "admitted_at": Claim.admitted_at,
                 "discharged_at": Claim.discharged_at, "treatment_days": Claim.treatment_days,
                 "total_hospital": Claim.total_hospital, "total_insured": Claim.total_insured,
                 "patient_copay": Claim.patient_copay, "patient_pays": Claim.patient_pays,
                 "fund_claimed": Claim.fund_claimed, "other_sources": Claim.other_sources}
LINE_COLUMNS = {"line_id": ClaimLine.id, "claim_id": ClaimLine.claim_id, "kind": ClaimLine.kind,
                "code": ClaimLine.code, "cost_group": ClaimLine.cost_group, "quantity_milli": ClaimLine.quantity_milli,
                "unit_price_milli": ClaimLine.unit_price_milli, "payment_rate": ClaimLine.payment_rate,
                "benefit_pct": ClaimLine.benefit_pct, "hospital_amount": ClaimLine.hospital_amount,
                "insured_amount": ClaimLine.insured_amount, "fund_amount": ClaimLine.fund_amount,
                "ordered_at": ClaimLine.ordered_at, "performed_at": ClaimLine.performed_at}
MOMENTS = ("arrived_at", "admitted_at", "discharged_at")


def load_batch(session: Session, conditions: list, *, parameters: ParameterSet | None = None,
               prices_for: PricesFor | None = None, icd_known: IcdKnown | None = None) -> AppraisalBatch:
    """The batch of the claims matching ``conditions`` (on :class:`Claim`), read set-based."""
    chosen = select(Claim.id).where(*conditions)
    claims = _local(_frame(session, list(CLAIM_COLUMNS.values()), CLAIM_SCHEMA, *conditions, order_by=Claim.id),
                    MOMENTS)
    lines = _local(_frame(session, list(LINE_COLUMNS.values()), LINE_SCHEMA, ClaimLine.claim_id.in_(chosen),
                          order_by=ClaimLine.id), ("ordered_at", "performed_at"))
    people = select(Claim.person_id).where(*conditions, Claim.person_id.is_not(None)).distinct()
    return load_context(session, claims, lines, people=people, not_history=[Claim.id.not_in(chosen)],
                        parameters=parameters, prices_for=prices_for, icd_known=icd_known)


def load_context(session: Session, claims: pl.DataFrame, lines: pl.DataFrame, *, people, not_history: list = (),
                 parameters: ParameterSet | None = None, prices_for: PricesFor | None = None,
                 icd_known: IcdKnown | None = None) -> AppraisalBatch:
    """The batch of some claims and lines (frames of ``CLAIM_SCHEMA`` and ``LINE_SCHEMA``, Vietnam's local times),
    read from the tables or built otherwise (a FHIR Claim), with everything the rules need, read set-based: the
    registry's facts, cards and coverage of ``people`` (ids, or a subquery of ids), the facilities on each visit day,
    the prices, and as history the other current claims of those people (``not_history``: conditions on
    :class:`Claim` leaving out the claims of the batch)."""
    from ansinh.cards.facilities import classifications_on, codes_with_contract_in_force
    from ansinh.cards.service import card_versions_of
    from ansinh.participation.service import hi_coverage_of
    from ansinh.registry.service import dates_of_birth

    parameters = parameters or get_parameters()
    cards = card_versions_of(session, people)
    cards = _local(cards, ("superseded_at",)).with_columns(superseded_on=pl.col("superseded_at").dt.date()) \
        .drop("superseded_at")

    # the facilities on each visit day: contract in force, classification (one read per day)
    days = sorted(set(claims["arrived_at"].dt.date().drop_nulls().to_list()))
    codes = claims["facility_code"].unique().sort().to_list()
    facility_days = []
    for day in days:
        contracted = codes_with_contract_in_force(session, day)
        classified = classifications_on(session, codes, day)
        facility_days.append(classified.rename({"code": "facility_code"}).with_columns(
            on=pl.lit(day), contract=pl.col("facility_code").is_in(sorted(contracted))))
    facilities = pl.concat(facility_days) if facility_days else None

    prices = None
    if prices_for is not None and days:
        prices = prices_for(session, codes, days[0], max(days[-1], *(
            claims["discharged_at"].dt.date().drop_nulls().to_list() or [days[-1]])))

    history = None
    if days:
        margin = max(entry.value for entry in parameters[HISTORY_PARAMETER].values if entry.value is not None)
        start = min(claims["arrived_at"]) - timedelta(days=margin)
        end = max(claims["arrived_at"]) + timedelta(days=margin)
        from ansinh.clock import VIETNAM as ZONE

        start_utc, end_utc = start.replace(tzinfo=ZONE), end.replace(tzinfo=ZONE)
        others = [Claim.superseded_at.is_(None), Claim.person_id.in_(people), *not_history,
                  or_(and_(Claim.arrived_at >= start_utc, Claim.arrived_at <= end_utc),
                      and_(Claim.arrived_at <= end_utc, Claim.discharged_at >= start_utc))]
        history_columns = ["claim_id", "facility_code", "person_id", "card_code", "care_type", *MOMENTS]
        history = _local(_frame(session, [CLAIM_COLUMNS[name] for name in history_columns],
                                {name: CLAIM_SCHEMA[name] for name in history_columns}, *others), MOMENTS)
    return AppraisalBatch(claims=claims, lines=lines, people=dates_of_birth(session, people), cards=cards,
                          coverage=hi_coverage_of(session, people), facilities=facilities, prices=prices,
                          icd_known=icd_known, parameters=parameters, history=history)


def appraise_claims(session: Session, *, principal: Principal, facility_code: str | None = None,
                    month: date | None = None, prices_for: PricesFor | None = None,
                    icd_known: IcdKnown | None = None, parameters: ParameterSet | None = None) -> AppraisalRun:
    """Appraise the current claims of a facility and/or a settlement month (``month``: any day of it) within the
    principal's org units, and record the run. ``prices_for`` and ``icd_known`` default to the price lists and the
    ICD-10 catalogue of the claims domain when they exist. The caller commits."""
    ensure_permission(principal, Permission.claims_appraise)
    if facility_code is None and month is None:
        raise ValidationFailed("month", "Give the facility, the settlement month, or both.")
    prices_for = prices_for or _default_prices()
    icd_known = icd_known or _default_icd()
    conditions = _claim_filter(principal, facility_code, month)
    run = AppraisalRun(started_by=principal.username, facility_code=facility_code,
                       settlement_year=month.year if month else None, settlement_month=month.month if month else None)
    session.add(run)
    session.flush()
    batch = load_batch(session, conditions, parameters=parameters, prices_for=prices_for, icd_known=icd_known)
    result = appraise(batch)
    now = utcnow()
    claim_ids = select(Claim.id).where(*conditions)

    # earlier findings of these claims: superseded
    session.execute(update(Finding).where(Finding.claim_id.in_(claim_ids), Finding.superseded_at.is_(None))
                    .values(superseded_at=now).execution_options(synchronize_session=False))
    org_units = pl.DataFrame(session.execute(select(Claim.id, Claim.org_unit_id).where(*conditions)).all(),
                             schema={"claim_id": pl.Int64, "org_unit_id": pl.Int64}, orient="row")
    findings = result.findings.join(org_units, on="claim_id", how="left").with_columns(run_id=pl.lit(run.id))
    findings = findings.select("run_id", "claim_id", "line_id", "rule", "amount", "details", "org_unit_id")
    if session.connection().dialect.name != "postgresql":  # executemany: the JSON column wants the values
        findings = findings.with_columns(details=pl.Series(
            [json.loads(text) for text in findings["details"].to_list()], dtype=pl.Object))
    written = bulk_insert(session, Finding.__table__, findings)

    # each claim's outcome; each line's disallowed amount (lines of these claims reset first)
    if result.claims.height:
        session.execute(update(Claim), [
            {"id": row["claim_id"], "status": "appraised", "outcome_status": row["outcome"],
             "disallowed": row["disallowed"], "appraised_at": now} for row in result.claims.iter_rows(named=True)])
    session.execute(update(ClaimLine).where(ClaimLine.claim_id.in_(claim_ids), ClaimLine.disallowed != 0)
                    .values(disallowed=0).execution_options(synchronize_session=False))
    refused = result.lines.filter(pl.col("disallowed") != 0)
    if refused.height:
        session.execute(update(ClaimLine), [{"id": line_id, "disallowed": amount} for line_id, amount in
                                            refused.select("line_id", "disallowed").iter_rows()])
    run.finished_at = utcnow()
    run.claims = result.claims.height
    run.findings = written
    record_event(session, "appraise", "appraisal_run", run.id, org_unit_id=principal.org_unit_id,
                 details={"claims": run.claims, "findings": written, "facility_code": facility_code,
                          "month": month.isoformat() if month else None,
                          "disallowed": int(result.claims["disallowed"].sum() or 0)})
    session.flush()
    return run


def current_findings(session: Session, principal: Principal, claim_id: int) -> list[Finding]:
    """The findings of a claim's latest run (not superseded), in the engine's order."""
    ensure_permission(principal, Permission.claims_appraise)
    return list(session.scalars(
        select(Finding).where(Finding.claim_id == claim_id, Finding.superseded_at.is_(None),
                              org_scope(principal, Finding.org_unit_id))
        .order_by(Finding.line_id.is_not(None), Finding.line_id, Finding.rule, func.coalesce(Finding.id, 0))))
