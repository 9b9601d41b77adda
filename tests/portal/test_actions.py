"""What the citizen does (ansinh.portal.actions), with dates passed in and results computed by hand. The world is
tests/portal/conftest.py: An (head of household with Cường; voluntary SI 2026-01..03; household HI 2026-01-31 ..
2027-01-30), Bình (voluntary SI from 2026-01, open)."""

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, User
from ansinh.auth.service import principal_for
from ansinh.benefits import service as benefits
from ansinh.benefits.models import Channel
from ansinh.benefits.payments.models import BankAccount
from ansinh.collection.models import Bill
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.i18n import use_locale
from ansinh.notices.models import Notice
from ansinh.portal import actions
from ansinh.portal import service as portal_service
from tests.portal.conftest import AN_CID, CUONG_CID

DAY = date(2026, 11, 30)


def _principal(s, username):
    return principal_for(s.scalar(select(User).where(User.username == username)))


@pytest.fixture
def act(db, pworld):
    """A unit of work and a principal by username, inside an audit context."""
    def run(username, fn):
        with audit_context(channel="web", actor_username=username), db.unit_of_work() as s:
            return fn(s, _principal(s, username))
    return run


def test_voluntary_enrolment_is_quoted_then_billed_at_once(act):
    # 3,000,000 × 22% = 660,000 a month, × 3 = 1,980,000; the State's support (group "other": 20% of 22% of the
    # rural poverty line 1,500,000 = 66,000 a month) × 3 = 198,000; to pay 1,782,000.
    quote = act("an", lambda s, p: actions.voluntary_quote(s, p, income=3_000_000, months=3,
                                                           start=date(2026, 12, 1), today=DAY))
    assert (quote["due"], quote["state_support"], quote["payable"]) == (1_980_000, 198_000, 1_782_000)

    def enrol(s, p):
        period, bill = actions.enrol_voluntary(s, p, income=3_000_000, months=3, start=date(2026, 12, 15), today=DAY)
        return period.valid_from, bill.period, bill.total, bill.payer_type, bill.run_id, bill.reference
    valid_from, period, total, kind, run_id, reference = act("an", enrol)
    assert (valid_from, period, total, kind, run_id) == (date(2026, 12, 1), date(2026, 12, 1), 1_782_000,
                                                         "voluntary", None)
    bills = act("an", lambda s, p: [b for b in portal_service.bills(s, p, on=DAY) if b["reference"] == reference])
    assert bills[0]["outstanding"] == 1_782_000 and bills[0]["payment"]["vietqr"]
    with pytest.raises(Conflict):  # enrolled already from that month
        act("an", lambda s, p: actions.enrol_voluntary(s, p, income=3_000_000, months=3, start=date(2027, 1, 1),
                                                       today=DAY))


def test_voluntary_refusals_name_the_field(act):
    with pytest.raises(ValidationFailed) as error:
        act("an", lambda s, p: actions.enrol_voluntary(s, p, income=3_000_000, months=5, start=date(2026, 12, 1),
                                                       today=DAY))
    assert error.value.field == "months"
    with pytest.raises(ValidationFailed) as error:
        act("an", lambda s, p: actions.enrol_voluntary(s, p, income=3_000_000, months=1, start=date(2026, 10, 1),
                                                       today=DAY))
    assert error.value.field == "start"


def test_household_renewal_for_chosen_members_is_billed(act, pworld):
    # From 2027-01-31 (the day the current cover ends), 12 months, 2 members: base salary 2,530,000 × 4.5% =
    # 113,850 a month for the first, 70% of it = 79,695 for the second; × 12 = 1,366,200 + 956,340 = 2,322,540.
    start = date(2027, 1, 31)
    quote = act("an", lambda s, p: actions.household_quote(s, p, member_ids=[pworld.an, pworld.cuong], start=start,
                                                           months=12))
    assert [m["amount"] for m in quote["members"]] == [1_366_200, 956_340] and quote["total"] == 2_322_540

    def renew(s, p):
        periods, bills = actions.renew_household(s, p, member_ids=[pworld.an, pworld.cuong], start=start, months=12,
                                                 today=date(2027, 1, 20))
        return [(x.valid_from, x.valid_to) for x in periods], [(b.period, b.total, b.payer_type) for b in bills]
    periods, bills = act("an", renew)
    assert periods == [(start, date(2028, 1, 1))] * 2
    assert bills == [(date(2027, 1, 1), 2_322_540, "household")]
    with pytest.raises(NotFound):  # Bình heads no household
        act("binh", lambda s, p: actions.household_quote(s, p, member_ids=[pworld.binh], start=start, months=12))
    with pytest.raises(ValidationFailed):  # a person outside An's household
        act("an", lambda s, p: actions.household_quote(s, p, member_ids=[pworld.binh], start=start, months=12))


