"""People not covered, by group and commune: the hand-counted population of :mod:`tests.outreach.world`."""

import io
from datetime import date

import polars as pl
import pytest

from ansinh.outreach import service
from ansinh.registry import shares
from tests.outreach.world import ON, build


@pytest.fixture
def world(session, org):
    return build(session, org)


def test_groups_of_a_hand_counted_population(session, world):
    listing = service.uncovered_people(session, None, on=ON, province="01")
    rows = {row["person_id"]: row for row in listing.page(100, 0)}
    expected = {"child": "under_6", "teen": "student", "leaver": "recent_leaver", "old_leaver": "working_age",
                "near": "near_retirement", "member": "household_member", "elder": "older"}
    assert {rows[world[k].id]["full_name"]: rows[world[k].id]["group"] for k in expected} == {
        world[k].full_name: g for k, g in expected.items()}
    assert listing.total == 7 == len(rows)
    # the same people as the registry's definition counts (one definition of "uncovered")
    assert shares.count_uncovered(session, on=ON, province="01") == {"01": 7}
    assert listing.by_group() == {"under_6": 1, "recent_leaver": 1, "student": 1, "near_retirement": 1,
                                  "household_member": 1, "working_age": 1, "older": 1}
    near = rows[world["near"].id]
    assert near["months_missing"] == 120  # 15 years × 12 − 60 months (2019-01 … 2023-12)
    assert near["could_join"] == ["voluntary_si", "household_hi"]
    assert rows[world["leaver"].id]["left_on"] == "2025-10-01"
    assert rows[world["child"].id]["could_join"] == ["child_hi"]
    assert rows[world["child"].id]["age"] == 3 and rows[world["teen"].id]["age"] == 18
    assert rows[world["old_leaver"].id]["months_missing"] is None
    child = rows[world["child"].id]
    assert (child["citizen_id"], child["date_of_birth"], child["commune_code"]) == (
        world["child"].citizen_id, "2022-06-01", world["here"].code)
    communes = {row["commune_code"]: row for row in listing.by_commune()}
    assert communes[world["here"].code]["total"] == 2 and communes[world["here"].code]["under_6"] == 1
    assert communes[world["there"].code]["total"] == 2 and communes[world["there"].code]["recent_leaver"] == 1
    assert communes[None]["total"] == 3


def test_one_commune_and_the_country(session, world):
    there = service.uncovered_people(session, None, on=ON, province="01", commune=world["there"].code)
    assert sorted(r["person_id"] for r in there.page(10, 0)) == sorted([world["leaver"].id, world["member"].id])
    country = service.uncovered_people(session, None, on=ON)
    assert country.total == 8  # Hà Nội's 7 and Sơn La's one (working age)
    assert country.by_group()["working_age"] == 2


def test_a_year_later_the_leaver_is_of_working_age(session, world):
    later = service.uncovered_people(session, None, on=date(2026, 10, 2), province="01")
    rows = {r["person_id"]: r["group"] for r in later.page(100, 0)}
    # left on 2025-10-01: the window from 2025-10-02 no longer holds it; the unborn child is now listed
    assert rows[world["leaver"].id] == "working_age"
    assert rows[world["unborn"].id] == "under_6"


def test_excel_list(session, world):
    listing = service.uncovered_xlsx(service.uncovered_people(session, None, on=ON, province="01"))
    sheet = pl.read_excel(io.BytesIO(listing), sheet_name="uncovered", has_header=False, infer_schema_length=0)
    values = [list(row) for row in sheet.iter_rows()][3:]  # title, date, blank (skipped by the reader?), header
    people = [v for v in values if v[2] and v[2] != "Họ và tên\nFull name"]
    assert len(people) == 7
    near = next(v for v in people if v[2] == "Hoàng Văn Già")
    assert near[3] == "01/06/1966" and str(near[7]) in ("120", "120.0")
    assert near[6] == "Bảo hiểm xã hội tự nguyện; Bảo hiểm y tế hộ gia đình"
    counts = pl.read_excel(io.BytesIO(listing), sheet_name="by_commune")
    assert counts.height == 3  # here, there, no commune
