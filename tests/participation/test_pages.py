"""Participation pages: the declaration form with live validation, and the participation summary."""

import re
from datetime import date

import pytest

from ansinh import clock
from ansinh.api import PAGE_ROUTERS
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.participation import service as participation
from ansinh.participation.pages import router as participation_pages
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from ansinh.registry.pages import router as registry_pages
from tests.conftest import web_login

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

HTML = {"Accept": "text/html"}
THIS_MONTH = clock.today().strftime("%Y-%m")  # the application's today (ANSINH_CLOCK_OFFSET_DAYS moves it)


@pytest.fixture
def app(app):
    for router in (registry_pages, participation_pages):
        if router not in PAGE_ROUTERS:
            app.include_router(router)
    return app


@pytest.fixture
def data(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
        worker = registry.create_person(s, registry.PersonData(
            full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1), sex=Sex.male, citizen_id="001090012345"), hanoi)
        newcomer = registry.create_person(s, registry.PersonData(
            full_name="Lê Thị Bích", date_of_birth=date(1992, 3, 4), sex=Sex.female, citizen_id="001192000001"), hanoi)
        participation.apply_declaration(s, employer=employer, person=worker, kind="join",
                                        effective_month=date(2025, 1, 1), insured_salary=10_000_000,
                                        submitted_by="test", today=date(2025, 1, 10))
        child = registry.create_person(s, registry.PersonData(
            full_name="Lò Thị Mai", date_of_birth=date(2023, 2, 2), sex=Sex.female), sonla)
        participation.enrol_state_budget(s, group="TE", people=[child], start=date(2025, 1, 1),
                                         end=date(2028, 1, 1), org_unit=sonla)
        return {"employer": employer.id, "worker": worker.id, "newcomer": newcomer.id,
                "newcomer_si": newcomer.si_number}


def _signed_in(client, username) -> str:
    assert web_login(client, username).status_code == 303
    client.get("/lang/en")
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


@pytest.fixture
def officer(client, org, make_user):
    make_user("canbo", org.hanoi, Role.provincial_officer)
    client.csrf = _signed_in(client, "canbo")
    return client


def _form(data, **changes):
    return {"employer_id": str(data["employer"]), "person_ref": "001192000001", "kind": "join", "month": THIS_MONTH,
            "salary": "10.000.000", "hi_group": "DN", **changes}


def test_the_declaration_form_renders(officer, data):
    page = officer.get(f"/participation/declarations/new?employer_id={data['employer']}", headers=HTML)
    assert page.status_code == 200
    assert 'hx-post="/participation/declarations/check"' in page.text and 'name="csrf_token"' in page.text
    assert f'value="{THIS_MONTH}"' in page.text and 'value="DN" selected' in page.text


def test_live_check_names_the_floor_for_a_low_salary(officer, data):
    low = officer.post("/participation/declarations/check", data=_form(data, salary="1000000"),
                       headers={"HX-Request": "true", "X-CSRF-Token": officer.csrf})
    assert low.status_code == 200
    assert 'data-testid="declaration-errors"' in low.text and 'data-field="insured_salary"' in low.text
    assert "below the floor" in low.text and 'data-error-fields="insured_salary"' in low.text
    assert "Lê Thị Bích" in low.text  # the person found, to confirm the identifier
    good = officer.post("/participation/declarations/check", data=_form(data),
                        headers={"HX-Request": "true", "X-CSRF-Token": officer.csrf})
    assert good.status_code == 200 and 'data-testid="declaration-ok"' in good.text
    assert 'data-testid="declaration-errors"' not in good.text and 'data-testid="declaration-floor"' in good.text


def test_live_check_reports_the_form_problems(officer, data):
    response = officer.post("/participation/declarations/check",
                            data=_form(data, person_ref="123", month="2026-13", salary="abc"),
                            headers={"HX-Request": "true", "X-CSRF-Token": officer.csrf})
    text = response.text
    assert all(f'data-field="{f}"' in text for f in ("person", "effective_month", "insured_salary"))
    unknown = officer.post("/participation/declarations/check", data=_form(data, person_ref="0199999999"),
                           headers={"HX-Request": "true", "X-CSRF-Token": officer.csrf})
    assert "No person with this citizen ID or SI number" in unknown.text
    retro = officer.post("/participation/declarations/check", data=_form(data, month="2025-03"),
                         headers={"HX-Request": "true", "X-CSRF-Token": officer.csrf})
    assert 'data-testid="declaration-retroactive"' in retro.text
    already = officer.post("/participation/declarations/check", data=_form(data, person_ref="001090012345"),
                           headers={"HX-Request": "true", "X-CSRF-Token": officer.csrf})
    assert "already declared with this employer" in already.text


