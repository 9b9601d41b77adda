"""The contribution record as a pure function of the coverage rows: months counted once, the split at 2014, the
salary of a month, averages, the revaluation; the set-based figures equal the one-person figures."""

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.benefits import records
from ansinh.benefits.records import ROW_SCHEMA, compute, months_table, summarise, summarise_rows

ONE_DATABASE = True


def rows(*periods):
    """(scheme, from, to, salary, employer) → coverage rows of person 1."""
    return pl.DataFrame([{"person_id": 1, "scheme": s, "valid_from": f, "valid_to": t, "insured_salary": salary,
                          "employer_id": e} for s, f, t, salary, e in periods], schema=ROW_SCHEMA)


HISTORY = rows(
    ("si_compulsory", date(2012, 7, 1), date(2014, 1, 1), 5_000_000, 10),
    ("ui", date(2012, 7, 1), date(2014, 1, 1), 5_000_000, 10),
    ("si_compulsory", date(2013, 6, 1), date(2013, 8, 1), 1_000_000, 12),  # a second job in June and July 2013
    ("si_compulsory", date(2014, 1, 1), date(2016, 1, 1), 6_000_000, 11),
    ("si_voluntary", date(2020, 1, 1), None, 3_000_000, None),  # open: runs to the record's day
)


def test_months_are_counted_once_and_split_at_2014():
    record = compute(HISTORY, date(2021, 1, 1))
    # July 2012 - December 2013: 18 months (June and July 2013 once); 2014-2015: 24; 2020: 12 voluntary.
    assert (record.si_months, record.months_before_2014, record.months_from_2014) == (54, 18, 36)
    assert (record.compulsory_months, record.ui_months) == (42, 18)
    assert (record.first_month, record.last_month) == (date(2012, 7, 1), date(2020, 12, 1))
    assert record.months_without_contributions(date(2021, 1, 1)) == 0
    assert record.months_without_contributions(date(2022, 1, 15)) == 12  # January - December 2021


def test_salaries_of_a_month_and_averages():
    record = compute(HISTORY, date(2021, 1, 1))
    assert record.salary_of_month_before(date(2013, 7, 5)) == 6_000_000  # June 2013: 5,000,000 + 1,000,000
    assert record.employer_of_month(date(2013, 7, 1)) == 10  # the higher salary's employer
    assert record.salary_of_month_before(date(2016, 2, 1)) is None  # January 2016: not contributing
    # The last 6 compulsory months before January 2016: 6,000,000 each.
    assert record.average_of_last(6, before=date(2016, 1, 1)) == 6_000_000
    # Before August 2013: Feb - May 2013 at 5M, June - July 2013 at 6M -> (20M + 12M) / 6 = 5,333,333.33 -> 5,333,333.
    assert record.average_of_last(6, before=date(2013, 8, 1)) == 5_333_333
    assert record.ui_months_in(24, through=date(2013, 12, 31)) == 18
    assert record.compulsory_months_in(12, before=date(2014, 7, 1)) == 12


def test_average_revalued_by_the_table_of_the_benefit_date():
    record = compute(HISTORY, date(2021, 1, 1))
    # 2025 table: 2012: 6 x 5M x 1.49 = 44.7M; 2013: 10 x 5M x 1.41 = 70.5M and 2 x 6M x 1.41 = 16.92M;
    # 2014: 12 x 6M x 1.37 = 98.64M; 2015: 12 x 6M x 1.36 = 97.92M; 2020: 12 x 3M x 1.16 = 41.76M.
    # 370.44M / 54 = 6,860,000.
    assert record.average_salary_revalued(date(2025, 7, 1)) == 6_860_000
    assert record.summary(date(2025, 7, 1))["average_salary_revalued"] == 6_860_000


def test_the_record_stops_before_the_month_of_its_day():
    record = compute(HISTORY, date(2020, 7, 15))
    assert record.si_months == 42 + 6  # voluntary January - June 2020
    assert compute(HISTORY.head(0), date(2020, 1, 1)).si_months == 0


def test_history_in_runs():
    runs = compute(HISTORY, date(2021, 1, 1)).history()
    assert [(r["from"], r["to"], r["months"]) for r in runs][-2:] == [("2014-01-01", "2015-12-01", 24),
                                                                     ("2020-01-01", "2020-12-01", 12)]


periods = st.lists(st.tuples(
    st.integers(1, 4),  # person
    st.sampled_from(["si_compulsory", "si_voluntary", "ui"]),
    st.integers(1995 * 12, 2026 * 12),  # start month
    st.one_of(st.none(), st.integers(1, 150)),  # months, or open
    st.integers(1, 60_000_000),
), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(periods=periods, until=st.dates(date(2024, 1, 1), date(2027, 12, 31)))  # the revaluation tables entered
def test_the_set_based_figures_equal_each_persons(periods, until):
    frame = pl.DataFrame([{"person_id": person, "scheme": scheme, "valid_from": records.month_of(start),
                           "valid_to": None if length is None else records.month_of(start + length),
                           "insured_salary": salary, "employer_id": None}
                          for person, scheme, start, length, salary in periods], schema=ROW_SCHEMA)
    people = sorted(set(frame["person_id"]))
    on = pl.DataFrame({"person_id": people, "on": [until] * len(people)})
    together = summarise(months_table(frame, until, with_employer=False), on).sort("person_id")
    from_rows = summarise_rows(frame, on).sort("person_id")
    assert from_rows.drop("last").to_dicts() == together.drop("last").to_dicts()  # periods or months: the same
    for row in together.iter_rows(named=True):
        alone = compute(frame, until, row["person_id"])
        assert row["si_months"] == alone.si_months
        assert (row["months_before_2014"], row["months_from_2014"]) == (alone.months_before_2014,
                                                                         alone.months_from_2014)
        assert row["first_month"] == alone.first_month and row["last_month"] == alone.last_month
        assert row["average_salary"] == alone.average_salary_revalued(until)
