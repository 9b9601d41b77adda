"""``ansinh claims prices|budgets|catalogue|icd10``: the commands over the same services."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ansinh.claims.cli import claims_app
from tests.claims.prices.conftest import csv


def test_the_claims_commands(db, org, facility, tmp_path, monkeypatch):
    facility("01001")
    monkeypatch.setattr("ansinh.db.get_database", lambda: db)
    runner = CliRunner()
    bad = tmp_path / "bang-gia-loi.csv"
    bad.write_bytes(csv("service,02.1896,Khám Nội,lần,0,2026-01-01,,"))
    result = runner.invoke(claims_app, ["prices", "import", str(bad), "--facility", "01001"])
    assert result.exit_code == 2 and "bang-gia-loi.csv, row 2, price: The price is from 1" in result.output
    good = tmp_path / "bang-gia.csv"
    good.write_bytes(csv("service,02.1896,Khám Nội,lần,42100,2026-01-01,,",
                         "drug,40.17,Paracetamol 500mg,viên,1200,2026-01-01,,"))
    result = runner.invoke(claims_app, ["prices", "import", str(good), "--facility", "01001", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["created"] == 2, result.output
    later = tmp_path / "bang-gia-7.csv"
    later.write_bytes(csv("service,02.1896,Khám Nội,lần,45000,2026-07-01,,"))
    assert runner.invoke(claims_app, ["prices", "import", str(later), "--facility", "01001"]).exit_code == 0
    shown = json.loads(runner.invoke(claims_app, ["prices", "show", "--facility", "01001", "--on", "2026-03-01",
                                                  "--json"]).output)
    assert {(i["code"], i["price"]) for i in shown["items"]} == {("02.1896", 42_100), ("40.17", 1_200)}
    history = json.loads(runner.invoke(claims_app, ["prices", "show", "--facility", "01001", "--code", "02.1896",
                                                    "--json"]).output)
    assert [(i["price"], i["in_force_until"]) for i in history["items"]] == [(42_100, "2026-06-30"), (45_000, None)]
    unknown = runner.invoke(claims_app, ["prices", "show", "--facility", "01999"])
    assert unknown.exit_code == 2 and "--facility" in unknown.output
    out = tmp_path / "mau.xlsx"
    assert runner.invoke(claims_app, ["prices", "template", str(out)]).exit_code == 0 and out.read_bytes()[:2] == b"PK"

    result = runner.invoke(claims_app, ["budgets", "set", "--province", "01", "--year", "2026", "--amount",
                                        "11800000000000", "--source", "QĐ 123/QĐ-BHXH", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["version"] == 1, result.output
    result = runner.invoke(claims_app, ["budgets", "set", "--province", "01", "--year", "2026", "--facility",
                                        "01001", "--amount", "4000000000000", "--source", "QĐ 5"])
    assert result.exit_code == 0 and "01001 2026: 4,000,000,000,000 dong" in result.output, result.output
    shown = json.loads(runner.invoke(claims_app, ["budgets", "show", "--province", "01", "--year", "2026",
                                                  "--json"]).output)
    assert shown["unassigned"] == 7_800_000_000_000

    groups = json.loads(runner.invoke(claims_app, ["catalogue", "cost-groups", "--on", "2026-01-01",
                                                   "--json"]).output)
    assert [g["code"] for g in groups][:3] == ["1", "2", "3"] and groups[0]["price_kind"] == "service"
    icd = runner.invoke(claims_app, ["icd10", "J189", "I10"])
    assert icd.exit_code == 0 and "Pneumonia, unspecified" in icd.output
    assert runner.invoke(claims_app, ["icd10", "K99"]).exit_code == 1
