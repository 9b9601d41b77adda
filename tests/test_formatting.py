"""Numbers, money, dates and times the way each language writes them (Babel), in Vietnam's time."""

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from ansinh import formatting, i18n
from ansinh.errors import ValidationFailed


def test_numbers_and_money_in_both_languages():
    assert formatting.number(2_530_000, "vi") == "2.530.000"
    assert formatting.number(2_530_000, "en") == "2,530,000"
    assert formatting.money(1_234_567, "vi") == "1.234.567\u00a0₫"
    assert formatting.percent(12.5, "vi") == "12,5%"
    assert formatting.percent(12.5, "en") == "12.5%"
    assert formatting.number(None) == "" and formatting.number("BHXH-01") == "BHXH-01"


def test_dates_day_first_in_vietnamese_and_times_in_vietnam():
    assert formatting.day(date(2026, 3, 5), "vi") == "05/03/2026"
    assert formatting.day(date(2026, 3, 5), "en") == "5 Mar 2026"
    assert formatting.month(date(2026, 3, 1), "vi") == "03/2026"
    # 20:30 UTC on the 5th is 03:30 on the 6th in Hà Nội: the day and the hour are Vietnam's.
    evening = datetime(2026, 3, 5, 20, 30, tzinfo=UTC)
    assert formatting.moment(evening, "vi") == "03:30:00 06/03/2026"
    assert formatting.moment(evening.replace(tzinfo=None), "en") == "6 Mar 2026, 03:30:00"  # SQLite's naive UTC
    assert formatting.day(evening, "vi") == "06/03/2026"


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_grouped_numbers_read_back_to_the_same_value(value):
    vi = formatting.number(value, "vi")
    en = formatting.number(value, "en")
    assert int(vi.replace(".", "").replace("\u2212", "-")) == value
    assert int(en.replace(",", "").replace("\u2212", "-")) == value
    assert "," not in vi and "." not in en


def test_message_parameters_follow_the_language():
    error = ValidationFailed("salary", "The salary {salary} is below the floor {floor}.", salary=2_000_000,
                             floor=2_530_000)
    with i18n.use_locale("vi"):
        text = error.translated(lambda message: message)
    assert "2.000.000" in text and "2.530.000" in text and "2,000,000" not in text
    with i18n.use_locale("en"):
        assert "2,000,000" in error.translated(lambda message: message)
    # Years and row numbers are not grouped.
    row = ValidationFailed("year", "Row {row}: year {year}.", row=12, year=2025)
    with i18n.use_locale("vi"):
        assert row.translated(lambda message: message) == "Row 12: year 2025."
