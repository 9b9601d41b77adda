"""Renewals, agents and sponsors through the API and the command line, on the hand-counted world."""

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from ansinh.cards import service as cards
from ansinh.collection.billing import run_billing
from ansinh.collection.models import Bill
from ansinh.notices.models import Notice
from tests.conftest import api_token
from tests.outreach.more_world import build


@pytest.fixture
def world(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as session:
        w = build(session, org)
        cards.issue_cards(session, on=date(2026, 2, 1))
        ids = {k: getattr(v, "id", v) for k, v in w.items()} | {"cid": {k: getattr(v, "citizen_id", None)
                                                                          for k, v in w.items()}}
    run_billing(db, period=date(2026, 2, 1), province="01", actor="test", today=date(2026, 2, 5))
    with db.unit_of_work() as session:
        ids["vol3_bill"] = session.scalar(select(Bill.reference).where(Bill.payer_key == f"P:{ids['vol3']}"))
    return ids


def test_api(client, db, org, world, make_user):
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("sl", org.sonla, Role.provincial_officer)
    hn, sl = api_token(client, "hn"), api_token(client, "sl")
    listing = client.get("/api/v1/outreach/renewals", params={"month": "2026-03"}, headers=hn)
    assert listing.status_code == 200, listing.text
    assert listing.json()["counts"] == {"card": 2, "voluntary": 2} and listing.json()["ends_in"] == "2026-04"
    assert client.get("/api/v1/outreach/renewals", params={"month": "2026-03", "province": "01"},
                      headers=sl).status_code == 403
    assert client.get("/api/v1/outreach/renewals", params={"month": "2026-3"}, headers=hn).status_code == 422
    sent = client.post("/api/v1/outreach/renewals/notices", json={"month": "2026-03"}, headers=hn).json()
    again = client.post("/api/v1/outreach/renewals/notices", json={"month": "2026-03"}, headers=hn).json()
    assert (sent["sent"], again["sent"], again["already"]) == (4, 0, 4)
    xlsx = client.get("/api/v1/outreach/renewals.xlsx", params={"month": "2026-03"}, headers=hn)
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")

    agent = client.post("/api/v1/outreach/agents", json={"code": "DL-01", "name": "Đại lý xã", "kind":
                                                         "commune_agent"}, headers=hn)
    assert agent.status_code == 201 and agent.json()["province"] == "01"
    body = {"reference": world["vol3_bill"], "amount": 3_102_000, "collected_on": "2026-02-20", "receipt": "B1"}
    url = f"/api/v1/outreach/agents/{agent.json()['id']}"
    assert client.post(f"{url}/collections", json=body, headers=hn).status_code == 201
    assert client.post(f"{url}/collections", json=body, headers=hn).status_code == 200  # a replay
    assert client.post(f"{url}/collections", json=body, headers=sl).status_code == 404
    detail = client.get(url, params={"since": "2026-01", "until": "2026-03"}, headers=hn).json()
    assert [(c["month"], c["collected"], c["commission"]) for c in detail["commissions"]] == [
        ("2026-02", 3_102_000, 155_100)]
    totals = client.get("/api/v1/outreach/commissions", params={"since": "2026-01", "until": "2026-03"},
                        headers=hn).json()
    assert totals["total_commission"] == 155_100
    assert client.get("/api/v1/outreach/commissions", params={"since": "2026-01", "until": "2026-03"},
                      headers=sl).json()["rows"] == []

    sponsor = client.post("/api/v1/outreach/sponsors", json={"name": "Công ty Tình Thương", "kind": "organisation",
                                                             "tax_code": "0100109106"}, headers=hn)
    assert sponsor.status_code == 201, sponsor.text
    made = client.post(f"/api/v1/outreach/sponsors/{sponsor.json()['id']}/sponsorships", headers=hn, json={
        "citizen_id": world["cid"]["vol6"], "scheme": "household_hi", "from_month": "2026-05",
        "to_month": "2026-07"})
    assert made.status_code == 201, made.text
    again = client.post(f"/api/v1/outreach/sponsors/{sponsor.json()['id']}/sponsorships", headers=hn, json={
        "citizen_id": world["cid"]["vol6"], "scheme": "household_hi", "from_month": "2026-06",
        "to_month": "2026-08"})
    assert again.status_code == 409
    view = client.get(f"/api/v1/outreach/sponsors/{sponsor.json()['id']}", headers=hn).json()
    assert [p["person_id"] for p in view["sponsorships"]] == [world["vol6"]] and view["billed"] == 0
    assert client.get(f"/api/v1/outreach/sponsors/{sponsor.json()['id']}", headers=sl).status_code == 404
    names = [s["name"] for s in client.get("/api/v1/outreach/sponsors", headers=hn).json()]
    assert names == ["Công ty Tình Thương", "Quỹ Vì người nghèo"]
    assert client.get("/api/v1/outreach/sponsors", headers=sl).json() == []


def test_cli(db, world, tmp_path):
    from typer.testing import CliRunner

    from ansinh.cli import app
    from ansinh.db import set_database

    set_database(db)
    try:
        runner = CliRunner()
        args = ["outreach", "renewals", "--province", "01", "--month", "2026-03", "--notify", "--json",
                "--xlsx", str(tmp_path / "r.xlsx")]
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        assert json.loads(first.stdout)["notices"] == {"sent": 4, "already": 0}
        assert json.loads(runner.invoke(app, args).stdout)["notices"] == {"sent": 0, "already": 4}
        assert (tmp_path / "r.xlsx").read_bytes().startswith(b"PK")
        with db.unit_of_work() as session:
            assert session.scalar(select(func.count()).select_from(Notice)) == 4
        assert runner.invoke(app, ["outreach", "renewals", "--province", "01", "--month", "03/2026",
                                   "--json"]).exit_code == 2
        added = runner.invoke(app, ["outreach", "agents", "add", "BD-1", "--name", "Bưu điện", "--province", "01"])
        assert added.exit_code == 0, added.output
        collected = runner.invoke(app, ["outreach", "agents", "collect", "BD-1", "--reference", world["vol3_bill"],
                                        "--amount", "3102000", "--receipt", "R9", "--on", "2026-02-21"])
        assert collected.exit_code == 0, collected.output
        commissions = json.loads(runner.invoke(app, ["outreach", "agents", "commissions", "--since", "2026-02",
                                                     "--until", "2026-02"]).stdout)
        assert commissions["total_commission"] == 155_100
        bad = runner.invoke(app, ["outreach", "agents", "collect", "BD-1", "--reference", "X", "--amount", "1",
                                  "--receipt", "R10", "--on", "2026-02-21"])
        assert bad.exit_code == 2 and "--reference" in bad.stderr
        listed = runner.invoke(app, ["outreach", "sponsors", "list", "--province", "01"])
        assert json.loads(listed.stdout.splitlines()[0])["people"] == 4
    finally:
        set_database(None)
