"""Arrears and late interest: ageing, interest across 2025-07-01, report KPIs and scope, write-offs, accruals,
debtor lists (Excel, PDF), the API and the CLI. Bills and payments are fixtures (see ``arrears_fixtures``)."""

from __future__ import annotations

import io
import json
from datetime import date

import polars as pl
import pytest

from ansinh.auth.models import OrgUnit, Role
from ansinh.collection import arrears, ledger
from ansinh.collection.models import INTEREST_INCOME, INTEREST_RECEIVABLE, RECEIVABLE, WRITEOFF
from ansinh.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import use_locale
from ansinh.rules.late_interest import late_interest_columns
from ansinh.rules.parameters import get_parameters
from tests.collection.arrears_fixtures import make_bill, make_employer, pay
from tests.conftest import api_token

VIETNAMESE_NAME = "Công ty TNHH Thương mại Đức Hưng Việt"


@pytest.fixture(autouse=True)
def english():
    with use_locale("en"):
        yield


def rules_interest(parts: list[tuple[int, date, date, str]]) -> int:
    """The rules' own calculation, part by part."""
    frame = pl.DataFrame([{"amount": a, "due": d, "paid": p, "fund": f} for a, d, p, f in parts])
    return int(late_interest_columns(frame, get_parameters())["interest"].sum())


@pytest.fixture
def books(session, org):
    """Two employers in Hà Nội (01), one in Sơn La (14); monthly bills Jan–Apr 2025 due at the month's end."""
    hanoi, sonla = session.get(OrgUnit, org.hanoi.id), session.get(OrgUnit, org.sonla.id)
    late = make_employer(session, hanoi, VIETNAMESE_NAME, address="12 phố Lý Thái Tổ, Hoàn Kiếm")
    good = make_employer(session, hanoi, "Công ty Cổ phần An Khang")
    far = make_employer(session, sonla, "Hợp tác xã Mường Tè")
    bills: dict[str, list] = {}
    for employer, unit, province in ((late, hanoi, "01"), (good, hanoi, "01"), (far, sonla, "14")):
        key = f"E:{employer.id}"
        bills[key] = [make_bill(session, payer_key=key, period=date(2025, month, 1), due=due, total=10_000_000,
                                unit=unit, province=province, employer_id=employer.id)
                      for month, due in ((1, date(2025, 1, 31)), (2, date(2025, 2, 28)), (3, date(2025, 3, 31)),
                                         (4, date(2025, 4, 30)))]
    # the good payer pays every bill on its due date; the late one pays half of February on 2025-03-10
    good_key, late_key, far_key = f"E:{good.id}", f"E:{late.id}", f"E:{far.id}"
    for bill in bills[good_key]:
        pay(session, payer_key=good_key, amount=bill.total, paid_on=bill.due_date, province="01",
            allocate=[(bill, bill.total, "principal")])
    pay(session, payer_key=late_key, amount=5_000_000, paid_on=date(2025, 3, 10), province="01",
        allocate=[(bills[late_key][1], 5_000_000, "principal")])
    pay(session, payer_key=far_key, amount=10_000_000, paid_on=date(2025, 2, 15), province="14",
        allocate=[(bills[far_key][0], 10_000_000, "principal")])
    return {"late": late, "good": good, "far": far, "bills": bills, "hanoi": hanoi, "sonla": sonla}


def test_months_overdue():
    frame = pl.DataFrame({"due": [date(2025, 1, 31), date(2025, 1, 31), date(2025, 1, 31), date(2025, 1, 31),
                                  date(2025, 2, 28), date(2025, 4, 15)]})
    on = [date(2025, 2, 1), date(2025, 2, 28), date(2025, 3, 1), date(2025, 4, 30), date(2025, 4, 30),
          date(2025, 4, 15)]
    got = [frame.select(arrears.months_overdue(pl.col("due"), day)).row(i)[0] for i, day in enumerate(on)]
    assert got == [1, 1, 2, 3, 3, 0]  # 28/2 + 2 months = 28/4 < 30/4


