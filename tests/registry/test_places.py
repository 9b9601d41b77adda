"""Places of both structures, the mapping between them, and the loader (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.errors import NotFound, ValidationFailed
from ansinh.registry.models import Place, PlaceLevel, PlaceMapping, Structure
from ansinh.registry.places import (
    find_place,
    load_places,
    map_to_2008,
    map_to_2025,
    place_data,
    province_mapping,
    provinces,
    provinces_of,
    search_places,
)

OLD, NEW = Structure.before_2025, Structure.from_2025


@pytest.fixture
def loaded(session):
    result = load_places(session)
    assert not result["skipped"] and result["places"] > 0
    return session


def _place(session, structure, level, code) -> Place:
    place = find_place(session, structure, level, code)
    assert place is not None, (structure, level, code)
    return place


def test_counts_per_structure_and_level(loaded):
    counts = {(structure, level): n for structure, level, n in loaded.execute(
        select(Place.structure, Place.level, func.count()).group_by(Place.structure, Place.level))}
    assert counts[(OLD, PlaceLevel.province)] == 63
    assert counts[(OLD, PlaceLevel.district)] == 696
    assert counts[(OLD, PlaceLevel.commune)] == 10051
    assert counts[(NEW, PlaceLevel.province)] == 34
    assert counts[(NEW, PlaceLevel.commune)] == 3321
    assert (NEW, PlaceLevel.district) not in counts
    assert loaded.scalar(select(func.count()).select_from(PlaceMapping)) == sum(
        len(rows) for rows in place_data()["mapping"].values())


def test_official_codes_names_and_validity(loaded):
    hanoi_2008 = _place(loaded, "2008", "province", "01")
    assert hanoi_2008.name == "Thành phố Hà Nội"
    assert (hanoi_2008.valid_from, hanoi_2008.valid_to) == (date(2008, 8, 1), date(2025, 7, 1))
    assert _place(loaded, OLD, PlaceLevel.province, "02").name == "Tỉnh Hà Giang"
    ba_dinh = _place(loaded, OLD, PlaceLevel.district, "001")
    assert (ba_dinh.name, ba_dinh.parent_id, ba_dinh.province_code) == ("Quận Ba Đình", hanoi_2008.id, "01")
    dien_bien = _place(loaded, OLD, PlaceLevel.commune, "00019")
    assert (dien_bien.name, dien_bien.parent_id, dien_bien.province_code) == ("Phường Điện Biên", ba_dinh.id, "01")
    assert dien_bien.valid_to == date(2025, 7, 1)

    hanoi_2025 = _place(loaded, "2025", "province", "01")
    assert hanoi_2025.name == "Thành phố Hà Nội"
    assert (hanoi_2025.valid_from, hanoi_2025.valid_to) == (date(2025, 7, 1), None)
    assert _place(loaded, NEW, PlaceLevel.province, "08").name == "Tỉnh Tuyên Quang"
    new_ba_dinh = _place(loaded, NEW, PlaceLevel.commune, "00004")
    assert (new_ba_dinh.name, new_ba_dinh.parent_id, new_ba_dinh.province_code) == ("Phường Ba Đình", hanoi_2025.id, "01")
    assert new_ba_dinh.valid_from == date(2025, 7, 1)

    assert [p.code for p in provinces(loaded, "2025")][:3] == ["01", "04", "08"]
    assert len(provinces(loaded, OLD)) == 63
    assert find_place(loaded, NEW, PlaceLevel.commune, "99999") is None
    with pytest.raises(ValidationFailed):
        find_place(loaded, "1999", "province", "01")
    with pytest.raises(ValidationFailed):
        find_place(loaded, "2025", "village", "01")


def test_loader_is_idempotent(loaded):
    before = loaded.scalar(select(func.count()).select_from(Place))
    assert load_places(loaded) == {"places": 0, "mappings": 0, "skipped": True}
    assert loaded.scalar(select(func.count()).select_from(Place)) == before


def test_loader_completes_a_partial_load(loaded):
    """A mapping row missing (an interrupted or older load) is put back, nothing is duplicated."""
    row = loaded.execute(select(PlaceMapping).limit(1)).scalars().one()
    pair = (row.old_place_id, row.new_place_id)
    loaded.delete(row)
    loaded.flush()
    assert load_places(loaded) == {"places": 0, "mappings": 1, "skipped": False}
    assert loaded.get(PlaceMapping, pair) is not None


def test_provinces_map_old_to_new(loaded):
    ha_giang = _place(loaded, OLD, PlaceLevel.province, "02")
    assert [(p.code, p.name) for p in map_to_2025(loaded, ha_giang.id)] == [("08", "Tỉnh Tuyên Quang")]
    tuyen_quang = _place(loaded, NEW, PlaceLevel.province, "08")
    assert [p.code for p in map_to_2008(loaded, tuyen_quang.id)] == ["02", "08"]

    mapping = province_mapping(loaded)
    assert len(mapping) == 63
    assert mapping["02"] == {"08"} and mapping["08"] == {"08"} and mapping["01"] == {"01"}
    assert set().union(*mapping.values()) == {p.code for p in provinces(loaded, NEW)}


def test_a_hanoi_ward_maps_to_its_new_ward(loaded):
    dien_bien = _place(loaded, OLD, PlaceLevel.commune, "00019")  # Phường Điện Biên, Quận Ba Đình
    assert "Phường Ba Đình" in [p.name for p in map_to_2025(loaded, dien_bien.id)]
    new_ba_dinh = _place(loaded, NEW, PlaceLevel.commune, "00004")
    old_names = {p.name for p in map_to_2008(loaded, new_ba_dinh.id)}
    assert {"Phường Điện Biên", "Phường Trúc Bạch", "Phường Quán Thánh"} <= old_names
    # a district: the new wards its wards went to
    ba_dinh_district = _place(loaded, OLD, PlaceLevel.district, "001")
    assert {"Phường Ba Đình", "Phường Ngọc Hà", "Phường Giảng Võ"} <= {p.name for p in map_to_2025(loaded, ba_dinh_district.id)}
    # an island district without communes became a special zone
    con_dao = _place(loaded, OLD, PlaceLevel.district, "755")
    assert [p.name for p in map_to_2025(loaded, con_dao.id)] == ["Đặc khu Côn Đảo"]

    with pytest.raises(ValidationFailed):
        map_to_2025(loaded, new_ba_dinh.id)
    with pytest.raises(ValidationFailed):
        map_to_2008(loaded, dien_bien.id)
    with pytest.raises(NotFound):
        map_to_2025(loaded, -1)


def test_provinces_of_old_and_new_places(loaded):
    dien_bien = _place(loaded, OLD, PlaceLevel.commune, "00019")
    assert provinces_of(loaded, dien_bien.id) == ("01", "01")
    ha_giang_ward = _place(loaded, OLD, PlaceLevel.commune, "00688")  # Phường Quang Trung, TP Hà Giang
    assert provinces_of(loaded, ha_giang_ward.id) == ("02", "08")
    ha_giang_city = _place(loaded, OLD, PlaceLevel.district, "024")
    assert provinces_of(loaded, ha_giang_city.id) == ("02", "08")
    assert provinces_of(loaded, _place(loaded, OLD, PlaceLevel.province, "02").id) == ("02", "08")

    new_ward = map_to_2025(loaded, ha_giang_ward.id)[0]  # in Tuyên Quang, made of old Hà Giang communes only
    assert provinces_of(loaded, new_ward.id) == ("02", "08")
    assert provinces_of(loaded, _place(loaded, NEW, PlaceLevel.commune, "00004").id) == ("01", "01")
    # a new province made of two old ones has no single 2008 province
    assert provinces_of(loaded, _place(loaded, NEW, PlaceLevel.province, "08").id) == (None, "08")
    with pytest.raises(NotFound):
        provinces_of(loaded, -1)


def test_every_old_province_and_most_communes_are_mapped(loaded):
    old_communes = select(Place.id).where(Place.structure == OLD, Place.level == PlaceLevel.commune)
    mapped = loaded.scalar(select(func.count(func.distinct(PlaceMapping.old_place_id)))
                           .where(PlaceMapping.old_place_id.in_(old_communes)))
    assert mapped / 10051 > 0.99
    new_communes = select(Place.id).where(Place.structure == NEW, Place.level == PlaceLevel.commune)
    assert loaded.scalar(select(func.count(func.distinct(PlaceMapping.new_place_id)))
                         .where(PlaceMapping.new_place_id.in_(new_communes))) / 3321 > 0.99


def test_search_without_accents(loaded):
    found = search_places(loaded, "ba dinh")
    assert "Phường Ba Đình" in [p.name for p in found]
    assert all("ba dinh" in p.name_search for p in found)
    new_only = search_places(loaded, "BA ĐÌNH", structure="2025", level="commune")
    assert new_only and {(p.structure, p.level) for p in new_only} == {(NEW, PlaceLevel.commune)}
    assert [p.code for p in search_places(loaded, "tuyen quang", level=PlaceLevel.province)] == ["08", "08"]
    assert len(search_places(loaded, "xa", limit=5)) == 5
    assert search_places(loaded, "100%_") == []
    with pytest.raises(ValidationFailed):
        search_places(loaded, "  ")


def test_province_names_come_from_the_table_or_before_it_is_loaded_from_its_data_file(session):
    from ansinh.registry.places import province_names

    # Nothing loaded: the names of the data file, for both structures (the same names the loader writes).
    assert session.scalar(select(func.count()).select_from(Place)) == 0
    before = province_names(session)
    assert before["01"] == "Thành phố Hà Nội" and len(before) == 34
    assert province_names(session, OLD)["02"] == "Tỉnh Hà Giang" and len(province_names(session, OLD)) == 63
    load_places(session)
    assert province_names(session) == before
    hanoi = find_place(session, NEW, PlaceLevel.province, "01")
    hanoi.name = "Hà Nội (đổi tên)"
    session.flush()
    assert province_names(session)["01"] == "Hà Nội (đổi tên)"
