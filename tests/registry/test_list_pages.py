"""The registry's lists (filters, sorting, pages with totals, the Excel export of exactly the filtered rows) and its
forms (create and edit people and employers)."""

import io
from datetime import date

import polars as pl
import pytest
from sqlalchemy import select

from ansinh.audit.models import AuditEvent
from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.errors import PermissionDenied
from ansinh.registry import service as registry
from ansinh.registry.models import Employer, Ownership, Person, Place, Sex
from tests.conftest import web_login

HTML = {"Accept": "text/html"}


@pytest.fixture
def placed(db):
    """The places of both structures loaded (names of provinces and communes)."""
    from ansinh.registry.places import load_places

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        load_places(s)


def _loner(db, org, **changes) -> int:
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        data = dict(full_name="Phạm Thu Trang", date_of_birth=date(2001, 7, 8), sex=Sex.female)
        return registry.create_person(s, registry.PersonData(**(data | changes)), s.get(OrgUnit, org.hanoi.id)).id


def _names(html: str) -> list[str]:
    """The people of the list, in the order shown."""
    names = ("Nguyễn Văn An", "Lê Thị Bích", "Phạm Thu Trang", "Lò Văn Pấng")
    return [n for _, n in sorted((html.index(f">{n}<"), n) for n in names if f">{n}<" in html)]


def test_people_filters(officer, data, db, org, placed):
    _loner(db, org)
    assert _names(officer.get("/registry/people").text) == ["Lê Thị Bích", "Nguyễn Văn An", "Phạm Thu Trang"]
    assert _names(officer.get("/registry/people?sex=female").text) == ["Lê Thị Bích", "Phạm Thu Trang"]
    assert _names(officer.get("/registry/people?born_from=1991&born_to=1999").text) == ["Lê Thị Bích"]
    assert _names(officer.get("/registry/people?household=yes").text) == ["Lê Thị Bích", "Nguyễn Văn An"]
    assert _names(officer.get("/registry/people?household=no").text) == ["Phạm Thu Trang"]
    assert _names(officer.get("/registry/people?scheme=si_compulsory").text) == ["Nguyễn Văn An"]
    assert _names(officer.get("/registry/people?scheme=si_voluntary").text) == []
    assert _names(officer.get("/registry/people?q=bich&sex=female").text) == ["Lê Thị Bích"]
    # Another province is not offered, and asking for it shows nothing of it.
    page = officer.get("/registry/people?province=14").text
    assert "Lò Văn Pấng" not in page and 'value="14"' not in page
    assert ">Thành phố Hà Nội<" in page or ">Hà Nội<" in page  # the province by name
    assert "Rows 1–3 of 3" in page


def test_people_filter_by_commune_shows_names(officer, data, db, org, placed):
    with db.unit_of_work() as s:
        commune = s.scalar(select(Place).where(Place.structure == "2025", Place.level == "commune",
                                               Place.province_code == "01").order_by(Place.id).limit(1))
        commune_id, commune_name = commune.id, commune.name
    _loner(db, org, residence_place_id=commune_id)
    page = officer.get(f"/registry/people?province=01&commune={commune_id}").text
    assert _names(page) == ["Phạm Thu Trang"] and commune_name in page
    assert f'<option value="{commune_id}" selected>' in page


def test_people_filter_errors_name_the_field(officer, data):
    page = officer.get("/registry/people?born_from=12ab", headers=HTML)
    assert page.status_code == 422 and 'data-error="born_from"' in page.text
    assert 'value="12ab"' in page.text  # what was typed is kept
    bad = officer.get("/registry/people?scheme=lottery")
    assert bad.status_code == 422 and 'data-error="scheme"' in bad.text


def test_people_sorting(officer, data, db, org):
    _loner(db, org)
    assert _names(officer.get("/registry/people?sort=born&dir=desc").text) == \
        ["Phạm Thu Trang", "Lê Thị Bích", "Nguyễn Văn An"]
    assert _names(officer.get("/registry/people?sort=name&dir=desc").text) == \
        ["Phạm Thu Trang", "Nguyễn Văn An", "Lê Thị Bích"]
    page = officer.get("/registry/people?sort=born").text
    assert 'aria-sort="ascending"' in page and "sort=born&amp;dir=desc" in page