def test_interest_bearing_whole_months():
    frame = pl.DataFrame({"due": [date(2026, 3, 31), date(2026, 3, 31), date(2026, 2, 28), date(2026, 2, 28),
                                  date(2026, 1, 31), date(2026, 1, 31)]})
    on = [date(2026, 4, 30), date(2026, 5, 1), date(2026, 3, 28), date(2026, 3, 29), date(2026, 2, 28),
          date(2026, 3, 1)]
    got = [frame.select(arrears.interest_bearing(pl.col("due"), day, 1)).row(i)[0] for i, day in enumerate(on)]
    assert got == [False, True, False, True, False, True]  # 31/1 + 1 month = 28/2 (month-end safe)
    assert frame.select(arrears.interest_bearing(pl.col("due"), date(2026, 3, 31), 0)).to_series().to_list() == [
        False, False, True, True, True, True]  # 0 months: every overdue amount
    # the same as "months begun ≥ N + 1"
    for day in on:
        bearing = frame.select(arrears.interest_bearing(pl.col("due"), day, 2)).to_series()
        begun = frame.select(arrears.months_overdue(pl.col("due"), day) >= 3).to_series()
        assert bearing.to_list() == begun.to_list()


def test_interest_bearing_rate_counts_a_whole_month_past_the_deadline(session, org):
    """Bills of 2026: Feb 2,000,000 half paid, March 3,000,000 unpaid (due 31/3), April 95,000,000 paid."""
    unit = session.get(OrgUnit, org.hanoi.id)
    employer = make_employer(session, unit, "Công ty Lãi Tháng")
    key = f"E:{employer.id}"
    feb, _march, april = [
        make_bill(session, payer_key=key, period=date(2026, month, 1), due=due, total=total, unit=unit,
                  province="01", employer_id=employer.id)
        for month, due, total in ((2, date(2026, 2, 28), 2_000_000), (3, date(2026, 3, 31), 3_000_000),
                                  (4, date(2026, 4, 30), 95_000_000))]
    pay(session, payer_key=key, amount=1_000_000, paid_on=date(2026, 3, 10), province="01",
        allocate=[(feb, 1_000_000, "principal")])
    pay(session, payer_key=key, amount=95_000_000, paid_on=date(2026, 4, 30), province="01",
        allocate=[(april, 95_000_000, "principal")])
    before = arrears.arrears_report(session, None, on=date(2026, 4, 30))  # April due that day: not yet due
    assert before["due"] == 5_000_000 and before["arrears"] == 4_000_000
    assert before["interest_bearing"] == 1_000_000  # Feb's half, a whole month late since 29/3; March not yet
    assert before["interest_bearing_rate"] == 0.2 and before["overdue_rate"] == 0.8
    after = arrears.arrears_report(session, None, on=date(2026, 5, 1))
    assert after["due"] == 100_000_000 and after["arrears"] == 4_000_000
    assert after["interest_bearing"] == 4_000_000  # March's bill counts from 1/5
    assert after["overdue_rate"] == after["interest_bearing_rate"] == 0.04
    assert after["by_province"][0]["interest_bearing"] == 4_000_000
    assert after["interest"] > 0  # the interest amounts are still reported
    trend = arrears.arrears_trend(session, None, on=date(2026, 5, 1), months=2)
    assert [(p["on"], p["interest_bearing"]) for p in trend] == [("2026-04-30", 1_000_000), ("2026-05-01", 4_000_000)]


def test_arrears_by_province_for_the_catalogue(session, books):
    on = date(2025, 4, 15)
    figures = arrears.arrears_by_province(session, on=on)
    # Hà Nội: Jan–Mar of two employers due (60M); the late one owes Jan 10M, Feb 5M, Mar 10M; Jan and Feb are a
    # whole month late. Sơn La: 30M due, Feb and Mar owed, Feb a whole month late.
    assert figures == {
        "01": {"due": 60_000_000, "arrears": 25_000_000, "interest_bearing": 15_000_000,
               "overdue_rate": round(25 / 60, 6), "interest_bearing_rate": 0.25, "employers_3_months": 1},
        "14": {"due": 30_000_000, "arrears": 20_000_000, "interest_bearing": 10_000_000,
               "overdue_rate": round(20 / 30, 6), "interest_bearing_rate": round(10 / 30, 6),
               "employers_3_months": 0},  # Sơn La's Feb bill is 2 months late on 15/4
    }
    report = arrears.arrears_report(session, None, on=on)
    for row in report["by_province"]:
        assert figures[row["province"]]["interest_bearing_rate"] == row["interest_bearing_rate"]
    assert [e["employer_id"] for e in arrears.overdue_employers(session, None, on=on)] == [books["late"].id]
    later = arrears.arrears_by_province(session, on=date(2025, 5, 15), province="14")
    assert list(later) == ["14"] and later["14"]["employers_3_months"] == 1  # Feb: 3 months begun on 15/5
    assert later["14"]["arrears"] == 30_000_000 and later["14"]["interest_bearing"] == 20_000_000  # Apr: not yet
    assert arrears.arrears_by_province(session, on=date(2024, 12, 31)) == {}
    days = [date(2024, 12, 31), on, date(2025, 5, 15)]
    together = arrears.arrears_by_province_on(session, days)  # one pass: the same as each day alone
    assert together == {day: arrears.arrears_by_province(session, on=day) for day in days}


