"""The outreach pages on the hand-counted worlds: an officer of the province sees and acts; another province's
officer is refused (404 on a record, 403 on a province) and changes nothing."""

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from ansinh.cards import service as cards
from ansinh.collection.billing import run_billing
from ansinh.collection.models import Bill
from ansinh.notices.models import Notice
from ansinh.outreach.models import AgentCollection, CollectionAgent, Sponsorship
from tests.conftest import web_login
from tests.outreach.more_world import build

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def world(db, org, make_user):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as session:
        w = build(session, org)
        cards.issue_cards(session, on=date(2026, 2, 1))
        ids = {k: getattr(v, "id", v) for k, v in w.items()} | {"cid": {k: getattr(v, "citizen_id", None)
                                                                          for k, v in w.items()}}
    run_billing(db, period=date(2026, 2, 1), province="01", actor="test", today=date(2026, 2, 5))
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("sl", org.sonla, Role.provincial_officer)
    return ids


def test_officer_pages(client, db, world):
    web_login(client, "hn")
    page = client.get("/outreach/uncovered", params={"on": "2026-03-15"})
    assert page.status_code == 200 and 'data-testid="uncovered-list"' in page.text
    xlsx = client.get("/outreach/uncovered.xlsx", params={"on": "2026-03-15"})
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    renew = client.get("/outreach/renewals", params={"month": "2026-03"})
    assert renew.status_code == 200 and renew.text.count("data-kind=") == 4
    notify = client.post("/outreach/renewals/notices", data={"month": "2026-03", "province": "01",
                                                             "csrf_token": csrf_of(renew.text)})
    assert notify.status_code == 200 and 'data-testid="renewals-sent"' in notify.text
    client.post("/outreach/renewals/notices", data={"month": "2026-03", "province": "01",
                                                    "csrf_token": csrf_of(renew.text)})
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 4
    assert client.get("/outreach/renewals.xlsx", params={"month": "2026-03"}).content.startswith(b"PK")
    agents = client.get("/outreach/agents")
    made = client.post("/outreach/agents", data={"code": "BD-01", "name": "Bưu điện Hoàn Kiếm",
                                                 "kind": "post_office", "csrf_token": csrf_of(agents.text)},
                       follow_redirects=False)
    assert made.status_code == 303, made.text
    agent_url = made.headers["location"]
    with db.unit_of_work() as session:
        bill = session.scalar(select(Bill).where(Bill.payer_key == f"P:{world['vol3']}"))
        reference, total = bill.reference, bill.total
    collected = client.post(f"{agent_url}/collections", data={
        "reference": reference, "amount": str(total), "collected_on": "2026-02-20", "receipt": "BL-1",
        "csrf_token": csrf_of(agents.text)}, follow_redirects=False)
    assert collected.status_code == 303, collected.text
    agent = client.get(agent_url, params={"since": "2026-01", "until": "2026-12"})
    assert agent.status_code == 200 and "155.100" in agent.text  # 5% of 3,102,000, the Vietnamese way
    bad = client.post(f"{agent_url}/collections", data={"reference": "NOPE12345", "amount": "10",
                                                        "collected_on": "2026-02-20", "receipt": "BL-2",
                                                        "csrf_token": csrf_of(agents.text)})
    assert bad.status_code == 422 and 'data-field="reference"' in bad.text
    sponsors = client.get("/outreach/sponsors")
    assert sponsors.status_code == 200 and "Quỹ Vì người nghèo" in sponsors.text
    person = client.get(f"/registry/people/{world['ends']}")  # the coverage names the sponsor as who paid
    assert person.status_code == 200 and "(Quỹ Vì người nghèo)" in person.text
    sponsor = client.get(f"/outreach/sponsors/{world['sponsor']}")
    assert sponsor.status_code == 200 and "An Văn Hết" in sponsor.text
    added = client.post(f"/outreach/sponsors/{world['sponsor']}/sponsorships", data={
        "citizen_id": world["cid"]["vol6"], "scheme": "household_hi", "from_month": "2026-05",
        "to_month": "2026-07", "csrf_token": csrf_of(sponsor.text)}, follow_redirects=False)
    assert added.status_code == 303, added.text
    assert client.get("/outreach/tax-match").status_code == 200


def test_another_provinces_officer_is_refused(client, db, world):
    web_login(client, "sl")
    csrf = csrf_of(client.get("/outreach/agents").text)
    assert client.get(f"/outreach/sponsors/{world['sponsor']}").status_code == 404
    assert client.get("/outreach/renewals", params={"month": "2026-03", "province": "01"}).status_code == 403
    assert client.get("/outreach/uncovered", params={"province": "01", "on": "2026-03-15"}).status_code == 403
    refused = client.post(f"/outreach/sponsors/{world['sponsor']}/sponsorships", data={
        "citizen_id": world["cid"]["vol6"], "scheme": "household_hi", "from_month": "2026-05",
        "to_month": "2026-07", "csrf_token": csrf})
    assert refused.status_code == 404
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Sponsorship)) == 5
        assert session.scalar(select(func.count()).select_from(AgentCollection)) == 0
        assert session.scalar(select(func.count()).select_from(CollectionAgent)) == 0
    assert "An Văn Hết" not in client.get("/outreach/sponsors").text
