"""Price lists: the import (all or nothing, row-level errors, idempotent), supersession by later lists, the price on a
day, and the frame the appraisal joins claim lines to — built through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import pytest
import xlsxwriter
from sqlalchemy import func, select

from ansinh.audit.models import AuditEvent
from ansinh.auth import service as auth_service
from ansinh.auth.models import Role, User
from ansinh.claims.prices import service
from ansinh.claims.prices.models import PriceItem, PriceList
from ansinh.errors import NotFound, PermissionDenied
from tests.claims.prices.conftest import csv

EXAM = "service,02.1896,Khám Nội,lần,42100,2026-01-01,,"
PARACETAMOL = "drug,40.17,Paracetamol 500mg,viên,1200,2026-01-01,2026-12-31,QĐ 12/QĐ-SYT;G1;N4;2025"
BED = "bed,K03.1917,Ngày giường bệnh Nội khoa loại 1,ngày,\"245.000\",2026-01-01,,"


def _price(db, code: str, on: date, kind: str = "service", facility: str = "01001") -> int | None:
    with db.unit_of_work() as s:
        item = service.price_on(s, facility, kind, code, on)
        return None if item is None else item.price


def test_a_list_is_imported_and_its_prices_answer_on_their_days(db, facility, import_list):
    facility()
    report = import_list(csv(EXAM, PARACETAMOL, BED))
    assert report.status == "applied" and (report.rows, report.created, report.superseded) == (3, 3, 0)
    assert _price(db, "02.1896", date(2026, 3, 1)) == 42_100
    assert _price(db, "K03.1917", date(2026, 3, 1), "bed") == 245_000  # thousands grouped the Vietnamese way
    assert _price(db, "40.17", date(2026, 12, 31), "drug") == 1_200
    assert _price(db, "40.17", date(2027, 1, 1), "drug") is None  # after its valid_to
    assert _price(db, "02.1896", date(2025, 12, 31)) is None  # before its first day
    assert _price(db, "02.1896", date(2026, 3, 1), "drug") is None  # another kind, another item
    with db.unit_of_work() as s:
        listed = s.scalars(select(PriceList)).one()
        assert (listed.facility_code, listed.items, listed.imported_by, listed.file_name) == \
            ("01001", 3, "test", "bang-gia.csv")
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "import",
                                                   AuditEvent.entity_type == "price_list")).one()
        assert event.changes["created"] == 3
        drug = s.scalars(select(PriceItem).where(PriceItem.code == "40.17")).one()
        assert (drug.unit, drug.tender, drug.valid_to) == ("viên", "QĐ 12/QĐ-SYT;G1;N4;2025", date(2026, 12, 31))


def test_a_later_list_supersedes_from_its_own_first_day_and_history_is_kept(db, facility, import_list):
    facility()
    assert import_list(csv(EXAM, PARACETAMOL)).status == "applied"
    later = import_list(csv("service,02.1896,Khám Nội,lần,45000,2026-07-01,,"), file_name="bang-gia-7.csv")
    assert later.status == "applied" and (later.created, later.superseded) == (1, 1)
    assert _price(db, "02.1896", date(2026, 6, 30)) == 42_100
    assert _price(db, "02.1896", date(2026, 7, 1)) == 45_000
    assert _price(db, "40.17", date(2026, 8, 1), "drug") == 1_200  # not in the later list: untouched
    with db.unit_of_work() as s:
        history = service.price_history(s, "01001", code="02.1896")
        assert [(i.price, i.superseded_from, service.in_force_until(i)) for i in history] == [
            (42_100, date(2026, 7, 1), date(2026, 6, 30)), (45_000, None, None)]


def test_a_backdated_list_replaces_an_earlier_price_that_starts_within_it(db, facility, import_list):
    facility()
    import_list(csv("service,02.1896,Khám Nội,lần,42100,2026-03-01,,"))
    backdated = import_list(csv("service,02.1896,Khám Nội,lần,40000,2026-01-01,,"), file_name="dieu-chinh.csv")
    assert backdated.superseded == 1
    assert _price(db, "02.1896", date(2026, 2, 1)) == 40_000
    assert _price(db, "02.1896", date(2026, 5, 1)) == 40_000  # the earlier price never took effect
    with db.unit_of_work() as s:
        first = next(i for i in service.price_history(s, "01001", code="02.1896") if i.price == 42_100)
        assert first.superseded_from == date(2026, 1, 1) and service.in_force_until(first) < first.valid_from


def test_a_later_price_of_a_period_that_does_not_meet_an_earlier_one_leaves_it(db, facility, import_list):
    facility()
    import_list(csv("service,02.1896,Khám Nội,lần,42100,2026-03-01,,"))
    gap = import_list(csv("service,02.1896,Khám Nội,lần,40000,2026-01-01,2026-02-28,"), file_name="truoc.csv")
    assert (gap.status, gap.superseded) == ("applied", 0)
    assert (_price(db, "02.1896", date(2026, 2, 1)), _price(db, "02.1896", date(2026, 3, 1))) == (40_000, 42_100)


def test_a_later_price_with_an_end_replaces_the_earlier_one_for_good(db, facility, import_list):
    """A later list replaces an older price from its first day: the older price does not come back after the later
    one ends (a tender's price replaced by the next tender's, which then expires: no price, not the old one)."""
    facility()
    import_list(csv("drug,40.17,Paracetamol 500mg,viên,1200,2026-01-01,,"))
    import_list(csv("drug,40.17,Paracetamol 500mg,viên,1100,2026-07-01,2026-09-30,"), file_name="thau-moi.csv")
    assert [_price(db, "40.17", day, "drug") for day in (date(2026, 6, 30), date(2026, 7, 1), date(2026, 10, 1))] \
        == [1_200, 1_100, None]


def test_the_same_file_or_the_same_prices_again_change_nothing(db, facility, import_list):
    facility()
    content = csv(EXAM, PARACETAMOL)
    first = import_list(content)
    again = import_list(content, file_name="lai-lan-nua.csv")
    assert (again.status, again.same_file_as, again.created) == ("unchanged", first.list_id, 0)
    reordered = import_list(csv(PARACETAMOL, EXAM), file_name="khac-thu-tu.csv")  # another file, the same prices
    assert (reordered.status, reordered.unchanged, reordered.same_file_as) == ("unchanged", 2, None)
    mixed = import_list(csv(PARACETAMOL, "service,02.1896,Khám Nội,lần,45000,2026-07-01,,"), file_name="m.csv")
    assert (mixed.status, mixed.created, mixed.unchanged, mixed.superseded) == ("applied", 1, 1, 1)
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(PriceList)) == 2
        assert s.scalar(select(func.count()).select_from(PriceItem)) == 3


def test_the_same_file_may_be_the_list_of_two_facilities(db, org, facility, import_list):
    facility("01001")
    facility("01002", name="Trung tâm Y tế Ba Đình", level="district")
    content = csv(EXAM)
    assert import_list(content).status == "applied"
    assert import_list(content, facility_code="01002").status == "applied"
    assert _price(db, "02.1896", date(2026, 3, 1), facility="01002") == 42_100


def test_a_file_with_errors_writes_nothing_and_names_file_row_column_and_reason(db, facility, import_list):
    facility()
    report = import_list(csv(
        EXAM,
        "servce,02 1896,Khám,lần,0,2026-13-01,,",
        "drug,40.17,Paracetamol,viên,abc,2026-01-01,2025-12-31,",
        ",,,,,,,",  # an empty row (Excel leaves them): skipped
        "supply,N03.01.010,,cái,99999999999,01/02/2026,,",
        "bed,K03.1917,Giường,ngày,100000,1899-01-01,,"))
    assert report.status == "rejected" and report.list_id is None
    found = {(e.row, e.column) for e in report.errors}
    assert found == {(3, "kind"), (3, "code"), (3, "price"), (3, "valid_from"), (4, "price"), (4, "valid_to"),
                     (5, "name"), (5, "price"), (6, "valid_from")}
    by_place = {(e.row, e.column): e for e in report.errors}
    assert by_place[(5, "price")].value == "99999999999"
    assert "10,000,000,000" in by_place[(5, "price")].reason_en and "10.000.000.000" in by_place[(5, "price")].reason_vi
    assert by_place[(3, "valid_from")].reason_vi.startswith("Không phải ngày")
    assert report.error_lines()[0].startswith("bang-gia.csv, row 3, kind: ")
    assert report.error_lines("vi")[0].startswith("bang-gia.csv, dòng 3, kind: ")
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(PriceItem)) == 0
        assert s.scalar(select(func.count()).select_from(PriceList)) == 0
    assert report.to_xlsx()[:2] == b"PK"


def test_a_file_refused_as_a_whole(db, facility, import_list):
    facility()
    missing = import_list(b"kind,code,name\nservice,02.1896,Kham\n")
    assert {(e.row, e.column) for e in missing.errors} == {(1, "price"), (1, "valid_from")}
    unknown = import_list(csv(EXAM, header="kind,code,name,unit,price,valid_from,valid_to,tender_no"))
    assert [(e.row, e.column) for e in unknown.errors] == [(1, "tender_no")]
    empty = import_list(csv())
    assert empty.status == "rejected" and empty.errors[0].reason_en == "The file has no data rows."
    binary = import_list(b"\xff\xfe\x00garbage", file_name="x.csv")
    assert binary.status == "rejected" and binary.errors[0].row == 1
    control = import_list(csv("service,02.1896,Kh\x00am,lần,42100,2026-01-01,,"))
    assert control.status == "rejected" and control.errors[0].value == "Kh\\x00am"


def test_rows_of_one_item_must_not_overlap_in_a_file(db, facility, import_list):
    facility()
    report = import_list(csv("service,02.1896,Khám Nội,lần,42100,2026-01-01,,",
                             "service,02.1896,Khám Nội,lần,45000,2026-07-01,,",
                             "drug,40.17,Paracetamol,viên,1200,2026-01-01,2026-06-30,",
                             "drug,40.17,Paracetamol,viên,1100,2026-07-01,,"))
    assert [(e.row, e.column) for e in report.errors] == [(3, "valid_from")]
    assert "Row 2 of this file" in report.errors[0].reason_en
    assert import_list(csv("drug,40.17,Paracetamol,viên,1200,2026-01-01,2026-06-30,",
                           "drug,40.17,Paracetamol,viên,1100,2026-07-01,,")).status == "applied"
    assert [_price(db, "40.17", d, "drug") for d in (date(2026, 6, 30), date(2026, 7, 1))] == [1_200, 1_100]


def test_an_excel_list_is_read_like_a_csv_one(db, facility, import_list):
    facility()
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["Kind", "Code", "Name", "Unit", "Price", "Valid_from", "Valid_to"])
    sheet.write_row(1, 0, ["thuốc", "40.17", "Paracetamol 500mg", "viên", 1200])
    from datetime import datetime

    sheet.write_datetime(1, 5, datetime(2026, 1, 1), date_format)
    sheet.write_row(2, 0, ["dịch vụ", "02.1896", "Khám Nội", "lần", 42100.0, "01/01/2026"])
    book.close()
    report = import_list(buffer.getvalue(), file_name="bang-gia.xlsx")
    assert report.status == "applied", report.to_json()
    assert _price(db, "40.17", date(2026, 5, 1), "drug") == 1_200
    assert _price(db, "02.1896", date(2026, 5, 1)) == 42_100


def test_the_template_has_the_columns():
    frame = pl.read_excel(io.BytesIO(service.template_xlsx()), sheet_name="data", infer_schema_length=0)
    assert frame.columns == [spec.name for spec in service.COLUMNS]


def test_who_may_import_the_prices_of_a_facility(db, org, facility, make_user, import_list):
    facility()
    with db.unit_of_work() as s:
        def principal(username, unit, role, **fields):
            user = make_user(username, unit, role, **fields)
            return auth_service.principal_for(s.get(User, user.id))

        hanoi = principal("hn.gia", org.hanoi, Role.provincial_officer)
        sonla = principal("sl.gia", org.sonla, Role.provincial_officer)
        district = principal("bd.gia", org.hanoi_office, Role.district_officer)
        own = principal("bv.gia", org.hanoi, Role.facility, subject_ref="01001")
    assert import_list(csv(EXAM), principal=hanoi).status == "applied"
    for outsider in (sonla, district, own):
        with pytest.raises(PermissionDenied):
            import_list(csv(PARACETAMOL), principal=outsider)
    with pytest.raises(NotFound):
        import_list(csv(EXAM), facility_code="01999")
    with db.unit_of_work() as s:
        facility_row = service.get_facility(s, "01001")
        service.ensure_may_read(s, own, facility_row)
        service.ensure_may_read(s, hanoi, facility_row)
        for outsider in (sonla, district):  # the facility is the province office's: not under Ba Đình
            with pytest.raises(PermissionDenied):
                service.ensure_may_read(s, outsider, facility_row)


def test_prices_for_gives_every_price_in_force_in_the_period_and_the_lines_find_theirs(db, facility, import_list):
    facility("01001")
    facility("01002", name="Trung tâm Y tế Ba Đình", level="district")
    import_list(csv(EXAM, PARACETAMOL, BED))
    import_list(csv("service,02.1896,Khám Nội,lần,45000,2026-07-01,,"), file_name="b.csv")
    import_list(csv("service,02.1896,Khám Nội,lần,39000,2025-01-01,2025-12-31,"), facility_code="01002")
    with db.unit_of_work() as s:
        frame = service.prices_for(s, pl.Series(["01001", "01002", None]), date(2026, 6, 1), date(2026, 12, 31))
        none = service.prices_for(s, [], date(2026, 1, 1), date(2026, 12, 31))
    assert list(frame.schema.items()) == list(service.PRICES_SCHEMA.items()) and none.is_empty()
    assert frame.select("facility_code", "kind", "code", "price", "valid_from", "in_force_until").rows() == [
        ("01001", "bed", "K03.1917", 245_000, date(2026, 1, 1), None),
        ("01001", "drug", "40.17", 1_200, date(2026, 1, 1), date(2026, 12, 31)),
        ("01001", "service", "02.1896", 42_100, date(2026, 1, 1), date(2026, 6, 30)),
        ("01001", "service", "02.1896", 45_000, date(2026, 7, 1), None)]  # 01002's price ended in 2025
    lines = pl.DataFrame({"facility_code": ["01001", "01001", "01001", "01002", "01001"],
                          "kind": ["service", "service", "drug", "service", "supply"],
                          "code": ["02.1896", "02.1896", "40.17", "02.1896", "N03"],
                          "day": [date(2026, 6, 30), date(2026, 7, 2), date(2026, 8, 1), date(2026, 8, 1),
                                  date(2026, 8, 1)], "claimed": [42_100, 50_000, 1_200, 39_000, 10]})
    priced = service.approved_prices(lines, frame)
    assert priced.columns == [*lines.columns, "approved_price", "price_item_id"]
    assert priced["approved_price"].to_list() == [42_100, 45_000, 1_200, None, None]
