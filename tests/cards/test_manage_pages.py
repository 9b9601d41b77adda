"""The card officers' pages: the operations on a person's card, the issuance run, births, facilities and contracts,
and the lookup alerts."""

import re
import time
from datetime import date, datetime, timezone
from io import BytesIO

import pytest
import polars as pl
from sqlalchemy import select

from ansinh import clock
from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.cards import service
from ansinh.cards.models import CardStatus, FacilityContract, HICard, LookupAlert, MedicalFacility
from ansinh.registry import service as registry
from ansinh.registry.models import Person, Sex
from tests.cards.conftest import HTML, HTMX, WORKER_ID
from tests.conftest import web_login

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True


def _csrf(client) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/", headers=HTML).text).group(1)


def _post(client, url: str, data: dict | None = None):
    return client.post(url, data={**(data or {}), "csrf_token": _csrf(client)}, headers=HTML,
                       follow_redirects=False)


def _card(db, person_id: int) -> HICard | None:
    with db.unit_of_work() as s:
        card = service.current_card(s, person_id)
        if card is not None:
            s.expunge(card)
        return card


def _error(text: str, field: str) -> str:
    found = re.search(rf'<small id="error-{re.escape(field)}"[^>]*>([^<]*)</small>', text)
    return found.group(1) if found else ""


# --- the card of one person --------------------------------------------------------------------------------

def test_an_officer_suspends_reinstates_and_renews_a_card_from_the_persons_page(officer, world, db):
    page = officer.get(f"/registry/people/{world['worker']}", headers=HTML)
    assert 'data-testid="card-actions"' in page.text and 'data-testid="card-suspend"' in page.text
    assert "data-confirm=" in page.text.split('data-testid="card-suspend"')[1][:300]

    refused = _post(officer, f"/cards/people/{world['worker']}/suspend", {"reason": "   "})
    assert refused.status_code == 422
    assert "Give the reason for the suspension" in _error(refused.text, "reason")
    assert _card(db, world["worker"]).status == CardStatus.active

    done = _post(officer, f"/cards/people/{world['worker']}/suspend", {"reason": "Thẻ cho người khác mượn"})
    assert done.status_code == 303 and done.headers["location"].startswith(
        f"/registry/people/{world['worker']}?card=suspended")
    card = _card(db, world["worker"])
    assert card.status == CardStatus.suspended and card.status_reason == "Thẻ cho người khác mượn"
    shown = officer.get(done.headers["location"], headers=HTML).text
    assert 'data-notice="suspended"' in shown and "The card has been suspended." in shown
    assert 'data-testid="card-reinstate"' in shown and 'data-testid="card-suspend"' not in shown

    twice = _post(officer, f"/cards/people/{world['worker']}/suspend", {"reason": "lần nữa"})
    assert twice.status_code == 409 and "already suspended" in twice.text

    back = _post(officer, f"/cards/people/{world['worker']}/reinstate")
    assert back.status_code == 303 and "card=reinstated" in back.headers["location"]
    assert _card(db, world["worker"]).status == CardStatus.active

    renewed = _post(officer, f"/cards/people/{world['worker']}/issue", {"on": "2026-11-22"})
    assert renewed.status_code == 303 and "card=unchanged" in renewed.headers["location"]
    bare = _post(officer, f"/cards/people/{world['bare']}/issue", {"on": "2026-11-22"})
    assert bare.status_code == 303 and "card=not_covered" in bare.headers["location"]
    bad_day = _post(officer, f"/cards/people/{world['bare']}/issue", {"on": "31/02/2026"})
    assert bad_day.status_code == 422 and "is not a date" in _error(bad_day.text, "on")
    assert 'value="31/02/2026"' in bad_day.text


