"""The registry's pages: people search and person page, employers list and page, imports."""

from datetime import date

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.registry import service as registry
from ansinh.registry.models import Sex
from tests.conftest import web_login

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

HTML = {"Accept": "text/html"}


def test_people_search_finds_a_name_without_accents(officer, data):
    page = officer.get("/registry/people?q=nguyen van an", headers=HTML)
    assert page.status_code == 200
    assert "Nguyễn Văn An" in page.text and f'href="/registry/people/{data["worker"]}"' in page.text
    assert "Lê Thị Bích" not in page.text
    assert "Nguyễn Văn An" in officer.get("/registry/people?q=001090012345").text
    assert "Nguyễn Văn An" in officer.get(f"/registry/people?q={data['worker_si']}").text
    everyone = officer.get("/registry/people").text
    assert "Lê Thị Bích" in everyone and "Lò Văn Pấng" not in everyone  # Sơn La is outside Hà Nội's scope
    assert 'data-nav="people"' in everyone and 'data-nav="participation"' in everyone


def test_people_search_is_paginated(officer, data, db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        for n in range(55):
            registry.create_person(s, registry.PersonData(full_name=f"Phạm Văn Số {n:02d}",
                                                          date_of_birth=date(2000, 1, 1), sex=Sex.male), hanoi)
    first = officer.get("/registry/people?q=pham van so").text
    assert "Page 1 of 2" in first and "?q=pham+van+so&amp;sort=name&amp;dir=asc&amp;page=2" in first
    assert "Phạm Văn Số 49" in first and "Rows 1–50 of 55" in first
    second = officer.get("/registry/people?q=pham van so&page=2").text
    assert "Phạm Văn Số 54" in second and "Phạm Văn Số 00" not in second


def test_person_page_shows_identity_household_coverage_and_audit(officer, data, org, make_user, client):
    page = officer.get(f"/registry/people/{data['worker']}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    for expected in ("Nguyễn Văn An", "001090012345", data["worker_si"], "Kinh", "0987654321", "Male", "1 May 1990"):
        assert expected in text
    assert f'href="/registry/people/{data["spouse"]}"' in text and "Lê Thị Bích" in text  # household member
    assert 'data-scheme="si_compulsory"' in text and 'data-scheme="hi"' in text and 'data-scheme="ui"' in text
    assert "12,000,000" in text and "10,000,000" in text and "Công ty An Bình" in text
    assert text.count('class="superseded"') == 3  # the salary change replaced the first period of each scheme
    assert 'id="show-superseded"' in text
    # A provincial officer has no audit_read: a note instead of the trail.
    assert 'data-testid="audit-note"' in text
    # An administrator of the province sees the trail, including the officer's read.
    make_user("quantri", org.hanoi, Role.administrator)
    client.cookies.clear()
    web_login(client, "quantri")
    client.get("/lang/en")
    trail = client.get(f"/registry/people/{data['worker']}").text
    assert 'data-testid="audit-note"' not in trail
    assert trail.count('<tr data-action="read">') >= 2 and "canbo" in trail and 'data-action="create"' in trail


def test_person_outside_the_scope_is_refused(officer, data):
    assert officer.get(f"/registry/people/{data['other']}", headers=HTML).status_code == 403
    assert officer.get("/registry/people/999999", headers=HTML).status_code == 404


def test_citizens_and_employers_cannot_search_people(client, org, make_user, data):
    make_user("donvi", org.hanoi, Role.employer, subject_ref="0100109106")
    web_login(client, "donvi")
    assert client.get("/registry/people", headers=HTML).status_code == 403
    assert 'data-nav="people"' not in client.get("/").text


def test_employers_list_and_page(officer, data):
    listing = officer.get("/registry/employers?q=an binh", headers=HTML)
    assert listing.status_code == 200 and "Công ty An Bình" in listing.text and "Mộc Châu" not in listing.text
    page = officer.get(f"/registry/employers/{data['employer']}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    for expected in ("0100109106", "Private", "Pay set by the employer", "Trần Thị Hoa", "hoa@anbinh.vn",
                     "registered"):
        assert expected in text
    assert f'data-worker="{data["worker"]}"' in text and "12,000,000" in text  # the worker with the current salary
    assert text.count("data-declaration=") == 2
    assert officer.get(f"/registry/employers/{data['other_employer']}", headers=HTML).status_code == 403


def test_an_employer_user_sees_only_their_own_employer(client, org, make_user, data):
    make_user("donvi", org.hanoi, Role.employer, subject_ref="0100109106")
    web_login(client, "donvi")
    listing = client.get("/registry/employers", headers=HTML, follow_redirects=False)
    assert listing.status_code == 303 and listing.headers["location"] == f"/registry/employers/{data['employer']}"
    own = client.get(f"/registry/employers/{data['employer']}", headers=HTML)
    assert own.status_code == 200 and "Công ty An Bình" in own.text
    assert f'href="/registry/people/{data["worker"]}"' not in own.text  # no person pages for employers
    assert f'href="/collection/employers/{data["employer"]}"' in own.text  # their contribution account
    assert client.get(f"/collection/employers/{data['employer']}", headers=HTML).status_code == 200
    assert client.get(f"/registry/employers/{data['other_employer']}", headers=HTML).status_code == 403


def test_dashboard_tiles(officer, data):
    home = officer.get("/").text
    assert 'data-tile="people"' in home and 'data-tile="participants"' in home


def test_imports_page_renders(officer):
    page = officer.get("/registry/imports", headers=HTML)
    assert page.status_code == 200
    assert 'hx-post="/registry/imports"' in page.text and 'hx-indicator="#import-progress"' in page.text
    assert 'href="/registry/imports/templates/people.xlsx"' in page.text


def test_import_needs_the_csrf_token(officer):
    response = officer.post("/registry/imports", data={"kind": "people"}, headers=HTML)
    assert response.status_code == 403


def test_imports_are_for_officers_only(client, org, make_user):
    make_user("donvi", org.hanoi, Role.employer, subject_ref="0100109106")
    web_login(client, "donvi")
    assert client.get("/registry/imports", headers=HTML).status_code == 403


CSV_GOOD = ("citizen_id,full_name,date_of_birth,sex,residence_code\n"
            "001090054321,Hoàng Văn Hải,1990-07-07,male,00004\n").encode()


def _csrf(client) -> str:
    import re

    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


def test_import_a_file_and_see_the_report(officer, data, db):
    imports = pytest.importorskip("ansinh.registry.imports")
    from ansinh.registry.places import load_places

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        load_places(s)
    token = _csrf(officer)
    template = officer.get("/registry/imports/templates/people.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"
    bad = CSV_GOOD.replace(b"001090054321", b"12345")
    rejected = officer.post("/registry/imports", data={"kind": "people", "csrf_token": token},
                            files={"file": ("people.csv", bad, "text/csv")}, headers={"HX-Request": "true"})
    assert rejected.status_code == 200 and 'data-status="rejected"' in rejected.text
    assert "<code>citizen_id</code>" in rejected.text and "12345" in rejected.text
    link = rejected.text.split('href="/registry/imports/reports/')[1].split('"')[0]
    report = officer.get(f"/registry/imports/reports/{link}")
    assert report.status_code == 200 and report.content[:2] == b"PK"
    applied = officer.post("/registry/imports", data={"kind": "people", "csrf_token": token},
                           files={"file": ("people.csv", CSV_GOOD, "text/csv")}, headers=HTML)
    assert applied.status_code == 200 and 'data-status="applied"' in applied.text, applied.text[-2000:]
    assert "Hoàng Văn Hải" in officer.get("/registry/people?q=hoang van hai").text
    again = officer.post("/registry/imports", data={"kind": "people", "csrf_token": token},
                         files={"file": ("people.csv", CSV_GOOD, "text/csv")}, headers={"HX-Request": "true"})
    assert 'data-status="unchanged"' in again.text
    page = officer.get("/registry/imports").text
    assert all(f"<code>{c.name}</code>" in page for c in imports.COLUMNS["people"])
