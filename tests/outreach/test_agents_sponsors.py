"""Sponsors billed and paid like every payer; agents' collections and commission — on the hand-counted world.

Amounts (Hà Nội has no provincial support of household HI): base salary 2,340,000 (2024-07-01 to 2026-06-30);
household HI first member 4.5% = 105,300 a month, second member 70% of it = 73,710; student HI 105,300 of which the
State pays 50% from 2025-07-01, the student (here the sponsor) 52,650.
"""

from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.collection import payments
from ansinh.collection.billing import run_billing
from ansinh.collection.models import Bill, BillLine
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.outreach import agents, sponsors
from ansinh.outreach.models import CollectionAgent
from ansinh.rules.parameters import ParameterSet, get_parameters, parse_parameter
from tests.outreach.more_world import build

FEB, MARCH = date(2026, 2, 1), date(2026, 3, 1)


@pytest.fixture
def world(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as session:
        w = build(session, org)
        ids = {k: getattr(v, "id", v) for k, v in w.items()}
    run_billing(db, period=FEB, province="01", actor="test", today=date(2026, 2, 5))
    run_billing(db, period=MARCH, province="01", actor="test", today=date(2026, 3, 10))
    return ids


def _bill(session, key: str, period: date) -> Bill:
    return session.scalar(select(Bill).where(Bill.payer_key == key, Bill.period == period))


def test_the_sponsor_is_billed_for_its_people_and_its_payments_count(db, world):
    key = f"D:{world['sponsor']}"
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as session:
        bill = _bill(session, key, FEB)
        # ends, long, renewed (its first period): 3 × 105,300; pupil 52,650
        assert (bill.payer_type, bill.total, bill.workers) == ("sponsor", 3 * 105_300 + 52_650, 4)
        lines = session.scalars(select(BillLine).where(BillLine.bill_id == bill.id)).all()
        assert {(line.person_id, line.amount, line.side) for line in lines} == {
            (world["ends"], 105_300, "sponsor"), (world["long"], 105_300, "sponsor"),
            (world["renewed"], 105_300, "sponsor"), (world["pupil"], 52_650, "sponsor")}
        payment = payments.record_payment(session, bank_transaction_id="VCB-SP-1", paid_on=date(2026, 2, 20),
                                          amount=300_000, reference_text=f"Quy {bill.reference}",
                                          on=date(2026, 2, 20))
        assert payment.payer_key == key and payment.matched_by == "reference"
        accounts = sponsors.sponsor_accounts(session, None, province="01")
        march = _bill(session, key, MARCH).total
        assert accounts == [{"id": world["sponsor"], "name": "Quỹ Vì người nghèo", "kind": "local_budget",
                             "province": "01", "tax_code": None, "payer_key": key, "people": 4,
                             "billed": 368_550 + march, "paid": 300_000, "owed": 368_550 + march - 300_000}]
        assert march == 368_550
        assert payments.payer_owner(session, key) == ("01", bill.org_unit_id)


def test_the_coverage_names_the_sponsor_and_a_covered_person_is_refused(db, world):
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as session:
        sponsor = sponsors.get_sponsor(session, None, world["sponsor"])
        made = sponsors.sponsorships_of(session, sponsor)
        assert len(made) == 5 and all(row["current"] for row in made)
        paid_by = sponsors.sponsors_of_periods(session, [row["coverage_period_id"] for row in made])
        assert {v["name"] for v in paid_by.values()} == {"Quỹ Vì người nghèo"} and len(paid_by) == 5
        from ansinh.registry.models import Person

        ends = session.get(Person, world["ends"])
        with pytest.raises(Conflict):
            sponsors.sponsor_person(session, None, sponsor, citizen_id=ends.citizen_id, scheme="household_hi",
                                    from_month=date(2026, 3, 1), to_month=date(2026, 5, 1), actor="t",
                                    today=date(2026, 3, 10))
        far = session.get(Person, world["far"])
        with pytest.raises(ValidationFailed) as refused:
            sponsors.sponsor_person(session, None, sponsor, citizen_id=far.citizen_id, scheme="student_hi",
                                    from_month=date(2026, 3, 1), to_month=date(2026, 5, 1), actor="t",
                                    today=date(2026, 3, 10))
        assert refused.value.field == "citizen_id"


def _with_rate(start: str, household: str) -> ParameterSet:
    name = "outreach.agent_commission_rate"
    path = Path(__file__).parents[2] / "src/ansinh/rules/parameters/outreach/agent_commission_rate.yaml"
    document = yaml.safe_load(path.read_text())
    document["values"][start] = {"value": {"voluntary_si": 0.05, "household_hi": float(household)},
                                 "metadata": {"reference": "test decision"}}
    return ParameterSet({**{p.name: p for p in get_parameters()}, name: parse_parameter(path, name, document)})


def test_agent_collections_and_commission_by_the_date_of_the_rate(db, world):
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as session:
        agent = agents.create_agent(session, None, agents.AgentData(code="BD-HN-01", name="Bưu điện Ba Đình",
                                                                    kind="post_office", province="01"))
        voluntary = _bill(session, f"P:{world['vol3']}", FEB)
        household = _bill(session, f"H:{world['household']}", MARCH)
        # the household enrolled on 2026-02-01 for the first time: covered from 2026-03-03 (the 30-day wait),
        # billed in March: (105,300 + 73,710) × 12 months
        assert household.total == (105_300 + 73_710) * 12 == 2_148_120
        first, new = agents.record_collection(session, None, agent, reference=voluntary.reference,
                                              amount=voluntary.total, collected_on=date(2026, 2, 20), receipt="R1",
                                              today=date(2026, 3, 10))
        assert new and first.scheme == "voluntary_si"
        again, new = agents.record_collection(session, None, agent, reference=voluntary.reference,
                                              amount=voluntary.total, collected_on=date(2026, 2, 20), receipt="R1",
                                              today=date(2026, 3, 10))
        assert not new and again.id == first.id
        with pytest.raises(Conflict):
            agents.record_collection(session, None, agent, reference=voluntary.reference, amount=1_000,
                                     collected_on=date(2026, 2, 20), receipt="R1", today=date(2026, 3, 10))
        agents.record_collection(session, None, agent, reference=household.reference, amount=1_000_000,
                                 collected_on=date(2026, 3, 5), receipt="R2", today=date(2026, 3, 10))
        sponsor_bill = _bill(session, f"D:{world['sponsor']}", FEB)
        with pytest.raises(ValidationFailed):  # agents collect voluntary SI and household HI only
            agents.record_collection(session, None, agent, reference=sponsor_bill.reference, amount=1_000,
                                     collected_on=date(2026, 3, 5), receipt="R3", today=date(2026, 3, 10))
        rows = agents.commissions(session, None, since=FEB, until=MARCH, province="01")
        assert [(r["month"], r["scheme"], r["collected"], r["commission"]) for r in rows] == [
            (FEB, "voluntary_si", 3_102_000, 155_100),
            (MARCH, "household_hi", 1_000_000, 50_000)]
        # a new rate from 2026-03-01 applies to March's collections only
        dated = agents.commissions(session, None, since=FEB, until=MARCH, province="01",
                                   p=_with_rate("2026-03-01", "0.06"))
        assert [r["commission"] for r in dated] == [rows[0]["commission"], 60_000]
        # a reversed payment earns nothing
        payments.reverse_payment(session, first.payment_id, reason="trả lại", on=date(2026, 3, 10))
        assert [r["scheme"] for r in agents.commissions(session, None, since=FEB, until=MARCH)] == ["household_hi"]
        assert session.scalar(select(CollectionAgent.id).where(CollectionAgent.code == "BD-HN-01")) == agent.id


def test_voluntary_bill_of_the_hand_counted_person(db, world):
    """vol3 chose 5,000,000 a month, every 3 months: 22% = 1,100,000 a month, less the State's support of the
    'other' group (20% from 2025-07-01 of 22% of the rural poverty line 1,500,000 = 66,000 a month): 1,034,000 × 3."""
    with db.unit_of_work() as session:
        assert _bill(session, f"P:{world['vol3']}", FEB).total == 1_034_000 * 3 == 3_102_000


def test_an_agent_of_another_province_is_refused(db, org, world):
    from ansinh.auth.models import OrgUnit

    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as session:
        far = agents.create_agent(session, None, agents.AgentData(code="BD-SL-01", name="Bưu điện Sơn La",
                                                                  kind="post_office", province="14"))
        assert far.org_unit_id == session.get(OrgUnit, org.sonla.id).id
        voluntary = _bill(session, f"P:{world['vol3']}", FEB)
        with pytest.raises(ValidationFailed):
            agents.record_collection(session, None, far, reference=voluntary.reference, amount=1_000,
                                     collected_on=date(2026, 2, 20), receipt="X1", today=date(2026, 3, 10))
        with pytest.raises(NotFound):
            agents.get_agent(session, None, 10**9)
