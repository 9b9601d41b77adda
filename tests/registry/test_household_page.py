"""Registering a household on the web: the head's page, members by citizen ID or SI number, errors on the line."""

from datetime import date

from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.registry import service as registry
from ansinh.registry.models import Person, Sex
from tests.registry.test_list_pages import _csrf

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True

HTML = {"Accept": "text/html"}


def _person(db, org, name, citizen_id, unit="hanoi"):
    """A person whose date of birth and sex agree with the citizen ID (century and sex digit, year)."""
    digit = int(citizen_id[3])
    born = date(1900 + 100 * (digit // 2) + int(citizen_id[4:6]), 2, 3)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        return registry.create_person(s, registry.PersonData(full_name=name, date_of_birth=born,
                                                             sex=Sex.female if digit % 2 else Sex.male,
                                                             citizen_id=citizen_id),
                                      s.get(OrgUnit, getattr(org, unit).id)).id


def test_register_a_household_with_members(officer, data, db, org):
    head = _person(db, org, "Phạm Thị Hằng", "001188000101")
    child = _person(db, org, "Phạm Minh Khôi", "001215000102")
    page = officer.get(f"/registry/people/{head}", headers=HTML)
    assert 'data-testid="new-household"' in page.text
    form = officer.get(f"/registry/people/{head}/household", headers=HTML)
    answer = officer.post(f"/registry/people/{head}/household", headers=HTML, follow_redirects=False,
                          data={"members": "001215000102\n", "address": "12 Hàng Bạc", "csrf_token": _csrf(form.text)})
    assert answer.status_code == 303 and answer.headers["location"] == f"/registry/people/{head}?notice=household"
    with db.unit_of_work() as s:
        people = {p.id: p for p in s.scalars(select(Person).where(Person.id.in_([head, child])))}
        assert people[head].household_id is not None and people[head].household_id == people[child].household_id


def test_household_errors_name_the_line_and_change_nothing(officer, data, db, org):
    head = _person(db, org, "Phạm Thị Hằng", "001188000101")
    outsider = _person(db, org, "Lò Thị Xoan", "014190000103", unit="sonla")
    form = officer.get(f"/registry/people/{head}/household", headers=HTML)
    answer = officer.post(f"/registry/people/{head}/household", headers=HTML,
                          data={"members": "abc\n", "csrf_token": _csrf(form.text)})
    assert answer.status_code == 422 and 'data-error="members"' in answer.text and "Line 1" in answer.text
    other = officer.post(f"/registry/people/{head}/household", headers=HTML,
                         data={"members": "\n014190000103", "csrf_token": _csrf(form.text)})
    assert other.status_code == 422 and "Line 2" in other.text and "014190000103" in other.text
    # Someone already in a household (the worker's spouse) cannot join a second one.
    taken = officer.post(f"/registry/people/{head}/household", headers=HTML,
                         data={"members": "001192000001", "csrf_token": _csrf(form.text)})
    assert taken.status_code in (409, 422) and 'data-error="members"' in taken.text
    with db.unit_of_work() as s:
        assert s.get(Person, head).household_id is None and s.get(Person, outsider).household_id is None
