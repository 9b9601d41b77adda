"""Appraising claims inserted directly through the models (intake is built elsewhere), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import func, select

from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.cards import facilities
from ansinh.cards.models import HICard
from ansinh.claims.appraisal.models import AppraisalRun, Finding
from ansinh.claims.appraisal.service import appraise_claims, current_findings
from ansinh.claims.models import Claim, ClaimFile, ClaimLine
from ansinh.clock import VIETNAM
from ansinh.errors import PermissionDenied, ValidationFailed
from tests.claims.appraisal.builders import KNOWN_ICD

DAY = date(2026, 11, 10)
EXAM = ("02.1896", 38_700)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VIETNAM)


def prices(session, codes, since, until) -> pl.DataFrame:
    """The price list of the test: the examination and a drug at 01001."""
    return pl.DataFrame({"facility_code": ["01001", "01001"], "kind": ["service", "drug"], "code": [EXAM[0], "40.17"],
                         "price": [EXAM[1], 1_500], "valid_from": [date(2025, 1, 1)] * 2,
                         "in_force_until": [None, None]})


def icd(codes: pl.Series) -> pl.Series:
    return codes.is_in(sorted(KNOWN_ICD))


@pytest.fixture
def officer(session, org, make_user):
    return auth_service.principal_for(session.get(User, make_user("giamdinh", org.hanoi, Role.provincial_officer).id))


@pytest.fixture
def claims(session, org, world):
    """Four claims of November 2026 at 01001 (classified basic, 72 points): the worker's examination; the same again
    (a duplicate); the child's with a wrong date of birth; the worker's drug above its price, the next day."""
    hanoi = session.get(OrgUnit, org.hanoi.id)
    facility = facilities.get_facility(session, "01001")
    facilities.classify_facility(session, facility, valid_from=date(2025, 1, 1), level_2025="basic", score=72)
    cards = {row.person_id: row.card_code for row in session.scalars(
        select(HICard).where(HICard.superseded_at.is_(None)))}
    file = ClaimFile(facility_code="01001", org_unit_id=hanoi.id, sha256="0" * 64, file_name="test.xml",
                     size_bytes=1, status="accepted", received_by="test")
    session.add(file)
    session.flush()

    def claim(key: str, person: str, birth: date, day: date, lines: list[tuple]) -> Claim:
        insured = sum(quantity * price for _, _, quantity, price, _ in lines)
        fund = sum(quantity * price * benefit // 100 for _, _, quantity, price, benefit in lines)
        row = Claim(file_id=file.id, facility_code="01001", episode_key=key, person_id=world[person],
                    full_name="Test", date_of_birth=birth, card_code=cards[world[person]], visit_category="1.1",
                    care_type="01", main_icd="J06.9", arrived_at=local(day, 8), discharged_at=local(day, 9),
                    treatment_days=0, total_hospital=insured, total_insured=insured, patient_copay=insured - fund,
                    patient_pays=0, fund_claimed=fund, settlement_year=day.year, settlement_month=day.month,
                    province_2025="01", org_unit_id=hanoi.id)
        session.add(row)
        session.flush()
        for number, (kind, code, quantity, price, benefit) in enumerate(lines, start=1):
            session.add(ClaimLine(claim_id=row.id, claim_month=day.replace(day=1),
                                  source_table="XML3" if kind == "service" else "XML2",
                                  row_no=number, kind=kind, code=code, cost_group="13" if kind == "service" else "4",
                                  quantity_milli=quantity * 1000, unit_price_milli=price * 1000, payment_rate=100,
                                  benefit_pct=benefit, hospital_amount=quantity * price,
                                  insured_amount=quantity * price, fund_amount=quantity * price * benefit // 100,
                                  ordered_at=local(day, 8, 10), performed_at=local(day, 8, 20)))
        session.flush()
        return row

    exam = ("service", EXAM[0], 1, EXAM[1], 80)
    return {
        "ok": claim("A1", "worker", date(1990, 5, 1), DAY, [exam]),
        "again": claim("A2", "worker", date(1990, 5, 1), DAY, [exam]),
        "birth": claim("B1", "child", date(2023, 8, 2), DAY, [exam]),
        "price": claim("C1", "worker", date(1990, 5, 1), DAY + timedelta(days=1),
                       [exam, ("drug", "40.17", 10, 1_800, 80)]),
    }


def test_a_run_writes_findings_outcomes_and_disallowed_amounts(session, officer, claims):
    run = appraise_claims(session, principal=officer, facility_code="01001", month=DAY, prices_for=prices,
                          icd_known=icd)
    assert session.get(AppraisalRun, run.id).claims == 4 and run.findings >= 3
    found = {(row.claim_id, row.rule): row for row in session.scalars(
        select(Finding).where(Finding.run_id == run.id))}
    assert (claims["again"].id, "DUPLICATE") in found
    assert found[(claims["birth"].id, "CARD_MISMATCH")].details["reason"] == "date_of_birth"
    price = found[(claims["price"].id, "PRICE_ABOVE")]
    assert price.amount == 300 * 10 * 80 // 100 and price.line_id is not None
    assert all(row.org_unit_id == claims["ok"].org_unit_id for row in found.values())

    session.expire_all()
    outcome = {name: session.get(Claim, row.id) for name, row in claims.items()}
    assert (outcome["ok"].outcome_status, outcome["ok"].disallowed, outcome["ok"].status) == ("accepted", 0, "appraised")
    assert (outcome["again"].outcome_status, outcome["again"].disallowed) == ("rejected", 30_960)
    assert outcome["birth"].outcome_status == "rejected"
    assert (outcome["price"].outcome_status, outcome["price"].disallowed) == ("partly_accepted", 2_400)
    line = session.get(ClaimLine, price.line_id)
    assert line.disallowed == 2_400
    assert all(line.disallowed == 38_700 * 80 // 100 for line in session.scalars(
        select(ClaimLine).where(ClaimLine.claim_id == claims["again"].id)))


def test_a_second_run_supersedes_the_first_and_gives_the_same_findings(session, officer, claims):
    first = appraise_claims(session, principal=officer, month=DAY, prices_for=prices, icd_known=icd)
    second = appraise_claims(session, principal=officer, month=DAY, prices_for=prices, icd_known=icd)
    live = select(Finding.claim_id, Finding.line_id, Finding.rule, Finding.amount).where(
        Finding.superseded_at.is_(None)).order_by(Finding.claim_id, Finding.line_id, Finding.rule)
    assert {row.run_id for row in session.scalars(select(Finding).where(Finding.superseded_at.is_(None)))} == \
        {second.id}
    earlier = session.scalar(select(func.count()).select_from(Finding).where(Finding.run_id == first.id,
                                                                              Finding.superseded_at.is_not(None)))
    assert earlier == first.findings == second.findings
    assert len(session.execute(live).all()) == second.findings
    mine = current_findings(session, officer, claims["price"].id)
    assert [(row.line_id is None, row.rule, row.run_id) for row in mine] == [(False, "PRICE_ABOVE", second.id)]


def test_the_history_of_other_months_counts(session, officer, claims):
    """A claim of the same person, facility, day and care type sent in another settlement month is a duplicate."""
    ok = claims["ok"]
    late = Claim(**{column: getattr(ok, column) for column in (
        "file_id", "facility_code", "person_id", "full_name", "date_of_birth", "card_code", "visit_category",
        "care_type", "main_icd", "arrived_at", "discharged_at", "treatment_days", "total_hospital", "total_insured",
        "patient_copay", "patient_pays", "fund_claimed", "province_2025", "org_unit_id")},
        episode_key="LATE", settlement_year=2026, settlement_month=12)
    session.add(late)
    session.flush()
    run = appraise_claims(session, principal=officer, month=date(2026, 12, 1), prices_for=prices, icd_known=icd)
    rules = session.scalars(select(Finding.rule).where(Finding.run_id == run.id)).all()
    assert run.claims == 1 and "DUPLICATE" in rules


def test_only_within_the_principals_org_units_and_with_the_permission(session, org, make_user, claims):
    sonla = auth_service.principal_for(session.get(User, make_user("sl", org.sonla, Role.provincial_officer).id))
    run = appraise_claims(session, principal=sonla, month=DAY, prices_for=prices, icd_known=icd)
    assert run.claims == 0 and run.findings == 0
    assert session.get(Claim, claims["ok"].id).status == "received"
    supervisor = auth_service.principal_for(session.get(User, make_user("gs", org.hanoi, Role.supervisor).id))
    with pytest.raises(PermissionDenied):
        appraise_claims(session, principal=supervisor, month=DAY)
    officer = auth_service.principal_for(session.get(User, make_user("cb", org.hanoi, Role.provincial_officer).id))
    with pytest.raises(ValidationFailed):
        appraise_claims(session, principal=officer)


def test_the_real_price_lists_and_icd10_catalogue_drive_the_price_and_diagnosis_rules(session, officer, claims):
    """With nothing injected, the run reads the facility's imported price list (a later list superseding the first
    from its own date) and the ICD-10 catalogue: the drug above its approved price the day it was given is refused
    for the excess, at the price of the list in force that day."""
    from ansinh.claims.prices.service import import_price_list

    def price_list(drug_price: int, valid_from: str) -> bytes:
        return ("kind,code,name,unit,price,valid_from,valid_to\n"
                f"service,{EXAM[0]},Khám bệnh,lần,{EXAM[1]},{valid_from},\n"
                f"drug,40.17,Paracetamol 500mg,viên,{drug_price},{valid_from},\n").encode()

    first = import_price_list(session, content=price_list(1_500, "2025-01-01"), file_name="2025.csv",
                              facility_code="01001", actor="test")
    later = import_price_list(session, content=price_list(1_700, "2026-11-11"), file_name="2026.csv",
                              facility_code="01001", actor="test")
    assert (first.status, later.status, later.superseded) == ("applied", "applied", 2)
    run = appraise_claims(session, principal=officer, facility_code="01001", month=DAY)
    found = {(row.claim_id, row.rule): row for row in session.scalars(select(Finding).where(Finding.run_id == run.id))}
    # the drug was given on 2026-11-11, under the later list: (1,800 − 1,700) × 10 × 80% = 800
    assert found[(claims["price"].id, "PRICE_ABOVE")].amount == 100 * 10 * 80 // 100
    assert not any(rule in ("NOT_IN_PRICE_LIST", "ICD_UNKNOWN") for _, rule in found)


def test_a_run_writes_only_the_claims_and_lines_whose_outcome_changes(session, officer, claims):
    """The same decision again writes no claim (its appraisal moment stays); the drug's price raised to what the
    facility asked re-decides that claim alone, and its line goes back to nothing disallowed."""
    appraise_claims(session, principal=officer, month=DAY, prices_for=prices, icd_known=icd)
    session.expire_all()
    first = {name: session.get(Claim, row.id).appraised_at for name, row in claims.items()}
    assert all(first.values())

    appraise_claims(session, principal=officer, month=DAY, prices_for=prices, icd_known=icd)
    session.expire_all()
    assert {name: session.get(Claim, row.id).appraised_at for name, row in claims.items()} == first

    def dearer(session, codes, since, until) -> pl.DataFrame:
        return prices(session, codes, since, until).with_columns(
            price=pl.when(pl.col("code") == "40.17").then(1_800).otherwise(pl.col("price")))

    appraise_claims(session, principal=officer, month=DAY, prices_for=dearer, icd_known=icd)
    session.expire_all()
    after = {name: session.get(Claim, row.id) for name, row in claims.items()}
    assert {name: row.appraised_at for name, row in after.items() if name != "price"} == \
        {name: moment for name, moment in first.items() if name != "price"}
    assert after["price"].appraised_at > first["price"]
    assert (after["price"].outcome_status, after["price"].disallowed) == ("accepted", 0)
    assert [line.disallowed for line in session.scalars(
        select(ClaimLine).where(ClaimLine.claim_id == claims["price"].id))] == [0, 0]
    assert (after["again"].outcome_status, after["again"].disallowed) == ("rejected", 30_960)