def test_the_bank_account_must_be_in_ones_own_name_and_replaces_the_old_one(act, db, pworld):
    with pytest.raises(ValidationFailed) as error:
        act("an", lambda s, p: actions.register_bank_account(s, p, bank_bin="970436", account_number="0011000099",
                                                             holder_name="TRAN THI BINH", on=DAY))
    assert error.value.field == "holder_name"
    first = act("an", lambda s, p: actions.register_bank_account(
        s, p, bank_bin="970436", account_number="0011000099", holder_name="NGUYEN VAN AN", on=DAY).id)
    second = act("an", lambda s, p: actions.register_bank_account(
        s, p, bank_bin="970418", account_number="12345678901", holder_name="Nguyễn Văn An", on=date(2026, 12, 1)).id)
    shown = act("an", lambda s, p: actions.bank_accounts(s, p))
    assert [(a["id"], a["account"], a["closed_on"]) for a in shown] == [
        (second, "•••• 8901", None), (first, "•••• 0099", "2026-12-01")]
    assert act("binh", lambda s, p: actions.bank_accounts(s, p)) == []
    with db.unit_of_work() as s:
        assert s.get(BankAccount, second).verified is True


def test_a_lump_sum_claim_is_filed_in_the_portal_and_its_decision_sends_a_notice(act, pworld):
    def file(s, p):
        claim, new = actions.file_claim(s, p, claim_type="lump_sum", ground="abroad", on=DAY, external_ref="f1")
        return claim.id, new, claim.channel, claim.status.value, claim.deadline
    claim_id, new, channel, status, deadline = act("an", file)
    assert new and channel is Channel.portal and status == "accepted" and deadline is not None
    again = act("an", lambda s, p: actions.file_claim(s, p, claim_type="lump_sum", ground="abroad", on=DAY,
                                                      external_ref="f1")[0].id)
    assert again == claim_id  # the same submission files nothing twice
    with pytest.raises(ValidationFailed) as error:
        act("an", lambda s, p: actions.file_claim(s, p, claim_type="lump_sum", ground="nonsense", on=DAY))
    assert error.value.field == "ground"
    with pytest.raises(ValidationFailed):  # not a portal benefit
        act("an", lambda s, p: actions.file_claim(s, p, claim_type="pension", on=DAY))

    def decide(s, p):
        benefits.assess(s, p, claim_id, on=date(2026, 12, 2))
        return benefits.decide(s, p, claim_id, on=date(2026, 12, 3)).status.value
    outcome = act("hn.officer", decide)
    with use_locale("en"):
        found = act("an", lambda s, p: actions.notices(s, p))
    assert found["unread"] == 1
    kind = "granted" if outcome == "granted" else "refused"
    assert found["notices"][0]["kind"] == "claim_decided"
    assert found["notices"][0]["text"] == f"Claim {claim_id} has been decided: {kind}."


def test_a_funeral_grant_is_claimed_for_a_household_member_only(act, pworld):
    def file(s, p):
        claim, _ = actions.file_claim(s, p, claim_type="funeral", on=DAY, deceased_citizen_id=CUONG_CID,
                                      details={"died_on": "2026-11-20"})
        return claim.person_id, claim.payee_person_id
    assert act("an", file) == (pworld.cuong, pworld.an)
    mine = act("an", lambda s, p: portal_service.claims(s, p, on=DAY))
    assert [c["own"] for c in mine if c["type"] == "funeral"] == [False]
    with pytest.raises(ValidationFailed) as error:  # Bình's household has no such member
        act("binh", lambda s, p: actions.file_claim(s, p, claim_type="funeral", on=DAY, deceased_citizen_id=AN_CID,
                                                    details={"died_on": "2026-11-20"}))
    assert error.value.field == "deceased"


def test_maternity_is_filed_directly(act):
    def file(s, p):
        claim, _ = actions.file_claim(s, p, claim_type="maternity", on=DAY, details={"birth_on": "2026-11-01"})
        return claim.details
    assert act("binh", file) == {"birth_on": "2026-11-01", "children": 1, "child_order": 1, "direct": True}


def test_the_unemployment_benefit_takes_one_report_a_month(act, db, pworld):
    def grant(s, p):
        claim, _ = benefits.file_claim(s, p, claim_type="unemployment", citizen_id=AN_CID, filed_on=date(2026, 9, 1),
                                       channel="counter", details={
                                           "decision_number": "123/QĐ-TTDVVL", "decision_on": "2026-09-01",
                                           "employment_ended_on": "2026-08-15", "benefit_months": 3,
                                           "monthly_amount": 4_000_000, "first_month": "2026-09-01"})
        benefits.assess(s, p, claim.id, on=date(2026, 9, 2))
        benefits.decide(s, p, claim.id, on=date(2026, 9, 3))
        return claim.id
    claim_id = act("hn.officer", grant)
    listed = act("an", lambda s, p: actions.unemployment_claims(s, p))
    assert listed[0]["months"] == ["2026-09", "2026-10", "2026-11"]
    act("an", lambda s, p: actions.report_job_search(s, p, claim_id, month=date(2026, 10, 5), contacts=3,
                                                     note="Hai công ty", on=DAY))
    with pytest.raises(Conflict):
        act("an", lambda s, p: actions.report_job_search(s, p, claim_id, month=date(2026, 10, 1), contacts=1,
                                                         note=None, on=DAY))
    with pytest.raises(ValidationFailed):  # not a month of the benefit
        act("an", lambda s, p: actions.report_job_search(s, p, claim_id, month=date(2026, 12, 1), contacts=1,
                                                         note=None, on=date(2026, 12, 5)))
    with pytest.raises(NotFound):  # another's claim
        act("binh", lambda s, p: actions.report_job_search(s, p, claim_id, month=date(2026, 11, 1), contacts=1,
                                                           note=None, on=DAY))
    assert act("an", lambda s, p: actions.unemployment_claims(s, p))[0]["reports"] == [
        {"month": "2026-10", "contacts": 3, "note": "Hai công ty", "on": "2026-11-30"}]


