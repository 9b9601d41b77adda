from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ansinh.errors import PermissionDenied, ValidationFailed
from ansinh.i18n import use_locale
from ansinh.targets.models import PlanTarget, PlanVersion
from ansinh.targets.periods import parse_period
from ansinh.targets.plans import service

HEADER = "indicator,province,year,quarter,value,source,effective_from,office\n"


def csv(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def run(session, content, principal=None, name="plans.csv"):
    return service.import_plans(session, content=content, file_name=name, principal=principal, actor="test")


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture(autouse=True)
def english():
    with use_locale("en"):
        yield


def test_a_file_makes_one_version_per_province_and_year_and_a_replay_changes_nothing(session):
    content = csv("participants.si_compulsory,01,2026,,60393,QĐ 546/QĐ-TTg,2026-01-01,",
                  "coverage.hi_population_pct,01,2026,,\"91,7\",QĐ 546/QĐ-TTg,2026-01-01,",
                  "arrears.overdue_rate,01,2026,3,1.2,QĐ 546/QĐ-TTg,2026-01-01,",
                  "participants.si_compulsory,14,2026,,40000,QĐ 546/QĐ-TTg,01/01/2026,")
    report = run(session, content)
    assert report.status == "applied" and report.rows == 4 and not report.errors
    assert sorted((v["province"], v["version"], v["targets"]) for v in report.versions) == [("01", 1, 3), ("14", 1, 1)]
    shown = service.plans_json(session, None, year=2026, province="01")
    targets = {(t["indicator"], t["quarter"]): t["value"] for t in shown["plans"][0]["targets"]}
    assert targets == {("participants.si_compulsory", None): 60393, ("coverage.hi_population_pct", None): 91.7,
                       ("arrears.overdue_rate", 3): 1.2}
    again = run(session, content)
    assert again.status == "unchanged" and again.versions == []
    assert count(session, PlanVersion) == 2 and count(session, PlanTarget) == 4


def test_a_revision_is_a_new_version_keeping_the_others_and_the_history(session):
    run(session, csv("participants.si_compulsory,01,2026,,60393,QĐ 546/QĐ-TTg,2026-01-01,",
                     "collection.collected,01,2026,,1200000000000,QĐ 546/QĐ-TTg,2026-01-01,"))
    revised = run(session, csv("participants.si_compulsory,01,2026,,65000,QĐ 1167/QĐ-BHXH,2026-07-01,"))
    assert [(v["version"], v["targets"], v["effective_from"]) for v in revised.versions] == [(2, 2, "2026-07-01")]
    plan = service.plans_json(session, None, year=2026, province="01")["plans"][0]
    assert plan["version"] == 2 and [v["version"] for v in plan["history"]] == [2, 1]
    assert {t["indicator"]: t["value"] for t in plan["targets"]} == {"participants.si_compulsory": 65000,
                                                                      "collection.collected": 1_200_000_000_000}
    # a period is compared with the version in effect on its last day
    assert service.plan_for_period(session, "01", parse_period("2026-Q1")).values["participants.si_compulsory"] \
        == Decimal(60393)
    assert service.plan_for_period(session, "01", parse_period("2026-Q3")).version.version == 2


def test_one_bad_row_refuses_the_whole_file_naming_row_and_column(session):
    content = csv("participants.si_compulsory,01,2026,,60393,QĐ 546/QĐ-TTg,2026-01-01,",
                  "participants.nobody,01,2026,,5,QĐ 546,2026-01-01,",
                  "coverage.hi_population_pct,99,2026,5,120,QĐ 546,2026-13-01,",
                  "participants.si_compulsory,01,2026,,12.5,,2026-01-01,",
                  "participants.si_compulsory,01,2026,,60000,QĐ 546/QĐ-TTg,2026-01-01,",
                  "collection.collected,01,2026,,5,QĐ 546,2026-02-01,")
    report = run(session, content)
    assert report.status == "rejected" and count(session, PlanVersion) == 0
    found = {(e.row, e.column) for e in report.errors}
    assert {(3, "indicator"), (4, "province"), (4, "quarter"), (4, "effective_from"), (5, "value"), (5, "source"),
            (6, "indicator"), (7, "effective_from")} <= found
    assert any("Row 2 " in e.reason_en for e in report.errors if e.row == 6)  # the duplicate names its first row
    assert report.error_lines()[0].startswith("plans.csv, row ")


def test_a_rate_above_100_and_a_missing_column_are_refused(session):
    assert {(e.row, e.column) for e in run(session, csv(
        "coverage.hi_population_pct,01,2026,,100.5,QĐ 546,2026-01-01,")).errors} == {(2, "value")}
    report = run(session, b"indicator,province,year\nparticipants.hi,01,2026\n")
    assert report.status == "rejected" and {e.column for e in report.errors} == {"value", "source", "effective_from"}
    assert run(session, b"\x00\x01garbage", name="x.xlsx").status == "rejected"


def test_stock_and_flow_targets_of_a_period(session):
    run(session, csv("participants.si_compulsory,01,2026,,60000,QĐ,2026-01-01,",
                     "participants.si_compulsory,01,2026,3,58000,QĐ,2026-01-01,",
                     "collection.collected,01,2026,,365000,QĐ,2026-01-01,",
                     "flows.si_voluntary_new,01,2026,1,900,QĐ,2026-01-01,",
                     "flows.si_voluntary_new,01,2026,2,910,QĐ,2026-01-01,"))

    def plan(text, code, on=None):
        return service.plan_for_period(session, "01", parse_period(text, on=on)).values.get(code)

    # stocks: the quarter's target where there is one, else the year's
    assert plan("2026-Q3", "participants.si_compulsory") == 58000
    assert plan("2026-08", "participants.si_compulsory") == 58000
    assert plan("2026-Q4", "participants.si_compulsory") == 60000
    assert plan("2026", "participants.si_compulsory") == 60000
    # flows: pro-rated by days (365,000 a year = 1,000 a day)
    assert plan("2026-02", "collection.collected") == 28000
    assert plan("2026-Q3", "collection.collected") == 92000
    assert plan("2026-YTD", "collection.collected", on=date(2026, 3, 10)) == 69000
    assert plan("2026", "collection.collected") == 365000
    # a flow with quarterly targets: a month is its share of the quarter; a year to date adds the quarters
    assert plan("2026-02", "flows.si_voluntary_new") == 280  # 900 × 28 / 90
    assert plan("2026-YTD", "flows.si_voluntary_new", on=date(2026, 4, 30)) == 900 + 300  # 910 × 30 / 91
    assert plan("2026-Q3", "flows.si_voluntary_new") is None  # no Q3 target and no year's
    assert service.plan_for_period(session, "14", parse_period("2026")).version is None


def test_the_cascade_check_warns_when_the_parts_do_not_add_up(session, org):
    report = run(session, csv("participants.si_compulsory,00,2026,,100000,QĐ 546/QĐ-TTg,2026-01-01,",
                              "participants.si_compulsory,01,2026,,60000,QĐ 546/QĐ-TTg,2026-01-01,",
                              "participants.si_compulsory,14,2026,,30000,QĐ 546/QĐ-TTg,2026-01-01,",
                              f"participants.si_compulsory,01,2026,,35000,QĐ BHXH HN,2026-01-01,{org.hanoi_office.code}",
                              "coverage.hi_population_pct,00,2026,,93,QĐ 546,2026-01-01,",
                              "coverage.hi_population_pct,01,2026,,95,QĐ 546,2026-01-01,"))
    assert report.status == "applied"
    warnings = {(w["province"], w["indicator"]): w for w in report.warnings}
    assert set(warnings) == {("00", "participants.si_compulsory"), ("01", "participants.si_compulsory")}
    assert (warnings[("00", "participants.si_compulsory")]["parts_sum"],
            warnings[("00", "participants.si_compulsory")]["difference"]) == (90000, -10000)
    assert warnings[("01", "participants.si_compulsory")]["parts"] == [org.hanoi_office.code]
    run(session, csv("participants.si_compulsory,14,2026,,40000,QĐ 546/QĐ-TTg,2026-01-01,",
                     f"participants.si_compulsory,01,2026,,60000,QĐ BHXH HN,2026-01-01,{org.hanoi_office.code}"))
    assert service.cascade_warnings(session, 2026) == []  # rates are not added up; the rest now does


def test_who_may_assign_which_targets(session, org, people):
    national = "participants.si_compulsory,01,2026,,60000,QĐ 546/QĐ-TTg,2026-01-01,"
    office = f"participants.si_compulsory,01,2026,,30000,QĐ BHXH HN,2026-01-01,{org.hanoi_office.code}"
    assert run(session, csv(national), people.national).status == "applied"
    with pytest.raises(PermissionDenied, match="Row 2"):
        run(session, csv(national.replace("60000", "1")), people.hanoi)
    assert run(session, csv(office), people.hanoi).status == "applied"
    assert run(session, csv(office.replace(",01,", ",14,")), people.sonla).status == "rejected"  # not its office
    with pytest.raises(PermissionDenied):
        run(session, csv(office.replace("30000", "1")), people.sonla)  # another province's office
    assert service.plan_for_period(session, "01", parse_period("2026")).values["participants.si_compulsory"] == 60000
    with pytest.raises(PermissionDenied):
        run(session, csv(office), people.district)
    with pytest.raises(PermissionDenied):
        run(session, csv(office), people.supervisor)
    with pytest.raises(PermissionDenied):
        service.plans_json(session, people.hanoi, year=2026, province="14")
    assert [p["province"] for p in service.plans_json(session, people.hanoi, year=2026)["plans"]] == ["01"]
    assert [p["province"] for p in service.plans_json(session, people.supervisor, year=2026)["plans"]] == ["01"]


def test_setting_one_target_makes_a_version_and_bad_values_name_the_field(session, people):
    made = service.set_target(session, people.national, actor="t", indicator="participants.hi", province="01",
                              year=2026, quarter=None, value="1 200 000", source="QĐ 546/QĐ-TTg",
                              effective_from="2026-01-01")
    assert [(v["version"], v["targets"]) for v in made] == [(1, 1)]
    assert service.set_target(session, people.national, actor="t", indicator="participants.hi", province="01",
                              year=2026, quarter=None, value="1200000", source="QĐ 546/QĐ-TTg",
                              effective_from="2026-01-01") == []  # the same value: no version
    with pytest.raises(ValidationFailed) as excinfo:
        service.set_target(session, people.national, actor="t", indicator="participants.hi", province="01",
                           year=2026, quarter=None, value="12.5", source="QĐ", effective_from="2026-01-01")
    assert excinfo.value.field == "value"


def test_the_template_lists_every_indicator(session):
    import io

    import polars as pl

    from ansinh.targets.indicators.registry import indicators

    content = service.template_xlsx()
    codes = pl.read_excel(io.BytesIO(content), sheet_name="indicators")["code"].to_list()
    assert codes == list(indicators())
    assert pl.read_excel(io.BytesIO(content), sheet_name="data").columns == HEADER.strip().split(",")
    assert service.template_csv().decode().splitlines()[0] == HEADER.strip()
    # the template's own example imports
    assert run(session, service.template_csv()).status == "applied"


def test_an_export_of_the_plans_imports_back_unchanged_and_edited_makes_a_version(session, people):
    import io

    import polars as pl

    run(session, csv("participants.si_compulsory,01,2026,,60393,QĐ 546/QĐ-TTg,2026-01-01,",
                     "coverage.hi_population_pct,01,2026,3,91.7,QĐ 546/QĐ-TTg,2026-01-01,",
                     "participants.si_compulsory,14,2026,,40000,=HYPERLINK(\"x\"),2026-01-01,"))
    rows = service.export_rows(session, None, year=2026)
    assert [(r["province"], r["indicator"], r["quarter"], r["value"]) for r in rows] == [
        ("01", "coverage.hi_population_pct", 3, 91.7), ("01", "participants.si_compulsory", "", 60393),
        ("14", "participants.si_compulsory", "", 40000)]
    assert service.export_rows(session, people.hanoi, year=2026) == rows[:2]  # a province sees its own
    workbook = service.export_xlsx(rows)
    frame = pl.read_excel(io.BytesIO(workbook), sheet_name="data", infer_schema_length=0)
    assert frame["source"].to_list()[-1] == "'=HYPERLINK(\"x\")"  # a formula stays text
    again = run(session, service.export_xlsx(rows[:2]), name="plans.xlsx")
    assert again.status == "unchanged", again.errors
    edited = service.export_csv([{**rows[1], "value": 61000}]).replace(b"2026-01-01", b"2026-07-01")
    revised = run(session, edited)
    assert [(v["province"], v["version"], v["targets"]) for v in revised.versions] == [("01", 2, 2)]