def test_the_first_card_is_issued_from_the_persons_page(officer, world, db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        from ansinh.participation import service as participation

        person = s.get(Person, world["bare"])
        participation.enrol_state_budget(s, group="TE", people=[person], start=date(2026, 1, 1),
                                         end=date(2027, 1, 1), org_unit=s.get(OrgUnit, org.hanoi.id))
    assert _card(db, world["bare"]) is None
    done = _post(officer, f"/cards/people/{world['bare']}/issue", {"on": "2026-06-01"})
    assert done.status_code == 303 and "card=issued" in done.headers["location"]
    assert _card(db, world["bare"]).hi_group == "TE"


def test_the_registered_facility_is_chosen_among_facilities_with_a_contract(officer, world, db, contracted_facility):
    contracted_facility("01002", name="Trạm Y tế Phường Hà Đông", level="commune")
    contracted_facility("01003", name="Phòng khám Hết hạn", level="commune", valid_from=date(2020, 1, 1),
                        valid_until=date(2020, 12, 31))
    page = officer.get(f"/registry/people/{world['worker']}", headers=HTML).text
    assert '<option value="Trạm Y tế Phường Hà Đông (01002)">' in page
    assert "Phòng khám Hết hạn" not in page  # no contract in force: not offered

    unknown = _post(officer, f"/cards/people/{world['worker']}/facility", {"facility": "Bệnh viện Không Có"})
    assert unknown.status_code == 422 and "No medical facility" in _error(unknown.text, "facility")
    assert 'value="Bệnh viện Không Có"' in unknown.text
    expired = _post(officer, f"/cards/people/{world['worker']}/facility", {"facility": "01003"})
    assert expired.status_code == 422 and "no HI contract in force" in _error(expired.text, "facility")

    done = _post(officer, f"/cards/people/{world['worker']}/facility", {"facility": "Trạm Y tế Phường Hà Đông (01002)"})
    assert done.status_code == 303 and "card=facility" in done.headers["location"]
    assert _card(db, world["worker"]).registered_facility == "01002"
    by_name = _post(officer, f"/cards/people/{world['worker']}/facility", {"facility": "Bệnh viện Đa khoa Hà Đông"})
    assert by_name.status_code == 303 and _card(db, world["worker"]).registered_facility == "01001"


def test_card_operations_stay_in_the_officers_scope(client, world, db, org, make_user):
    make_user("sonla.cards", org.sonla, Role.provincial_officer)
    assert web_login(client, "sonla.cards").status_code == 303
    client.get("/lang/en")
    for action, data in (("suspend", {"reason": "x"}), ("issue", {}), ("facility", {"facility": "01001"})):
        assert _post(client, f"/cards/people/{world['worker']}/{action}", data).status_code == 403
    assert _card(db, world["worker"]).status == CardStatus.active
    assert _post(client, f"/cards/people/{world['worker']}/nonsense").status_code in (403, 404)
    client.cookies.clear()
    make_user("hn.facility", org.hanoi, Role.facility, subject_ref="01001")
    assert web_login(client, "hn.facility").status_code == 303
    assert _post(client, f"/cards/people/{world['worker']}/suspend", {"reason": "x"}).status_code == 403
    assert client.get("/cards/issue", headers=HTML).status_code == 403
    assert client.get("/cards/facilities", headers=HTML).status_code == 403


def test_a_post_without_the_csrf_token_is_refused(officer, world, db):
    answer = officer.post(f"/cards/people/{world['worker']}/suspend", data={"reason": "x"}, headers=HTML,
                          follow_redirects=False)
    assert answer.status_code == 403
    assert _card(db, world["worker"]).status == CardStatus.active


# --- the issuance run --------------------------------------------------------------------------------------

def _wait_done(client, location: str) -> str:
    for _ in range(100):
        fragment = client.get(location, headers=HTMX).text
        if 'data-state="running"' not in fragment:
            return fragment
        time.sleep(0.1)
    raise AssertionError("the run did not end")


def test_the_issuance_run_issues_the_offices_cards_and_reports_the_counts(officer, world, db, org):
    page = officer.get("/cards/issue", headers=HTML)
    assert page.status_code == 200 and "data-confirm=" in page.text and 'data-nav="cards_issue"' in page.text
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        from ansinh.participation import service as participation

        participation.enrol_state_budget(s, group="TE", people=[s.get(Person, world["bare"])],
                                         start=date(2026, 1, 1), end=date(2027, 1, 1),
                                         org_unit=s.get(OrgUnit, org.hanoi.id))
    started = _post(officer, "/cards/issue", {"on": "2026-11-22"})
    assert started.status_code == 303 and started.headers["location"].startswith("/cards/issue/status?run=")
    fragment = _wait_done(officer, started.headers["location"])
    assert 'data-state="done"' in fragment and "hx-trigger" not in fragment
    counts = dict(re.findall(r'data-count="(\w+)"><p class="tile-value">([^<]*)<', fragment))
    assert counts == {"first": "1", "renewed": "0", "unchanged": "2"}  # the new TE child; the worker and child stay
    assert _card(db, world["bare"]) is not None and _card(db, world["other"]).hi_group == "TE"  # Sơn La untouched
    result = officer.get(started.headers["location"], headers=HTML)
    assert result.status_code == 200 and "<html" in result.text and 'data-state="done"' in result.text

    refused = _post(officer, "/cards/issue", {"on": "someday"})
    assert refused.status_code == 422 and "is not a date" in _error(refused.text, "on")


def test_a_run_is_shown_only_to_whoever_started_it(officer, world, client, org, make_user):
    started = _post(officer, "/cards/issue", {"on": "2026-11-22"})
    location = started.headers["location"]
    _wait_done(officer, location)
    client.cookies.clear()
    make_user("hn.other", org.hanoi, Role.provincial_officer)
    assert web_login(client, "hn.other").status_code == 303
    assert client.get(location, headers=HTML).status_code == 404
    assert client.get("/cards/issue/status?run=unknown", headers=HTML).status_code == 404


# --- births ------------------------------------------------------------------------------------------------

def test_a_birth_is_registered_and_the_childs_card_shown(officer, world, db):
    form = officer.get("/cards/births/new", headers=HTML)
    assert form.status_code == 200 and 'name="parent_citizen_id"' in form.text
    data = {"full_name": "Nguyễn Bảo Ngọc", "sex": "female", "date_of_birth": "2026-10-01",
            "citizen_id": "001326000123", "parent_citizen_id": WORKER_ID, "registered_on": "2026-11-22"}
    for changes, field, text in (({"parent_citizen_id": "001099999999"}, "parent_citizen_id", "No person"),
                                 ({"parent_citizen_id": "12"}, "parent_citizen_id", "12 digits"),
                                 ({"sex": ""}, "sex", "sex"),
                                 ({"date_of_birth": "2027-01-01"}, "date_of_birth", "after the registration"),
                                 ({"full_name": ""}, "full_name", "full name"),
                                 ({"citizen_id": "0013"}, "citizen_id", "12 digits")):
        refused = _post(officer, "/cards/births/new", {**data, **changes})
        assert refused.status_code == 422, (changes, refused.text[:300])
        assert text in _error(refused.text, field), (changes, _error(refused.text, field))
        assert 'value="Nguyễn Bảo Ngọc"' in refused.text or not changes.get("full_name", "x")
    with db.unit_of_work() as s:
        assert s.scalar(select(Person).where(Person.citizen_id == "001326000123")) is None

    done = _post(officer, "/cards/births/new", data)
    assert done.status_code == 303 and "card=born" in done.headers["location"]
    with db.unit_of_work() as s:
        child = s.scalar(select(Person).where(Person.citizen_id == "001326000123"))
        parent = s.get(Person, world["worker"])
        assert child.full_name == "Nguyễn Bảo Ngọc" and child.address == parent.address
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "register_birth"))
        assert event is not None and str(child.id) == str(event.entity_id)
    shown = officer.get(done.headers["location"], headers=HTML).text
    assert "Birth registered" in shown and f">TE101{child.si_number}<" in shown

    # the link to the parent is stored: the child joins a household headed by the parent (who had none)
    with db.unit_of_work() as s:
        child, parent = s.get(Person, child.id), s.get(Person, world["worker"])
        assert child.household_id is not None and child.household_id == parent.household_id
        assert (parent.relation_to_head, child.relation_to_head) == ("head", "child")
        child_id, parent_id, household_id = child.id, parent.id, parent.household_id
    child_page = officer.get(f"/registry/people/{child_id}", headers=HTML).text
    assert re.search(rf'data-testid="parent">Parent: <a href="/registry/people/{parent_id}">Nguyễn Văn An</a>',
                     child_page)
    parent_page = officer.get(f"/registry/people/{parent_id}", headers=HTML).text
    assert re.search(rf'data-testid="children">Children: <a href="/registry/people/{child_id}">Nguyễn Bảo Ngọc</a>',
                     parent_page)
    assert "child of the head" in parent_page
    officer.get("/lang/vi")
    assert "Cha/mẹ" in officer.get(f"/registry/people/{child_id}", headers=HTML).text
    officer.get("/lang/en")

    # a second child of the same parent joins the same household; a child of another member is a member
    second = _post(officer, "/cards/births/new", {**data, "full_name": "Nguyễn Bảo Anh", "citizen_id": "001326000124"})
    assert second.status_code == 303
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        mother = s.scalar(select(Person).where(Person.citizen_id == "001326000124"))
        assert (mother.household_id, mother.relation_to_head) == (household_id, "child")
        mother.relation_to_head = "member"  # as if she were another member of the household
    third = _post(officer, "/cards/births/new", {**data, "full_name": "Nguyễn Bảo Châu", "citizen_id": "001326000125",
                                                 "parent_citizen_id": "001326000124"})
    assert third.status_code == 303
    with db.unit_of_work() as s:
        grandchild = s.scalar(select(Person).where(Person.citizen_id == "001326000125"))
        assert (grandchild.household_id, grandchild.relation_to_head) == (household_id, "member")


