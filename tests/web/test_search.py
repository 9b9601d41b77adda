"""The global search of the top bar: people and employers of the caller's scope; an identifier goes to its record."""

from datetime import date

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from ansinh.registry import service
from ansinh.registry.models import Ownership, Sex
from tests.conftest import web_login

HTML = {"Accept": "text/html"}


@pytest.fixture
def people(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        an = service.create_person(s, service.PersonData(full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1),
                                                         sex=Sex.male, citizen_id="001090012345"),
                                   s.merge(org.hanoi))
        binh = service.create_person(s, service.PersonData(full_name="Nguyễn Thị Bình", date_of_birth=date(1985, 1, 2),
                                                           sex=Sex.female, citizen_id="014185000111"),
                                     s.merge(org.sonla))
        employer = service.create_employer(s, service.EmployerData(tax_code="0100109106", name="Công ty TNHH Nguyễn An",
                                                                   ownership=Ownership.private, region="I",
                                                                   sector="private"), s.merge(org.hanoi))
        return {"an": an.id, "binh": binh.id, "employer": employer.id}


def test_search_finds_people_and_employers_of_the_scope_only(client, org, make_user, people):
    make_user("hn", org.hanoi, Role.provincial_officer)
    web_login(client, "hn")
    page = client.get("/search", params={"q": "nguyen"}, headers=HTML)
    assert page.status_code == 200
    assert f'data-person="{people["an"]}"' in page.text and "Công ty TNHH Nguyễn An" in page.text
    assert f'data-person="{people["binh"]}"' not in page.text  # Sơn La's, outside the scope
    # One match of an identifier goes straight to the record; another province's identifier finds nothing.
    direct = client.get("/search", params={"q": "001090012345"}, headers=HTML, follow_redirects=False)
    assert direct.status_code == 303 and direct.headers["location"] == f"/registry/people/{people['an']}"
    assert client.get("/search", params={"q": "0100109106"}, headers=HTML,
                      follow_redirects=False).headers["location"] == f"/registry/employers/{people['employer']}"
    other = client.get("/search", params={"q": "014185000111"}, headers=HTML, follow_redirects=False)
    assert other.status_code == 200 and f'data-person="{people["binh"]}"' not in other.text


def test_search_is_for_staff_who_read_the_registry(client, org, make_user, people):
    make_user("cty", org.hanoi, Role.employer, subject_ref="0100109106")
    web_login(client, "cty")
    assert client.get("/search", params={"q": "nguyen"}, headers=HTML).status_code == 403


def test_a_page_address_without_a_browser_accept_header_is_sent_to_sign_in(client):
    response = client.get("/", headers={"Accept": "*/*"}, follow_redirects=False)  # curl's default
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    json_only = client.get("/", headers={"Accept": "application/json"}, follow_redirects=False)
    assert json_only.status_code == 401 and json_only.json()["error"]["code"] == "unauthenticated"
    api = client.get("/api/v1/me", headers={"Accept": "*/*"})
    assert api.status_code == 401  # the API always answers JSON
