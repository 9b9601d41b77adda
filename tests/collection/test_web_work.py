"""The collection work done in the browser: billing runs with their progress, statement uploads, the payments
list with reversal, bills and write-offs, and the debtor lists' slips (title, buckets, addresses)."""

import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from ansinh.auth.models import Role
from ansinh.collection.models import Bill, BillingRun, Payment, WriteOff
from tests.collection.test_pages import (  # noqa: F401 - fixtures
    HTML,
    TAX_A,
    _signed_in,
    accounts,
    app,
    data,
    officer,
)

billing = pytest.importorskip("ansinh.collection.billing")


# --- billing runs ---------------------------------------------------------------------------------------

def test_the_runs_list_shows_the_runs_of_the_scope_sorted_and_named(officer, data):
    page = officer.get("/collection/billing", headers=HTML)
    assert page.status_code == 200, page.text
    runs = re.findall(r'data-run="(\d+)"', page.text)
    assert len(runs) == 0  # the fixture billed the whole country: national staff only
    assert 'data-testid="billing-start-form"' in page.text and "data-confirm=" in page.text


def test_an_officer_starts_a_run_and_follows_it_to_its_end(officer, data, db):
    bad = officer.post("/collection/billing", data={"period": "2025-13", "province": "01", "csrf_token": officer.csrf},
                       headers=HTML)
    assert bad.status_code == 422 and 'data-field="period"' in bad.text and 'value="2025-13"' in bad.text
    foreign = officer.post("/collection/billing", data={"period": "2025-04", "province": "14",
                                                        "csrf_token": officer.csrf}, headers=HTML)
    assert foreign.status_code == 403
    started = officer.post("/collection/billing", data={"period": "2025-04", "province": "01",
                                                        "csrf_token": officer.csrf}, headers=HTML,
                           follow_redirects=False)
    assert started.status_code == 303, started.text
    target = started.headers["location"]
    run_id = int(target.rsplit("/", 1)[1])
    with db.unit_of_work() as s:
        run = s.get(BillingRun, run_id)
        assert (run.period, run.province, run.status) == (date(2025, 4, 1), "01", "completed")
        bills = s.scalars(select(Bill).where(Bill.run_id == run_id)).all()
        assert len(bills) == 1
    page = officer.get(target, headers=HTML)
    assert page.status_code == 200 and 'data-figure="bills"' in page.text
    assert 'data-testid="run-exceptions"' in page.text and 'hx-trigger="every 1s"' not in page.text
    progress = officer.get(f"{target}/progress?watching=1", headers={**HTML, "HX-Request": "true"})
    assert progress.status_code == 200 and progress.headers.get("HX-Refresh") == "true"
    listing = officer.get("/collection/billing?sort=total&dir=desc", headers=HTML)
    assert f'data-run="{run_id}"' in listing.text


def test_another_province_cannot_read_the_run(officer, data, client, org, make_user, db):
    started = officer.post("/collection/billing", data={"period": "2025-04", "province": "01",
                                                        "csrf_token": officer.csrf}, headers=HTML,
                           follow_redirects=False)
    target = started.headers["location"]
    client.cookies.clear()
    make_user("sonla2", org.sonla, Role.provincial_officer)
    _signed_in(client, "sonla2")
    assert client.get(target, headers=HTML).status_code == 403
    assert client.get(f"{target}/progress", headers=HTML).status_code == 403
    assert f'data-run="{target.rsplit("/", 1)[1]}"' not in client.get("/collection/billing", headers=HTML).text