# --- facilities and contracts ------------------------------------------------------------------------------

@pytest.fixture
def facilities_world(world, contracted_facility, org):
    contracted_facility("01002", name="Trạm Y tế Phường Hà Đông", level="commune")
    contracted_facility("01003", name="Phòng khám Đa khoa Hết hạn", level="district", valid_from=date(2020, 1, 1),
                        valid_until=date(2020, 12, 31))
    contracted_facility("14001", name="Bệnh viện Sơn La", org_unit=org.sonla)
    return world


def _listed(text: str) -> list[str]:
    return re.findall(r'<tr data-facility="(\d+)">', text)


def test_the_facility_list_filters_sorts_and_exports_exactly_the_filtered_rows(officer, facilities_world):
    page = officer.get("/cards/facilities", headers=HTML)
    assert page.status_code == 200 and _listed(page.text) == ["01001", "01002", "01003", "14001"]
    assert 'data-nav="cards_facilities"' in page.text
    assert officer.get("/cards/facilities?level=commune", headers=HTML).text.count('data-facility="') == 1
    without = officer.get("/cards/facilities?contract=no", headers=HTML).text
    assert _listed(without) == ["01003"] and 'data-in-force="no"' in without
    assert _listed(officer.get("/cards/facilities?province=14", headers=HTML).text) in (["14001"], [])
    assert _listed(officer.get("/cards/facilities?q=Hà Đông", headers=HTML).text) == ["01001", "01002"]
    assert _listed(officer.get("/cards/facilities?q=010", headers=HTML).text) == ["01001", "01002", "01003"]
    by_name = _listed(officer.get("/cards/facilities?sort=name&dir=desc", headers=HTML).text)
    assert by_name[:2] == ["01002", "01003"] and set(by_name[2:]) == {"01001", "14001"}  # T, P, then the B's
    export = officer.get("/cards/facilities/export.xlsx?contract=yes&sort=code&dir=desc")
    assert export.status_code == 200 and export.headers["x-row-count"] == "3"
    rows = list(pl.read_excel(BytesIO(export.content), has_header=False, infer_schema_length=0).iter_rows())
    assert rows[0][0] == "Code" and [r[0] for r in rows[1:]] == ["14001", "01002", "01001"]
    assert rows[1][3] in ("Sơn La", "Tỉnh Sơn La", "14") and rows[1][6] == "Yes"


