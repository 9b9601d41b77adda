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
from sqlalchemy import and_, case, exists, func, or_, select, text, union_all, update
from sqlalchemy.orm import Session, aliased

from ansinh.audit.service import record_event
from ansinh.auth.permissions import Permission, Principal, ensure_permission, org_scope
from ansinh.bulk import bulk_insert, read_frame
from ansinh.claims.appraisal.engine import CLAIM_SCHEMA, LINE_SCHEMA, AppraisalBatch, appraise
from ansinh.claims.appraisal.models import AppraisalRun, Finding
from ansinh.claims.models import Claim, ClaimLine, claim_is_settled
from ansinh.db import utcnow
from ansinh.errors import ValidationFailed
from ansinh.rules.parameters import ParameterSet, get_parameters

VIETNAM = "Asia/Ho_Chi_Minh"
APPRAISED = "appraised"
#: Other claims of the same people read as history: from this many days before the earliest visit of the batch (the
#: longest period of ``claims.many_visits_period_days``), and every stay still running then.
HISTORY_PARAMETER = "claims.many_visits_period_days"

PricesFor = Callable[[Session, list[str], date, date], pl.DataFrame]
IcdKnown = Callable[[pl.Series], pl.Series]


def default_prices() -> PricesFor:
    """The price lists' reader (``prices_for``), the appraisal's unless given another."""
    from ansinh.claims.prices.service import prices_for

    return prices_for


def default_icd() -> IcdKnown:
    """The ICD-10 catalogue's check (``icd10_is_known``), the appraisal's unless given another."""
    from ansinh.claims.catalogues import icd10_is_known

    return icd10_is_known


