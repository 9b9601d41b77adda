"""A citizen's own record (/me/record): their identity, household and coverage, read-only; nobody else's."""

from datetime import date

import pytest

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from ansinh.registry import service
from ansinh.registry.models import Sex
from sqlalchemy import select
from tests.conftest import web_login

HTML = {"Accept": "text/html"}


@pytest.fixture
def citizens(db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        an = service.create_person(s, service.PersonData(full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1),
                                                         sex=Sex.male, citizen_id="001090012345"), s.merge(org.hanoi))
        binh = service.create_person(s, service.PersonData(full_name="Trần Thị Bình", date_of_birth=date(1992, 7, 9),
                                                           sex=Sex.female, citizen_id="001192054321"),
                                     s.merge(org.hanoi))
        return {"an": an.id, "binh": binh.id}


def test_a_citizen_sees_their_own_record_and_the_read_is_audited(client, db, org, make_user, citizens):
    make_user("an", org.hanoi, Role.citizen, subject_ref="001090012345")
    web_login(client, "an")
    home = client.get("/", headers=HTML, follow_redirects=False)
    assert home.headers["location"] == "/me"  # the citizen's landing (ansinh.portal), which links here
    page = client.get("/me/record", headers=HTML)
    assert 'data-nav="my_record"' in page.text and 'data-nav="people"' not in page.text
    assert page.status_code == 200
    assert "Nguyễn Văn An" in page.text and "001090012345" in page.text and "Trần Thị Bình" not in page.text
    assert 'href="/registry/people/' not in page.text  # no links into the officers' registry
    with db.unit_of_work() as s:
        reads = s.scalars(select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.entity_type == "person",
                                                   AuditEvent.entity_id == str(citizens["an"]))).all()
    assert len(reads) == 1 and reads[0].actor_username == "an"
    # The officers' pages stay closed to them.
    assert client.get(f"/registry/people/{citizens['binh']}", headers=HTML).status_code == 403
    assert client.get(f"/registry/people/{citizens['an']}", headers=HTML).status_code == 403


def test_accounts_that_are_not_a_person_have_no_record(client, org, make_user, citizens):
    make_user("ghost", org.hanoi, Role.citizen, subject_ref="001099999999")
    web_login(client, "ghost")
    assert client.get("/me/record", headers=HTML).status_code == 404
    client.cookies.clear()
    make_user("hn", org.hanoi, Role.provincial_officer)
    web_login(client, "hn")
    assert client.get("/me/record", headers=HTML).status_code == 404
    assert 'data-nav="my_record"' not in client.get("/", headers=HTML).text
