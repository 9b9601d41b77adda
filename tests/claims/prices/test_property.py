"""For any sequence of imported price lists, the price on any day is that of the latest list whose item covers the
day — unless a later list's item for the same code, overlapping it, began on or before the day (a later list replaces
an older price from its own first day for good). Checked through ``price_on`` and ``prices_for`` alike, with the
invariant that at most one price of an item is in force on any day."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansinh.auth.models import OrgUnit
from ansinh.cards import facilities
from ansinh.claims.prices import service
from tests.claims.prices.conftest import csv

START = date(2026, 1, 1)
DAYS = [START + timedelta(days=n) for n in range(-5, 150)]
KEYS = (("service", "02.1896"), ("drug", "40.17"))

item = st.tuples(st.sampled_from(range(len(KEYS))), st.integers(0, 120), st.none() | st.integers(0, 60),
                 st.integers(1, 999_999))
price_lists = st.lists(st.lists(item, min_size=1, max_size=4), min_size=1, max_size=5)


def _disjoint(items):
    """The items of one list, without those overlapping an earlier one of the same key (a file may not)."""
    kept = []
    for key, offset, length, price in items:
        start = START + timedelta(days=offset)
        end = None if length is None else start + timedelta(days=length)
        if any(k == key and s <= (end or date.max) and start <= (e or date.max) for k, s, e, _ in kept):
            continue
        kept.append((key, start, end, price))
    return kept


def _expected(lists, key, day):
    """The rule, read literally: the latest list whose item covers the day, unless a later list's item began on or
    before the day and reaches back to the first day of that item."""
    covering = [(index, s, e, p) for index, items in enumerate(lists) for k, s, e, p in items
                if k == key and s <= day and (e is None or day <= e)]
    if not covering:
        return None
    index, start, _, price = max(covering, key=lambda found: found[0])
    replaced = any(k == key and s <= day and (e is None or e >= start)
                   for later in lists[index + 1:] for k, s, e, _ in later)
    return None if replaced else price


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(generated=price_lists)
def test_the_price_on_a_day_is_the_latest_lists(session, org, generated):
    lists, files = [], set()
    nested = session.begin_nested()
    try:
        facilities.create_facility(session, facilities.FacilityData(code="01001", name="Bệnh viện Đa khoa Hà Đông",
                                                                    level="provincial"),
                                   session.get(OrgUnit, org.hanoi.id))
        for number, items in enumerate(_disjoint(items) for items in generated):
            content = csv(*[f"{KEYS[k][0]},{KEYS[k][1]},Mục {KEYS[k][1]},lần,{p},{s.isoformat()},"
                            f"{e.isoformat() if e else ''}," for k, s, e, p in items])
            report = service.import_price_list(session, content=content, file_name=f"list-{number}.csv",
                                               facility_code="01001", actor="hypothesis", today=START)
            assert report.status in ("applied", "unchanged"), report.to_json()
            if content in files:  # the same file again is no new list: it changes nothing
                assert report.status == "unchanged" and report.same_file_as is not None
                continue
            files.add(content)
            lists.append(items)
        frame = service.prices_for(session, ["01001"], DAYS[0], DAYS[-1])
        for key_index, (kind, code) in enumerate(KEYS):
            periods = frame.filter((pl.col("kind") == kind) & (pl.col("code") == code)).sort("valid_from")
            for day in DAYS:
                expected = _expected(lists, key_index, day)
                found = periods.filter((pl.col("valid_from") <= day) & (
                    pl.col("in_force_until").is_null() | (pl.col("in_force_until") >= day)))
                assert found.height <= 1, (day, found)
                assert (found["price"][0] if found.height else None) == expected, (kind, day, lists)
            for day in DAYS[::7]:
                item_on = service.price_on(session, "01001", kind, code, day)
                assert (item_on.price if item_on else None) == _expected(lists, key_index, day), (kind, day)
    finally:
        nested.rollback()
        session.expire_all()  # ids are reused after the rollback: no object of this example may answer for the next