def test_ageing_and_account(session, books):
    key = f"E:{books['late'].id}"
    account = arrears.payer_account(session, key, on=date(2025, 4, 15))
    # Jan due 31/1: 2.5 months → 3+; Feb half paid, due 28/2 → 2; Mar due 31/3 → 1; Apr not due yet
    assert account["arrears_by_age"] == {"1": 10_000_000, "2": 5_000_000, "3+": 10_000_000}
    assert account["arrears"] == 25_000_000
    assert account["billed"] == 40_000_000 and account["paid"] == 5_000_000 and account["written_off"] == 0
    assert account["balance"] == 35_000_000 == ledger.balance(session, RECEIVABLE, payer_key=key, on=date(2025, 4, 15))
    assert account["prepayment"] == 0
    assert [b["outstanding"] for b in account["bills"]] == [10_000_000, 5_000_000, 10_000_000, 10_000_000]
    good = arrears.payer_account(session, f"E:{books['good'].id}", on=date(2025, 4, 15))
    assert good["arrears"] == 0 and good["interest"] == 0 and good["balance"] == 10_000_000  # April not due
    with pytest.raises(NotFound):
        arrears.payer_account(session, "E:999999999", on=date(2025, 4, 15))


def test_interest_straddling_the_regime_change_equals_the_rules(session, books):
    key = f"E:{books['late'].id}"
    on = date(2025, 8, 15)
    account = arrears.payer_account(session, key, on=on)
    feb = account["bills"][1]
    due = date(2025, 2, 28)
    # the paid half ran 10 days (under the old regime's 30-day minimum: no interest), the rest runs to `on`
    assert feb["interest"] == rules_interest([(5_000_000, due, date(2025, 3, 10), "si"), (5_000_000, due, on, "si")])
    assert feb["old_regime_interest"] > 0 and feb["new_regime_interest"] > 0
    # from 2025-07-01: 0.03% a day on 5,000,000 for 46 days
    assert feb["new_regime_interest"] == 5_000_000 * 3 * 46 // 10_000
    expected = sum(rules_interest([(10_000_000, bill.due_date, on, "si")]) for i, bill in
                   enumerate(books["bills"][key]) if i != 1) + feb["interest"]
    assert account["interest_accrued"] == account["interest"] == expected
    # a paid part 40 days late (over 30) does bear old-regime interest
    pay(session, payer_key=key, amount=2_000_000, paid_on=date(2025, 4, 9), province="01",
        allocate=[(books["bills"][key][2], 2_000_000, "principal")], allocated_on=date(2025, 4, 20))
    march = arrears.payer_account(session, key, on=on)["bills"][2]
    assert march["interest"] == rules_interest([(2_000_000, date(2025, 3, 31), date(2025, 4, 9), "si"),
                                                (8_000_000, date(2025, 3, 31), on, "si")])


def test_interest_by_fund_share(session, books):
    """A bill's parts are split by fund in proportion to its lines; the hi reference rate differs in 2020."""
    unit = books["hanoi"]
    employer = make_employer(session, unit, "Công ty Quỹ Riêng")
    key = f"E:{employer.id}"
    bill = make_bill(session, payer_key=key, period=date(2020, 1, 1), due=date(2020, 1, 31), total=9_000_000,
                     unit=unit, province="01", employer_id=employer.id,
                     lines={"retirement": 5_000_000, "health": 3_000_000, "unemployment": 1_000_000})
    on = date(2020, 12, 31)
    got = arrears.payer_account(session, key, on=on)["bills"][0]["interest"]
    assert got == rules_interest([(5_000_000, bill.due_date, on, "si"), (1_000_000, bill.due_date, on, "ui"),
                                  (3_000_000, bill.due_date, on, "hi")])
    assert got != rules_interest([(9_000_000, bill.due_date, on, "si")])


