"""Invariants of the late-payment interest (hypothesis), checked against a slow day-by-day oracle."""

from datetime import date, timedelta
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.errors import ValidationFailed
from ansinh.rules.late_interest import LateInterestInput, late_interest_columns, late_interest_single
from ansinh.rules.money import round_half_up
from ansinh.rules.parameters import get_parameters

P = get_parameters()
NEW_RULE = P["late_payment.daily_rate"].first_date
dues = st.dates(min_value=date(2015, 12, 31), max_value=date(2027, 12, 31))
delays = st.integers(min_value=0, max_value=900)
amounts = st.integers(min_value=1, max_value=10**12)
funds = st.sampled_from(["si", "ui", "hi"])


def compute(amount, due, paid, fund="si"):
    return late_interest_single(LateInterestInput(amount=amount, due=due, paid=paid, fund=fund), P)


def oracle(amount, due, paid, fund):
    """Day by day, each day priced by the parameters in force on it (exact fractions)."""
    days_late = (paid - due).days
    old = new = Fraction(0)
    old_days = new_days = 0
    day = due + timedelta(days=1)
    while day <= paid:
        if day >= NEW_RULE:
            new += amount * P["late_payment.daily_rate"].at(day, fund)
            new_days += 1
        else:
            old_days += 1
            if days_late >= P["late_payment.old_regime_min_days_late"].at(day):
                old += (amount * P["late_payment.old_regime_rate_multiple"].at(day)
                        * P["late_payment.old_regime_reference_rate"].at(day, fund)
                        / P["late_payment.old_regime_days_per_year"].at(day))
        day += timedelta(days=1)
    return {"days_late": days_late, "old_regime_days": old_days, "new_regime_days": new_days,
            "old_regime_interest": round_half_up(old), "new_regime_interest": round_half_up(new),
            "interest": round_half_up(old) + round_half_up(new)}


@settings(max_examples=150, deadline=None)
@given(amounts, dues, delays, funds)
def test_equals_the_day_by_day_oracle(amount, due, delay, fund):
    paid = due + timedelta(days=delay)
    assert compute(amount, due, paid, fund) == oracle(amount, due, paid, fund)


@settings(deadline=None)  # several calls per example; the machine may be busy
@given(amounts, dues, delays, funds)
def test_segments_add_up_and_are_never_negative(amount, due, delay, fund):
    result = compute(amount, due, due + timedelta(days=delay), fund)
    assert result["days_late"] == delay == result["old_regime_days"] + result["new_regime_days"]
    assert result["interest"] == result["old_regime_interest"] + result["new_regime_interest"]
    assert min(result.values()) >= 0


@settings(deadline=None)  # several calls per example; the machine may be busy
@given(amounts, amounts, dues, delays, delays, funds)
def test_monotone_in_amount_and_in_the_payment_date(a, b, due, d1, d2, fund):
    low, high = sorted((a, b))
    early, late = sorted((d1, d2))
    assert compute(low, due, due + timedelta(days=late), fund)["interest"] <= \
        compute(high, due, due + timedelta(days=late), fund)["interest"]
    assert compute(high, due, due + timedelta(days=early), fund)["interest"] <= \
        compute(high, due, due + timedelta(days=late), fund)["interest"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(amounts, dues, delays, funds), min_size=1, max_size=40))
def test_a_batch_gives_the_same_answers_as_single_cases(rows):
    frame = pl.DataFrame({"amount": [r[0] for r in rows], "due": [r[1] for r in rows],
                          "paid": [r[1] + timedelta(days=r[2]) for r in rows], "fund": [r[3] for r in rows]})
    batch = late_interest_columns(frame, P)
    for row, (amount, due, delay, fund) in zip(batch.iter_rows(named=True), rows):
        assert row == compute(amount, due, due + timedelta(days=delay), fund)


def test_a_bad_row_in_a_batch_names_its_field():
    frame = pl.DataFrame({"amount": [1_000, 1_000], "due": [date(2025, 8, 31), date(2025, 8, 31)],
                          "paid": [date(2025, 9, 1), date(2025, 8, 1)], "fund": ["si", "si"]})
    with pytest.raises(ValidationFailed) as excinfo:
        late_interest_columns(frame, P)
    assert excinfo.value.field == "paid"
    frame = frame.with_columns(paid=pl.Series([date(2025, 9, 1)] * 2), fund=pl.Series(["si", "xx"]))
    with pytest.raises(ValidationFailed) as excinfo:
        late_interest_columns(frame, P)
    assert excinfo.value.field == "fund"


def test_the_int128_path_rounds_like_the_int64_path():
    from ansinh.rules.late_interest import _amount_times

    work = pl.DataFrame({"amount": [10**12, 7, 10**12], "weight": [9 * 10**11, 5, 3]})
    denominator = 365 * 10**6
    result = _amount_times(work, "weight", denominator).to_list()  # 10^12 × 9×10^11 overflows Int64
    assert result == [round_half_up(Fraction(a * w, denominator)) for a, w in zip(work["amount"], work["weight"])]


def test_a_day_without_an_interest_rule_is_named_the_readers_way():
    """The message names the days as the reader writes them (01/02/1990 in Vietnamese), never ISO."""
    from ansinh import i18n

    with pytest.raises(ValidationFailed) as excinfo:
        compute(1_000_000, date(1990, 1, 31), date(1990, 3, 1))
    error = excinfo.value
    assert error.field == "due" and error.params["date"] == date(1990, 2, 1)
    assert error.message == ("No late-payment interest rule is in force on 1 Feb 1990: the first is from "
                             "1 Jan 2016.")
    with i18n.use_locale("vi"):
        text = error.translated(i18n.gettext)
    assert "01/02/1990" in text and "01/01/2016" in text and "1990-" not in text