def _local(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """UTC moments as Vietnam's local time without a zone."""
    return frame.with_columns(pl.col(column).dt.replace_time_zone("UTC").dt.convert_time_zone(VIETNAM)
                              .dt.replace_time_zone(None).dt.cast_time_unit("us") for column in columns)


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


def line_conditions(month: date | None) -> list:
    """The lines of the claims of a settlement month (any day of it; None: any month), on :class:`ClaimLine`: on
    PostgreSQL the lines are partitioned by it, and a read or update given it touches the month's partition only."""
    return [] if month is None else [ClaimLine.claim_month == month.replace(day=1)]


def load_batch(session: Session, conditions: list, *, month: date | None = None,
               parameters: ParameterSet | None = None, prices_for: PricesFor | None = None,
               icd_known: IcdKnown | None = None) -> AppraisalBatch:
    """The batch of the claims matching ``conditions`` (on :class:`Claim`), read set-based; ``month``: their
    settlement month when the conditions choose one (the lines are read from its partition)."""
    chosen = select(Claim.id).where(*conditions)
    claims = _local(read_frame(session, select(*CLAIM_COLUMNS.values()).where(*conditions).order_by(Claim.id),
                               CLAIM_SCHEMA), MOMENTS)
    lines = _local(read_frame(session, select(*LINE_COLUMNS.values())
                              .where(ClaimLine.claim_id.in_(chosen), *line_conditions(month))
                              .order_by(ClaimLine.id), LINE_SCHEMA), ("ordered_at", "performed_at"))
    people = select(Claim.person_id).where(*conditions, Claim.person_id.is_not(None)).distinct()
    batch = select(Claim.id.label("id")).where(*conditions).subquery("batch")
    # NOT EXISTS, an anti-join (NOT IN a million ids would be checked row by row once beyond work_mem)
    return load_context(session, claims, lines, people=people,
                        not_history=[~exists().where(batch.c.id == Claim.id)],
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
        history_stmt = select(*(CLAIM_COLUMNS[name] for name in history_columns)).where(*others)
        history = _local(read_frame(session, history_stmt, {name: CLAIM_SCHEMA[name] for name in history_columns}),
                         MOMENTS)
    return AppraisalBatch(claims=claims, lines=lines, people=dates_of_birth(session, people), cards=cards,
                          coverage=hi_coverage_of(session, people), facilities=facilities, prices=prices,
                          icd_known=icd_known, parameters=parameters, history=history)


def appraise_claims(session: Session, *, principal: Principal | None, facility_code: str | None = None,
                    month: date | None = None, prices_for: PricesFor | None = None,
                    icd_known: IcdKnown | None = None, parameters: ParameterSet | None = None,
                    started_by: str | None = None) -> AppraisalRun:
    """Appraise the current, unsettled claims of a facility and/or a settlement month (``month``: any day of it)
    within the principal's org units (``None``: a command on the server, every org unit), and record the run.
    ``prices_for`` and ``icd_known`` default to the price lists and the ICD-10 catalogue of the claims domain when
    they exist. Runs on the same claims are taken one after the other (:func:`lock_appraisal`); an appraiser's
    override of a finding the new run finds again is carried to the new finding, and the outcomes leave overridden
    findings out (:func:`write_outcomes`). The caller commits."""
    if principal is not None:
        ensure_permission(principal, Permission.claims_appraise)
    if facility_code is None and month is None:
        raise ValidationFailed("month", "Give the facility, the settlement month, or both.")
    lock_appraisal(session, facility_code, month)
    prices_for = prices_for or default_prices()
    icd_known = icd_known or default_icd()
    conditions = run_conditions(principal, facility_code, month)
    who = started_by or (principal.username if principal is not None else "cli")
    run = AppraisalRun(started_by=who[:64], facility_code=facility_code,
                       settlement_year=month.year if month else None, settlement_month=month.month if month else None)
    session.add(run)
    session.flush()
    batch = load_batch(session, conditions, month=month, parameters=parameters, prices_for=prices_for,
                       icd_known=icd_known)
    result = appraise(batch)
    now = utcnow()
    claim_ids = select(Claim.id).where(*conditions)

    supersede_findings(session, claim_ids, superseded_at=now)
    org_units = pl.DataFrame(session.execute(select(Claim.id, Claim.org_unit_id).where(*conditions)).all(),
                             schema={"claim_id": pl.Int64, "org_unit_id": pl.Int64}, orient="row")
    findings = result.findings.join(org_units, on="claim_id", how="left").with_columns(
        run_id=pl.lit(run.id), details=_with_whole(pl.col("details"), pl.col("whole")))
    findings = findings.select("run_id", "claim_id", "line_id", "rule", "amount", "details", "org_unit_id")
    if session.connection().dialect.name != "postgresql":  # executemany: the JSON column wants the values
        findings = findings.with_columns(details=pl.Series(
            [json.loads(text) for text in findings["details"].to_list()], dtype=pl.Object))
    written = bulk_insert(session, Finding.__table__, findings)
    if written >= _ANALYZE_AFTER_ROWS and session.connection().dialect.name == "postgresql":
        # the planner's statistics of the findings: a batch of a month adds more rows than the table may have had
        # (estimated at none, the outcomes' joins would loop over them); ANALYZE reads a sample (a fraction of a s)
        session.execute(text("ANALYZE appraisal_finding"))
    carried = carry_overrides(session, run.id, superseded_at=now)
    outcomes = write_outcomes(session, claim_ids, appraised_at=now, month=month)

    run.finished_at = utcnow()
    run.claims = result.claims.height
    run.findings = written
    record_event(session, "appraise", "appraisal_run", run.id,
                 org_unit_id=principal.org_unit_id if principal is not None else None,
                 details={"claims": run.claims, "findings": written, "facility_code": facility_code,
                          "month": month.isoformat() if month else None, "overrides_carried": carried,
                          "disallowed": sum(row["disallowed"] for row in outcomes.values())})
    session.flush()
    return run


#: Findings written by a run from which the table's planner statistics are refreshed (PostgreSQL).
_ANALYZE_AFTER_ROWS = 10_000


def supersede_findings(session: Session, claim_ids, *, superseded_at) -> int:
    """Mark the current findings of some claims (a select of claim ids) superseded: a new run decides again."""
    return session.execute(update(Finding).where(Finding.claim_id.in_(claim_ids), Finding.superseded_at.is_(None))
                           .values(superseded_at=superseded_at)
                           .execution_options(synchronize_session=False)).rowcount or 0


def current_findings(session: Session, principal: Principal | None, claim_id: int) -> list[Finding]:
    """The findings of a claim's latest run (not superseded; overridden ones included), in the engine's order.
    ``principal`` None: a command on the server."""
    conditions = [Finding.claim_id == claim_id, Finding.superseded_at.is_(None)]
    if principal is not None:
        if not (principal.has(Permission.claims_appraise) or principal.has(Permission.claims_read)):
            ensure_permission(principal, Permission.claims_appraise)
        conditions.append(org_scope(principal, Finding.org_unit_id))
    return list(session.scalars(
        select(Finding).where(*conditions)
        .order_by(Finding.line_id.is_not(None), Finding.line_id, Finding.rule, func.coalesce(Finding.id, 0))))


# --- runs on the same claims one at a time; overrides that stand; outcomes written set-based ---------------------

#: The appraisal lock (PostgreSQL advisory lock, first key); the second key is the run's facility and month.
_APPRAISAL_LOCK = 5_470_131


def lock_appraisal(session: Session, facility_code: str | None, month: date | None) -> None:
    """Take the appraisal lock for the rest of the transaction (PostgreSQL; SQLite serialises writers), under the
    session's lock timeout: a run of one facility and month locks that pair (and shares the lock of the wide runs);
    a wider run (a whole month, or a facility's every month) takes the wide lock alone, so that no two runs on the
    same claims interleave."""
    if session.get_bind().dialect.name != "postgresql":
        return
    statement = "SELECT {function}(:key, hashtext(current_schema() || ':' || :scope))"
    wide = {"key": _APPRAISAL_LOCK, "scope": "*"}
    if facility_code is not None and month is not None:
        session.execute(text(statement.format(function="pg_advisory_xact_lock_shared")), wide)
        session.execute(text(statement.format(function="pg_advisory_xact_lock")),
                        {"key": _APPRAISAL_LOCK, "scope": f"{facility_code}:{month:%Y-%m}"})
    else:
        session.execute(text(statement.format(function="pg_advisory_xact_lock")), wide)


def run_conditions(principal: Principal | None, facility_code: str | None, month: date | None) -> list:
    """The claims a run appraises: current versions not settled (a settled claim's amounts no longer change), of
    the facility and/or month, within the principal's org units (None: every one)."""
    conditions = [Claim.superseded_at.is_(None), ~claim_is_settled()]
    if principal is not None:
        conditions.append(org_scope(principal, Claim.org_unit_id))
    if facility_code is not None:
        conditions.append(Claim.facility_code == facility_code)
    if month is not None:
        conditions += [Claim.settlement_year == month.year, Claim.settlement_month == month.month]
    return conditions


def _with_whole(details: pl.Expr, whole: pl.Expr) -> pl.Expr:
    """The details' JSON text with ``"whole": true`` added when the finding refuses the whole claim (the outcome is
    recomputed from the stored findings: :func:`write_outcomes`)."""
    return (pl.when(whole.fill_null(False) & (details == "{}")).then(pl.lit('{"whole":true}'))
            .when(whole.fill_null(False)).then(pl.concat_str([pl.lit('{"whole":true,'), details.str.slice(1)]))
            .otherwise(details))


def refuses_whole(finding=Finding):
    """Whether a stored finding refuses the whole claim (SQL)."""
    return func.coalesce(finding.details["whole"].as_boolean(), False)


def carry_overrides(session: Session, run_id: int, *, superseded_at) -> int:
    """Carry the overrides of the findings a run has just superseded to the run's findings of the same claim, line
    and rule (the latest such override): the appraiser's decision stands. Set-based, over the claims that had such
    an override only (few: people's decisions), so that a run of a million claims does not compare every new
    finding with every superseded one; answers how many."""
    earlier = aliased(Finding)
    overridden = list(session.scalars(select(earlier.claim_id).where(
        earlier.superseded_at == superseded_at, earlier.overridden_at.is_not(None)).distinct()))
    if not overridden:
        return 0
    same = and_(earlier.claim_id == Finding.claim_id, earlier.rule == Finding.rule,
                or_(earlier.line_id == Finding.line_id, and_(earlier.line_id.is_(None), Finding.line_id.is_(None))),
                earlier.superseded_at == superseded_at, earlier.overridden_at.is_not(None))

    def latest(column):
        return select(column).where(same).order_by(earlier.overridden_at.desc(), earlier.id.desc()) \
            .limit(1).correlate(Finding).scalar_subquery()

    carried = 0
    for start in range(0, len(overridden), _CLAIMS_PER_STATEMENT):
        result = session.execute(
            update(Finding).where(Finding.run_id == run_id,
                                  Finding.claim_id.in_(overridden[start:start + _CLAIMS_PER_STATEMENT]),
                                  select(earlier.id).where(same).exists())
            .values(overridden_at=latest(earlier.overridden_at), overridden_by=latest(earlier.overridden_by),
                    override_reason=latest(earlier.override_reason))
            .execution_options(synchronize_session=False))
        carried += result.rowcount or 0
    return carried


#: Claim ids bound in one statement at most (SQLite's limit of bound parameters is 32,766).
_CLAIMS_PER_STATEMENT = 10_000


def write_outcomes(session: Session, claim_ids, *, appraised_at,
                   month: date | None = None) -> dict[str, dict[str, int]]:
    """Each claim's outcome and disallowed amount, and each line's disallowed amount, from the current findings that
    are not overridden, adding them up as the engine does (:mod:`.engine`): a line's disallowed amount is the
    largest of its findings' (all of its fund amount when a claim-level finding refuses the whole claim); a claim's
    is min(fund claimed, Σ its lines' + Σ its claim-level amounts); rejected when it is refused whole or all of it,
    partly accepted when part is, else accepted; its status "appraised".

    Two UPDATEs over ``claim_ids`` (a select of claim ids), each from one SELECT computing the new values, that
    write only the rows whose values change: a claim or line is written once at most, and a run that decides as the
    last one did writes nothing. ``appraised_at`` is set on the claims written (the moment their current outcome was
    decided): a claim whose outcome a later run confirms keeps the earlier moment. Answers the count and disallowed
    amount per outcome. ``month``: the claims' settlement month when they share one (the lines are read and
    written in its partition only)."""
    quiet = {"synchronize_session": False}
    in_month = line_conditions(month)
    chosen = claim_ids.subquery()
    chosen_id = list(chosen.c)[0]
    live = [Finding.claim_id.in_(select(chosen_id)), Finding.superseded_at.is_(None), Finding.overridden_at.is_(None)]
    whole = select(Finding.claim_id).where(*live, Finding.line_id.is_(None), refuses_whole()).distinct().subquery()
    per_line = select(Finding.line_id, func.max(Finding.amount).label("amount")).where(
        *live, Finding.line_id.is_not(None)).group_by(Finding.line_id).subquery()
    fund_line = case((ClaimLine.fund_amount > 0, ClaimLine.fund_amount), else_=0)
    found_line = case((per_line.c.amount > 0, per_line.c.amount), else_=0)

    # the lines: every line of the claims (those no finding names any longer go back to 0)
    lines = (select(ClaimLine.id.label("id"), case((whole.c.claim_id.is_not(None), fund_line),
                                                   else_=func.coalesce(found_line, 0)).label("amount"))
             .select_from(chosen).join(ClaimLine, and_(ClaimLine.claim_id == chosen_id, *in_month))
             .outerjoin(whole, whole.c.claim_id == ClaimLine.claim_id)
             .outerjoin(per_line, per_line.c.line_id == ClaimLine.id)).subquery()
    session.execute(update(ClaimLine).where(ClaimLine.id == lines.c.id, ClaimLine.disallowed != lines.c.amount,
                                            *in_month)
                    .values(disallowed=lines.c.amount).execution_options(**quiet))

    # the claims: what their lines and claim-level findings disallow (only the lines something disallows are read)
    parts = union_all(
        select(ClaimLine.claim_id.label("claim_id"), fund_line.label("amount"))
        .join(whole, whole.c.claim_id == ClaimLine.claim_id).where(*in_month),
        select(ClaimLine.claim_id, found_line).join(per_line, per_line.c.line_id == ClaimLine.id)
        .where(~exists().where(whole.c.claim_id == ClaimLine.claim_id), *in_month),
        select(Finding.claim_id, Finding.amount).where(*live, Finding.line_id.is_(None), Finding.amount != 0),
    ).subquery()
    sums = select(parts.c.claim_id, func.sum(parts.c.amount).label("amount")).group_by(parts.c.claim_id).subquery()
    fund = case((Claim.fund_claimed > 0, Claim.fund_claimed), else_=0)
    disallowed = case((sums.c.amount.is_(None), 0), (sums.c.amount < fund, sums.c.amount), else_=fund)
    outcome = case((or_(whole.c.claim_id.is_not(None),
                        and_(Claim.fund_claimed > 0, disallowed >= Claim.fund_claimed)), "rejected"),
                   (disallowed > 0, "partly_accepted"), else_="accepted")
    computed = (select(Claim.id.label("id"), disallowed.label("disallowed"), outcome.label("outcome"))
                .select_from(chosen).join(Claim, Claim.id == chosen_id)
                .outerjoin(sums, sums.c.claim_id == Claim.id).outerjoin(whole, whole.c.claim_id == Claim.id)
                ).subquery()
    session.execute(update(Claim).where(
        Claim.id == computed.c.id,
        or_(Claim.status.is_distinct_from(APPRAISED), Claim.outcome_status.is_distinct_from(computed.c.outcome),
            Claim.disallowed.is_distinct_from(computed.c.disallowed)))
        .values(status=APPRAISED, outcome_status=computed.c.outcome, disallowed=computed.c.disallowed,
                appraised_at=appraised_at).execution_options(**quiet))
    counts = session.execute(select(Claim.outcome_status, func.count(), func.coalesce(func.sum(Claim.disallowed), 0))
                             .where(Claim.id.in_(select(chosen_id))).group_by(Claim.outcome_status)).all()
    return {outcome: {"claims": count, "disallowed": int(amount)} for outcome, count, amount in counts}