def test_report_fields_rates_and_last_year(session, books):
    report = arrears.arrears_report(session, None, on=date(2025, 4, 15))
    # due by 15/4: Jan–Mar bills of three employers = 90,000,000
    assert report["due"] == 90_000_000
    assert report["paid"] == 30_000_000 + 5_000_000 + 10_000_000
    assert report["arrears"] == report["due"] - report["paid"] - report["written_off"] == 45_000_000
    assert report["overdue_rate"] == round(45_000_000 / 90_000_000, 6)
    # a whole month past the deadline on 15/4: Jan (late 10M, due 31/1) and Feb (late 5M, Sơn La 10M, due 28/2);
    # March (due 31/3: a whole month only after 30/4) is overdue but not yet interest-bearing
    assert report["interest_bearing"] == 25_000_000
    assert report["interest_bearing_rate"] == round(25_000_000 / 90_000_000, 6) < report["overdue_rate"]
    assert report["interest"] > 0
    assert report["last_year"]["on"] == "2024-04-15" and report["last_year"]["due"] == 0
    assert report["last_year"]["overdue_rate"] is None
    by_province = {row["province"]: row for row in report["by_province"]}
    assert by_province["01"]["due"] == 60_000_000 and by_province["01"]["arrears"] == 25_000_000
    assert by_province["14"]["arrears"] == 20_000_000
    assert sum(r["arrears"] for r in report["by_province"]) == report["arrears"]
    only = arrears.arrears_report(session, None, on=date(2025, 4, 15), province="14")
    assert only["due"] == 30_000_000 and [r["province"] for r in only["by_province"]] == ["14"]
    trend = arrears.arrears_trend(session, None, on=date(2025, 4, 15), months=3)
    assert [p["on"] for p in trend] == ["2025-02-28", "2025-03-31", "2025-04-15"]
    assert trend[-1]["arrears"] == report["arrears"]


def test_provincial_officer_sees_only_their_province(session, books, make_user, org):
    from ansinh.auth import service as auth_service
    from ansinh.auth.models import User

    make_user("hn_officer", org.hanoi, Role.provincial_officer)
    user = session.query(User).filter_by(username="hn_officer").one()
    principal = auth_service.principal_for(user)
    report = arrears.arrears_report(session, principal, on=date(2025, 4, 15))
    assert [row["province"] for row in report["by_province"]] == ["01"]
    assert report["due"] == 60_000_000
    with pytest.raises(PermissionDenied):  # another province's figures: refused, not an empty answer
        arrears.arrears_report(session, principal, on=date(2025, 4, 15), province="14")
    with pytest.raises(PermissionDenied):
        arrears.debtor_list(session, principal, on=date(2025, 4, 15), province="14")
    own = arrears.arrears_report(session, principal, on=date(2025, 4, 15), province="01")
    assert own["due"] == 60_000_000
    employers = arrears.overdue_employers(session, principal, on=date(2025, 6, 1))
    assert {row["province"] for row in employers} == {"01"}


def test_overdue_employers_and_debtor_list(session, books):
    late, far = books["late"], books["far"]
    listed = arrears.overdue_employers(session, None, on=date(2025, 4, 15))
    assert [row["employer_id"] for row in listed] == [late.id]  # Sơn La paid January: February is 2 months late
    assert listed[0]["name"] == VIETNAMESE_NAME and listed[0]["arrears"] == 25_000_000
    assert listed[0]["months_overdue"] == 3 and listed[0]["arrears_3plus"] == 10_000_000
    assert arrears.overdue_employers(session, None, on=date(2025, 4, 15), min_months=4) == []
    later = arrears.overdue_employers(session, None, on=date(2025, 6, 1))
    assert [row["employer_id"] for row in later] == [late.id, far.id]  # 35 and 30 million
    debtors = arrears.debtor_list(session, None, on=date(2025, 4, 15), province="01")
    assert [row["employer_id"] for row in debtors] == [late.id]
    assert debtors[0]["total"] == debtors[0]["arrears"] + debtors[0]["interest"]


