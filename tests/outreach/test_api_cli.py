"""The outreach routes and commands on the hand-counted world: scoped to the caller, audited, staff only."""

import io
import json

import polars as pl
import pytest
from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from tests.conftest import api_token
from tests.outreach.test_tax import ENTERPRISES, withholdings
from tests.outreach.world import build

ON = "2026-03-15"


@pytest.fixture
def world(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as session:
        w = build(session, org)
        return {k: getattr(v, "id", v) for k, v in w.items()} | {
            "cids": {k: v.citizen_id for k, v in w.items() if hasattr(v, "citizen_id")},
            "there_code": w["there"].code}


def test_uncovered_route(client, db, org, world, make_user):
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("sl", org.sonla, Role.provincial_officer)
    make_user("nat", org.national, Role.national_officer)
    hn, sl, nat = api_token(client, "hn"), api_token(client, "sl"), api_token(client, "nat")
    answer = client.get("/api/v1/outreach/uncovered", params={"on": ON, "province": "01", "limit": 3}, headers=hn)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 7 and len(body["rows"]) == 3 and sum(body["by_group"].values()) == 7
    assert {"citizen_id", "full_name", "date_of_birth", "commune", "group", "could_join"} <= set(body["rows"][0])
    commune = client.get("/api/v1/outreach/uncovered", params={"on": ON, "commune": world["there_code"]},
                         headers=hn).json()
    assert sorted(r["person_id"] for r in commune["rows"]) == sorted([world["leaver"], world["member"]])
    # Sơn La's officer: not Hà Nội's province; their own scope holds only their own person
    assert client.get("/api/v1/outreach/uncovered", params={"on": ON, "province": "01"},
                      headers=sl).status_code == 403
    own = client.get("/api/v1/outreach/uncovered", params={"on": ON}, headers=sl).json()
    assert [r["person_id"] for r in own["rows"]] == [world["far"]]
    assert client.get("/api/v1/outreach/uncovered", params={"on": ON}, headers=nat).json()["total"] == 8
    xlsx = client.get("/api/v1/outreach/uncovered.xlsx", params={"on": ON, "province": "01"}, headers=hn)
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxml")
    cells = [str(v) for row in pl.read_excel(io.BytesIO(xlsx.content), has_header=False).iter_rows() for v in row]
    assert "Hoàng Văn Già" in cells and "Lò Văn Pấng" not in cells
    with db.unit_of_work() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "list")
                                 .order_by(AuditEvent.id)).all()
        listed = [e.changes for e in events if (e.changes or {}).get("what", "").startswith("outreach.uncovered")]
    assert listed[0]["count"] == 3 and listed[0]["total"] == 7
    assert listed[-1]["what"] == "outreach.uncovered.xlsx" and listed[-1]["count"] == 7


def test_outsiders_are_refused(client, org, world, make_user):
    make_user("cit", org.hanoi, Role.citizen)
    make_user("emp", org.hanoi, Role.employer)
    for name in ("cit", "emp"):
        headers = api_token(client, name)
        assert client.get("/api/v1/outreach/uncovered", params={"on": ON}, headers=headers).status_code == 403
        assert client.post("/api/v1/outreach/tax-match/cases", json={"tax_code": "0100109106"},
                           headers=headers).status_code == 403
    assert client.get("/api/v1/outreach/uncovered").status_code == 401


def test_tax_match_route_and_case(client, db, org, world, make_user):
    make_user("hn", org.hanoi, Role.provincial_officer)
    hn = api_token(client, "hn")
    answer = client.post("/api/v1/outreach/tax-match", headers=hn, data={"on": ON}, files={
        "enterprises": ("dn.csv", ENTERPRISES.encode(), "text/csv"),
        "withholdings": ("tncn.csv", withholdings({k: type("P", (), {"citizen_id": v})()
                                                    for k, v in world["cids"].items()}).encode(), "text/csv")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # this world has only A registered: B and C are not (3 unregistered), and C's worker counts (rows 3, 5, 6)
    assert body["counts"] == {"unregistered": 3, "under_declared": 1, "workers_without_si": 3}
    assert len(body["errors"]) == 5 and body["errors"][0]["file"] == "dn.csv"
    bad = client.post("/api/v1/outreach/tax-match", headers=hn,
                      files={"enterprises": ("dn.csv", b"name\nX\n", "text/csv")})
    assert bad.status_code == 422 and bad.json()["errors"][0]["column"] == "tax_code"
    case = client.post("/api/v1/outreach/tax-match/cases", headers=hn,
                       json={"tax_code": "0100109106", "on": ON, "findings": "Thiếu 2 lao động"})
    assert case.status_code == 201 and case.json()["opened"] and case.json()["employer_id"] == world["a"]
    again = client.post("/api/v1/outreach/tax-match/cases", headers=hn, json={"tax_code": "0100109106", "on": ON})
    assert again.status_code == 200 and again.json()["case_id"] == case.json()["case_id"]
    missing = client.post("/api/v1/outreach/tax-match/cases", headers=hn, json={"tax_code": "0100109113"})
    assert missing.status_code == 404


def test_cli(db, org, world, tmp_path):
    from typer.testing import CliRunner

    from ansinh.cli import app
    from ansinh.db import set_database

    set_database(db)
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["outreach", "uncovered", "--province", "01", "--on", ON, "--json"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert body["total"] == 7 and body["by_group"]["near_retirement"] == 1
        near = next(r for r in body["rows"] if r["group"] == "near_retirement")
        assert near["months_missing"] == 120 and near["citizen_id"] == world["cids"]["near"]
        xlsx = tmp_path / "list.xlsx"
        assert runner.invoke(app, ["outreach", "uncovered", "--province", "01", "--on", ON, "--xlsx",
                                   str(xlsx)]).exit_code == 0
        assert xlsx.read_bytes().startswith(b"PK")
        assert runner.invoke(app, ["outreach", "uncovered", "--province", "01", "--on", "soon",
                                   "--json"]).exit_code == 2
        firms = tmp_path / "dn.csv"
        firms.write_text(ENTERPRISES)
        matched = runner.invoke(app, ["outreach", "tax-match", str(firms), "--on", ON, "--json", "--open-cases"])
        assert matched.exit_code == 0, matched.output
        body = json.loads(matched.stdout)
        assert body["counts"]["under_declared"] == 1 and len(body["cases"]) == 1  # A only (B, C not registered here)
        assert "dn.csv, row 6, tax_code" in matched.stderr
        replay = json.loads(runner.invoke(app, ["outreach", "tax-match", str(firms), "--on", ON, "--json",
                                                "--open-cases"]).stdout)
        assert [c["opened"] for c in replay["cases"]] == [False]  # a replay opens nothing
    finally:
        set_database(None)