def test_people_export_is_exactly_the_filtered_rows_and_audited_once(officer, data, db, org):
    _loner(db, org)
    answer = officer.get("/registry/people/export.xlsx?sex=female&sort=born&dir=desc")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/vnd.openxml")
    assert answer.headers["x-row-count"] == "2"
    sheet = pl.read_excel(io.BytesIO(answer.content))
    assert sheet["Full name"].to_list() == ["Phạm Thu Trang", "Lê Thị Bích"]
    assert sheet.columns[:4] == ["Full name", "Citizen ID", "SI number", "Date of birth"]
    assert "Lò Văn Pấng" not in sheet["Full name"].to_list()
    with db.unit_of_work() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "export",
                                                    AuditEvent.entity_type == "person")).all()
    assert len(events) == 1
    assert events[0].changes["count"] == 2 and events[0].changes["query"]["sex"] == "female"


def test_employers_list_filters_sorts_and_exports(officer, data, db, org):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        registry.create_employer(s, registry.EmployerData(tax_code="0100109113", name="Doanh nghiệp Nhà nước Ba",
                                                          ownership=Ownership.state, region="II"),
                                 s.get(OrgUnit, org.hanoi.id))
    page = officer.get("/registry/employers").text
    assert "Công ty An Bình" in page and "Doanh nghiệp Nhà nước Ba" in page and "Hợp tác xã Mộc Châu" not in page
    assert "Rows 1–2 of 2" in page
    only = officer.get("/registry/employers?ownership=state").text
    assert "Doanh nghiệp Nhà nước Ba" in only and "Công ty An Bình" not in only
    assert "Công ty An Bình" in officer.get("/registry/employers?electronic=yes").text
    assert "Công ty An Bình" not in officer.get("/registry/employers?electronic=no").text
    assert "Công ty An Bình" not in officer.get("/registry/employers?region=II").text
    ordered = officer.get("/registry/employers?sort=tax_code&dir=desc").text
    assert ordered.index("Doanh nghiệp Nhà nước Ba") < ordered.index("Công ty An Bình")
    assert officer.get("/registry/employers?region=IX").status_code == 422
    export = officer.get("/registry/employers/export.xlsx?region=I")
    sheet = pl.read_excel(io.BytesIO(export.content))
    assert sheet["Name"].to_list() == ["Công ty An Bình"] and export.headers["x-row-count"] == "1"


def test_employer_user_list_and_export_only_their_own(client, org, make_user, data):
    make_user("donvi", org.hanoi, Role.employer, subject_ref="0100109106")
    web_login(client, "donvi")
    export = client.get("/registry/employers/export.xlsx")
    assert export.status_code == 200 and export.headers["x-row-count"] == "1"
    assert pl.read_excel(io.BytesIO(export.content)).to_series(0).to_list() == ["Công ty An Bình"]


# --- forms -------------------------------------------------------------------------------------------------

def _csrf(page: str) -> str:
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start:page.index('"', start)]


