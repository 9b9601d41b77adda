"""The collection work done in the browser: billing runs with their progress, statement uploads, the payments
list with reversal, bills and write-offs, and the debtor lists' slips (title, buckets, addresses)."""

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from ansinh.auth.models import Role
from ansinh.collection.models import Bill, BillingRun, Payment, WriteOff
from ansinh.jobs.models import Job
from tests.collection import test_pages as _pages
from tests.collection.test_pages import HTML, _signed_in

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

# the fixtures of the collection pages' tests: the app with its pages, the accounts, the data, an officer signed in
app, accounts, data, officer = _pages.app, _pages.accounts, _pages.data, _pages.officer

billing = pytest.importorskip("ansinh.collection.billing")


# --- billing runs ---------------------------------------------------------------------------------------

def test_the_runs_list_shows_the_runs_of_the_scope_sorted_and_named(officer, data):
    page = officer.get("/collection/billing", headers=HTML)
    assert page.status_code == 200, page.text
    runs = re.findall(r'data-run="(\d+)"', page.text)
    assert len(runs) == 0  # the fixture billed the whole country: national staff only
    assert 'data-testid="billing-start-form"' in page.text and "data-confirm=" in page.text


def _billing_state(db) -> tuple:
    with db.unit_of_work() as s:
        return (s.scalar(select(func.count()).select_from(Job)),
                sorted(s.execute(select(BillingRun.period, BillingRun.province, BillingRun.status)).all()),
                s.scalar(select(func.count()).select_from(Bill)))


def _april_run(db) -> BillingRun:
    with db.unit_of_work() as s:
        return s.scalar(select(BillingRun).where(BillingRun.period == date(2025, 4, 1), BillingRun.province == "01"))