def test_notices_are_read_by_their_addressee_only(act, db, pworld):
    from ansinh.notices.service import send_notice

    with db.unit_of_work() as s:
        notice = send_notice(s, kind="general", key="t:1", on=DAY, params={"message": "Xin chào"},
                             person_id=pworld.an, person_ref=AN_CID)
        notice_id = notice.id
    with pytest.raises(NotFound):
        act("binh", lambda s, p: actions.mark_notice_read(s, p, notice_id))
    assert act("an", lambda s, p: actions.notices(s, p))["unread"] == 1
    act("an", lambda s, p: actions.mark_notice_read(s, p, notice_id))
    assert act("an", lambda s, p: actions.notices(s, p))["unread"] == 0
    with db.unit_of_work() as s:
        assert s.get(Notice, notice_id).read_at is not None


def test_visits_show_what_the_fund_and_the_patient_paid(act, db, pworld):
    from ansinh.claims.models import Claim, ClaimFile

    with db.unit_of_work() as s:
        unit = s.scalar(select(OrgUnit).where(OrgUnit.code == "BHXH-01"))
        file = ClaimFile(facility_code="01001", org_unit_id=unit.id, sha256="a" * 64, file_name="x.xml",
                         size_bytes=1, status="accepted", received_by="test")
        s.add(file)
        s.flush()
        for key, day, total, fund, copay, own, disallowed in (("A1", 3, 500_000, 400_000, 100_000, 0, 0),
                                                               ("A2", 20, 2_000_000, 1_600_000, 300_000, 100_000,
                                                                200_000)):
            s.add(Claim(file_id=file.id, facility_code="01001", episode_key=key, person_id=pworld.an,
                        full_name="Nguyễn Văn An", citizen_id=AN_CID,
                        arrived_at=datetime(2026, 10, day, 8, tzinfo=timezone.utc), total_hospital=total,
                        total_insured=total, patient_copay=copay, patient_pays=own, fund_claimed=fund,
                        disallowed=disallowed, settlement_year=2026, settlement_month=10, province_2025="01",
                        org_unit_id=unit.id))
        s.add(Claim(file_id=file.id, facility_code="01001", episode_key="B1", person_id=pworld.binh,
                    full_name="Trần Thị Bình", arrived_at=datetime(2026, 10, 4, 8, tzinfo=timezone.utc),
                    total_hospital=1, total_insured=1, patient_copay=0, patient_pays=0, fund_claimed=1,
                    settlement_year=2026, settlement_month=10, province_2025="01", org_unit_id=unit.id))
    found = act("an", lambda s, p: actions.visits(s, p))
    # fund paid: 400,000 and 1,600,000 − 200,000 disallowed = 1,400,000; patient: 100,000 and 300,000 + 100,000
    assert [(v["arrived_on"], v["fund_paid"], v["patient_paid"]) for v in found["visits"]] == [
        ("2026-10-20", 1_400_000, 400_000), ("2026-10-03", 400_000, 100_000)]
    assert found["totals"] == {"total_cost": 2_500_000, "fund_paid": 1_800_000, "patient_paid": 500_000}


def test_reminders_name_the_next_payments(act, pworld):
    # Bình: voluntary SI from 2026-01, paid monthly on 4,000,000: the payment of 2026-12 is 880,000 less the State's
    # 66,000 = 814,000. An: household cover until 2027-01-31 (exclusive end).
    with_bills = act("binh", lambda s, p: actions.reminders(s, portal_service.me(s, p), on=DAY))
    assert with_bills == [{"type": "voluntary", "period": "2026-12", "months": 1, "amount": 814_000}]
    an = act("an", lambda s, p: actions.reminders(s, portal_service.me(s, p), on=DAY))
    assert an == [{"type": "household", "ends_on": "2027-01-31", "ended": False}]


def test_bill_payer_bills_once(act, db, pworld):
    from ansinh.collection.billing import bill_payer

    with audit_context(channel="job", actor_username="t"), db.unit_of_work() as s:
        first = bill_payer(s, payer_key=f"P:{pworld.binh}", period=date(2026, 2, 1), today=DAY)
        again = bill_payer(s, payer_key=f"P:{pworld.binh}", period=date(2026, 2, 10), today=DAY)
        assert first.id == again.id and first.total == 814_000  # 880,000 less the State's 66,000
        assert s.scalar(select(Bill).where(Bill.payer_key == f"P:{pworld.binh}", Bill.period == date(2026, 2, 1)))
