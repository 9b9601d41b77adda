"""The card pages: the desk's lookup page (with and without htmx), the printable card, the lookup figures, and the
card on the person's page."""

import re
from datetime import date

from sqlalchemy import func, select

from ansinh import clock
from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import Role, User
from ansinh.cards import service
from ansinh.cards.models import CardLookup
from tests.conftest import web_login

from tests.cards.conftest import CHILD_ID, HTML, HTMX, ON, UNKNOWN_ID, WORKER_ID

#: A page's HTML is the same on both databases, and what its queries do is tested on both by the services'
#: tests: this module runs on SQLite only (see tests/conftest.py).
ONE_DATABASE = True


def _lookups(db) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count(CardLookup.id)))


def test_the_lookup_page_answers_covered_and_not_covered_with_and_without_htmx(desk, world, db):
    page = desk.get("/cards/lookup", headers=HTML)
    assert page.status_code == 200
    assert 'id="lookup-form"' in page.text and 'hx-get="/cards/lookup/result"' in page.text
    assert 'data-testid="lookup-result"' not in page.text
    assert f'name="on" value="{clock.today().isoformat()}"' in page.text  # the day defaults to today (Vietnam)
    assert 'data-nav="cards_lookup"' in page.text
    before = _lookups(db)

    # Without JavaScript: the form's GET renders the whole page with the answer.
    covered = desk.get("/cards/lookup", params={"citizen_id": WORKER_ID, "on": ON, "full_name": "nguyễn văn an"},
                      headers=HTML)
    assert covered.status_code == 200
    assert 'data-covered="true"' in covered.text and ">Covered<" in covered.text
    assert f"DN401{world['worker_si']}" in covered.text and "80%" in covered.text
    assert "Nguyễn Văn An" in covered.text and "1 May 1990" in covered.text and "Male" in covered.text

    # With htmx: the fragment alone, by card code too (spaces typed at the desk are ignored).
    code = f"TE101{world['child_si']}"
    fragment = desk.get("/cards/lookup/result", params={"card_code": f"te1 01 {world['child_si']}", "on": ON,
                                                          "date_of_birth": "2023-08-01"},
                        headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'data-covered="true"' in fragment.text and code in fragment.text and "100%" in fragment.text
    assert "31 Jul 2029" in fragment.text  # the child card's last day, as English writes a day

    unknown = desk.get("/cards/lookup/result", params={"citizen_id": UNKNOWN_ID, "on": ON, "full_name": "Ai Đó"},
                       headers=HTMX)
    assert 'data-covered="false"' in unknown.text and 'data-reason="unknown_person"' in unknown.text
    assert "Not covered" in unknown.text and "No person is registered with this identifier." in unknown.text

    expired = desk.get("/cards/lookup", params={"citizen_id": CHILD_ID, "on": "2029-08-05",
                                                 "full_name": "Nguyễn Minh Châu"}, headers=HTML)
    assert 'data-reason="expired"' in expired.text and "The card expired on 31 Jul 2029." in expired.text

    no_card = desk.get("/cards/lookup", params={"citizen_id": "001080000003", "on": ON,
                                                 "full_name": "Tran Van Binh"}, headers=HTML)
    assert 'data-reason="no_coverage"' in no_card.text and "Trần Văn Bình" in no_card.text

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        service.suspend_card(s, world["worker"], reason="Thẻ cho người khác mượn")
    suspended = desk.get("/cards/lookup/result", params={"si_number": world["worker_si"], "on": ON,
                                                               "date_of_birth": "1990-05-01"}, headers=HTMX)
    assert 'data-reason="suspended"' in suspended.text and "The card is suspended." in suspended.text

    wrong = desk.get("/cards/lookup/result", params={"citizen_id": WORKER_ID, "on": ON, "full_name": "Nguyễn Văn Ba"},
                     headers=HTMX)
    assert 'data-reason="name_mismatch"' in wrong.text and "Nguyễn Văn An" not in wrong.text
    assert "The name does not match the person registered with this identifier." in wrong.text
    assert 'data-testid="lookup-identity"' not in wrong.text and "DN401" not in wrong.text
    assert _lookups(db) == before + 7  # every lookup is logged, as through the API


def test_bad_input_is_shown_next_to_the_field_not_a_server_error(desk, db):
    before = _lookups(db)
    page = desk.get("/cards/lookup", params={"citizen_id": "12ab", "on": ON, "full_name": "An"}, headers=HTML)
    assert page.status_code == 400
    error = re.search(r'<small id="error-citizen_id"[^>]*>([^<]*)</small>', page.text)
    assert error and "A citizen ID has 12 digits" in error.group(1)
    assert re.search(r'name="citizen_id" value="12ab"[^>]*aria-invalid="true"', page.text, re.S)

    fragment = desk.get("/cards/lookup/result", params={"citizen_id": "12ab", "full_name": "An"}, headers=HTMX)
    assert fragment.status_code == 200  # htmx swaps only 2xx answers
    assert re.search(r'<small id="error-citizen_id"[^>]*hx-swap-oob="true">A citizen ID has 12 digits', fragment.text)
    assert 'data-error-fields="citizen_id"' in fragment.text

    for params, field, text in (({"card_code": "XY4010123456789", "on": ON}, "card_code", "not a beneficiary group"),
                                ({"citizen_id": WORKER_ID, "on": "1990-01-01"}, "on", ""),
                                ({"citizen_id": WORKER_ID, "on": "22/11/2026"}, "on", "Not a date"),
                                ({"on": ON}, "citizen_id", "Give a citizen ID"),
                                ({"citizen_id": WORKER_ID, "on": ON, "full_name": ""}, "full_name",
                                 "Give the full name or the date of birth"),
                                ({"citizen_id": WORKER_ID, "on": ON, "date_of_birth": "1/5/1990"}, "date_of_birth",
                                 "Not a date")):
        answer = desk.get("/cards/lookup", params={"full_name": "Nguyễn Văn An"} | params, headers=HTML)
        assert answer.status_code == 400, answer.text
        error = re.search(rf'<small id="error-{field}"[^>]*>([^<]+)</small>', answer.text)
        assert error and text in error.group(1), (params, answer.text)
    assert _lookups(db) == before  # refused lookups are not logged


def test_facility_without_a_contract_and_other_roles_are_refused(client, world, org, make_user):
    make_user("phongkham", org.hanoi, Role.facility, subject_ref="01999")
    assert web_login(client, "phongkham").status_code == 303
    client.get("/lang/en")
    refused = client.get("/cards/lookup", headers=HTML)
    assert refused.status_code == 403 and "01999" in refused.text and "<html" in refused.text
    assert client.get("/cards/lookup/result", params={"citizen_id": WORKER_ID}, headers=HTMX).status_code == 403
    client.cookies.clear()
    make_user("dan", org.hanoi, Role.citizen, subject_ref=WORKER_ID)
    assert web_login(client, "dan").status_code == 303
    assert client.get("/cards/lookup", headers=HTML).status_code == 403
    assert client.get("/cards/kpis", headers=HTML).status_code == 403
    home = client.get("/", headers=HTML).text
    assert 'data-nav="cards_lookup"' not in home


def test_agency_staff_look_up_too_and_see_the_links(officer, world):
    page = officer.get("/cards/lookup", params={"citizen_id": WORKER_ID, "on": ON, "date_of_birth": "1990-05-01"},
                       headers=HTML)
    assert page.status_code == 200 and 'data-covered="true"' in page.text
    assert 'href="/cards/kpis"' in page.text and 'data-nav="cards_kpis"' in page.text
    home = officer.get("/", headers=HTML).text
    assert 'data-tile="card_lookups"' in home and 'data-tile="card_lookup_success"' in home


def test_the_printable_card_is_a_pdf_within_the_scope(officer, world, client, org, make_user):
    pdf = officer.get(f"/cards/people/{world['worker']}/card.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert f"DN401{world['worker_si']}" in pdf.headers["content-disposition"]
    assert officer.get(f"/cards/people/{world['bare']}/card.pdf", headers=HTML).status_code == 404
    assert officer.get(f"/cards/people/{world['other']}/card.pdf", headers=HTML).status_code == 403
    client.cookies.clear()
    make_user("sonla", org.sonla, Role.provincial_officer)
    assert web_login(client, "sonla").status_code == 303
    assert client.get(f"/cards/people/{world['worker']}/card.pdf", headers=HTML).status_code == 403
    assert client.get(f"/cards/people/{world['other']}/card.pdf").status_code == 200


def test_the_person_page_shows_the_card_and_its_versions(officer, world, db):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        service.suspend_card(s, world["worker"], reason="Thẻ cho người khác mượn")
    page = officer.get(f"/registry/people/{world['worker']}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert 'data-testid="hi-card"' in text and f">DN401{world['worker_si']}<" in text
    assert 'data-testid="hi-card-suspended"' in text and "Thẻ cho người khác mượn" in text
    assert f'href="/cards/people/{world["worker"]}/card.pdf"' in text
    assert "1 Jan 2026" in text  # five consecutive years from (covered since 2021)
    versions = re.findall(r'<tr class="(superseded|current)" data-card-version', text)
    assert versions == ["current", "superseded"]
    bare = officer.get(f"/registry/people/{world['bare']}", headers=HTML).text
    assert 'data-testid="hi-card-none"' in bare


def test_the_lookup_figures_match_the_service(officer, world, db, org):
    for key in ({"citizen_id": WORKER_ID, "full_name": "Nguyễn Văn An"}, {"citizen_id": UNKNOWN_ID, "full_name": "Ai"},
                {"citizen_id": CHILD_ID, "date_of_birth": "2023-08-01"},
                {"citizen_id": "001080000003", "full_name": "Trần Văn Bình"}):
        assert officer.get("/cards/lookup", params={**key, "on": ON}, headers=HTML).status_code == 200
    year = clock.today().year  # the page's default year
    page = officer.get("/cards/kpis", headers=HTML)
    assert page.status_code == 200
    assert f'name="since" value="{year}-01-01"' in page.text and f'name="until" value="{year}-12-31"' in page.text
    with db.unit_of_work() as s:
        principal = auth_service.principal_for(s.scalar(select(User).where(User.username == "canbo")))
        # logged at the wall clock's time: count them whatever the year
        rows = service.lookup_kpis(s, principal, since=date(2000, 1, 1), until=date(2200, 12, 31))
    assert rows and sum(r["lookups"] for r in rows) == 4 and sum(r["successful"] for r in rows) == 2
    for row in rows:
        match = re.search(rf'<tr data-key="{row["province"] or ""}" data-month="{row["month"]}">(.*?)</tr>',
                          page.text, re.S)
        assert match, row
        cells = dict(re.findall(r'data-value="(\w+)">([^<]*)<', match.group(1)))
        assert cells["lookups"] == str(row["lookups"]) and cells["successful"] == str(row["successful"])
        assert cells["success_rate"] == f"{row['success_rate'] * 100:.1f}%"
    assert 'id="kpi-month-data"' in page.text and 'id="kpi-key-data"' in page.text
    by_facility = officer.get("/cards/kpis", params={"by": "facility", "since": f"{year}-01-01"}, headers=HTML)
    assert by_facility.status_code == 200 and "By medical facility and month" in by_facility.text
    bad = officer.get("/cards/kpis", params={"since": "yesterday"}, headers=HTML)
    assert bad.status_code == 200 and "not a date" in bad.text
