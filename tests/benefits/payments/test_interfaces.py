"""The payments' API and CLI: a migrated pension paid by the payroll, its bank file, the bank's result file, the
reconciliation; refusals (another province, a bad file, a province officer reconciling the country)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from ansinh.benefits.payments.models import BenefitPayment
from tests.benefits.payments.conftest import BIN_VCB
from tests.conftest import api_token


@pytest.fixture
def pensioner(session, world):
    who = world.pensioner("Quách Văn Tài")
    session.flush()
    return who


def test_the_api_pays_a_pension_through_the_bank(session, client, world, pensioner):
    officer = api_token(client, "b-hanoi")
    sonla = api_token(client, "b-sonla")
    account = client.post("/api/v1/benefits/accounts", headers=officer, json={
        "citizen_id": pensioner.citizen_id, "bank_bin": BIN_VCB, "account_number": "0011223344",
        "holder_name": "QUACH VAN TAI", "on": "2026-01-02"})
    assert account.status_code == 201, account.text
    assert account.json()["verified"] is True
    assert client.post("/api/v1/benefits/accounts", headers=sonla, json={
        "citizen_id": pensioner.citizen_id, "bank_bin": BIN_VCB, "account_number": "0011223345",
        "holder_name": "QUACH VAN TAI"}).status_code == 404
    entitlement = client.post("/api/v1/benefits/entitlements", headers=officer, json={
        "citizen_id": pensioner.citizen_id, "monthly_amount": 6_120_000, "first_month": "2026-01"})
    assert entitlement.status_code == 201, entitlement.text
    assert entitlement.json()["method"] == "bank"
    assert client.post("/api/v1/benefits/payroll", headers=sonla, json={"month": "2026-01", "province": "01"}
                       ).status_code == 403
    run = client.post("/api/v1/benefits/payroll", headers=officer, json={"month": "2026-01", "province": "01"})
    assert run.status_code == 200, run.text
    assert (run.json()["payments"], run.json()["total"]) == (1, 6_120_000)
    again = client.post("/api/v1/benefits/payroll", headers=officer, json={"month": "2026-01", "province": "01"})
    assert again.json()["run_id"] == run.json()["run_id"] and again.json()["payments"] == 1
    assert client.get(f"/api/v1/benefits/payroll-runs/{run.json()['run_id']}", headers=sonla).status_code == 404
    file = client.post("/api/v1/benefits/payment-files", headers=officer, json={"bank_bin": BIN_VCB,
                                                                               "on": "2026-01-05"})
    assert file.status_code == 201 and file.json()["total"] == 6_120_000
    csv_file = client.get(f"/api/v1/benefits/payment-files/{file.json()['id']}", headers=officer)
    assert csv_file.status_code == 200
    lines = csv_file.text.splitlines()
    payment_id = session.scalar(select(BenefitPayment.id))
    assert lines == ["account_number,holder_name,amount,reference,content",
                     f"0011223344,QUACH VAN TAI,6120000,BP{payment_id},BHXH chi tra thang 01/2026 BP{payment_id}"]
    bad = client.post("/api/v1/benefits/payment-results", headers=officer,
                      files={"file": ("kq.csv", b"reference,status\nBP1,maybe\n", "text/csv")})
    assert bad.status_code == 422 and bad.json()["errors"][0]["file"] == "kq.csv"
    good = f"reference,status,reason\nBP{payment_id},paid,\n".encode()
    applied = client.post("/api/v1/benefits/payment-results", headers=officer, params={"on": "2026-01-08"},
                          files={"file": ("kq.csv", good, "text/csv")})
    assert applied.status_code == 201, applied.text
    assert applied.json()["paid_total"] == 6_120_000
    replay = client.post("/api/v1/benefits/payment-results", headers=officer,
                         files={"file": ("kq.csv", good, "text/csv")})
    assert replay.status_code == 200 and replay.json()["status"] == "unchanged"
    listed = client.get("/api/v1/benefits/payments", headers=officer, params={"status": "paid"}).json()
    assert listed["total"] == 1 and listed["items"][0]["reference"] == f"BP{payment_id}"
    assert client.get("/api/v1/benefits/payments", headers=sonla).json()["total"] == 0
    assert client.get("/api/v1/benefits/payments/reconciliation", headers=officer).status_code == 403
    national = api_token(client, "b-national")
    books = client.get("/api/v1/benefits/payments/reconciliation", headers=national)
    assert books.status_code == 200 and books.json()["consistent"] is True, books.text


def test_the_cli_runs_the_payroll_and_reconciles(db, session, world, pensioner, tmp_path):
    from typer.testing import CliRunner

    from ansinh.benefits.payments.cli import app
    from ansinh.db import set_database

    world.account(pensioner)
    from ansinh.benefits.payments import service as pay

    pay.register_entitlement(session, world.b.officer, citizen_id=pensioner.citizen_id, claim_type="pension",
                             monthly_amount=4_500_000, first_month=date(2026, 1, 1))
    session.flush()
    set_database(db)
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["payroll", "--month", "2026-01", "--province", "01", "--json"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert (body["payments"], body["total"], body["status"]) == (1, 4_500_000, "completed")
        assert runner.invoke(app, ["payroll", "--month", "January"]).exit_code == 2
        out = tmp_path / "vcb.xlsx"
        exported = runner.invoke(app, ["payments", "export", "--bank", BIN_VCB, "--out", str(out), "--on",
                                       "2026-01-05", "--json"])
        assert exported.exit_code == 0, exported.output
        assert out.read_bytes()[:2] == b"PK"
        payment_id = session.scalar(select(BenefitPayment.id))
        results = tmp_path / "kq.csv"
        results.write_text(f"reference,status,reason\nBP{payment_id},paid,\n")
        imported = runner.invoke(app, ["payments", "import", str(results), "--on", "2026-01-08", "--json"])
        assert imported.exit_code == 0, imported.output
        assert json.loads(imported.stdout)["paid"] == 1
        bad = tmp_path / "bad.csv"
        bad.write_text("reference,status\nBP0,paid\n")
        assert runner.invoke(app, ["payments", "import", str(bad)]).exit_code == 2
        checked = runner.invoke(app, ["payments", "reconcile", "--json"])
        assert checked.exit_code == 0, checked.output
        assert json.loads(checked.stdout)["consistent"] is True
        accounts = runner.invoke(app, ["accounts", "list", "--citizen-id", pensioner.citizen_id, "--json"])
        assert accounts.exit_code == 0 and json.loads(accounts.stdout)[0]["verified"] is True
        assert runner.invoke(app, ["overpayments", "list", "--json"]).exit_code == 0
    finally:
        set_database(None)
