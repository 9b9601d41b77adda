"""Participation pages for officers: voluntary, household and State-budget enrolment (a check, then the enrolment),
the list of declarations (filters, sorting, export), and the summary limited to the caller's scope."""

import io
import re
import zipfile
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh import clock
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.formatting import money
from ansinh.participation import service as participation
from ansinh.participation.models import CoveragePeriod, Scheme
from ansinh.registry import service as registry
from ansinh.registry.models import Person, Sex
from ansinh.rules.parameters import get_parameters
from tests.conftest import api_token
from tests.participation import test_pages as declaration_pages
from tests.participation.test_pages import HTML, _signed_in

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

# The fixtures of the declaration pages' tests: the pages' routers, a Hà Nội employer and people, a signed-in officer.
app, data, officer = declaration_pages.app, declaration_pages.data, declaration_pages.officer

THIS_MONTH = clock.today().strftime("%Y-%m")
FIRST = clock.today().replace(day=1)
#: The lowest income voluntary SI takes this month (the rural poverty line in force), and the income the tests enrol:
#: 2,000,000 while the line is under it (whatever year the suite runs in).
FLOOR = get_parameters()["voluntary.rural_poverty_line"].at(FIRST)
INCOME = max(2_000_000, -(-FLOOR // 100_000) * 100_000)


def _periods(db, person_id, scheme):
    with db.unit_of_work() as s:
        return [p for p in participation.coverage_history(s, person_id) if p.scheme == scheme]


# --- voluntary social insurance -----------------------------------------------------------------------------------

def _voluntary(officer, **changes):
    return {"person_ref": "001192000001", "income": f"{INCOME:,}".replace(",", "."), "months": "3", "group": "poor", "start": THIS_MONTH,
            "csrf_token": officer.csrf, **changes}


def test_voluntary_check_shows_the_contribution_and_the_state_support(officer, data, db):
    form = officer.get("/participation/enrolments/voluntary", headers=HTML)
    assert form.status_code == 200 and 'name="months"' in form.text and '<option value="12"' in form.text
    check = officer.post("/participation/enrolments/voluntary", data=_voluntary(officer), headers=HTML)
    assert check.status_code == 200, check.text
    quote = participation.voluntary_quote(income=INCOME, months=3, group="poor", start=FIRST)
    rate = get_parameters()["voluntary.contribution_rate"].at(FIRST)
    assert quote["due"] == 3 * round(INCOME * rate) and quote["state_support"] > 0
    for key in ("due", "state_support", "payable"):
        assert f'data-amount="{key}">' in check.text
        assert money(quote[key], "en") in check.text.split(f'data-amount="{key}">')[1][:60]
    assert "Lê Thị Bích" in check.text and 'data-testid="voluntary-enrol"' in check.text
    assert _periods(db, data["newcomer"], Scheme.si_voluntary) == []  # a check writes nothing


def test_voluntary_enrolment_goes_to_the_person(officer, data, db):
    done = officer.post("/participation/enrolments/voluntary", data=_voluntary(officer, action="enrol"), headers=HTML,
                        follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/registry/people/{data['newcomer']}?enrolled=si_voluntary"
    [period] = _periods(db, data["newcomer"], Scheme.si_voluntary)
    assert (period.insured_salary, period.payment_months, period.support_group, period.valid_from) == \
           (INCOME, 3, "poor", FIRST)
    again = officer.post("/participation/enrolments/voluntary", data=_voluntary(officer, action="enrol"), headers=HTML)
    assert again.status_code == 422 and 'data-testid="error-person"' in again.text  # already enrolled


def test_voluntary_errors_are_beside_their_fields(officer, data, db):
    low = officer.post("/participation/enrolments/voluntary", data=_voluntary(officer, income="100000", action="enrol"),
                       headers=HTML)
    assert low.status_code == 422
    message = re.search(r'data-testid="error-income">([^<]+)<', low.text).group(1)
    assert f"{FLOOR:,}" in message and "100,000" in message  # numbers written as the language writes them
    assert 'value="100000"' in low.text  # what was typed is kept
    bad = officer.post("/participation/enrolments/voluntary",
                       data=_voluntary(officer, person_ref="12", start="2026-13", months="5"), headers=HTML)
    assert bad.status_code == 422
    for field in ("person", "start"):
        assert f'data-testid="error-{field}"' in bad.text
    worker = officer.post("/participation/enrolments/voluntary",
                          data=_voluntary(officer, person_ref="001090012345", action="enrol"), headers=HTML)
    assert worker.status_code == 422 and "compulsory social insurance" in worker.text  # the declared worker
    assert _periods(db, data["newcomer"], Scheme.si_voluntary) == []


def test_voluntary_enrolment_does_not_reach_outside_the_scope(client, org, make_user, data, db):
    make_user("sl.canbo", org.sonla, Role.provincial_officer)
    csrf = _signed_in(client, "sl.canbo")
    refused = client.post("/participation/enrolments/voluntary",
                          data={"person_ref": "001192000001", "income": "2000000", "months": "1", "group": "other",
                                "start": THIS_MONTH, "action": "enrol", "csrf_token": csrf}, headers=HTML)
    assert refused.status_code == 422 and "in your scope" in refused.text
    assert _periods(db, data["newcomer"], Scheme.si_voluntary) == []
    make_user("dn.user", org.hanoi, Role.employer, subject_ref="0100109106")
    client.cookies.clear()
    _signed_in(client, "dn.user")
    assert client.get("/participation/enrolments/voluntary", headers=HTML).status_code == 403


# --- household health insurance -----------------------------------------------------------------------------------

@pytest.fixture
def household(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        people = [registry.create_person(s, registry.PersonData(
            full_name=name, date_of_birth=born, sex=sex, citizen_id=cid), hanoi) for name, born, sex, cid in (
            ("Phạm Văn Hùng", date(1970, 1, 1), Sex.male, "001070000111"),
            ("Đỗ Thị Lan", date(1972, 2, 2), Sex.female, "001172000222"),
            ("Phạm Minh Khôi", date(2000, 3, 3), Sex.male, "001200000333"))]
        home = registry.create_household(s, head=people[0], members=people[1:], org_unit=hanoi)
        return {"id": home.id, "people": [p.id for p in people]}


def test_household_enrolment_shows_the_decreasing_amounts_then_enrols(officer, household, db):
    page = officer.get("/participation/enrolments/household-hi?head=001070000111", headers=HTML)
    assert page.status_code == 200 and "Đỗ Thị Lan" in page.text
    assert all(f'data-testid="member-{pid}"' in page.text for pid in household["people"])
    form = {"head": "001070000111", "member": [str(p) for p in household["people"]], "start": THIS_MONTH,
            "months": "12", "csrf_token": officer.csrf}
    check = officer.post("/participation/enrolments/household-hi", data=form, headers=HTML)
    assert check.status_code == 200, check.text
    with db.unit_of_work() as s:
        from ansinh.registry.models import Household
        quote = participation.household_hi_quote(s, s.get(Household, household["id"]), 3, FIRST, 12)
    amounts = [row["amount"] for row in quote["members"]]
    assert amounts[0] > amounts[1] > amounts[2]  # 100%, 70%, 60% of the first member's amount
    assert money(quote["total"], "en") in check.text.split('data-amount="total">')[1][:80]
    assert _periods(db, household["people"][0], Scheme.hi) == []
    done = officer.post("/participation/enrolments/household-hi", data={**form, "action": "enrol"}, headers=HTML,
                        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith(f"/registry/people/{household['people'][0]}")
    orders = sorted(_periods(db, pid, Scheme.hi)[0].member_order for pid in household["people"])
    assert orders == [1, 2, 3]


def test_household_errors_name_the_field(officer, household, data, db):
    unknown = officer.get("/participation/enrolments/household-hi?head=001099999999", headers=HTML)
    assert unknown.status_code == 422 and 'data-testid="error-head"' in unknown.text
    nobody = officer.post("/participation/enrolments/household-hi",
                          data={"head": "001070000111", "start": THIS_MONTH, "months": "12", "action": "enrol",
                                "csrf_token": officer.csrf}, headers=HTML)
    assert nobody.status_code == 422 and 'data-testid="error-members"' in nobody.text
    months = officer.post("/participation/enrolments/household-hi",
                          data={"head": "001070000111", "member": [str(household["people"][1])], "start": THIS_MONTH,
                                "months": "7", "action": "enrol", "csrf_token": officer.csrf}, headers=HTML)
    assert months.status_code == 422 and 'data-testid="error-months"' in months.text
    assert _periods(db, household["people"][1], Scheme.hi) == []


# --- State budget ------------------------------------------------------------------------------------------------

def test_state_budget_reports_every_line_and_enrols_all_or_nothing(officer, data, household, db):
    start, end = FIRST.isoformat(), FIRST.replace(year=FIRST.year + 1).isoformat()
    base = {"group": "HN", "start": start, "end": end, "org_unit_code": "", "csrf_token": officer.csrf}
    lines = "001070000111\n123\n001172000222\n001070000111\n001223000999\n"
    refused = officer.post("/participation/enrolments/state-budget",
                           data={**base, "citizen_ids": lines, "action": "enrol"}, headers=HTML)
    assert refused.status_code == 422
    rows = dict(re.findall(r'data-line="(\d+)" class="(\w+)"', refused.text))
    assert rows == {"1": "accepted", "2": "refused", "3": "accepted", "4": "refused", "5": "refused"}
    assert 'data-testid="state-enrol"' not in refused.text
    assert all(_periods(db, pid, Scheme.hi) == [] for pid in household["people"])  # nothing written
    check = officer.post("/participation/enrolments/state-budget",
                         data={**base, "citizen_ids": "001070000111\n001172000222"}, headers=HTML)
    assert check.status_code == 200 and 'data-testid="state-enrol"' in check.text
    done = officer.post("/participation/enrolments/state-budget",
                        data={**base, "citizen_ids": "001070000111\n001172000222", "action": "enrol"}, headers=HTML,
                        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("?enrolled=2")
    assert [p.hi_group for p in _periods(db, household["people"][0], Scheme.hi)] == ["HN"]
    again = officer.post("/participation/enrolments/state-budget",
                         data={**base, "citizen_ids": "001070000111", "action": "enrol"}, headers=HTML)
    assert again.status_code == 422 and "already has health insurance" in again.text.lower()
    dates = officer.post("/participation/enrolments/state-budget",
                         data={**base, "end": start, "citizen_ids": "001200000333"}, headers=HTML)
    assert dates.status_code == 422 and 'data-testid="error-start"' in dates.text or 'data-testid="error-end"' in dates.text


def test_state_budget_does_not_enrol_people_of_another_province(officer, data, db):
    with db.unit_of_work() as s:
        child = s.scalar(select(Person).where(Person.full_name == "Lò Thị Mai"))
        s.execute(select(func.count()).select_from(CoveragePeriod))
    response = officer.post("/participation/enrolments/state-budget",
                            data={"group": "TE", "start": FIRST.isoformat(), "end": "2030-01-01",
                                  "citizen_ids": child.citizen_id or "014123000001", "action": "enrol",
                                  "csrf_token": officer.csrf}, headers=HTML)
    assert response.status_code == 422


# --- the list of declarations --------------------------------------------------------------------------------------

def test_declarations_list_filters_sorts_and_exports(officer, data, db):
    done = officer.post("/participation/declarations",
                        data={"employer_id": str(data["employer"]), "person_ref": "001192000001", "kind": "join",
                              "month": "2025-03", "salary": "9000000", "hi_group": "DN", "csrf_token": officer.csrf},
                        headers=HTML, follow_redirects=False)
    assert done.status_code == 303
    page = officer.get("/participation/declarations", headers=HTML)
    assert page.status_code == 200
    assert page.text.count("data-declaration=") == 2 and 'href="/participation/declarations/new"' in page.text
    assert 'data-testid="list-total"' in page.text and "of 2" in page.text
    by_name = officer.get("/participation/declarations?sort=person&dir=asc", headers=HTML).text
    assert by_name.index("Lê Thị Bích") < by_name.index("Nguyễn Văn An")
    by_name_desc = officer.get("/participation/declarations?sort=person&dir=desc", headers=HTML).text
    assert by_name_desc.index("Lê Thị Bích") > by_name_desc.index("Nguyễn Văn An")
    retro = officer.get("/participation/declarations?status=needs_rebilling", headers=HTML).text
    assert retro.count("data-declaration=") == 1 and "Lê Thị Bích" in retro  # declared in a past month
    in_time = officer.get("/participation/declarations?status=on_time", headers=HTML).text
    assert in_time.count("data-declaration=") == 1 and "Nguyễn Văn An" in in_time
    assert officer.get("/participation/declarations?kind=leave", headers=HTML).text.count("data-declaration=") == 0
    assert officer.get("/participation/declarations?employer=an+binh", headers=HTML).text.count("data-declaration=") == 2
    assert officer.get("/participation/declarations?employer=0100109", headers=HTML).text.count("data-declaration=") == 2
    assert officer.get("/participation/declarations?employer=khac", headers=HTML).text.count("data-declaration=") == 0
    today = clock.today().isoformat()
    assert officer.get(f"/participation/declarations?submitted_from={today}",
                       headers=HTML).text.count("data-declaration=") >= 1
    assert officer.get("/participation/declarations?submitted_to=2000-01-01",
                       headers=HTML).text.count("data-declaration=") == 0
    bad = officer.get("/participation/declarations?submitted_from=hôm+qua", headers=HTML)
    assert bad.status_code == 422 and 'data-testid="error-submitted-from"' in bad.text
    export = officer.get("/participation/declarations/export.xlsx?kind=join&employer=an+binh")
    assert export.status_code == 200 and export.headers["X-Row-Count"] == "2"
    sheet = zipfile.ZipFile(io.BytesIO(export.content)).read("xl/worksheets/sheet1.xml").decode()
    strings = zipfile.ZipFile(io.BytesIO(export.content)).read("xl/sharedStrings.xml").decode() \
        if "xl/sharedStrings.xml" in zipfile.ZipFile(io.BytesIO(export.content)).namelist() else ""
    assert "Lê Thị Bích" in sheet + strings
    assert officer.get("/participation/declarations/export.xlsx?kind=leave").headers["X-Row-Count"] == "0"


def test_declarations_list_shows_an_employer_its_own_and_an_office_its_scope(client, org, make_user, data, db):
    make_user("sl.officer", org.sonla, Role.provincial_officer)
    _signed_in(client, "sl.officer")
    page = client.get("/participation/declarations", headers=HTML)
    assert page.status_code == 200 and "data-declaration=" not in page.text  # Hà Nội's employer: not Sơn La's
    assert client.get("/participation/declarations/export.xlsx").headers["X-Row-Count"] == "0"
    make_user("donvi.list", org.hanoi, Role.employer, subject_ref="0100109106")
    client.cookies.clear()
    _signed_in(client, "donvi.list")
    own = client.get("/participation/declarations?employer=somebody+else", headers=HTML)
    assert own.status_code == 200 and own.text.count("data-declaration=") == 1 and "Nguyễn Văn An" in own.text
    assert 'name="employer"' not in own.text  # no employer filter for an employer
    make_user("citizen.list", org.hanoi, Role.citizen, subject_ref="001090012345")
    client.cookies.clear()
    _signed_in(client, "citizen.list")
    assert client.get("/participation/declarations", headers=HTML).status_code == 403


# --- the summary stays in the caller's scope (the slip of issue 11) --------------------------------------------------

def test_a_provincial_officer_cannot_open_the_summary_of_another_province(client, org, make_user, data):
    make_user("hn.summary", org.hanoi, Role.provincial_officer)
    _signed_in(client, "hn.summary")
    for query in ("province=14", "province=14&structure=2008", "province=14&on=2026-01-15"):
        refused = client.get(f"/participation/summary?{query}", headers=HTML)
        assert refused.status_code == 403 and "Lò Thị Mai" not in refused.text
    own = client.get("/participation/summary?on=2026-01-15", headers=HTML)
    options = re.findall(r'<option value="(\d\d)"[^>]*>([^<]*)<', own.text.split('name="province"')[1].split("</select>")[0])
    assert [code for code, _name in options] in ([], ["01"])
    assert all(name and name != code and "(" not in name for code, name in options)  # by name, not by code
    headers = api_token(client, "hn.summary")
    assert client.get("/api/v1/participation/summary?province=14", headers=headers).status_code == 403
    make_user("tw.summary", org.national, Role.national_officer)
    national = api_token(client, "tw.summary")
    answer = client.get("/api/v1/participation/summary?province=14&on=2026-01-15", headers=national)
    assert answer.status_code == 200 and answer.json()["hi"] == 1  # the Sơn La child


def test_messages_write_numbers_the_vietnamese_way(officer, data):
    officer.get("/lang/vi")
    low = officer.post("/participation/enrolments/voluntary", data=_voluntary(officer, income="100000"), headers=HTML)
    message = re.search(r'data-testid="error-income">([^<]+)<', low.text).group(1)
    assert f"{FLOOR:,}".replace(",", ".") in message and "100.000" in message and f"{FLOOR:,}" not in message
    floor = officer.post("/participation/declarations/check",
                         data={"employer_id": str(data["employer"]), "person_ref": "001192000001", "kind": "join",
                               "month": THIS_MONTH, "salary": "1000000", "hi_group": "DN"},
                         headers={"HX-Request": "true", "X-CSRF-Token": officer.csrf})
    assert "1.000.000" in floor.text and "1,000,000" not in floor.text
    state = officer.get("/participation/enrolments/state-budget?enrolled=2", headers=HTML)
    assert 'data-testid="state-notice"' in state.text and "Đã ghi nhận tham gia: 2 người." in state.text
    assert 'data-testid="state-notice"' not in officer.get("/participation/enrolments/state-budget", headers=HTML).text


def test_the_enrolment_notice_for_the_person_page_renders():
    from starlette.requests import Request

    from ansinh.web.templating import environment

    request = Request({"type": "http", "query_string": b"enrolled=si_voluntary", "headers": [], "method": "GET",
                       "path": "/registry/people/1"})
    html = environment.get_template("participation/enrolled_notice.html").render(request=request)
    assert 'data-testid="enrolment-notice"' in html