def test_create_a_person_on_the_web(officer, data, db, placed):
    form = officer.get("/registry/people/new")
    assert form.status_code == 200 and 'name="org_unit_code"' in form.text
    with db.unit_of_work() as s:
        commune = s.scalar(select(Place).where(Place.structure == "2025", Place.level == "commune",
                                               Place.province_code == "01").order_by(Place.id).limit(1))
        commune_id = commune.id
    assert f'<option value="{commune_id}">' in form.text  # the province's communes, by name
    fields = {"csrf_token": _csrf(form.text), "full_name": "  Trần   Văn  Bảy ", "date_of_birth": "1980-02-03",
              "sex": "male", "citizen_id": "001080000077", "ethnicity": "Kinh", "province": "01",
              "residence_place_id": str(commune_id), "address": "12 Phố Huế", "phone": "0912000111",
              "org_unit_code": "BHXH-01"}
    answer = officer.post("/registry/people/new", data=fields, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    with db.unit_of_work() as s:
        person = s.scalar(select(Person).where(Person.citizen_id == "001080000077"))
        assert person.full_name == "Trần Văn Bảy" and person.residence_place_id == commune_id
        assert person.province_2025 == "01" and person.si_number.startswith("01")
    assert answer.headers["location"] == f"/registry/people/{person.id}?notice=created"
    shown = officer.get(answer.headers["location"]).text
    assert "The record has been registered." in shown and "Trần Văn Bảy" in shown


def test_person_form_errors_are_beside_the_field_and_keep_the_input(officer, data, db):
    form = officer.get("/registry/people/new").text
    base = {"csrf_token": _csrf(form), "full_name": "Hoàng Văn Tám", "date_of_birth": "1980-02-03", "sex": "male",
            "org_unit_code": "BHXH-01", "phone": "09abc"}
    answer = officer.post("/registry/people/new", data=base)
    assert answer.status_code == 422 and 'data-error="phone"' in answer.text and 'value="09abc"' in answer.text
    assert 'value="Hoàng Văn Tám"' in answer.text
    bad_date = officer.post("/registry/people/new", data=base | {"phone": "", "date_of_birth": "3000-01-01"})
    assert bad_date.status_code == 422 and 'data-error="date_of_birth"' in bad_date.text
    taken = officer.post("/registry/people/new", data=base | {"phone": "", "citizen_id": "001090012345"})
    assert taken.status_code == 422 and 'data-error="citizen_id"' in taken.text
    elsewhere = officer.post("/registry/people/new", data=base | {"phone": "", "org_unit_code": "BHXH-14"})
    assert elsewhere.status_code == 422 and 'data-error="org_unit_code"' in elsewhere.text
    assert 'value="BHXH-14"' not in form  # only the offices of the caller's scope are offered
    with db.unit_of_work() as s:
        assert s.scalar(select(Person).where(Person.full_name == "Hoàng Văn Tám")) is None
    assert officer.post("/registry/people/new", data=base | {"phone": "", "csrf_token": "x"}).status_code == 403


def test_edit_a_person_on_the_web(officer, data, db):
    form = officer.get(f"/registry/people/{data['worker']}/edit")
    assert form.status_code == 200 and 'value="Nguyễn Văn An"' in form.text and 'value="1990-05-01"' in form.text
    fields = {"csrf_token": _csrf(form.text), "full_name": "Nguyễn Văn An", "date_of_birth": "1990-05-01",
              "sex": "male", "citizen_id": "001090012345", "ethnicity": "Kinh", "phone": "0987000000",
              "address": "5 Tràng Tiền"}
    answer = officer.post(f"/registry/people/{data['worker']}/edit", data=fields, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("?notice=updated")
    with db.unit_of_work() as s:
        person = s.get(Person, data["worker"])
        assert (person.phone, person.address) == ("0987000000", "5 Tràng Tiền")
    bad = officer.post(f"/registry/people/{data['worker']}/edit", data=fields | {"full_name": ""})
    assert bad.status_code == 422 and 'data-error="full_name"' in bad.text
    assert officer.get(f"/registry/people/{data['other']}/edit").status_code == 403
    refused = officer.post(f"/registry/people/{data['other']}/edit", data=fields | {"full_name": "Kẻ Lạ"})
    assert refused.status_code == 403
    with db.unit_of_work() as s:
        assert s.get(Person, data["other"]).full_name == "Lò Văn Pấng"


def test_person_page_offers_edit_and_merge_to_managers_only(officer, data, client, org, make_user):
    page = officer.get(f"/registry/people/{data['worker']}").text
    assert 'data-testid="edit-person"' in page and 'data-testid="merge-person"' in page
    assert "person#" not in page


def test_create_and_edit_an_employer_on_the_web(officer, data, db):
    form = officer.get("/registry/employers/new")
    assert form.status_code == 200
    fields = {"csrf_token": _csrf(form.text), "tax_code": "0100109120", "name": "Công ty Bình Minh",
              "ownership": "private", "region": "I", "sector": "private", "e_transactions": "on",
              "org_unit_code": "BHXH-01", "email": "lienhe@binhminh.vn"}
    answer = officer.post("/registry/employers/new", data=fields, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    with db.unit_of_work() as s:
        employer = s.scalar(select(Employer).where(Employer.tax_code == "0100109120"))
        assert employer.e_transactions and employer.province_2025 == "01"
    taken = officer.post("/registry/employers/new", data=fields)
    assert taken.status_code == 422 and 'data-error="tax_code"' in taken.text
    bad = officer.post("/registry/employers/new", data=fields | {"tax_code": "0100109138", "region": "IX"})
    assert bad.status_code == 422 and 'data-error="region"' in bad.text and 'value="0100109138"' in bad.text

    edit = officer.get(f"/registry/employers/{employer.id}/edit")
    assert edit.status_code == 200 and 'value="Công ty Bình Minh"' in edit.text
    assert 'name="e_transactions"' not in edit.text and 'data-testid="e-transactions"' in edit.text
    changes = {"csrf_token": _csrf(edit.text), "name": "Công ty Bình Minh Mới", "ownership": "fdi", "region": "II",
               "sector": "private", "email": "lienhe@binhminh.vn", "tax_code": "9999999999"}
    saved = officer.post(f"/registry/employers/{employer.id}/edit", data=changes, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("?notice=updated")
    with db.unit_of_work() as s:
        changed = s.get(Employer, employer.id)
        assert (changed.name, changed.ownership, changed.region, changed.e_transactions, changed.tax_code) == \
            ("Công ty Bình Minh Mới", Ownership.fdi, "II", True, "0100109120")  # the flag: registration only
        updates = s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "employer",
                                                     AuditEvent.entity_id == str(employer.id),
                                                     AuditEvent.action == "update")).all()
        assert updates and updates[-1].changes["name"] == ["Công ty Bình Minh", "Công ty Bình Minh Mới"]
    invalid = officer.post(f"/registry/employers/{employer.id}/edit", data=changes | {"email": "nope"})
    assert invalid.status_code == 422 and 'data-error="email"' in invalid.text
    assert officer.get(f"/registry/employers/{data['other_employer']}/edit").status_code == 403
    assert officer.post(f"/registry/employers/{data['other_employer']}/edit", data=changes).status_code == 403


def test_update_employer_service_refuses_outsiders(session, data, org, make_user):
    user = make_user("sonla.canbo", org.sonla, Role.provincial_officer)
    principal = auth_service.principal_for(session.get(User, user.id))
    with pytest.raises(PermissionDenied):
        registry.update_employer(session, principal, data["employer"], {"name": "Khác"})
    assert session.get(Employer, data["employer"]).name == "Công ty An Bình"


def test_employer_users_and_citizens_cannot_use_the_forms(client, org, make_user, data):
    make_user("donvi", org.hanoi, Role.employer, subject_ref="0100109106")
    web_login(client, "donvi")
    assert client.get("/registry/employers/new", headers=HTML).status_code == 403
    assert client.get(f"/registry/employers/{data['employer']}/edit", headers=HTML).status_code == 403
    assert client.get("/registry/people/new", headers=HTML).status_code == 403


@pytest.mark.parametrize("sort", ["name", "born", "province", "si_number"])
@pytest.mark.parametrize("descending", [False, True])
def test_deep_pages_read_by_their_keys_are_the_pages_read_directly(session, org, make_user, monkeypatch, sort,
                                                                   descending):
    """From DEFERRED_OFFSET rows skipped, a page is read by its keys first: the same rows in the same order as the
    plain OFFSET, ties (same names, same birthdays) included, with or without a name search."""
    from ansinh.registry.pages import _people_columns
    from ansinh.web import lists

    hanoi = session.get(OrgUnit, org.hanoi.id)
    for i in range(61):
        registry.create_person(session, registry.PersonData(
            full_name=("Nguyễn Văn An", "Lê Thị Bích", "Nguyễn Thị Hoa")[i % 3], date_of_birth=date(1990, 1 + i % 4, 1),
            sex=Sex.female if i % 3 else Sex.male), hanoi)
    officer = auth_service.principal_for(make_user("deep", org.hanoi, Role.provincial_officer))
    columns = _people_columns({})

    def page(number: int, deferred: bool, q: str = "") -> list[int]:
        monkeypatch.setattr(lists, "DEFERRED_OFFSET", 1 if deferred else 10**9)
        listing = lists.Listing(columns, sort=sort, descending=descending, page=number, size=25,
                                selective=bool(q))
        rows = lists.fetch_page(session, registry.people_query(officer, registry.PeopleFilter(q=q)), listing,
                                Person.id)
        return [row.id for row in rows]

    for q in ("", "nguyen"):
        pages = [page(n, deferred=False, q=q) for n in (1, 2, 3)]
        assert [page(n, deferred=True, q=q) for n in (2, 3)] == pages[1:]
        assert len(set(pages[0] + pages[1] + pages[2])) == (61 if not q else 41)  # every row once, none twice
