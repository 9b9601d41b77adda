"""Trust in participation (issue 10), on SQLite and PostgreSQL: enrolment and declaration dates and amounts within
the range of the schemes, the summary within the caller's scope, the declaration check that names no one it should
not (and is audited), idempotent declarations and enrolments, household enrolments within scope."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh import clock
from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.bounds import MAX_AMOUNT
from ansinh.errors import PermissionDenied, ValidationFailed
from ansinh.participation import service
from ansinh.participation.models import CoveragePeriod, Declaration
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, PopulationFigure, Sex, Structure
from tests.conftest import api_token, web_login
from tests.registry.test_trust import error_field

HTML = {"Accept": "text/html"}


@pytest.fixture
def records(db, org):
    """Hà Nội: an employer, a worker declared with it, a newcomer, a household (head and wife); Sơn La: an employer,
    a person and a household; population figures of both provinces."""
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
        sonla_employer = registry.create_employer(s, registry.EmployerData(
            tax_code="0300588569", name="Công ty Tây Bắc", ownership=Ownership.private, region="III"), sonla)
        worker = registry.create_person(s, registry.PersonData(
            full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1), sex=Sex.male, citizen_id="001090012345"), hanoi)
        wife = registry.create_person(s, registry.PersonData(
            full_name="Trần Thị Bình", date_of_birth=date(1992, 3, 1), sex=Sex.female, citizen_id="001192012346"),
            hanoi)
        registry.create_household(s, head=worker, members=[wife], org_unit=hanoi)
        newcomer = registry.create_person(s, registry.PersonData(
            full_name="Lê Thị Bích", date_of_birth=date(1992, 3, 4), sex=Sex.female, citizen_id="001192000001"), hanoi)
        dung = registry.create_person(s, registry.PersonData(
            full_name="Lò Thị Dung", date_of_birth=date(1995, 1, 1), sex=Sex.female, citizen_id="014195012349"),
            sonla)
        registry.create_household(s, head=dung, org_unit=sonla)
        service.apply_declaration(s, employer=employer, person=worker, kind="join", effective_month=date(2025, 1, 1),
                                  insured_salary=10_000_000, submitted_by="test", today=date(2025, 1, 10))
        service.apply_declaration(s, employer=sonla_employer, person=dung, kind="join",
                                  effective_month=date(2025, 1, 1), insured_salary=6_000_000, submitted_by="test",
                                  today=date(2025, 1, 10))
        for code, population in (("01", 8_700_000), ("14", 1_300_000)):
            s.add(PopulationFigure(structure=Structure.from_2025, province_code=code, year=2025, population=population,
                                   working_age_population=population // 2))
        s.flush()
        return {"employer": employer.id, "sonla_employer": sonla_employer.id, "worker": worker.id, "wife": wife.id,
                "newcomer": newcomer.id, "newcomer_si": newcomer.si_number, "dung": dung.id,
                "dung_si": dung.si_number, "household": worker.household_id, "sonla_household": dung.household_id}


@pytest.fixture
def tokens(client, org, make_user):
    make_user("hn", org.hanoi, Role.provincial_officer)
    make_user("hn.office", org.hanoi_office, Role.district_officer)
    make_user("sl", org.sonla, Role.provincial_officer)
    make_user("national", org.national, Role.national_officer)
    make_user("boss", org.hanoi, Role.employer, subject_ref="0100109106")
    return {name: api_token(client, name) for name in ("hn", "hn.office", "sl", "national", "boss")}


def _count(db, model) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model))


# --- 1. dates and amounts within the range of the schemes --------------------------------------------------------

def _ahead(months: int) -> str:
    return service.add_months(clock.today().replace(day=1), months).isoformat()


@pytest.mark.parametrize("url, body, field", [
    ("/api/v1/enrolments/voluntary", {"person_id": "{newcomer}", "income": 3_000_000, "start": "1661-01-01"},
     "start"),
    ("/api/v1/enrolments/voluntary", {"person_id": "{newcomer}", "income": 3_000_000, "start": "2007-12-01"},
     "start"),
    ("/api/v1/enrolments/voluntary", {"person_id": "{newcomer}", "income": 3_000_000, "start": "ahead:13"},
     "start"),
    ("/api/v1/enrolments/voluntary", {"person_id": "{newcomer}", "income": MAX_AMOUNT + 1, "start": "2025-01-01"},
     "income"),
    ("/api/v1/enrolments/voluntary", {"person_id": 2**63, "income": 3_000_000, "start": "2025-01-01"},
     "person_id"),
    ("/api/v1/enrolments/household-hi", {"household_id": "{household}", "member_person_ids": ["{wife}"],
                                         "start": "1661-01-01"}, "start"),
    ("/api/v1/enrolments/household-hi", {"household_id": "{household}", "member_person_ids": ["{wife}"],
                                         "start": "1990-01-01"}, "start"),
    ("/api/v1/enrolments/household-hi", {"household_id": 2**64, "member_person_ids": ["{wife}"],
                                         "start": "2025-01-01"}, "household_id"),
    ("/api/v1/enrolments/household-hi", {"household_id": "{household}", "member_person_ids": [2**63],
                                         "start": "2025-01-01"}, "member_person_ids.0"),
    ("/api/v1/enrolments/state-budget", {"group": "TE", "person_ids": ["{newcomer}"], "start": "1661-01-01",
                                         "end": "1662-01-01"}, "start"),
    ("/api/v1/enrolments/state-budget", {"group": "TE", "person_ids": ["{newcomer}"], "start": "ahead:13",
                                         "end": "ahead:24"}, "start"),
    ("/api/v1/enrolments/state-budget", {"group": "TE", "person_ids": ["{newcomer}"], "start": "2025-01-01",
                                         "end": "9999-01-01"}, "end"),
    ("/api/v1/declarations", {"employer_tax_code": "0100109106", "citizen_id": "001192000001", "kind": "join",
                              "effective_month": "1661-01-01", "insured_salary": 10_000_000}, "effective_month"),
    ("/api/v1/declarations", {"employer_tax_code": "0100109106", "citizen_id": "001192000001", "kind": "join",
                              "effective_month": "1990-01-01", "insured_salary": 10_000_000}, "effective_month"),
    ("/api/v1/declarations", {"employer_tax_code": "0100109106", "citizen_id": "001192000001", "kind": "join",
                              "effective_month": "2025-01-01", "insured_salary": 10**19}, "insured_salary"),
])
def test_enrolments_and_declarations_out_of_range_are_refused_and_nothing_is_written(client, tokens, records, db,
                                                                                    url, body, field):
    def fill(value):
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, str) and value.startswith("{"):
            return records[value[1:-1]]
        if isinstance(value, str) and value.startswith("ahead:"):
            return _ahead(int(value[6:]))
        return value

    before = (_count(db, CoveragePeriod), _count(db, Declaration))
    response = client.post(url, json={k: fill(v) for k, v in body.items()}, headers=tokens["hn"])
    assert response.status_code == 422, response.text
    assert error_field(response) == field
    assert (_count(db, CoveragePeriod), _count(db, Declaration)) == before


def test_the_services_check_the_same_ranges_for_the_cli_and_the_imports(session, records, org):
    from ansinh.registry.models import Household, Person

    hanoi = session.get(OrgUnit, org.hanoi.id)
    newcomer, wife = session.get(Person, records["newcomer"]), session.get(Person, records["wife"])
    today = date(2026, 6, 15)
    cases = [
        (lambda: service.enrol_voluntary(session, person=newcomer, income=3_000_000, months=1, group="other",
                                         start=date(1661, 1, 1), org_unit=hanoi, today=today), "start"),
        (lambda: service.enrol_voluntary(session, person=newcomer, income=10**19, months=1, group="other",
                                         start=date(2026, 1, 1), org_unit=hanoi, today=today), "income"),
        (lambda: service.enrol_voluntary(session, person=newcomer, income=3_000_000, months=99, group="other",
                                         start=date(2026, 1, 1), org_unit=hanoi, today=today), "months"),
        (lambda: service.enrol_household_hi(session, household=session.get(Household, records["household"]),
                                            members=[wife], start=date(2100, 1, 1), today=today), "start"),
        (lambda: service.enrol_state_budget(session, group="TE", people=[newcomer], start=date(1661, 1, 1),
                                            end=date(1662, 1, 1), org_unit=hanoi, today=today), "start"),
        (lambda: service.enrol_state_budget(session, group="TE", people=[newcomer], start=date(2026, 1, 1),
                                            end=date(2099, 1, 1), org_unit=hanoi, today=today), "end"),
    ]
    for call, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            call()
        assert refused.value.field == field
    from ansinh.registry.models import Employer

    employer = session.scalar(select(Employer).where(Employer.tax_code == "0100109106"))
    check = service.check_declaration(session, employer=employer, person=newcomer, kind="join",
                                      effective_month=date(2026, 1, 1), insured_salary=MAX_AMOUNT + 1, hi_group=None,
                                      today=today)
    assert "insured_salary" in check.errors
    check = service.check_declaration(session, employer=employer, person=newcomer, kind="join",
                                      effective_month=date(1994, 12, 1), insured_salary=10_000_000, hi_group=None,
                                      today=today)
    assert list(check.errors) == ["effective_month"] and "01/1995" in check.errors["effective_month"]
    assert session.scalar(select(func.count()).select_from(CoveragePeriod).where(
        CoveragePeriod.person_id == newcomer.id)) == 0


# --- 4. the summary answers only for the caller's scope -------------------------------------------------------------

def test_the_summary_of_another_province_is_refused(client, tokens, records):
    on = {"on": "2025-08-01"}
    refused = client.get("/api/v1/participation/summary", params={**on, "province": "14"}, headers=tokens["hn"])
    assert refused.status_code == 403
    assert "1300000" not in refused.text and "1,300,000" not in refused.text
    own = client.get("/api/v1/participation/summary", params={**on, "province": "01"}, headers=tokens["hn"]).json()
    assert (own["si_compulsory"], own["population"]) == (1, 8_700_000)
    scope = client.get("/api/v1/participation/summary", params=on, headers=tokens["hn"]).json()
    assert (scope["si_compulsory"], scope["population"]) == (1, 8_700_000)  # its province's figures, not the country's
    sonla = client.get("/api/v1/participation/summary", params=on, headers=tokens["sl"]).json()
    assert (sonla["si_compulsory"], sonla["population"]) == (1, 1_300_000)
    country = client.get("/api/v1/participation/summary", params=on, headers=tokens["national"]).json()
    assert (country["si_compulsory"], country["population"]) == (2, 10_000_000)
    assert client.get("/api/v1/participation/summary", params={**on, "province": "14"},
                      headers=tokens["national"]).json()["population"] == 1_300_000
    office = client.get("/api/v1/participation/summary", params=on, headers=tokens["hn.office"]).json()
    assert office["population"] is None and office["hi_coverage_rate"] is None  # figures are per province


def test_the_summary_page_of_another_province_is_refused_and_offers_only_the_own_province(client, tokens, records):
    refused = client.get("/participation/summary", params={"on": "2025-08-01", "province": "14"},
                         headers={**tokens["hn"], **HTML})
    assert refused.status_code == 403
    page = client.get("/participation/summary", params={"on": "2025-08-01"}, headers={**tokens["hn"], **HTML})
    assert page.status_code == 200
    options = re.findall(r'<option value="(\d\d)"', page.text.split('name="province"')[1].split("</select>")[0])
    assert set(options) <= {"01"}
    far = client.get("/participation/summary", params={"on": "0001-01-01"}, headers={**tokens["hn"], **HTML})
    assert far.status_code == 200 and 'class="error"' in far.text


def test_the_summary_service_refuses_a_province_outside_the_scope(session, records, org, make_user):
    from ansinh.auth import service as auth_service
    from ansinh.auth.models import User

    user = session.get(User, make_user("hn.svc", org.hanoi, Role.provincial_officer).id)
    with pytest.raises(PermissionDenied):
        service.participation_summary(session, auth_service.principal_for(user), on=date(2025, 8, 1), province="14")
    assert service.participation_summary(session, None, on=date(2025, 8, 1), province="14")["population"] == 1_300_000


# --- 2. the declaration check names no one it should not -------------------------------------------------------------

@pytest.fixture
def boss(client, tokens):
    headers = {**tokens["boss"], "HX-Request": "true"}

    def check(employer_id: int, **fields):
        form = {"employer_id": str(employer_id), "kind": "join", "month": clock.today().strftime("%Y-%m"),
                "salary": "12000000", "hi_group": "DN", **fields}
        return client.post("/participation/declarations/check", data=form, headers=headers)

    return check


def _check_reads(db, actor: str) -> list[AuditEvent]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.actor_username == actor)
                              .order_by(AuditEvent.id)))


def test_an_employer_checking_an_identifier_learns_no_name(boss, records, db):
    for ref in (records["dung_si"], "014195012349", records["newcomer_si"], "001192000001"):
        answer = boss(records["employer"], person_ref=ref)
        assert answer.status_code == 200
        for secret in ("Lò Thị Dung", "Lê Thị Bích", records["dung_si"], records["newcomer_si"]):
            assert secret not in answer.text, (ref, secret)
        assert 'data-testid="declaration-found"' not in answer.text
    leave = boss(records["employer"], person_ref=records["dung_si"], kind="leave")
    assert 'data-field="person"' in leave.text and "Lò Thị Dung" not in leave.text  # "This person is not declared"
    events = _check_reads(db, "boss")
    assert len(events) == 5 and all(e.changes["purpose"] == "declaration_check" for e in events)
    assert [e.person_ref for e in events[:2]] == ["014195012349", "014195012349"]
    assert not any(e.changes["name_shown"] for e in events)


def test_an_employer_giving_the_citizen_id_and_the_matching_name_sees_who_it_is(boss, records, db):
    shown = boss(records["employer"], person_ref="001192000001", person_name="le thi  BICH")
    assert 'data-testid="declaration-found"' in shown.text and "Lê Thị Bích" in shown.text
    assert 'data-testid="declaration-ok"' in shown.text
    wrong = boss(records["employer"], person_ref="001192000001", person_name="Lê Thị Bính")
    assert "Lê Thị Bích" not in wrong.text and 'data-field="person_name"' in wrong.text
    by_si = boss(records["employer"], person_ref=records["newcomer_si"], person_name="Lê Thị Bích")
    assert 'data-testid="declaration-found"' not in by_si.text  # a name is confirmed only with the citizen ID
    assert [e.changes["name_shown"] for e in _check_reads(db, "boss")] == [True, False, False]


def test_a_declaration_with_a_name_that_does_not_match_is_not_submitted(client, tokens, records, db):
    form = {"employer_id": str(records["employer"]), "person_ref": "001192000001", "person_name": "Ai Đó",
            "kind": "join", "month": clock.today().strftime("%Y-%m"), "salary": "12000000", "hi_group": "DN"}
    response = client.post("/participation/declarations", data=form, headers={**tokens["boss"], **HTML})
    assert response.status_code == 422 and 'data-field="person_name"' in response.text
    assert "Lê Thị Bích" not in response.text
    assert _count(db, Declaration) == 2


def test_an_officer_sees_the_names_of_people_in_scope_only(client, tokens, records):
    def check(token, employer_id, ref):
        form = {"employer_id": str(employer_id), "person_ref": ref, "kind": "join",
                "month": clock.today().strftime("%Y-%m"), "salary": "12000000", "hi_group": "DN"}
        return client.post("/participation/declarations/check", data=form, headers={**token, "HX-Request": "true"})

    assert "Lê Thị Bích" in check(tokens["hn"], records["employer"], "001192000001").text
    assert "Lò Thị Dung" not in check(tokens["hn"], records["employer"], "014195012349").text
    assert "Lò Thị Dung" in check(tokens["sl"], records["sonla_employer"], "014195012349").text


def test_api_declaration_errors_do_not_name_the_person(client, tokens, records):
    body = {"employer_tax_code": "0100109106", "citizen_id": "014195012349", "kind": "leave",
            "effective_month": "2025-06-01"}
    response = client.post("/api/v1/declarations", json=body, headers=tokens["boss"])
    assert response.status_code == 422 and "Lò Thị Dung" not in response.text


# --- 4. scope: a household of another province ------------------------------------------------------------------

def test_a_household_of_another_province_cannot_be_enrolled(client, tokens, records, db):
    before = _count(db, CoveragePeriod)
    response = client.post("/api/v1/enrolments/household-hi", headers=tokens["hn"], json={
        "household_id": records["sonla_household"], "member_person_ids": [records["wife"]], "start": "2025-07-01"})
    assert response.status_code == 403
    assert _count(db, CoveragePeriod) == before


# --- 6. idempotent declarations and enrolments -------------------------------------------------------------------

@pytest.mark.parametrize("url, body", [
    ("/api/v1/declarations", {"employer_tax_code": "0100109106", "citizen_id": "001192000001", "kind": "join",
                              "effective_month": "2025-03-01", "insured_salary": 10_000_000}),
    ("/api/v1/enrolments/voluntary", {"person_id": "newcomer", "income": 3_000_000, "months": 3,
                                      "group": "other", "start": "2025-01-01"}),
    ("/api/v1/enrolments/household-hi", {"household_id": "household", "member_person_ids": ["wife"],
                                         "start": "2025-07-01", "months": 12}),
    ("/api/v1/enrolments/state-budget", {"group": "TE", "person_ids": ["newcomer"], "start": "2025-01-01",
                                         "end": "2026-01-01"}),
])
def test_a_creating_request_sent_twice_with_one_key_has_one_effect(client, tokens, records, db, url, body):
    def fill(value):
        if isinstance(value, list):
            return [fill(v) for v in value]
        return records[value] if isinstance(value, str) and value in records else value

    body = {k: fill(v) for k, v in body.items()}
    headers = {**tokens["hn"], "Idempotency-Key": "participation-0001"}
    before = _count(db, CoveragePeriod)
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    created = _count(db, CoveragePeriod) - before
    assert created == (3 if "declarations" in url else 1)
    assert client.post(url, json=body, headers=tokens["hn"]).status_code in (409, 422)  # no key: a second request


def test_the_declaration_form_asks_for_the_name_with_the_citizen_id(client, org, make_user, records):
    make_user("donvi", org.hanoi, Role.employer, subject_ref="0100109106")
    assert web_login(client, "donvi").status_code == 303
    page = client.get("/participation/declarations/new", headers=HTML)
    assert page.status_code == 200 and 'name="person_name"' in page.text
    assert client.get("/participation/declarations/new", params={"employer_id": 2**63},
                      headers=HTML).status_code == 422