def test_a_facility_is_created_and_contracted_and_a_contract_ended(officer, world, db):
    form = officer.get("/cards/facilities/new", headers=HTML)
    assert form.status_code == 200
    refused = _post(officer, "/cards/facilities/new", {"code": "14009", "name": "Trạm Y tế Xã", "level": "commune",
                                                       "primary_care": "on"})
    assert refused.status_code == 422 and "does not start with the province code" in _error(refused.text, "code")
    assert 'value="Trạm Y tế Xã"' in refused.text
    done = _post(officer, "/cards/facilities/new", {"code": "01009", "name": "Trạm Y tế Xã Đông", "level": "commune",
                                                    "primary_care": "on", "public": "on"})
    assert done.status_code == 303 and done.headers["location"].startswith("/cards/facilities/01009")
    page = officer.get(done.headers["location"], headers=HTML).text
    assert "Trạm Y tế Xã Đông" in page and 'data-testid="facility-no-contract"' in page

    year = clock.today().year
    bad = _post(officer, "/cards/facilities/01009/contracts", {"contract_number": "09/HĐ",
                                                               "valid_from": f"{year}-12-31",
                                                               "valid_until": f"{year}-01-01"})
    assert bad.status_code == 422 and "is before the start" in _error(bad.text, "valid_until")
    signed = _post(officer, "/cards/facilities/01009/contracts", {"contract_number": "09/HĐ",
                                                                  "valid_from": f"{year}-01-01",
                                                                  "valid_until": f"{year}-12-31"})
    assert signed.status_code == 303
    page = officer.get(signed.headers["location"], headers=HTML).text
    assert 'data-testid="facility-in-force"' in page and 'data-contract="09/HĐ"' in page
    assert "data-confirm=" in page
    with db.unit_of_work() as s:
        contract = s.scalar(select(FacilityContract).where(FacilityContract.contract_number == "09/HĐ"))
    no_reason = _post(officer, f"/cards/facilities/01009/contracts/{contract.id}/termination",
                      {"last_day": clock.today().isoformat(), "reason": ""})
    assert no_reason.status_code == 422 and "Give the reason" in _error(no_reason.text, f"{contract.id}.reason")
    ended = _post(officer, f"/cards/facilities/01009/contracts/{contract.id}/termination",
                  {"last_day": clock.today().isoformat(), "reason": "Cơ sở ngừng hoạt động"})
    assert ended.status_code == 303
    with db.unit_of_work() as s:
        assert s.get(FacilityContract, contract.id).terminated_on == clock.today()
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "terminate"))
        assert event is not None and "Cơ sở ngừng hoạt động" in str(event.changes)


