"""The CLI and the API are generated from the calculator registry: same fields, same answers, clear errors."""

import json
import subprocess
import sys
from pathlib import Path

ANSINH = str(Path(sys.executable).with_name("ansinh"))
QUERY = {"salary": 10_000_000, "on": "2025-01-15", "region": "I"}


def cli(*args):
    return subprocess.run([ANSINH, *args], capture_output=True, text=True, timeout=120)


def test_cli_prints_one_json_object():
    result = cli("calc", "contributions", "--salary", "10000000", "--on", "2025-01-15", "--region", "I", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) == {"insured_salary", "employer", "employee", "total"}
    assert set(body["employer"]) == {"retirement", "sickness_maternity", "occupational", "health", "unemployment", "total"}
    assert body["total"] == 3_200_000 and body["employee"]["total"] == 1_050_000


def test_cli_bad_input_exits_2_naming_the_option_without_a_traceback():
    result = cli("calc", "contributions", "--salary", "-5", "--on", "2025-01-15", "--region", "V", "--json")
    assert result.returncode == 2
    assert "--salary" in result.stderr and "--region" in result.stderr and "Traceback" not in result.stderr
    early = cli("calc", "contributions", "--salary", "5", "--on", "2001-01-01", "--region", "I")
    assert early.returncode == 2 and "--on" in early.stderr and "first is from" in early.stderr
    bad_date = cli("calc", "contributions", "--salary", "5", "--on", "yesterday", "--region", "I")
    assert bad_date.returncode == 2 and "--on" in bad_date.stderr


def test_rules_show_prints_the_value_on_a_date():
    result = cli("rules", "show", "salary.base_salary", "--on", "2026-07-01", "--json")
    assert result.returncode == 0
    body = json.loads(result.stdout)
    assert body["values"] == [{"from": "2026-07-01", "value": 2530000, "reference": "Decree 161/2026/NĐ-CP Art 3(2)",
                               "verified": False}]
    assert cli("rules", "show", "salary.nope").returncode == 2


def test_api_gives_the_same_answer(client):
    response = client.get("/api/v1/calc/contributions", params=QUERY)
    assert response.status_code == 200
    assert response.json()["total"] == 3_200_000


def test_api_bad_input_is_422_naming_the_field(client):
    response = client.get("/api/v1/calc/contributions", params={**QUERY, "salary": -1})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.salary"
    early = client.get("/api/v1/calc/contributions", params={**QUERY, "on": "2001-01-01"})
    assert early.status_code == 422 and early.json()["error"]["field"] == "on"


def test_every_calculator_is_documented_in_openapi(client):
    from ansinh.rules.calculator import calculators

    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for name in calculators():
        assert f"/api/v1/calc/{name}" in paths
        assert paths[f"/api/v1/calc/{name}"]["get"]["parameters"]


def test_parameters_over_the_api(client):
    listing = client.get("/api/v1/rules/parameters").json()
    assert any(p["name"] == "salary.regional_minimum_wage" for p in listing)
    one = client.get("/api/v1/rules/parameters/salary.regional_minimum_wage", params={"on": "2026-01-01"}).json()
    assert one["values"][0]["value"] == {"I": 5310000, "II": 4730000, "III": 4140000, "IV": 3700000}
    assert client.get("/api/v1/rules/parameters/nope").status_code == 404


SPECIFIED = [  # the command lines and the keys each answer has at least
    (["voluntary", "--income", "3000000", "--on", "2025-09-01", "--group", "near_poor", "--months", "3",
      "--province-support-pct", "10"], {"due", "state_support", "province_support", "payable"}),
    (["household-hi", "--members", "3", "--on", "2026-07-01"], {"members", "total_annual"}),
    (["late-interest", "--amount", "100000000", "--due", "2025-06-15", "--paid", "2025-07-20"],
     {"days_late", "interest"}),
    (["hi-share", "--cost", "2000000", "--card-level", "4", "--on", "2024-03-01", "--facility-level", "central",
      "--route", "out", "--care", "inpatient", "--five-years-over-cap"], {"rate", "fund_pays", "patient_pays"}),
    (["hi-share", "--cost", "2000000", "--card-level", "4", "--on", "2026-07-01", "--facility-level", "basic",
      "--former-level", "provincial", "--facility-score", "62", "--route", "out", "--care", "outpatient",
      "--consecutive-years", "6", "--copayments-this-year", "1000000"],
     {"rate", "fund_pays", "patient_pays", "clause", "case", "visit_category", "counts_toward_cap"}),
    (["lump-sum", "--months-before-2014", "41", "--months-from-2014", "50", "--average-salary", "10000000",
      "--on", "2025-08-01"], {"months_of_salary", "amount"}),
    (["pension-rate", "--sex", "male", "--years", "30", "--months-early", "0", "--on", "2025-08-01"], {"rate"}),
    (["unemployment", "--average-salary", "12000000", "--months-contributed", "40", "--region", "I", "--on",
      "2026-02-01", "--sector", "private"], {"eligible", "monthly_benefit", "months"}),
]


def test_every_specified_command_answers_with_its_keys():
    for args, keys in SPECIFIED:
        result = cli("calc", *args, "--json")
        assert result.returncode == 0, (args, result.stderr)
        body = json.loads(result.stdout)
        assert keys <= set(body), (args[0], sorted(body))
    household = json.loads(cli("calc", *SPECIFIED[1][0], "--json").stdout)
    assert [m["order"] for m in household["members"]] == [1, 2, 3]
    assert household["total_annual"] == sum(m["annual"] for m in household["members"])
    pension = json.loads(cli("calc", *SPECIFIED[6][0], "--json").stdout)
    assert pension["rate"] == 0.65  # a fraction: 45% at 20 years + 2% × 10 years (Law 41/2024 Art 66)
    straddling = json.loads(cli("calc", *SPECIFIED[2][0], "--json").stdout)
    assert straddling["days_late"] == 35
    # HI Law Art 22(4)(e), Decree 188/2025 Art 19: 50% of the 80% level from 2026-07-01 at a basic facility that was
    # provincial (worked by hand: 2,000,000 × 0.8 × 0.5 = 800,000)
    roadmap = json.loads(cli("calc", *SPECIFIED[4][0], "--json").stdout)
    assert (roadmap["fund_pays"], roadmap["clause"], roadmap["visit_category"]) == (800_000, "22(4)(e)", "1.14")
