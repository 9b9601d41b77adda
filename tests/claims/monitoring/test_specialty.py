"""The specialty of a facility: registered through the service, the import, the form and the API; shown on its page."""

from __future__ import annotations

import re

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role
from ansinh.cards import facilities
from ansinh.cards.facility_import import import_facilities
from ansinh.errors import ValidationFailed
from tests.conftest import api_token, web_login

HTML = {"Accept": "text/html"}


def test_the_catalogue_has_names_in_both_languages_and_general_is_the_default(db, org):
    codes = [s.code for s in facilities.specialties()]
    assert {"general", "obstetrics", "paediatrics", "oncology", "cardiology", "traditional", "psychiatry"} <= set(codes)
    assert all(s.name_vi and s.name_en for s in facilities.specialties())
    assert facilities.specialty_name("obstetrics", "vi") == "Phụ sản"
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        plain = facilities.create_facility(s, facilities.FacilityData(code="01001", name="BV A", level="district"),
                                           hanoi)
        child = facilities.create_facility(s, facilities.FacilityData(code="01002", name="BV Nhi", level="district",
                                                                      specialty=" Paediatrics "), hanoi)
        assert (plain.specialty, child.specialty) == ("general", "paediatrics")
        with pytest.raises(ValidationFailed) as error:
            facilities.create_facility(s, facilities.FacilityData(code="01003", name="BV", level="district",
                                                                  specialty="astrology"), hanoi)
        assert error.value.field == "specialty"


def test_the_import_sets_the_specialty_and_names_a_bad_one(db, org):
    header = "code,name,level,specialty\n"
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as s:
        office = s.get(OrgUnit, org.hanoi.id)
        bad = import_facilities(s, content=(header + "01001,BV Phụ sản,provincial,midwifery\n").encode(),
                                file_name="co-so.csv", org_unit=office)
        assert bad.status == "rejected" and [(e.row, e.column) for e in bad.errors] == [(2, "specialty")]
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as s:
        office = s.get(OrgUnit, org.hanoi.id)
        good = import_facilities(s, content=(header + "01001,BV Phụ sản,provincial,obstetrics\n"
                                             "01002,BV Đa khoa,provincial,\n").encode(),
                                 file_name="co-so.csv", org_unit=office)
        assert good.status == "applied", good.to_json()
        assert [facilities.get_facility(s, c).specialty for c in ("01001", "01002")] == ["obstetrics", "general"]
    with audit_context(channel="job", actor_username="test"), db.unit_of_work() as s:
        office = s.get(OrgUnit, org.hanoi.id)
        changed = import_facilities(s, content=(header + "01001,BV Phụ sản,provincial,oncology\n").encode(),
                                    file_name="co-so-2.csv", org_unit=office)
        assert changed.status == "rejected" and changed.errors[0].column == "specialty"  # not changed by an import


def test_the_form_the_api_and_the_page(client, db, org, make_user):
    make_user("hn.officer", org.hanoi, Role.provincial_officer)
    token = api_token(client, "hn.officer")
    created = client.post("/api/v1/facilities", headers=token, json={"code": "01005", "name": "BV Tim Hà Nội",
                                                                     "level": "provincial", "specialty": "cardiology"})
    assert created.status_code == 201, created.text
    assert created.json()["specialty"] == "cardiology"
    assert web_login(client, "hn.officer").status_code == 303
    form = client.get("/cards/facilities/new", headers=HTML)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    answer = client.post("/cards/facilities/new", headers=HTML, follow_redirects=False, data={
        "csrf_token": csrf, "code": "01006", "name": "BV Nhi Hà Nội", "level": "provincial",
        "specialty": "paediatrics"})
    assert answer.status_code == 303, answer.text[:500]
    client.get("/lang/vi")
    page = client.get("/cards/facilities/01006", headers=HTML)
    assert re.search(r'data-testid="facility-specialty">Nhi<', page.text)
