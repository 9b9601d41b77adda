from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansinh.errors import ValidationFailed
from ansinh.targets.periods import parse_period


@pytest.mark.parametrize(("text", "start", "end", "label", "last"), [
    ("2026-11", date(2026, 11, 1), date(2026, 11, 30), "2026-11", "2025-11"),
    ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), "2026-Q3", "2025-Q3"),
    ("2026-q1", date(2026, 1, 1), date(2026, 3, 31), "2026-Q1", "2025-Q1"),
    ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026", "2025"),
    ("2026-YTD", date(2026, 1, 1), date(2026, 11, 15), "2026-YTD@2026-11-15", "2025-YTD@2025-11-15"),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "2024-02", "2023-02"),
])
def test_periods_from_their_text(text, start, end, label, last):
    period = parse_period(text, on=date(2026, 11, 15))
    assert (period.start, period.end, period.label, period.last_year().label) == (start, end, label, last)
    assert parse_period(period.label, on=date(2026, 11, 15)) == period  # a label reads back as the same period


def test_a_year_to_date_of_an_earlier_year_runs_to_its_end_and_29_february_goes_back_to_28():
    assert parse_period("2025-YTD", on=date(2026, 11, 15)).end == date(2025, 12, 31)
    assert parse_period("2024-YTD@2024-02-29").last_year().end == date(2023, 2, 28)


@pytest.mark.parametrize("text", ["", "2026-13", "2026-Q5", "26-Q1", "2026-YTD@2025-01-01", "1999", "2026-00"])
def test_bad_periods_are_refused_naming_the_field(text):
    with pytest.raises(ValidationFailed) as excinfo:
        parse_period(text, on=date(2026, 11, 15))
    assert excinfo.value.field == "period"


@given(st.integers(2001, 2099), st.integers(1, 12))
def test_the_months_of_a_quarter_and_a_year_tile_it(year, month):
    period = parse_period(f"{year}-Q{(month - 1) // 3 + 1}")
    months = period.months()
    assert len(months) == 3 and months[0].start == period.start and months[-1].end == period.end
    assert sum(m.days for m in parse_period(str(year)).months()) == parse_period(str(year)).days