def test_debtor_list_xlsx_and_pdf(session, books):
    on = date(2025, 4, 15)
    content = arrears.debtor_list_xlsx(session, None, on=on)
    sheet = pl.read_excel(io.BytesIO(content), sheet_name="debtors", has_header=False)
    cells = [str(v) for row in sheet.iter_rows() for v in row if v is not None]
    assert VIETNAMESE_NAME in cells and "Hợp tác xã Mường Tè" in cells
    assert books["late"].tax_code in cells
    pdf = arrears.debtor_list_pdf(session, None, on=on)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    pypdf = pytest.importorskip("pypdf")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert VIETNAMESE_NAME in text and "Mường Tè" in text and "DANH SÁCH ĐƠN VỊ NỢ ĐÓNG" in text


def test_write_off(session, books):
    key = f"E:{books['late'].id}"
    jan = books["bills"][key][0]
    before = arrears.payer_account(session, key, on=date(2025, 8, 15))
    record = arrears.write_off(session, payer_key=key, bill_id=jan.id, amount=4_000_000, reason="Phá sản",
                               on=date(2025, 5, 1), actor="officer")
    assert record.id and ledger.balance(session, WRITEOFF, payer_key=key) == 4_000_000
    after = arrears.payer_account(session, key, on=date(2025, 8, 15))
    assert after["written_off"] == 4_000_000 and after["balance"] == before["balance"] - 4_000_000
    assert after["bills"][0]["outstanding"] == 6_000_000
    # no interest on the written-off part after 2025-05-01
    assert after["bills"][0]["interest"] == rules_interest([(4_000_000, jan.due_date, date(2025, 5, 1), "si"),
                                                            (6_000_000, jan.due_date, date(2025, 8, 15), "si")])
    with pytest.raises(ValidationFailed):
        arrears.write_off(session, payer_key=key, bill_id=jan.id, amount=6_000_001, reason="x", on=date(2025, 5, 2),
                          actor="officer")
    with pytest.raises(ValidationFailed):
        arrears.write_off(session, payer_key=key, bill_id=jan.id, amount=0, reason="x", on=date(2025, 5, 2),
                          actor="officer")
    with pytest.raises(NotFound):
        arrears.write_off(session, payer_key="E:0", bill_id=jan.id, amount=1, reason="x", on=date(2025, 5, 2),
                          actor="officer")
    assert sum(ledger.trial_balance(session).values()) == 0


def test_accrue_interest_is_idempotent(session, books):
    on = date(2025, 8, 15)
    posted = arrears.accrue_interest(session, on=on)
    report = arrears.arrears_report(session, None, on=on)
    assert posted == report["interest_accrued"] > 0
    assert arrears.accrue_interest(session, on=on) == 0
    assert -ledger.balance(session, INTEREST_INCOME) == posted == ledger.balance(session, INTEREST_RECEIVABLE)
    later = arrears.accrue_interest(session, on=date(2025, 9, 15))
    assert later == arrears.arrears_report(session, None, on=date(2025, 9, 15))["interest_accrued"] - posted
    with pytest.raises(Conflict):
        arrears.accrue_interest(session, on=on)
    key = f"E:{books['late'].id}"
    account = arrears.payer_account(session, key, on=date(2025, 9, 15))
    assert account["interest_posted"] == account["interest_accrued"] == account["interest_receivable"]
    # interest paid reduces what is owed, not what accrued
    pay(session, payer_key=key, amount=100_000, paid_on=date(2025, 9, 15), province="01",
        allocate=[(books["bills"][key][0], 100_000, "interest")])
    paid = arrears.payer_account(session, key, on=date(2025, 9, 15))
    assert paid["interest"] == account["interest"] - 100_000 and paid["interest_accrued"] == account["interest_accrued"]
    assert sum(ledger.trial_balance(session).values()) == 0


# ----------------------------------------------------------------------------------------------- API and CLI
@pytest.fixture
def api(app):
    from ansinh.collection.arrears_api import router

    if not any(getattr(route, "path", "") == "/api/v1/arrears/report" for route in app.routes):
        app.include_router(router)
    return app


@pytest.fixture
def api_client(api):
    from fastapi.testclient import TestClient

    with TestClient(api, base_url="http://testserver") as client:
        yield client


