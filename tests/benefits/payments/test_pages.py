"""The payment pages: the payroll runs and running a month, a run's payments, the payments with their filters, the
payment files and their download, a bank's results (applied, sent again, refused), a re-issue, the reconciliation and
the overpayments; each for the users who may and may not, in both languages."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

pytest.importorskip("ansinh.benefits.payments.models", reason="the payments service has not landed on this branch")

from ansinh.benefits.payments import service as pay  # noqa: E402
from ansinh.benefits.payments.models import BenefitPayment, PayrollRun  # noqa: E402
from tests.benefits.payments.conftest import BIN_VCB  # noqa: E402
from tests.conftest import web_login  # noqa: E402

JAN = date(2026, 1, 1)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def pensioners(session, world):
    """Two pensioners of Hà Nội from January, by bank: 5,200,000 and 7,350,000 dong a month."""
    people = [world.pensioner(name) for name in ("Hoàng Văn An", "Bùi Thị Mai")]
    for who in people:
        world.account(who)
    for who, amount in zip(people, (5_200_000, 7_350_000), strict=True):
        world.granted("pension", who, monthly=amount, first_month=JAN)
    session.flush()
    return people


def _runs(session) -> int:
    return session.scalar(select(func.count()).select_from(PayrollRun))


def test_the_payroll_of_a_month_is_run_once_from_the_page(client, session, world, pensioners):
    web_login(client, "b-hanoi")
    page = client.get("/benefits/payroll")
    assert page.status_code == 200 and 'data-testid="payroll-form"' in page.text
    answer = client.post("/benefits/payroll", data={"csrf_token": csrf_of(page.text), "month": "2026-01"},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    run_page = client.get(answer.headers["location"])
    # 5,200,000 + 7,350,000 = 12,550,000 dong for two payments
    assert 'data-figure="payments" data-value="2"' in run_page.text
    assert 'data-figure="total" data-value="12550000"' in run_page.text and "12.550.000" in run_page.text
    assert run_page.text.count("data-payment=") == 2 and "Hoàng Văn An" in run_page.text
    again = client.post("/benefits/payroll", data={"csrf_token": csrf_of(page.text), "month": "2026-01"},
                        follow_redirects=False)
    assert again.headers["location"] == answer.headers["location"]  # the same run: nothing paid twice
    assert session.scalar(select(func.count()).select_from(BenefitPayment)) == 2 and _runs(session) == 1
    listed = client.get("/benefits/payroll")
    assert "01/2026" in listed.text and "12.550.000" in listed.text
    bad = client.post("/benefits/payroll", data={"csrf_token": csrf_of(page.text), "month": "2026-13"})
    assert bad.status_code == 422 and 'data-error="month"' in bad.text
    country = client.post("/benefits/payroll", data={"csrf_token": csrf_of(page.text), "month": "2026-02",
                                                     "province": "*"})
    assert country.status_code == 403 and _runs(session) == 1  # the country's run: national staff only
    run_id = answer.headers["location"].split("/")[-1].split("?")[0]
    english = client.get(f"/lang/en?next=/benefits/payroll/{run_id}", follow_redirects=True)
    assert "12,550,000" in english.text and "Jan 2026" in english.text


def test_outsiders_see_no_run_and_start_none(client, session, world, pensioners):
    summary = pay.run_payroll(client.app.state.database, month=JAN, by="test", province="01")
    web_login(client, "b-sonla")
    assert client.get(f"/benefits/payroll/{summary['run_id']}").status_code == 404
    assert f'data-run="{summary["run_id"]}"' not in client.get("/benefits/payroll").text
    client.cookies.clear()
    web_login(client, "b-district")  # no benefits.pay
    assert client.get("/benefits/payroll").status_code == 403
    assert client.get("/benefits/payments").status_code == 403
    client.cookies.clear()
    web_login(client, "b-citizen")
    assert client.get("/benefits/overpayments").status_code == 403


def test_a_payment_goes_to_a_file_and_the_banks_result_is_imported(client, session, world):
    who = world.pensioner("Lê Thị Hạnh")
    world.account(who)
    world.granted("lump_sum", who, amount=48_600_000, ground="abroad")
    pay.order_payments(session, world.b.officer, on=date(2026, 1, 6))
    session.flush()
    payment = session.scalar(select(BenefitPayment))
    web_login(client, "b-hanoi")
    page = client.get("/benefits/payments?method=bank&status=ordered")
    assert page.status_code == 200 and f'data-payment="{payment.id}"' in page.text and "48.600.000" in page.text
    assert f'data-payment="{payment.id}"' not in client.get("/benefits/payments?method=cash").text
    csrf = csrf_of(page.text)
    none = client.post("/benefits/payment-files", data={"csrf_token": csrf, "bank_bin": "970405"})
    assert none.status_code == 422 and 'data-testid="export-error"' in none.text  # nothing waits for that bank
    made = client.post("/benefits/payment-files", data={"csrf_token": csrf, "bank_bin": BIN_VCB},
                       follow_redirects=False)
    assert made.status_code == 303
    file_id = int(re.search(r"file=(\d+)", made.headers["location"]).group(1))
    listed = client.get(made.headers["location"])
    assert f'data-file="{file_id}"' in listed.text and 'data-status="sent"' in listed.text
    download = client.get(f"/benefits/payment-files/{file_id}.csv")
    assert download.status_code == 200 and f"BP{payment.id}" in download.text and "48600000" in download.text
    assert client.get(f"/benefits/payment-files/{file_id}.xlsx").content[:2] == b"PK"
    # a result naming an unknown reference: refused whole, nothing changed
    bad = client.post("/benefits/payments/results", data={"csrf_token": csrf}, files={
        "file": ("kq.csv", f"reference,status,reason\nBP{payment.id},paid,\nBP999999,paid,\n".encode(), "text/csv")})
    assert bad.status_code == 422 and 'data-testid="results-errors"' in bad.text and "BP999999" in bad.text
    session.expire_all()
    assert session.get(BenefitPayment, payment.id).status == "sent"
    good = f"reference,status,reason\nBP{payment.id},paid,\n".encode()
    applied = client.post("/benefits/payments/results", data={"csrf_token": csrf},
                          files={"file": ("kq.csv", good, "text/csv")})
    assert applied.status_code == 200 and 'data-status="applied"' in applied.text
    again = client.post("/benefits/payments/results", data={"csrf_token": csrf},
                        files={"file": ("kq.csv", good, "text/csv")})
    assert 'data-status="unchanged"' in again.text
    session.expire_all()
    assert session.get(BenefitPayment, payment.id).status == "paid"
    client.cookies.clear()
    web_login(client, "b-sonla")
    assert client.get(f"/benefits/payment-files/{file_id}.csv").status_code == 404


def test_a_returned_payment_is_reissued_from_the_page(client, session, world):
    who = world.pensioner("Trịnh Văn Long")
    world.account(who)
    world.granted("lump_sum", who, amount=10_000_000, ground="abroad")
    pay.order_payments(session, world.b.officer, on=date(2026, 1, 6))
    pay.export_payment_file(session, world.b.officer, on=date(2026, 1, 7), bank_bin=BIN_VCB)
    payment = session.scalar(select(BenefitPayment))
    world.results([(f"BP{payment.id}", "returned", "closed_account")])
    session.flush()
    web_login(client, "b-hanoi")
    page = client.get("/benefits/payments?status=failed")
    assert f'data-testid="reissue-{payment.id}"' in page.text
    csrf = csrf_of(page.text)
    # no other means of payment yet: refused beside the payment, nothing written
    refused = client.post(f"/benefits/payments/{payment.id}/reissue", data={"csrf_token": csrf})
    assert refused.status_code == 422 and f'data-error="reissue-{payment.id}"' in refused.text
    world.account(who, number="12345678")
    session.flush()
    done = client.post(f"/benefits/payments/{payment.id}/reissue", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert session.scalar(select(func.count()).select_from(BenefitPayment)
                          .where(BenefitPayment.reissue_of_id == payment.id)) == 1


def test_reconciliation_is_for_national_staff_and_overpayments_are_recovered(client, session, world):
    who = world.pensioner("Đinh Văn Tâm")
    world.account(who)
    world.granted("lump_sum", who, amount=6_000_000, ground="abroad")
    pay.order_payments(session, world.b.officer, on=date(2026, 1, 6))
    pay.export_payment_file(session, world.b.officer, on=date(2026, 1, 7), bank_bin=BIN_VCB)
    payment = session.scalar(select(BenefitPayment))
    world.results([(f"BP{payment.id}", "paid", "")])
    over = pay.record_overpayment(session, world.b.officer, payment_ids=[payment.id], reason="Đã đi làm lại",
                                  on=date(2026, 2, 1))
    session.flush()
    web_login(client, "b-hanoi")
    page = client.get("/benefits/payments")
    assert 'data-testid="reconciliation"' not in page.text
    assert client.post("/benefits/payments/reconciliation", data={"csrf_token": csrf_of(page.text)}).status_code \
        == 403
    listed = client.get("/benefits/overpayments")
    assert f'data-overpayment="{over.id}"' in listed.text and "6.000.000" in listed.text
    csrf = csrf_of(listed.text)
    too_much = client.post(f"/benefits/overpayments/{over.id}/recoveries", data={"csrf_token": csrf,
                                                                                 "amount": "7.000.000"})
    assert too_much.status_code == 422 and f'data-error="recover-{over.id}"' in too_much.text
    done = client.post(f"/benefits/overpayments/{over.id}/recoveries", data={"csrf_token": csrf,
                                                                             "amount": "2.500.000"},
                       follow_redirects=False)
    assert done.status_code == 303
    # 6,000,000 − 2,500,000 = 3,500,000 still owed
    assert "3.500.000" in client.get("/benefits/overpayments").text
    client.cookies.clear()
    web_login(client, "b-national")
    national = client.get("/benefits/payments")
    answer = client.post("/benefits/payments/reconciliation", data={"csrf_token": csrf_of(national.text)})
    assert answer.status_code == 200 and 'data-check="paid_without_posting">0<' in answer.text


def test_the_payment_pages_read_cleanly_in_both_languages(client, session, world, pensioners):
    from tests.web.test_crawl import Page, _untranslated_needles, page_problems

    summary = pay.run_payroll(client.app.state.database, month=JAN, by="test", province="01")
    needles = _untranslated_needles()
    web_login(client, "b-hanoi")
    problems = []
    for locale in ("vi", "en"):
        client.get(f"/lang/{locale}", follow_redirects=False)
        for address in ("/benefits/payroll", f"/benefits/payroll/{summary['run_id']}", "/benefits/payments",
                        "/benefits/overpayments"):
            answer = client.get(address)
            assert answer.status_code == 200, (address, answer.text[:300])
            page = Page(locale)
            page.feed(answer.text)
            problems += [(locale, address, p) for p in page_problems(page, locale, needles)]
    assert problems == []
