"""The portal's service with explicit dates: An's history, card, claims and bills, computed by hand (conftest)."""

from datetime import date

import pytest
from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import User
from ansinh.auth.service import principal_for
from ansinh.collection.models import Bill
from ansinh.collection.vietqr import parse_payload
from ansinh.errors import NotFound
from ansinh.portal import service


def _principal(s, username):
    return principal_for(s.scalar(select(User).where(User.username == username)))


def test_the_contribution_history_of_an_month_by_month(db, pworld):
    with db.unit_of_work() as s:
        history = service.contributions(s, _principal(s, "an"), on=date(2026, 12, 6))
    assert history["total_si_months"] == 21 and history["total_si"] == {"years": 1, "months": 9}
    assert history["compulsory_months"] == 18 and history["voluntary_months"] == 3 and history["ui_months"] == 18
    assert history["first_month"] == "2020-01" and history["last_month"] == "2026-03"
    assert history["gaps"] == [{"from": "2021-01", "to": "2021-06", "months": 6},
                               {"from": "2022-01", "to": "2025-12", "months": 48}]
    compulsory = history["schemes"]["si_compulsory"]
    assert len(compulsory) == 18
    assert compulsory[0] == {"month": "2020-01", "salary": 10_000_000, "employer": "Công ty An Bình",
                             "employer_id": pworld.first, "paid_by": "employer"}
    assert compulsory[6]["month"] == "2020-07" and compulsory[6]["salary"] == 12_000_000
    assert compulsory[12] == {"month": "2021-07", "salary": 8_000_000, "employer": "Hợp tác xã Hoa Sen",
                              "employer_id": pworld.second, "paid_by": "employer"}
    assert [m["month"] for m in history["schemes"]["si_voluntary"]] == ["2026-01", "2026-02", "2026-03"]
    assert {(m["salary"], m["paid_by"], m["employer"]) for m in history["schemes"]["si_voluntary"]} == {
        (3_000_000, "self", None)}
    assert len(history["schemes"]["ui"]) == 18
    hi = history["schemes"]["hi"]
    # 18 months with the employers, then household HI 2026-01 (from the 31st) .. 2026-11 (before December, the month asked)
    assert len(hi) == 18 + 11 and {m["paid_by"] for m in hi[18:]} == {"household"}


def test_months_are_counted_before_the_month_asked(db, pworld):
    with db.unit_of_work() as s:
        history = service.contributions(s, _principal(s, "an"), on=date(2020, 7, 15))
    assert history["total_si_months"] == 6 and history["gaps"] == []  # 2020-01 .. 2020-06
    assert [m["month"] for m in history["schemes"]["si_compulsory"]][-1] == "2020-06"


def test_the_card_with_its_qr_content_and_the_reads_audited(db, pworld):
    with audit_context(channel="web", actor_username="an"), db.unit_of_work() as s:
        card = service.card(s, _principal(s, "an"), on=date(2026, 6, 1))
        later = service.card(s, _principal(s, "an"), on=date(2027, 6, 1))
    assert len(card["card_code"]) == 15 and card["card_code"].startswith("GD")
    assert card["hi_group"] == "GD" and card["valid_from"] == "2026-01-31" and card["valid_until"] == "2027-01-30"
    assert card["valid_on"] is True and later["valid_on"] is False
    # What the QR code says: code|name|date of birth|valid from-valid until (cards.pdf.qr_payload)
    assert card["qr_content"] == f"{card['card_code']}|Nguyễn Văn An|01/05/1990|31/01/2026-30/01/2027"
    with db.unit_of_work() as s:
        reads = s.scalars(select(AuditEvent.entity_type).where(AuditEvent.action == "read",
                                                               AuditEvent.actor_username == "an")).all()
    assert "hi_card" in reads and "person" in reads


def test_claims_are_the_citizens_own(db, pworld):
    with db.unit_of_work() as s:
        claims = service.claims(s, _principal(s, "an"), on=date(2026, 2, 13))
    assert [c["id"] for c in claims] == [pworld.claim]
    assert claims[0]["type"] == "sickness" and claims[0]["own"] is True and claims[0]["decision_pdf"] is None


def test_bills_of_the_citizen_and_the_household_they_head(db, pworld):
    with db.unit_of_work() as s:
        an = service.bills(s, _principal(s, "an"), on=date(2026, 1, 25))
        binh = service.bills(s, _principal(s, "binh"), on=date(2026, 3, 1))
        totals = {b.payer_key: b.total for b in s.scalars(select(Bill).where(Bill.period == date(2026, 1, 1)))}
    assert sorted(b["type"] for b in an) == ["household", "voluntary"]
    for item in an:
        key = f"P:{pworld.an}" if item["type"] == "voluntary" else f"H:{pworld.household}"
        assert item["total"] == totals[key] > 0 and item["outstanding"] == item["total"] and item["paid"] == 0
        fields = parse_payload(item["payment"]["vietqr"])  # CRC checked
        assert fields["54"] == str(item["total"]) and item["reference"] in fields["62"]
        assert item["overdue"] is False
    assert [b["type"] for b in binh] == ["voluntary"] and binh[0]["total"] == totals[f"P:{pworld.binh}"]
    assert binh[0]["overdue"] is True  # due 2026-02-28 (Law 41/2024 Art 34(4)), asked on 2026-03-01


@pytest.mark.parametrize("username", ["hn.officer", "sl.officer"])
def test_staff_have_no_personal_record(db, pworld, username):
    with db.unit_of_work() as s:
        principal = _principal(s, username)
        for call in (lambda: service.contributions(s, principal, on=date(2026, 6, 1)),
                     lambda: service.card(s, principal, on=date(2026, 6, 1)),
                     lambda: service.bills(s, principal, on=date(2026, 6, 1)),
                     lambda: service.claims(s, principal, on=date(2026, 6, 1))):
            with pytest.raises(NotFound):
                call()


def test_period_months_is_pure():
    rows = [{"scheme": "si_compulsory", "valid_from": date(2024, 11, 15), "valid_to": date(2025, 2, 1),
             "insured_salary": 5_000_000, "employer_id": 1, "payer": "employer"},
            {"scheme": "si_voluntary", "valid_from": date(2025, 3, 1), "valid_to": None, "insured_salary": 2_000_000,
             "employer_id": None, "payer": "self"}]
    frame = service.period_months(rows, date(2025, 5, 10))
    # 2024-11, 2024-12, 2025-01 compulsory; 2025-03, 2025-04 voluntary (May not yet)
    assert frame["scheme"].to_list() == ["si_compulsory"] * 3 + ["si_voluntary"] * 2
    assert frame["salary"].to_list() == [5_000_000] * 3 + [2_000_000] * 2