def test_another_provinces_facility_page_and_contracts_are_refused(client, facilities_world, org, make_user, db):
    make_user("sonla.cs", org.sonla, Role.provincial_officer)
    assert web_login(client, "sonla.cs").status_code == 303
    assert client.get("/cards/facilities/01001", headers=HTML).status_code == 403
    assert _post(client, "/cards/facilities/01001/contracts", {"contract_number": "X", "valid_from": "2026-01-01",
                                                               "valid_until": "2026-12-31"}).status_code == 403
    with db.unit_of_work() as s:
        facility = s.scalar(select(MedicalFacility).where(MedicalFacility.code == "01001"))
        contracts = s.scalars(select(FacilityContract).where(FacilityContract.facility_id == facility.id)).all()
    assert len(contracts) == 1
    assert _post(client, f"/cards/facilities/01001/contracts/{contracts[0].id}/termination",
                 {"last_day": "2026-06-30", "reason": "x"}).status_code == 403
    assert client.get("/cards/facilities/14001", headers=HTML).status_code == 200


# --- lookup alerts ---------------------------------------------------------------------------------------

def test_the_lookup_alerts_are_listed_filtered_and_sorted_for_the_offices_province(officer, world, db, org):
    with db.unit_of_work() as s:
        for hour, kind, facility, province, count in ((8, "many_unrelated_people", "01001", "01", 40),
                                                      (9, "many_failed_identity_checks", None, "01", 25),
                                                      (10, "many_unrelated_people", "14001", "14", 99)):
            at = datetime(2026, 11, 20, hour, tzinfo=timezone.utc)
            s.add(LookupAlert(raised_at=at, looker=f"facility:{facility}" if facility else "user:1",
                              facility_code=facility, user_id=None if facility else 1, province_2025=province,
                              kind=kind, count=count, hour=at))
    page = officer.get("/cards/lookup-alerts", headers=HTML)
    assert page.status_code == 200
    kinds = re.findall(r'data-alert-kind="(\w+)"', page.text)
    assert kinds == ["many_failed_identity_checks", "many_unrelated_people"]  # newest first; Sơn La's hidden
    assert "Bệnh viện Đa khoa Hà Đông" in page.text and "99" not in re.sub(r"<[^>]+>", " ", page.text).split()
    only = officer.get("/cards/lookup-alerts?kind=many_unrelated_people&facility=01001", headers=HTML)
    assert re.findall(r'data-alert-kind="(\w+)"', only.text) == ["many_unrelated_people"]
    by_count = officer.get("/cards/lookup-alerts?sort=count&dir=asc", headers=HTML)
    assert re.findall(r'data-alert-kind="(\w+)"', by_count.text) == ["many_failed_identity_checks",
                                                                       "many_unrelated_people"]
    days = officer.get("/cards/lookup-alerts?since=2026-11-21", headers=HTML)
    assert 'data-alert-kind="' not in days.text
    bad = officer.get("/cards/lookup-alerts?since=tomorrow", headers=HTML)
    assert bad.status_code == 422 and "is not a date" in _error(bad.text, "since")


