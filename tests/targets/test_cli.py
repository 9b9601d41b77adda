"""The targets commands end to end on a fresh SQLite database: plans import (all or nothing, exit codes), show,
export, report province (json, xlsx, pdf), ranking, issue, snapshots, and the errors naming their option."""

import json
import os
import subprocess
import sys
from pathlib import Path

from ansinh.targets.indicators.registry import indicators

ANSINH = str(Path(sys.executable).with_name("ansinh"))
PLAN = ("indicator,province,year,quarter,value,source,effective_from\n"
        "participants.si_compulsory,01,2026,,60000,QĐ 546/QĐ-TTg,2026-01-01\n"
        "coverage.hi_population_pct,01,2026,3,91.7,QĐ 546/QĐ-TTg,2026-01-01\n")


def run(env, *args):
    return subprocess.run([ANSINH, *args], env=env, capture_output=True, text=True, timeout=300)


def test_the_targets_commands(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSINH_")} | {"ANSINH_VAR_DIR": str(tmp_path)}
    assert run(env, "db", "upgrade").returncode == 0
    plan = tmp_path / "plan.csv"
    plan.write_text(PLAN, encoding="utf-8")
    imported = run(env, "plans", "import", str(plan), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["status"] == "applied"
    assert json.loads(run(env, "plans", "import", str(plan), "--json").stdout)["status"] == "unchanged"
    bad = tmp_path / "bad.csv"
    bad.write_text(PLAN.replace("2026,3,", "2026,7,"), encoding="utf-8")
    refused = run(env, "plans", "import", str(bad))
    assert refused.returncode == 1 and "bad.csv, row 3, quarter:" in refused.stdout
    shown = json.loads(run(env, "plans", "show", "--year", "2026", "--province", "01", "--json").stdout)
    assert shown["plans"][0]["version"] == 1 and len(shown["plans"][0]["targets"]) == 2
    exported = tmp_path / "plans.xlsx"
    assert run(env, "plans", "export", "--year", "2026", "--out", str(exported)).returncode == 0
    assert exported.read_bytes()[:2] == b"PK"
    report = run(env, "report", "province", "--province", "01", "--period", "2026-Q3")
    assert report.returncode == 0, report.stderr
    body = json.loads(report.stdout)
    assert body["province"] == "01" and body["period"] == "2026-Q3" and body["plan_version"] == 1
    workers = next(i for i in body["indicators"] if i["code"] == "participants.si_compulsory")
    assert {"code", "value", "last_year", "change", "plan", "percent_of_plan", "gap"} <= set(workers)
    assert (workers["value"], workers["plan"], workers["gap"]) == (0, 60000, 60000)
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        out = tmp_path / f"r.{fmt}"
        assert run(env, "report", "province", "--province", "01", "--period", "2026-Q3", "--format", fmt,
                   "--out", str(out)).returncode == 0
        assert out.read_bytes()[:len(magic)] == magic
    ranking = json.loads(run(env, "report", "ranking", "--indicator", "participants.si_compulsory",
                             "--period", "2026-Q3", "--json").stdout)
    assert len(ranking) == 34 and {"province", "value", "plan", "percent_of_plan", "rank"} <= set(ranking[0])
    issued = run(env, "report", "issue", "--province", "01", "--period", "2025-Q3", "--json")
    assert issued.returncode == 0, issued.stderr
    assert json.loads(issued.stdout)["issued"]["version"] == 1
    again = run(env, "report", "issue", "--province", "01", "--period", "2025-Q3")
    assert again.returncode == 2 and "--period" in again.stderr and "reason" in again.stderr
    snapshot = json.loads(run(env, "indicators", "snapshot", "--from", "2026-01", "--to", "2026-03", "--json").stdout)
    assert snapshot["months"] == ["2026-01", "2026-02", "2026-03"] and snapshot["rows"] > 0
    for args, option in ((("report", "province", "--province", "01", "--period", "2026-Q5"), "--period"),
                         (("report", "ranking", "--indicator", "nothing", "--period", "2026"), "--indicator"),
                         (("indicators", "snapshot", "--month", "2026"), "--month")):
        wrong = run(env, *args)
        assert wrong.returncode == 2 and option in wrong.stderr, (args, wrong.stderr)
    assert len(json.loads(run(env, "indicators", "--json").stdout)) == len(indicators())