def test_api_report_account_and_debtor_files(db, org, make_user, api_client):
    with db.unit_of_work() as session:
        hanoi, sonla = session.get(OrgUnit, org.hanoi.id), session.get(OrgUnit, org.sonla.id)
        employer = make_employer(session, hanoi, VIETNAMESE_NAME)
        other = make_employer(session, sonla, "Hợp tác xã Mường Tè")
        for who, unit, province in ((employer, hanoi, "01"), (other, sonla, "14")):
            make_bill(session, payer_key=f"E:{who.id}", period=date(2025, 1, 1), due=date(2025, 1, 31),
                      total=7_000_000, unit=unit, province=province, employer_id=who.id)
        employer_id, other_id = employer.id, other.id
    make_user("national", org.national, Role.national_officer)
    make_user("hanoi", org.hanoi, Role.provincial_officer)
    national, local = api_token(api_client, "national"), api_token(api_client, "hanoi")

    body = api_client.get("/api/v1/arrears/report", params={"on": "2025-06-01"}, headers=national).json()
    assert {"due", "paid", "arrears", "interest", "overdue_rate", "interest_bearing", "interest_bearing_rate",
            "last_year", "by_province"} <= set(body)
    assert body["due"] == 14_000_000 and body["arrears"] == 14_000_000 and body["overdue_rate"] == 1.0
    scoped = api_client.get("/api/v1/arrears/report", params={"on": "2025-06-01"}, headers=local).json()
    assert scoped["due"] == 7_000_000 and [r["province"] for r in scoped["by_province"]] == ["01"]

    account = api_client.get(f"/api/v1/arrears/accounts/E:{employer_id}", params={"on": "2025-06-01"},
                             headers=local)
    assert account.status_code == 200 and account.json()["arrears_by_age"]["3+"] == 7_000_000
    assert api_client.get(f"/api/v1/arrears/accounts/E:{other_id}", headers=local).status_code == 403
    assert api_client.get("/api/v1/arrears/accounts/E:0", headers=local).status_code == 404

    xlsx = api_client.get("/api/v1/arrears/debtors.xlsx", params={"on": "2025-06-01"}, headers=local)
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxml")
    cells = [str(v) for row in pl.read_excel(io.BytesIO(xlsx.content), has_header=False).iter_rows() for v in row]
    assert VIETNAMESE_NAME in cells and "Hợp tác xã Mường Tè" not in cells
    pdf = api_client.get("/api/v1/arrears/debtors.pdf", params={"on": "2025-06-01"}, headers=national)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    overdue = api_client.get("/api/v1/arrears/overdue-employers", params={"on": "2025-06-01"}, headers=national)
    assert {row["employer_id"] for row in overdue.json()} == {employer_id, other_id}
    assert api_client.get("/api/v1/arrears/report").status_code == 401


def test_cli_report_json(db, org, tmp_path):
    from typer.testing import CliRunner

    from ansinh.collection.arrears_cli import arrears_app
    from ansinh.db import set_database

    with db.unit_of_work() as session:
        hanoi = session.get(OrgUnit, org.hanoi.id)
        employer = make_employer(session, hanoi, VIETNAMESE_NAME)
        make_bill(session, payer_key=f"E:{employer.id}", period=date(2025, 1, 1), due=date(2025, 1, 31),
                  total=7_000_000, unit=hanoi, province="01", employer_id=employer.id)
    set_database(db)
    try:
        runner = CliRunner()
        result = runner.invoke(arrears_app, ["report", "--on", "2025-06-01", "--province", "01", "--json"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert body["due"] == 7_000_000 and body["overdue_rate"] == 1.0 and body["province"] == "01"
        assert {"paid", "arrears", "interest", "interest_bearing_rate"} <= set(body)
        assert body["interest_bearing"] == 7_000_000  # due 31/1: a whole month late since 1/3
        assert runner.invoke(arrears_app, ["report", "--on", "soon"]).exit_code == 2
        xlsx, pdf = tmp_path / "debtors.xlsx", tmp_path / "debtors.pdf"
        written = runner.invoke(arrears_app, ["debtors", "--on", "2025-06-01", "--xlsx", str(xlsx), "--pdf", str(pdf)])
        assert written.exit_code == 0, written.output
        assert pdf.read_bytes().startswith(b"%PDF-")
        cells = [str(v) for row in pl.read_excel(xlsx, has_header=False).iter_rows() for v in row]
        assert VIETNAMESE_NAME in cells
        assert runner.invoke(arrears_app, ["debtors", "--on", "2025-06-01"]).exit_code == 2
    finally:
        set_database(None)
