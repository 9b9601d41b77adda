"""Bulk reads: a select into a frame, the same on SQLite (rows) and PostgreSQL (COPY ... TO STDOUT read by Polars)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import polars as pl
import pytest
from sqlalchemy import BigInteger, Boolean, Column, Date, Enum, MetaData, String, Table, select

from ansinh.bulk import bulk_insert, read_frame
from ansinh.cards.models import CardStatus
from ansinh.db import UtcDateTime

SCHEMA = {"id": pl.Int64, "label": pl.String, "flag": pl.Boolean, "day": pl.Date, "moment": pl.Datetime("us"),
          "status": pl.String}
TEXTS = ["", None, 'a, "quoted"\nsecond line', "Nguyễn Văn A", "plain"]


@pytest.fixture
def sample(session) -> Table:
    table = Table("bulk_read_sample", MetaData(), Column("id", BigInteger, primary_key=True),
                  Column("label", String(100)), Column("flag", Boolean), Column("day", Date),
                  Column("moment", UtcDateTime()), Column("status", Enum(CardStatus, native_enum=False, length=12)))
    table.create(session.connection())
    bulk_insert(session, table, pl.DataFrame({
        "id": [5, 4, 3, 2, 1], "label": TEXTS, "flag": [True, False, None, True, False],
        "day": [date(2026, 3, 1), None, date(1950, 12, 31), date(2026, 3, 2), date(2000, 2, 29)],
        "moment": [datetime(2026, 3, 1, 17, 30, 0, 123456), None, datetime(1999, 12, 31, 23, 59, 59),
                   datetime(2026, 3, 2), datetime(2026, 1, 1, 0, 0, 1)],
        "status": ["active", "suspended", None, "active", "active"]},
        schema={**SCHEMA, "moment": pl.Datetime("us", "UTC")}))
    return table


def test_read_frame_gives_the_rows_in_the_statements_order_with_their_types(session, sample):
    frame = read_frame(session, select(*sample.columns).order_by(sample.c.id), SCHEMA)
    assert frame.schema == pl.Schema(SCHEMA)
    assert frame["id"].to_list() == [1, 2, 3, 4, 5]
    assert frame["label"].to_list() == list(reversed(TEXTS))  # "" stays "", null stays null
    assert frame["flag"].to_list() == [False, True, None, False, True]
    assert frame["day"].to_list() == [date(2000, 2, 29), date(2026, 3, 2), date(1950, 12, 31), None,
                                      date(2026, 3, 1)]
    assert frame["moment"].to_list() == [datetime(2026, 1, 1, 0, 0, 1), datetime(2026, 3, 2),
                                         datetime(1999, 12, 31, 23, 59, 59), None,
                                         datetime(2026, 3, 1, 17, 30, 0, 123456)]  # UTC, to the microsecond
    assert frame["status"].to_list() == ["active", "active", None, "suspended", "active"]  # the stored text


def test_read_frame_keeps_a_time_zone_asked_for_and_the_statements_conditions(session, sample):
    zone = "Asia/Ho_Chi_Minh"
    frame = read_frame(session, select(sample.c.id, sample.c.moment).where(sample.c.flag.is_(True))
                       .order_by(sample.c.id.desc()), {"id": pl.Int64, "moment": pl.Datetime("us", zone)})
    assert frame["id"].to_list() == [5, 2]
    assert frame["moment"].dtype == pl.Datetime("us", zone)
    assert frame["moment"].dt.replace_time_zone(None).to_list() == [datetime(2026, 3, 2, 0, 30, 0, 123456),
                                                                    datetime(2026, 3, 2, 7)]
    assert frame["moment"].dt.convert_time_zone("UTC").to_list()[1] == datetime(2026, 3, 2, tzinfo=timezone.utc)


def test_read_frame_of_no_rows_is_an_empty_frame_of_the_schema(session, sample):
    frame = read_frame(session, select(*sample.columns).where(sample.c.id > 99), SCHEMA)
    assert frame.height == 0 and frame.schema == pl.Schema(SCHEMA)


def test_read_frame_refuses_a_schema_not_matching_the_columns(session, sample):
    with pytest.raises(ValueError, match="2 columns selected, 1 in the schema"):
        read_frame(session, select(sample.c.id, sample.c.label), {"id": pl.Int64})