def test_submitting_creates_coverage_and_returns_to_the_employer(officer, data, db):
    response = officer.post("/participation/declarations",
                            data={**_form(data, person_ref=data["newcomer_si"]), "csrf_token": officer.csrf},
                            headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/registry/employers/{data['employer']}?declared=")
    page = officer.get(response.headers["location"])
    assert 'data-testid="declaration-notice"' in page.text and "Lê Thị Bích" in page.text
    assert f'data-worker="{data["newcomer"]}"' in page.text
    with db.unit_of_work() as s:
        periods = participation.coverage_history(s, data["newcomer"])
    assert sorted(p.scheme.value for p in periods) == ["hi", "si_compulsory", "ui"]
    assert {p.insured_salary for p in periods} == {10_000_000}


def test_a_refused_submission_shows_the_form_again(officer, data, db):
    response = officer.post("/participation/declarations",
                            data={**_form(data, salary="1000000"), "csrf_token": officer.csrf}, headers=HTML)
    assert response.status_code == 422 and "below the floor" in response.text
    assert 'value="1000000"' in response.text and 'aria-invalid="true"' in response.text
    with db.unit_of_work() as s:
        assert participation.coverage_history(s, data["newcomer"]) == []


def test_submitting_needs_the_csrf_token(officer, data):
    response = officer.post("/participation/declarations", data=_form(data), headers=HTML)
    assert response.status_code == 403


def test_an_employer_user_declares_for_their_own_employer_only(client, org, make_user, data, db):
    make_user("donvi", org.hanoi, Role.employer, subject_ref="0100109106")
    csrf = _signed_in(client, "donvi")
    form = client.get("/participation/declarations/new", headers=HTML)  # their employer by default
    assert form.status_code == 200 and "Công ty An Bình" in form.text
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        other = registry.create_employer(s, registry.EmployerData(
            tax_code="0100100079", name="Công ty Khác", ownership=Ownership.private, region="I"),
            s.get(OrgUnit, org.hanoi.id))
        other_id = other.id
    assert client.get(f"/participation/declarations/new?employer_id={other_id}", headers=HTML).status_code == 403
    refused = client.post("/participation/declarations",
                          data={**_form(data), "employer_id": str(other_id), "csrf_token": csrf}, headers=HTML)
    assert refused.status_code == 403
    done = client.post("/participation/declarations", data={**_form(data), "csrf_token": csrf}, headers=HTML,
                       follow_redirects=False)
    assert done.status_code == 303


def test_summary_shows_the_numbers_and_the_chart_data(officer, data, client, org, make_user):
    page = officer.get("/participation/summary?on=2026-01-15", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert re.search(r'data-count="si_compulsory">\s*<p class="tile-value">1</p>', text)
    assert re.search(r'data-count="hi">\s*<p class="tile-value">1</p>', text)  # Hà Nội's scope: the worker only
    assert 'id="province-data"' in text and 'id="group-data"' in text and 'data-group="DN"' in text
    assert 'data-group="TE"' not in text  # the Sơn La child is outside the scope
    assert "/static/vendor/chart-4.6.1.umd.min.js" in text and "<script>" not in text
    before = officer.get("/participation/summary?on=2024-06-01").text
    assert re.search(r'data-count="si_compulsory">\s*<p class="tile-value">0</p>', before)
    bad = officer.get("/participation/summary?on=yesterday&structure=1999")
    assert bad.status_code == 200 and bad.text.count('class="error"') == 2
    # A national supervisor sees every province.
    make_user("giamsat", org.national, Role.supervisor)
    client.cookies.clear()
    _signed_in(client, "giamsat")
    national = client.get("/participation/summary?on=2026-01-15").text
    assert re.search(r'data-count="hi">\s*<p class="tile-value">2</p>', national) and 'data-group="TE"' in national
    assert 'data-province="14"' in national and 'data-province="01"' in national
    hanoi = client.get("/participation/summary?on=2026-01-15&province=01").text
    assert re.search(r'data-count="hi">\s*<p class="tile-value">1</p>', hanoi)


def test_summary_needs_participation_read(client, org, make_user):
    make_user("donvi", org.hanoi, Role.employer, subject_ref="0100109106")
    _signed_in(client, "donvi")
    assert client.get("/participation/summary", headers=HTML).status_code == 403


def test_submitting_through_htmx_answers_with_a_redirect_or_the_check(officer, data):
    headers = {"HX-Request": "true", "X-CSRF-Token": officer.csrf}
    refused = officer.post("/participation/declarations",
                           data={**_form(data, salary="1000000"), "csrf_token": officer.csrf}, headers=headers)
    assert refused.status_code == 200 and 'data-field="insured_salary"' in refused.text  # swapped in by htmx
    done = officer.post("/participation/declarations", data={**_form(data), "csrf_token": officer.csrf},
                        headers=headers)
    assert done.status_code == 204
    assert done.headers["HX-Redirect"].startswith(f"/registry/employers/{data['employer']}?declared=")
