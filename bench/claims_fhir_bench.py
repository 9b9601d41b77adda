"""The demo's year of claims and the FHIR claim pre-check, on PostgreSQL.

Setup (not timed): a fresh database (:mod:`bench.postgres`) with the demo's org units, users, people
(``ANSINH_BENCH_PEOPLE``, default 5,000) and health insurance (facilities, contracts, cards, price lists), as
``ansinh demo load`` builds them.

Measured:

- **demo claims**: :func:`ansinh.synth.claims.load_demo_claims` as the demo load calls it — this month's files through
  intake, then the year before (every appraisal rule made to fire) written and appraised; and, for comparison in the
  same run, the same call without the year (``year=False``) on a copy of the same state (the transaction rolled back);
- **pre-check**: :func:`ansinh.claims.fhir.precheck_claim` (parse, the context read from the database, every rule, the
  ClaimResponse) on ``ANSINH_BENCH_PRECHECKS`` claims (default 200) of the demo's patients at a demo facility, as its
  facility user: the median and the 95th percentile of one claim. Its floor, in the same run: the same claims parsed
  and answered without the database (``parse_claim`` alone), which no pre-check can skip.

Targets: the year adds under 10 s to the demo load; a pre-check answers at the desk's pace (p95 under 300 ms).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import date

import polars as pl

PEOPLE = int(os.environ.get("ANSINH_BENCH_PEOPLE", "5000"))
PRECHECKS = int(os.environ.get("ANSINH_BENCH_PRECHECKS", "200"))
DB_NAME = "ansinh_bench_claims_fhir"
TODAY = date(2026, 11, 20)
TARGET_YEAR_SECONDS = 10.0
TARGET_P95_MS = 300.0


def _build(database, plan) -> None:
    from ansinh.audit.service import audit_context
    from ansinh.synth.demo import load_demo, load_demo_registry
    from ansinh.synth.facilities import load_demo_health_insurance

    with audit_context(channel="job", actor_username="bench"):
        with database.unit_of_work() as s:
            load_demo(s, plan)
        with database.unit_of_work() as s:
            load_demo_registry(s, plan, people=PEOPLE, today=TODAY)
        with database.unit_of_work() as s:
            load_demo_health_insurance(s, plan, today=TODAY)


def _demo_claims(database, plan, *, year: bool) -> tuple[float, dict]:
    """One call of the demo's claims, timed; kept when ``year`` (the pre-check reads those claims), else rolled back."""
    from ansinh.audit.service import audit_context
    from ansinh.synth.claims import load_demo_claims

    with audit_context(channel="job", actor_username="bench"):
        session = database.session_factory()
        try:
            started = time.perf_counter()
            written = load_demo_claims(session, plan, today=TODAY, year=year)
            session.flush()
            seconds = time.perf_counter() - started
            if year:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()
    return seconds, written


def _claims_to_check(database, plan) -> tuple[str, list[bytes]]:
    """The facility user's facility and FHIR claims of its demo patients, priced from its price list."""
    from sqlalchemy import select

    from ansinh.auth.models import Role
    from ansinh.claims.models import Claim
    from ansinh.claims.prices.service import prices_for
    from ansinh.synth.claims import fhir_claim

    user = next(u for u in plan.users if Role.facility in u.roles)
    with database.unit_of_work() as s:
        patients = s.execute(select(Claim.card_code, Claim.citizen_id, Claim.date_of_birth, Claim.arrived_at)
                             .where(Claim.facility_code == user.subject_ref, Claim.citizen_id.is_not(None),
                                    Claim.superseded_at.is_(None)).order_by(Claim.id).limit(PRECHECKS)).all()
        in_force = prices_for(s, [user.subject_ref], TODAY, TODAY).sort("kind", "code")
    # an examination-like service and two drugs at their approved prices that day (a clean claim, but for the
    # rules that look at the person's other claims)
    chosen = pl.concat([in_force.filter(pl.col("kind") == "service").head(1),
                        in_force.filter(pl.col("kind") == "drug").head(2)])
    items = [(kind, code, 1, price) for kind, code, price in chosen.select("kind", "code", "price").iter_rows()]
    raws = [json.dumps(fhir_claim(card.split(";")[0], citizen_id=citizen, born=born.isoformat(),
                                  day=arrived.date().isoformat(), facility=user.subject_ref, items=items,
                                  episode=f"BENCH-{n}")).encode()
            for n, (card, citizen, born, arrived) in enumerate(patients * (PRECHECKS // max(len(patients), 1) + 1))]
    return user.username, raws[:PRECHECKS]


def _percentiles(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {"median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1)}


def _prechecks(database, username: str, raws: list[bytes]) -> tuple[dict, dict, dict]:
    from ansinh.audit.service import audit_context
    from ansinh.auth import service as auth_service
    from ansinh.claims.fhir import parse_claim, precheck_claim
    from ansinh.rules.parameters import get_parameters

    parameters = get_parameters()
    floor, full, outcomes = [], [], {}
    with audit_context(channel="job", actor_username="bench"), database.unit_of_work() as s:
        principal = auth_service.principal_for(auth_service.get_user_by_username(s, username))
        for raw in raws:
            started = time.perf_counter()
            parse_claim(raw, parameters=parameters)
            floor.append(time.perf_counter() - started)
            started = time.perf_counter()
            answer = precheck_claim(s, principal=principal, raw=raw, today=TODAY)
            full.append(time.perf_counter() - started)
            outcomes[answer["outcome"]] = outcomes.get(answer["outcome"], 0) + 1
    return _percentiles(full), _percentiles(floor), outcomes


def run() -> dict:
    from argon2 import PasswordHasher

    from ansinh.auth import service as auth_service
    from ansinh.db import Database
    from ansinh.synth.demo import plan_demo
    from bench.postgres import drop_database_unless_kept, fresh_database

    auth_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # the demo's users: setup
    url = fresh_database(DB_NAME)
    database = Database(url)
    try:
        plan = plan_demo()
        started = time.perf_counter()
        _build(database, plan)
        setup = round(time.perf_counter() - started, 1)
        month_only, _ = _demo_claims(database, plan, year=False)
        with_year, written = _demo_claims(database, plan, year=True)
        username, raws = _claims_to_check(database, plan)
        full, floor, outcomes = _prechecks(database, username, raws)
    finally:
        database.dispose()
        drop_database_unless_kept(DB_NAME)
    added = with_year - month_only
    return {"people": PEOPLE, "setup_seconds": setup,
            "demo_claims_month_only_seconds": round(month_only, 2), "demo_claims_with_year_seconds": round(with_year, 2),
            "year_adds_seconds": round(added, 2), "year_target_seconds": TARGET_YEAR_SECONDS,
            "year_within_target": added < TARGET_YEAR_SECONDS,
            "demo_claims_written": written, "prechecks": len(raws), "precheck": full, "floor_parse_only": floor,
            "p95_over_floor": round(full["p95_ms"] / max(floor["p95_ms"], 0.001), 1), "outcomes": outcomes,
            "p95_target_ms": TARGET_P95_MS, "p95_within_target": full["p95_ms"] < TARGET_P95_MS,
            "cores": os.cpu_count()}
