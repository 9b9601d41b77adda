"""The API, the commands and the pages of cost monitoring over the same services."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from typer.testing import CliRunner

from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from ansinh.claims.budgets.service import set_budget
from ansinh.claims.cli import claims_app
from tests.claims.monitoring.conftest import episodes, send, sums
from tests.conftest import api_token, web_login

HTML = {"Accept": "text/html"}


def test_the_api_answers_the_callers_scope_and_refuses_another_province(client, db, org, make_user,
                                                                        monitoring_world):
    make_user("hn.officer", org.hanoi, Role.provincial_officer)
    make_user("sl.officer", org.sonla, Role.provincial_officer)
    make_user("bv01001", org.hanoi, Role.facility, subject_ref="01001")
    make_user("hd.officer", org.hanoi_office, Role.district_officer)
    hanoi, sonla, hospital = (api_token(client, name) for name in ("hn.officer", "sl.officer", "bv01001"))
    answer = client.get("/api/v1/claims/costs?month=2026-10&province=01", headers=hanoi)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {row["code"] for row in body["facilities"]} == {"01001", "01002", "01003"} and body["alerts"] >= 1
    one = client.get("/api/v1/claims/costs?month=2026-10&facility=01001", headers=hanoi).json()
    assert len(one["trend"]) == 12 and one["facilities"][0]["cost"] == sums(db, "01001")["cost"]
    for url in ("/api/v1/claims/costs?month=2026-10&province=01", "/api/v1/claims/costs?month=2026-10&facility=01001",
                "/api/v1/claims/budget-use?year=2026&on=2026-10-31&province=01",
                "/api/v1/claims/frequent-cards?month=2026-10&province=01"):
        assert client.get(url, headers=sonla).status_code == 403, url
    own = client.get("/api/v1/claims/costs?month=2026-10", headers=hospital).json()
    assert [row["code"] for row in own["facilities"]] == ["01001"] and own["peer_groups"]
    assert client.get("/api/v1/claims/costs?month=2026-10&facility=01002", headers=hospital).status_code == 403
    assert client.get("/api/v1/claims/budget-use?year=2026", headers=hospital).status_code == 403
    assert client.get("/api/v1/claims/costs?month=2026-10",
                      headers=api_token(client, "hd.officer")).status_code == 403
    bad = client.get("/api/v1/claims/costs?month=2026-13", headers=hanoi)
    assert bad.status_code == 422 and "month" in bad.text
    use = client.get("/api/v1/claims/budget-use?year=2026&on=2026-10-31", headers=hanoi).json()
    assert [(row["province"], row["spent"]) for row in use["provinces"]] == [
        ("01", sums(db, "01001")["fund"] + sums(db, "01002")["fund"] + sums(db, "01003")["fund"])]


def test_the_commands(db, monitoring_world, monkeypatch):
    monkeypatch.setattr("ansinh.db.get_database", lambda: db)
    runner = CliRunner()
    result = runner.invoke(claims_app, ["costs", "--month", "2026-10", "--province", "01", "--json"])
    assert result.exit_code == 0, result.output
    assert {row["code"] for row in json.loads(result.output)["facilities"]} == {"01001", "01002", "01003"}
    text = runner.invoke(claims_app, ["costs", "--month", "2026-10", "--facility", "01001"])
    assert text.exit_code == 0 and "01001 provincial/general" in text.output and "visit_growth" in text.output
    bad = runner.invoke(claims_app, ["costs", "--month", "10-2026"])
    assert bad.exit_code == 2 and "--month" in bad.output
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        set_budget(s, province="14", year=2026, amount=1, source="QĐ 1", valid_from=date(2026, 1, 1),
                   actor="test-fixture")
    use = json.loads(runner.invoke(claims_app, ["budget-use", "--year", "2026", "--on", "2026-10-31",
                                                "--json"]).output)
    assert {row["province"]: row["level"] for row in use["provinces"]} == {"01": "none", "14": "over"}
    assert "14 " in runner.invoke(claims_app, ["budget-use", "--year", "2026", "--on", "2026-10-31"]).output


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_dashboard_pages(client, db, org, make_user, monitoring_world, lang):
    send(db, "01002", episodes(11, card="DN4010123456789"), seed=11)
    make_user("hn.officer", org.hanoi, Role.provincial_officer)
    assert web_login(client, "hn.officer").status_code == 303
    client.get(f"/lang/{lang}")
    page = client.get("/claims/costs?month=2026-10&facility=01001", headers=HTML)
    assert page.status_code == 200, page.text
    assert 'data-facility="01001" class="alert-row"' in page.text and 'role="img"' in page.text
    assert page.text.count('data-month="') == 12 and "<title id=\"chart-trend-title\">" in page.text
    assert "DN4010123456789" not in page.text  # the cards only on request, audited
    cards = client.get("/claims/costs?month=2026-10&province=01&cards=1", headers=HTML)
    assert 'data-card="DN4010123456789"' in cards.text
    use = client.get("/claims/budget-use?year=2026&on=2026-10-31&province=01", headers=HTML)
    assert use.status_code == 200 and 'data-province="01"' in use.text and 'data-facility="01001"' in use.text
    assert client.get("/claims/budget-use?year=2026&province=14", headers=HTML).status_code == 403
    assert re.search(r'href="/claims/costs"', client.get("/", headers=HTML).text)


def test_a_facility_user_sees_its_own_costs_page(client, db, org, make_user, monitoring_world):
    make_user("bv01001", org.hanoi, Role.facility, subject_ref="01001")
    assert web_login(client, "bv01001").status_code == 303
    page = client.get("/claims/costs?month=2026-10", headers=HTML)
    assert page.status_code == 200 and 'data-facility="01001"' in page.text and 'data-facility="01002"' not in page.text
    assert 'data-testid="frequent-cards"' not in page.text
    assert client.get("/claims/budget-use", headers=HTML).status_code == 403


def test_national_staff_choose_a_province_first(client, db, org, make_user, monitoring_world):
    make_user("vn.officer", org.national, Role.national_officer)
    assert web_login(client, "vn.officer").status_code == 303
    client.get("/lang/en")
    page = client.get("/claims/costs?month=2026-10", headers=HTML)
    assert page.status_code == 200 and "Choose a province" in page.text and 'data-facility="' not in page.text
    one = client.get("/claims/costs?month=2026-10&facility=14001", headers=HTML)
    assert 'data-facility="14001"' in one.text and 'data-facility="01001"' not in one.text
    province = client.get("/claims/costs?month=2026-10&province=14", headers=HTML)
    assert 'data-facility="14001"' in province.text

