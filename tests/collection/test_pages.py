"""Collection pages: the employer account and printable bill, suspense, the arrears dashboard, inspection cases.

Data are built through the services: declarations (participation), billing runs, payments."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from ansinh.api import PAGE_ROUTERS
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.collection.models import Bill, Payment
from ansinh.collection.pages import router as collection_pages
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from tests.conftest import web_login

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

billing = pytest.importorskip("ansinh.collection.billing")
payments = pytest.importorskip("ansinh.collection.payments")

HTML = {"Accept": "text/html"}
TAX_A, TAX_B = "0100109106", "0300588569"
MONTHS = [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]


@pytest.fixture
def app(app):
    if collection_pages not in PAGE_ROUTERS:
        app.include_router(collection_pages)
    return app


@pytest.fixture(autouse=True)
def accounts(monkeypatch):  # the first receiving account is Hà Nội's
    monkeypatch.setenv("ANSINH_COLLECTION_ACCOUNTS", "970415:113000006100:01,970418:12010000660099:14")


@pytest.fixture
def data(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code=TAX_A, name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
        other = registry.create_employer(s, registry.EmployerData(
            tax_code=TAX_B, name="Công ty Sơn La", ownership=Ownership.private, region="III"), sonla)
        for index, (boss, unit) in enumerate(((employer, hanoi), (other, sonla))):
            worker = registry.create_person(s, registry.PersonData(
                full_name=f"Nguyễn Văn {index}", date_of_birth=date(1990, 5, 1), sex=Sex.male,
                citizen_id=f"00109001234{index}"), unit)
            participation.apply_declaration(s, employer=boss, person=worker, kind="join",
                                            effective_month=date(2025, 1, 1), insured_salary=10_000_000,
                                            submitted_by="test", today=date(2025, 1, 10))
        ids = {"employer": employer.id, "other": other.id}
    with audit_context(channel="job", actor_username="test-fixture"):
        for month in MONTHS:
            billing.run_billing(db, period=month, province=None, actor="test", today=month)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        bills = {b.period: b for b in s.scalars(select(Bill).where(Bill.payer_key == f"E:{ids['employer']}"))}
        january = bills[date(2025, 1, 1)]
        paid = payments.record_payment(s, bank_transaction_id="VCB-1", paid_on=date(2025, 1, 20),
                                       amount=january.total, payer_account="0011001234567",
                                       reference_text=f"{january.reference} nop BHXH", on=date(2025, 1, 20))
        lost = payments.record_payment(s, bank_transaction_id="VCB-2", paid_on=date(2025, 2, 25),
                                       amount=1_000_000, payer_account="0011009999999",
                                       reference_text="chuyen tien bao hiem",
                                       receiving_account="113000006100", on=date(2025, 2, 25))
        assert paid.status == "matched" and lost.status == "suspense"
        ids.update(january=january.id, latest=bills[date(2025, 3, 1)].id, paid=paid.id, lost=lost.id,
                   other_bill=s.scalar(select(Bill.id).where(Bill.payer_key == f"E:{ids['other']}")))
    return ids


def _signed_in(client, username) -> str:
    assert web_login(client, username).status_code == 303
    client.get("/lang/en")
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


@pytest.fixture
def officer(client, org, make_user):
    make_user("canbo", org.hanoi, Role.provincial_officer)
    client.csrf = _signed_in(client, "canbo")
    return client


def test_the_employer_account_shows_bills_payments_and_balance(officer, data):
    page = officer.get(f"/collection/employers/{data['employer']}?on=2025-06-30", headers=HTML)
    assert page.status_code == 200, page.text
    for bill_id in (data["january"], data["latest"]):
        assert f'data-bill="{bill_id}"' in page.text
    assert 'data-payment="%d"' % data["paid"] in page.text and "VCB-1" in page.text
    assert 'data-age="3+"' in page.text and 'data-figure="interest"' in page.text
    assert f'href="/collection/bills/{data["latest"]}"' in page.text  # the latest bill, printable
    # January is paid: nothing outstanding on its row; February and March are owed.
    january = re.search(rf'data-bill="{data["january"]}".*?</tr>', page.text, re.S).group(0)
    assert january.rstrip("</tr>").strip().endswith('<td class="num">0</td>')


def test_the_bill_page_has_its_reference_lines_and_a_vietqr_code(officer, data):
    page = officer.get(f"/collection/bills/{data['latest']}", headers=HTML)
    assert page.status_code == 200, page.text
    with officer.app.state.database.unit_of_work() as s:
        bill = s.get(Bill, data["latest"])
        reference, total = bill.reference, bill.total
    assert reference in page.text and 'data-testid="bill-lines"' in page.text and 'data-fund="retirement"' in page.text
    image = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', page.text)
    assert image is not None
    import base64

    assert "<svg" in base64.b64decode(image.group(1)).decode()
    assert f"{total:,}" in page.text
    assert "<script>" not in page.text  # CSP: no inline scripts


def test_another_province_and_another_employer_are_refused(client, org, make_user, data):
    make_user("sonla", org.sonla, Role.provincial_officer)
    _signed_in(client, "sonla")
    assert client.get(f"/collection/employers/{data['employer']}", headers=HTML).status_code == 403
    assert client.get(f"/collection/bills/{data['january']}", headers=HTML).status_code == 403
    assert client.get(f"/collection/employers/{data['other']}", headers=HTML).status_code == 200
    client.cookies.clear()
    make_user("donvi.b", org.sonla, Role.employer, subject_ref=TAX_B)
    _signed_in(client, "donvi.b")
    assert client.get(f"/collection/employers/{data['employer']}", headers=HTML).status_code == 403
    assert client.get(f"/collection/bills/{data['january']}", headers=HTML).status_code == 403
    assert client.get(f"/collection/bills/{data['other_bill']}", headers=HTML).status_code == 200
    assert client.get("/collection/suspense", headers=HTML).status_code == 403
    assert client.get("/collection/arrears", headers=HTML).status_code == 403


def test_an_employer_user_sees_their_own_account(client, org, make_user, data):
    make_user("donvi.a", org.hanoi, Role.employer, subject_ref=TAX_A)
    _signed_in(client, "donvi.a")
    page = client.get(f"/collection/employers/{data['employer']}", headers=HTML)
    assert page.status_code == 200 and f'data-bill="{data["latest"]}"' in page.text
    assert 'data-nav="collection_arrears"' not in page.text


def test_an_officer_assigns_a_payment_in_suspense(officer, data):
    page = officer.get("/collection/suspense", headers=HTML)
    assert page.status_code == 200 and f'data-payment="{data["lost"]}"' in page.text
    assert 'name="csrf_token"' in page.text
    refused = officer.post(f"/collection/suspense/{data['lost']}/assign",
                           data={"payer": "0000000000", "csrf_token": officer.csrf}, headers=HTML)
    assert refused.status_code == 422 and 'data-testid="assign-error"' in refused.text
    no_csrf = officer.post(f"/collection/suspense/{data['lost']}/assign", data={"payer": TAX_A}, headers=HTML,
                           follow_redirects=False)
    assert no_csrf.status_code == 403
    done = officer.post(f"/collection/suspense/{data['lost']}/assign",
                        data={"payer": TAX_A, "csrf_token": officer.csrf}, headers=HTML, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/collection/suspense?assigned={data['lost']}"
    with officer.app.state.database.unit_of_work() as s:
        payment = s.get(Payment, data["lost"])
        assert (payment.status, payment.payer_key, payment.matched_by) == ("matched", f"E:{data['employer']}",
                                                                           "officer")
    after = officer.get(f"/collection/suspense?assigned={data['lost']}", headers=HTML)
    assert 'data-testid="assigned-notice"' in after.text and 'data-testid="suspense-empty"' in after.text


def test_the_arrears_dashboard_and_the_debtor_lists(officer, data):
    pytest.importorskip("ansinh.collection.arrears")
    page = officer.get("/collection/arrears?on=2025-09-30", headers=HTML)
    assert page.status_code == 200, page.text
    assert 'data-figure="arrears"' in page.text and 'data-rate="interest_bearing_rate"' in page.text
    assert 'id="arrears-province-data"' in page.text and 'id="arrears-age-data"' in page.text
    assert f'data-employer="{data["employer"]}"' in page.text  # February unpaid: overdue 3+ months
    assert f'data-employer="{data["other"]}"' not in page.text  # another province: out of scope
    xlsx = officer.get("/collection/arrears/debtors.xlsx?on=2025-09-30")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    pdf = officer.get("/collection/arrears/debtors.pdf?on=2025-09-30")
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    home = officer.get("/", headers=HTML)
    assert 'data-tile="collection_arrears"' in home.text and 'data-nav="collection_suspense"' in home.text


def test_an_inspection_case_from_opening_to_closing(officer, data, client, org, make_user):
    pytest.importorskip("ansinh.collection.inspections")
    opened = officer.post("/collection/inspections", data={"employer": TAX_A, "csrf_token": officer.csrf},
                          headers=HTML, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    target = opened.headers["location"]
    case_id = int(target.rsplit("/", 1)[1])
    again = officer.post("/collection/inspections", data={"employer": TAX_A, "csrf_token": officer.csrf},
                         headers=HTML)
    assert again.status_code == 422  # one open case per employer
    closing_early = officer.post(f"{target}/close", data={"csrf_token": officer.csrf}, headers=HTML)
    assert closing_early.status_code == 422 and 'data-testid="case-error"' in closing_early.text
    for action, form in (("findings", {"findings": "Two months unpaid."}),
                         ("decisions", {"kind": "payment_plan", "amount": "4.000.000", "due": "2025-12-31"}),
                         ("decisions", {"kind": "fine", "amount": "1000000"}),
                         ("payments", {"payment_id": str(data["paid"])}),
                         ("close", {})):
        answer = officer.post(f"{target}/{action}", data={**form, "csrf_token": officer.csrf}, headers=HTML,
                              follow_redirects=False)
        assert answer.status_code == 303, (action, answer.text)
    page = officer.get(target, headers=HTML)
    assert "Two months unpaid." in page.text and 'data-decision="payment_plan"' in page.text
    assert 'data-decision="fine"' in page.text and f'data-payment="{data["paid"]}"' in page.text
    assert 'data-testid="close-case"' not in page.text and "Closed" in page.text
    listing = officer.get("/collection/inspections", headers=HTML)
    assert f'data-case="{case_id}"' in listing.text
    client.cookies.clear()
    make_user("sonla2", org.sonla, Role.provincial_officer)
    _signed_in(client, "sonla2")
    assert client.get(target, headers=HTML).status_code == 403
    assert f'data-case="{case_id}"' not in client.get("/collection/inspections", headers=HTML).text
