"""The catalogues of the claim file: ICD-10 (WHO 2019 with the Vietnamese additions, with or without the dot), cost
groups, care types and the treatment days each implies — dated data, read by small functions; and their page."""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest
import yaml

from ansinh.auth.models import Role
from ansinh.claims import catalogues
from ansinh.rules.visit_categories import visit_catalogue
from tests.conftest import web_login

ON = date(2026, 6, 1)


def test_icd10_codes_are_known_with_or_without_the_dot_in_any_case():
    codes = pl.Series("code", ["J18.9", "J189", "j18.9", " I10 ", "E11.9", "E119", "A17.0†", "J18", "S72.00",
                               "U07.1", "U07.3", "X00.0.0", "Q", "", None])
    known = catalogues.icd10_is_known(codes)
    assert known.dtype == pl.Boolean and known.len() == codes.len()
    assert known.to_list() == [True, True, True, True, True, True, True, True, False, True, False, False, False,
                               False, None]
    # a category with subdivisions (J18) is a code, but not the most detailed one
    assert catalogues.icd10_is_known(pl.Series(["J18", "J18.9", "I10"]), leaf_only=True).to_list() == \
        [False, True, True]


def test_the_vietnamese_additions_count_from_their_day():
    codes = pl.Series(["U10.9", "U109", "U09.9"])
    assert catalogues.icd10_is_known(codes).to_list() == [True, True, True]
    assert catalogues.icd10_is_known(codes, on=date(2020, 6, 1)).to_list() == [False, False, False]
    assert catalogues.icd10_title("u10.9").startswith("Multisystem inflammatory syndrome")
    assert catalogues.icd10_title("J189") == "Pneumonia, unspecified" and catalogues.with_dot("j189") == "J18.9"


def test_the_icd10_set_is_built_once_and_checks_a_million_codes_at_once():
    assert catalogues.icd10() is catalogues.icd10()
    assert 12_000 < catalogues.icd10().codes.len() < 13_000
    many = pl.Series(["J18.9", "Z99.9", "K35.8", "bad"] * 250_000)
    assert catalogues.icd10_is_known(many).sum() == 750_000


def test_cost_groups_of_a_day_with_the_kind_of_price_each_is_checked_against():
    codes = [e.code for e in catalogues.cost_groups(ON)]
    assert codes == ["1", "2", "3", "4", "7", "8", "10", "12", "13", "14", "15", "16", "17", "18"]
    assert catalogues.cost_group("8", ON).name_vi == "Phẫu thuật" and catalogues.cost_group("18", ON).name_en == \
        "Procedures"
    assert catalogues.cost_group("6", ON) is None and catalogues.cost_group("6", date(2020, 1, 1)) is not None
    kinds = catalogues.price_kinds(pl.Series(["1", "4", "10", "15", "17", "99", None]), ON)
    assert kinds.to_list() == ["service", "drug", "supply", "bed", "drug", None, None]
    assert catalogues.cost_group_is_known(pl.Series(["13", "5"]), ON).to_list() == [True, False]


def test_care_types_and_the_treatment_days_each_implies():
    assert [e.code for e in catalogues.care_types(ON)] == [f"0{n}" for n in range(1, 10)]
    assert catalogues.care_type("3", ON).name_en == "Inpatient treatment"
    assert catalogues.normalise_care_type(pl.Series(["3", "03", " 9", None])).to_list() == ["03", "03", "09", None]
    assert catalogues.treatment_days_rules(pl.Series(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]), ON) \
        .to_list() == ["zero", "stay", "stay", "stay", "drug_days", "stay", "zero", "service_days", "zero", None]
    episodes = pl.DataFrame({"care_type": ["01", "3", "04", "05", "09", "06"],
                             "arrived": [date(2026, 3, 1)] * 6, "discharged": [date(2026, 3, 1), date(2026, 3, 5),
                                                                               date(2026, 3, 1), date(2026, 3, 30),
                                                                               date(2026, 3, 1), date(2026, 3, 3)]})
    expected = episodes.select(catalogues.expected_treatment_days(pl.col("care_type"), pl.col("arrived"),
                                                                  pl.col("discharged"), ON).alias("days"))
    assert expected["days"].to_list() == [0, 5, 1, None, 0, 3]


def test_the_catalogues_are_dated_data_with_their_references():
    for name in ("cost_groups", "care_types", "icd10_additions"):
        document = yaml.safe_load((catalogues.DATA / f"{name}.yaml").read_text(encoding="utf-8"))
        assert document["source"]
        for entry in document["entries"]:
            assert isinstance(entry["valid_from"], date) and "code" in entry, entry
            if name != "icd10_additions":
                assert entry["name_vi"] and entry["name_en"] and entry["reference"], entry
    for entry in catalogues.care_types() + catalogues.cost_groups():
        assert entry.valid_to is None or entry.valid_to >= entry.valid_from
    rules = {e.extra["treatment_days"] for e in catalogues.care_types()}
    assert rules <= set(catalogues.TREATMENT_DAYS_RULES)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_catalogues_page_lists_them_in_both_languages(client, org, make_user, locale):
    make_user("hn.dm", org.hanoi_office, Role.district_officer)
    assert web_login(client, "hn.dm").status_code == 303
    client.get(f"/lang/{locale}")
    page = client.get("/claims/catalogues?icd=J189;%20k99", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Ngày giường lưu" in page.text and "Observation bed day" in page.text
    assert "Điều trị nội trú dưới 04 giờ" in page.text and "Inpatient treatment under 4 hours" in page.text
    visits = visit_catalogue().categories
    assert all(f'data-code="{code}"' in page.text for code in visits)
    assert re.search(r'data-code="J189" data-known="yes"', page.text)
    assert re.search(r'data-code="k99" data-known="no"', page.text), re.findall(r"data-known=.{0,40}", page.text)


def test_the_catalogues_page_is_for_agency_staff(client, org, make_user):
    make_user("bv.dm", org.hanoi, Role.facility, subject_ref="01001")
    assert web_login(client, "bv.dm").status_code == 303
    assert client.get("/claims/catalogues", headers={"Accept": "text/html"}).status_code == 403
