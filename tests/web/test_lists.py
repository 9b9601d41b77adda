"""The list helpers: sorting and pages read from the address, and the Excel export of exactly the rows given."""

from datetime import date, datetime, UTC

import polars as pl
import pytest
from starlette.requests import Request

from ansinh.errors import ValidationFailed
from ansinh.web.lists import Column, Listing, read_listing, write_xlsx

COLUMNS = (Column("name", "Full name", sort=object()), Column("born", "Date of birth", sort=object()),
           Column("note", "Note"))


def _request(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/registry/people", "query_string": query.encode(),
                    "headers": []})


def test_sort_page_and_size_come_from_the_address_and_fall_back_safely():
    listing = read_listing(_request("sort=born&dir=desc&page=3&size=100"), COLUMNS, default_sort="name",
                           filters={"province": "19", "q": ""})
    assert (listing.sort, listing.descending, listing.page, listing.size) == ("born", True, 3, 100)
    # An unsortable or unknown column, an unknown direction: the defaults.
    odd = read_listing(_request("sort=note&dir=sideways"), COLUMNS, default_sort="name")
    assert (odd.sort, odd.descending, odd.page, odd.size) == ("name", False, 1, 50)
    # A page or a size out of range is refused, naming the field.
    for query, field in (("page=0", "page"), ("page=-4", "page"), ("page=abc", "page"),
                         ("page=99999999999999999999", "page"), ("size=100000", "size"), ("size=x", "size")):
        with pytest.raises(ValidationFailed) as refused:
            read_listing(_request(query), COLUMNS, default_sort="name")
        assert refused.value.field == field


def test_links_keep_the_filters_and_sorting_restarts_at_page_one():
    listing = Listing(COLUMNS, sort="name", descending=False, page=4, size=50, filters={"province": "19", "q": ""})
    listing.total = 1234
    assert listing.query(page=5) == "province=19&sort=name&dir=asc&page=5"
    assert listing.sort_query("name") == "province=19&sort=name&dir=desc"  # the same column turns round
    assert listing.sort_query("born") == "province=19&sort=born&dir=asc"
    assert listing.filter_query() == "province=19&sort=name&dir=asc"  # the export: every page, no page number
    assert (listing.pages, listing.first, listing.last) == (25, 151, 200)
    listing.page = 25
    assert listing.last == 1234


def test_the_export_writes_every_row_typed_and_safe(tmp_path):
    path = tmp_path / "people.xlsx"
    rows = [("Nguyễn Văn An", date(1990, 5, 1), 2_530_000, datetime(2026, 3, 5, 20, 30, tzinfo=UTC)),
            ("=HYPERLINK(\"http://x\")", None, 0, None)]
    written = write_xlsx(str(path), ["Họ tên", "Ngày sinh", "Lương", "Lúc"], iter(rows))
    assert written == 2
    frame = pl.read_excel(path)
    assert frame.columns == ["Họ tên", "Ngày sinh", "Lương", "Lúc"]
    assert frame["Họ tên"].to_list() == ["Nguyễn Văn An", "'=HYPERLINK(\"http://x\")"]
    assert frame["Lương"].to_list() == [2_530_000, 0]
    assert frame["Ngày sinh"][0] in (date(1990, 5, 1), datetime(1990, 5, 1))
    lúc = frame["Lúc"][0]
    assert (lúc.day, lúc.hour) == (6, 3)  # Vietnam's time


def test_a_large_export_is_written_row_by_row(tmp_path):
    path = tmp_path / "big.xlsx"
    written = write_xlsx(str(path), ["n"], ((n,) for n in range(50_000)))
    assert written == 50_000
    assert pl.read_excel(path)["n"].sum() == sum(range(50_000))


def test_counting_stops_at_the_cap_unless_every_row_is_asked_for(monkeypatch):
    from sqlalchemy import Column as SqlColumn, Integer, MetaData, Table, create_engine, insert, select
    from sqlalchemy.orm import Session

    from ansinh.web import lists

    monkeypatch.setattr(lists, "COUNT_CAP", 10)
    table = Table("numbers", MetaData(), SqlColumn("n", Integer, primary_key=True))
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table), [{"n": n} for n in range(1, 26)])
    with Session(engine) as session:
        columns = (Column("n", "N", table.c.n),)
        stmt = select(table.c.n)

        first = read_listing(_request("size=25"), columns, default_sort="n")
        first.size = 4
        rows = lists.fetch_page(session, stmt, first)
        assert [r.n for r in rows] == [1, 2, 3, 4]
        assert (first.total, first.exact, first.has_next, first.last) == (10, False, True, 4)

        deep = read_listing(_request("page=7"), columns, default_sort="n")
        deep.size = 4
        assert [r.n for r in lists.fetch_page(session, stmt, deep)] == [25] and not deep.has_next

        everything = read_listing(_request("count=all"), columns, default_sort="n")
        everything.size = 4
        lists.fetch_page(session, stmt, everything)
        assert (everything.total, everything.exact, everything.pages) == (25, True, 7)
        assert "count=all" in everything.query(page=2)

        few = read_listing(_request(""), columns, default_sort="n", filters={"q": "x"})
        few.size = 4
        assert len(lists.fetch_page(session, stmt.where(table.c.n <= 6), few)) == 4
        assert (few.total, few.exact, few.pages, few.has_next) == (6, True, 2, True)
