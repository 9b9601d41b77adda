"""The working calendar and the legal clock: weekends, public holidays and the lunar new year are not counted."""

from datetime import date

import pytest

from ansinh.benefits import calendar


def test_weekends_and_holidays_are_not_working_days():
    assert calendar.is_working_day(date(2026, 12, 4))  # a Friday
    assert not calendar.is_working_day(date(2026, 12, 5))  # Saturday
    assert not calendar.is_working_day(date(2026, 9, 2))  # National Day
    assert not calendar.is_working_day(date(2026, 2, 17))  # the lunar new year (Tết Bính Ngọ)
    assert calendar.holiday_name(date(2026, 2, 17)) == "Lunar New Year"


def test_seven_working_days_across_the_lunar_new_year_2026():
    # Complete on Thursday 2026-02-12. Working days after it: Fri 13; then the Tết holiday runs Mon 16 - Fri 20 and
    # the weekends: Mon 23, Tue 24, Wed 25, Thu 26, Fri 27, Mon 2 March is the 7th.
    assert calendar.add_working_days(date(2026, 2, 12), 7) == date(2026, 3, 2)
    # Without Tết the same count from a week in March ends 9 days later (one weekend).
    assert calendar.add_working_days(date(2026, 3, 12), 7) == date(2026, 3, 23)
    assert calendar.working_days_between(date(2026, 2, 12), date(2026, 3, 2)) == 7


def test_lunar_new_year_2025_moves_a_five_day_deadline():
    # Complete on Friday 2025-01-24; 27 Jan - 1 Feb is Tết 2025: Mon 3, Tue 4, Wed 5, Thu 6, Fri 7 February.
    assert calendar.add_working_days(date(2025, 1, 24), 5) == date(2025, 2, 7)


def test_calendar_day_deadlines_move_off_a_day_off():
    # Pension: 20 days from Friday 2026-08-14 is Thursday 3 September... 2026-09-03 is a working day.
    assert calendar.resolution_deadline("pension", date(2026, 8, 14)) == date(2026, 9, 3)
    # 20 days from 2026-08-13 is 2 September (National Day), then the next working day, Thursday 3 September.
    assert calendar.resolution_deadline("pension", date(2026, 8, 13)) == date(2026, 9, 3)


@pytest.mark.parametrize(("claim_type", "direct", "complete", "deadline"), [
    ("sickness", False, date(2026, 2, 12), date(2026, 3, 2)),  # 7 working days from 2025-07-01: Monday 2 March
    ("maternity", True, date(2026, 2, 12), date(2026, 2, 26)),  # 5 working days, filed directly
    ("sickness", False, date(2025, 6, 2), date(2025, 6, 10)),  # 6 working days under Law 58/2014
    ("unemployment", False, date(2026, 4, 24), date(2026, 5, 6)),  # Hùng Kings (26-27 Apr), 30 Apr, 1 May
])
def test_deadlines_by_type_and_date(claim_type, direct, complete, deadline):
    assert calendar.resolution_deadline(claim_type, complete, direct=direct) == deadline


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 1, 5), -1)