def test_an_officer_starts_a_run_as_a_job_and_follows_it_to_its_end(officer, data, db):
    before = _billing_state(db)
    bad = officer.post("/collection/billing", data={"period": "2025-13", "province": "01", "csrf_token": officer.csrf},
                       headers=HTML)
    assert bad.status_code == 422 and 'data-field="period"' in bad.text and 'value="2025-13"' in bad.text
    foreign = officer.post("/collection/billing", data={"period": "2025-04", "province": "14",
                                                        "csrf_token": officer.csrf}, headers=HTML)
    assert foreign.status_code == 403 and 'data-testid="form-error"' in foreign.text
    country = officer.post("/collection/billing", data={"period": "2025-04", "province": "*",
                                                        "csrf_token": officer.csrf}, headers=HTML)
    assert country.status_code == 403  # the whole country: national staff only
    assert _billing_state(db) == before  # refusals start no job and bill nothing

    started = officer.post("/collection/billing", data={"period": "2025-04", "province": "01",
                                                        "csrf_token": officer.csrf}, headers=HTML,
                           follow_redirects=False)
    assert started.status_code == 303, started.text
    target = started.headers["location"]
    assert re.fullmatch(r"/jobs/\d+", target)
    job_id = int(target.rsplit("/", 1)[1])
    run = _april_run(db)
    with db.unit_of_work() as s:
        job = s.get(Job, job_id)
        assert (job.kind, job.key, job.status, job.created_by) == ("billing", "billing:2025-04:01", "completed",
                                                                    "canbo")
        assert job.result["bills"] == 1
        bills = s.scalars(select(Bill).where(Bill.run_id == run.id)).all()
    assert (run.period, run.province, run.status) == (date(2025, 4, 1), "01", "completed") and len(bills) == 1
    assert officer.get(target, headers=HTML).status_code == 200
    page = officer.get(f"/collection/billing/runs/{run.id}", headers=HTML)
    assert page.status_code == 200 and 'data-figure="bills"' in page.text
    assert 'data-testid="run-exceptions"' in page.text and 'hx-trigger="every 1s"' not in page.text
    assert f'href="/jobs/{job_id}"' in page.text
    progress = officer.get(f"/collection/billing/runs/{run.id}/progress?watching=1",
                           headers={**HTML, "HX-Request": "true"})
    assert progress.status_code == 200 and progress.headers.get("HX-Refresh") == "true"
    listing = officer.get("/collection/billing?sort=total&dir=desc", headers=HTML)
    assert f'data-run="{run.id}"' in listing.text

    # the same month again: the same job, nothing billed twice
    state = _billing_state(db)
    again = officer.post("/collection/billing", data={"period": "2025-04", "province": "01",
                                                      "csrf_token": officer.csrf}, headers=HTML,
                         follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == target
    assert _billing_state(db) == state


def test_a_run_being_billed_by_its_job_shows_as_being_billed(officer, data, db):
    started = officer.post("/collection/billing", data={"period": "2025-04", "province": "01",
                                                        "csrf_token": officer.csrf}, headers=HTML,
                           follow_redirects=False)
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    run = _april_run(db)
    with db.unit_of_work() as s:  # as while a worker bills it: the job running, the run without a lease
        s.get(Job, job_id).status = "running"
        s.get(BillingRun, run.id).status = "running"
    page = officer.get(f"/collection/billing/runs/{run.id}", headers=HTML)
    assert 'hx-trigger="every 1s"' in page.text and 'data-testid="run-stopped"' not in page.text
    with db.unit_of_work() as s:  # the job ended but the run did not: stopped, to be started again
        s.get(Job, job_id).status = "completed_with_errors"
    page = officer.get(f"/collection/billing/runs/{run.id}", headers=HTML)
    assert 'data-testid="run-stopped"' in page.text and 'data-testid="resume-run"' in page.text


def test_another_province_cannot_read_the_run(officer, data, client, org, make_user, db):
    started = officer.post("/collection/billing", data={"period": "2025-04", "province": "01",
                                                        "csrf_token": officer.csrf}, headers=HTML,
                           follow_redirects=False)
    job_page = started.headers["location"]
    target = f"/collection/billing/runs/{_april_run(db).id}"
    client.cookies.clear()
    make_user("sonla2", org.sonla, Role.provincial_officer)
    _signed_in(client, "sonla2")
    assert client.get(target, headers=HTML).status_code == 403
    assert client.get(f"{target}/progress", headers=HTML).status_code == 403
    assert client.get(job_page, headers=HTML).status_code == 404
    assert f'data-run="{target.rsplit("/", 1)[1]}"' not in client.get("/collection/billing", headers=HTML).text


# --- statements and payments ----------------------------------------------------------------------------

def _statement(*rows: str) -> bytes:
    return ("date,amount,payer_account,reference,bank_transaction_id,receiving_account\n"
            + "".join(row + "\n" for row in rows)).encode()


def test_a_statement_is_uploaded_and_a_replay_changes_nothing(officer, data, db):
    with db.unit_of_work() as s:
        reference = s.get(Bill, data["latest"]).reference
    content = _statement(f"2025-04-02,1.000.000,0011001234567,{reference} nop BHXH,VCB-10,113000006100",
                         "2025-04-03,250000,0011009999999,chuyen tien,VCB-11,113000006100")
    form = {"csrf_token": officer.csrf}
    page = officer.get("/collection/payments/import", headers=HTML)
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    done = officer.post("/collection/payments/import", data=form, files={"file": ("sao-ke.csv", content)},
                        headers=HTML)
    assert done.status_code == 200, done.text
    assert 'data-status="applied"' in done.text
    assert re.search(r'data-figure="matched">1<', done.text) and re.search(r'data-figure="suspense">1<', done.text)
    with db.unit_of_work() as s:
        assert s.scalar(select(Payment).where(Payment.bank_transaction_id == "VCB-10")).status == "matched"
        count = len(s.scalars(select(Payment)).all())
    again = officer.post("/collection/payments/import", data=form, files={"file": ("sao-ke.csv", content)},
                         headers=HTML)
    assert again.status_code == 200 and 'data-testid="statement-unchanged"' in again.text
    with db.unit_of_work() as s:
        assert len(s.scalars(select(Payment)).all()) == count


def test_a_bad_statement_is_refused_row_by_row(officer, data, db):
    content = _statement("2025-04-02,abc,001,x,VCB-20,113000006100", "2099-01-01,5000,001,x,VCB-21,999")
    answer = officer.post("/collection/payments/import", data={"csrf_token": officer.csrf},
                          files={"file": ("bad.csv", content)}, headers=HTML)
    assert answer.status_code == 422 and 'data-testid="statement-rejected"' in answer.text
    assert 'data-row="2" data-column="amount"' in answer.text and 'data-row="3"' in answer.text
    assert "bad.csv" in answer.text
    with db.unit_of_work() as s:
        assert s.scalar(select(Payment).where(Payment.bank_transaction_id.in_(["VCB-20", "VCB-21"]))) is None
    empty = officer.post("/collection/payments/import", data={"csrf_token": officer.csrf}, headers=HTML)
    assert empty.status_code == 422 and 'data-field="file"' in empty.text


def test_the_payments_list_filters_sorts_totals_and_exports(officer, data):
    page = officer.get("/collection/payments", headers=HTML)
    assert page.status_code == 200, page.text
    assert f'data-payment="{data["paid"]}"' in page.text and f'data-payment="{data["lost"]}"' in page.text
    assert "Công ty An Bình (0100109106)" in page.text  # the payer by name, not E:<id>
    suspense = officer.get("/collection/payments?status=suspense", headers=HTML)
    assert f'data-payment="{data["lost"]}"' in suspense.text and f'data-payment="{data["paid"]}"' not in suspense.text
    assert '1,000,000' in suspense.text  # the total of the filtered rows
    by_amount = officer.get("/collection/payments?sort=amount&dir=asc", headers=HTML).text
    assert by_amount.index(f'data-payment="{data["lost"]}"') < by_amount.index(f'data-payment="{data["paid"]}"')
    narrowed = officer.get("/collection/payments?paid_from=2025-02-01&amount_max=1.000.000", headers=HTML)
    assert f'data-payment="{data["lost"]}"' in narrowed.text and f'data-payment="{data["paid"]}"' not in narrowed.text
    named = officer.get("/collection/payments?payer=an+binh", headers=HTML)
    assert f'data-payment="{data["paid"]}"' in named.text and f'data-payment="{data["lost"]}"' not in named.text
    bad = officer.get("/collection/payments?paid_from=31/02/2025&amount_min=abc", headers=HTML)
    assert bad.status_code == 422 and 'data-error="paid_from"' in bad.text and 'data-error="amount_min"' in bad.text
    export = officer.get("/collection/payments/export.xlsx?status=suspense")
    assert export.status_code == 200 and export.headers["X-Row-Count"] == "1" and export.content[:2] == b"PK"
    import polars as pl

    sheet = pl.read_excel(io.BytesIO(export.content), has_header=False)
    cells = [str(v) for row in sheet.rows() for v in row]
    assert "VCB-2" in cells and "VCB-1" not in cells


def test_a_payment_is_reversed_with_a_reason(officer, data, db):
    page = officer.get(f"/collection/payments/{data['paid']}", headers=HTML)
    assert page.status_code == 200 and 'data-testid="allocations"' in page.text and "data-confirm=" in page.text
    missing = officer.post(f"/collection/payments/{data['paid']}/reverse",
                           data={"reason": "  ", "csrf_token": officer.csrf}, headers=HTML)
    assert missing.status_code == 422 and 'data-field="reason"' in missing.text
    done = officer.post(f"/collection/payments/{data['paid']}/reverse",
                        data={"reason": "Ngân hàng trả lại", "csrf_token": officer.csrf}, headers=HTML,
                        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("?reversed=1")
    with db.unit_of_work() as s:
        assert s.get(Payment, data["paid"]).status == "reversed"
    again = officer.post(f"/collection/payments/{data['paid']}/reverse",
                         data={"reason": "again", "csrf_token": officer.csrf}, headers=HTML)
    assert again.status_code == 409


def test_another_province_cannot_see_or_reverse_the_payment(client, org, make_user, data, db):
    make_user("sonla3", org.sonla, Role.provincial_officer)
    csrf = _signed_in(client, "sonla3")
    assert client.get(f"/collection/payments/{data['paid']}", headers=HTML).status_code == 403
    refused = client.post(f"/collection/payments/{data['paid']}/reverse", data={"reason": "x", "csrf_token": csrf},
                          headers=HTML)
    assert refused.status_code == 403
    assert f'data-payment="{data["paid"]}"' not in client.get("/collection/payments", headers=HTML).text
    with db.unit_of_work() as s:
        assert s.get(Payment, data["paid"]).status == "matched"


# --- the debtor lists' slips ----------------------------------------------------------------------------

def _xlsx_cells(content: bytes) -> list[str]:
    import polars as pl

    return [str(v) for row in pl.read_excel(io.BytesIO(content), has_header=False).iter_rows() for v in row]


def _pdf_text(content: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_a_provincial_officers_debtor_list_is_titled_with_the_province_name(officer, data):
    pdf = officer.get("/collection/arrears/debtors.pdf?on=2025-09-30")
    assert pdf.status_code == 200
    text = _pdf_text(pdf.content)
    assert "Hà Nội" in text and "Toàn quốc" not in text and "30/09/2025" in text
    xlsx = officer.get("/collection/arrears/debtors.xlsx?on=2025-09-30")
    subtitle = next(c for c in _xlsx_cells(xlsx.content) if "30/09/2025" in c)
    assert "Hà Nội" in subtitle and "Toàn quốc" not in subtitle
    assert "H%C3%A0%20N%E1%BB%99i" in xlsx.headers["content-disposition"]  # the file is named by the province too


def test_each_debtor_bucket_holds_only_its_own(officer, data, db):
    with db.unit_of_work() as s:
        february = s.scalar(select(Bill).where(Bill.payer_key == f"E:{data['employer']}",
                                               Bill.period == date(2025, 2, 1)))
        one_month_late = (february.due_date + timedelta(days=5)).isoformat()
    name = "Công ty An Bình"
    for months, present in (("1", True), ("2", False), ("3+", False), ("", True)):
        cells = _xlsx_cells(officer.get("/collection/arrears/debtors.xlsx",
                                       params={"on": one_month_late, "months": months}).content)
        assert (name in cells) is present, (months, one_month_late)
    for months, present in (("1", False), ("3+", True)):
        cells = _xlsx_cells(officer.get("/collection/arrears/debtors.xlsx",
                                       params={"on": "2025-09-30", "months": months}).content)
        assert (name in cells) is present, months
    page = officer.get(f"/collection/arrears?on={one_month_late}", headers=HTML)
    assert f'data-employer="{data["employer"]}"' not in page.text  # the 3+ table neither
    assert "months=3%2B" in page.text and 'data-bucket="1"' in page.text
    assert officer.get("/collection/arrears/debtors.pdf?months=7").status_code == 422


def test_the_debtor_list_has_the_address_and_vietnamese_numbers(officer, data, db):
    from ansinh.registry.models import Employer

    with db.unit_of_work() as s:
        s.get(Employer, data["employer"]).address = "Số 12 phố Huế"
    xlsx = _xlsx_cells(officer.get("/collection/arrears/debtors.xlsx?on=2025-09-30").content)
    assert "Số 12 phố Huế" in xlsx
    text = _pdf_text(officer.get("/collection/arrears/debtors.pdf?on=2025-09-30").content)
    assert "Số 12 phố Huế" in text
    amounts = re.findall(r"\d{1,3}(?:[.,]\d{3})+", text)
    assert amounts and all("," not in a for a in amounts)  # 1.234.567, the Vietnamese way


def test_the_published_address_joins_the_street_and_the_place():
    from ansinh.collection.arrears import _address

    assert _address("Số 12 phố Huế", "Phường Hai Bà Trưng, Thành phố Hà Nội") == \
        "Số 12 phố Huế, Phường Hai Bà Trưng, Thành phố Hà Nội"
    assert _address(None, "Xã Mường Tè, Tỉnh Lai Châu") == "Xã Mường Tè, Tỉnh Lai Châu"
    assert _address("  ", None) is None


# --- bills and write-offs -------------------------------------------------------------------------------

def test_a_bill_is_written_off_from_its_page(officer, data, db):
    page = officer.get(f"/collection/bills/{data['latest']}", headers=HTML)
    assert 'data-testid="write-off-form"' in page.text and "data-confirm=" in page.text
    with db.unit_of_work() as s:
        total = s.get(Bill, data["latest"]).total
    too_much = officer.post(f"/collection/bills/{data['latest']}/write-offs",
                            data={"amount": str(total + 1), "reason": "Phá sản", "csrf_token": officer.csrf},
                            headers=HTML)
    assert too_much.status_code == 422 and 'data-field="amount"' in too_much.text
    assert f'value="{total + 1}"' in too_much.text and 'value="Phá sản"' in too_much.text
    no_reason = officer.post(f"/collection/bills/{data['latest']}/write-offs",
                             data={"amount": "1.000", "reason": "", "csrf_token": officer.csrf}, headers=HTML)
    assert no_reason.status_code == 422 and 'data-field="reason"' in no_reason.text
    done = officer.post(f"/collection/bills/{data['latest']}/write-offs",
                        data={"amount": "1.000", "reason": "Phá sản", "csrf_token": officer.csrf}, headers=HTML,
                        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("?written_off=1")
    with db.unit_of_work() as s:
        (record,) = s.scalars(select(WriteOff).where(WriteOff.bill_id == data["latest"])).all()
        assert (record.amount, record.reason, record.decided_by) == (1000, "Phá sản", "canbo")
    after = officer.get(done.headers["location"], headers=HTML)
    assert 'data-testid="written-off-notice"' in after.text and "data-write-off=" in after.text


def test_another_province_cannot_write_off(client, org, make_user, data, db):
    make_user("sonla4", org.sonla, Role.provincial_officer)
    csrf = _signed_in(client, "sonla4")
    refused = client.post(f"/collection/bills/{data['latest']}/write-offs",
                          data={"amount": "1000", "reason": "x", "csrf_token": csrf}, headers=HTML)
    assert refused.status_code == 403
    with db.unit_of_work() as s:
        assert s.scalars(select(WriteOff)).all() == []


def test_the_bills_list_filters_sorts_and_exports(officer, data):
    page = officer.get("/collection/bills", headers=HTML)
    assert page.status_code == 200, page.text
    assert f'data-bill="{data["latest"]}"' in page.text and f'data-bill="{data["other_bill"]}"' not in page.text
    march = officer.get("/collection/bills?month=2025-03", headers=HTML)
    assert f'data-bill="{data["latest"]}"' in march.text and f'data-bill="{data["january"]}"' not in march.text
    unpaid = officer.get("/collection/bills?status=open", headers=HTML)
    assert f'data-bill="{data["january"]}"' not in unpaid.text  # January is paid
    bad = officer.get("/collection/bills?month=2025-13", headers=HTML)
    assert bad.status_code == 422 and 'data-field="month"' in bad.text
    oldest = officer.get("/collection/bills?sort=period&dir=asc", headers=HTML).text
    assert oldest.index(f'data-bill="{data["january"]}"') < oldest.index(f'data-bill="{data["latest"]}"')
    export = officer.get("/collection/bills/export.xlsx?month=2025-03")
    assert export.status_code == 200 and export.headers["X-Row-Count"] == "1"