# --- the dashboard tiles and the Vietnamese pages ---------------------------------------------------------

def test_the_two_lookup_tiles_read_differently_in_both_languages(officer, world):
    for language in ("en", "vi"):
        officer.get(f"/lang/{language}")
        home = officer.get("/", headers=HTML).text
        labels = [re.search(rf'data-tile="{key}".*?class="tile-label">(?:<a [^>]*>)?([^<]+)<', home, re.S)
                  for key in ("card_lookups", "card_lookup_success")]
        assert all(labels), language
        assert labels[0].group(1).strip() != labels[1].group(1).strip()


def test_the_officers_pages_render_in_vietnamese(officer, world, contracted_facility):
    officer.get("/lang/vi")
    for url in ("/cards/issue", "/cards/births/new", "/cards/facilities", "/cards/facilities/new",
                "/cards/facilities/01001", "/cards/lookup-alerts", f"/registry/people/{world['worker']}",
                "/cards/kpis", "/cards/lookup"):
        page = officer.get(url, headers=HTML)
        assert page.status_code == 200, (url, page.text[:300])
        assert 'lang="vi"' in page.text


def test_a_national_officer_registers_a_birth_for_an_office(client, world, org, make_user, db):
    make_user("vn.cards", org.national, Role.national_officer)
    assert web_login(client, "vn.cards").status_code == 303
    client.get("/lang/en")
    data = {"full_name": "Lê Gia Huy", "sex": "male", "date_of_birth": "2026-11-01",
            "parent_citizen_id": WORKER_ID, "registered_on": "2026-11-22"}
    refused = _post(client, "/cards/births/new", data)
    assert refused.status_code == 422 and "Say which provincial or local office" in _error(refused.text,
                                                                                             "org_unit_code")
    with db.unit_of_work() as s:
        code = s.get(OrgUnit, org.hanoi.id).code
    done = _post(client, "/cards/births/new", {**data, "org_unit_code": code})
    assert done.status_code == 303, done.text[:500]
    with db.unit_of_work() as s:
        child = s.scalar(select(Person).where(Person.full_name == "Lê Gia Huy"))
        assert child.sex == Sex.male and registry.get_person is not None
