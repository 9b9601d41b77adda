"""The columns path of many lump sums (``lump_sums_from_rows``: set-based records, then ``assess_lump_sums``) gives
the single claim's answer, on generated records, grounds, dates and people."""

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.benefits import records
from ansinh.benefits.eligibility import Insured, assess_record, lump_sums_from_rows
from ansinh.benefits.models import ClaimType
from ansinh.benefits.records import ROW_SCHEMA
from ansinh.rules.lump_sum_eligibility import GROUND_CODES

ONE_DATABASE = True

person = st.fixed_dictionaries({
    "periods": st.lists(st.tuples(st.sampled_from(["si_compulsory", "si_voluntary", "ui"]),
                                  st.integers(2000 * 12, 2026 * 12), st.one_of(st.none(), st.integers(1, 300)),
                                  st.integers(1_000_000, 40_000_000)), max_size=4),
    "ground": st.sampled_from(GROUND_CODES),
    "on": st.dates(date(2024, 1, 1), date(2027, 12, 31)),  # the revaluation tables entered (2024 on)
    "sex": st.sampled_from(["male", "female"]),
    "born": st.dates(date(1955, 1, 1), date(2000, 12, 31)),
    "incapacity": st.integers(0, 100),
})


@settings(max_examples=40, deadline=None)
@given(people=st.lists(person, min_size=1, max_size=6))
def test_the_columns_give_the_single_claims_answers(people):
    rows = pl.DataFrame([{"person_id": i, "scheme": scheme, "valid_from": records.month_of(start),
                          "valid_to": None if length is None else records.month_of(start + length),
                          "insured_salary": salary, "employer_id": None}
                         for i, p in enumerate(people, 1) for scheme, start, length, salary in p["periods"]],
                        schema=ROW_SCHEMA)
    claims = pl.DataFrame({"person_id": list(range(1, len(people) + 1)), "ground": [p["ground"] for p in people],
                           "on": [p["on"] for p in people], "sex": [p["sex"] for p in people],
                           "date_of_birth": [p["born"] for p in people],
                           "incapacity_percent": [p["incapacity"] for p in people]})
    together = lump_sums_from_rows(rows, claims).sort("person_id")
    for i, (p, row) in enumerate(zip(people, together.iter_rows(named=True)), 1):
        alone = assess_record(ClaimType.lump_sum, Insured(i, p["sex"], p["born"]), rows,
                              details={"incapacity_percent": p["incapacity"]}, filed_on=p["on"], ground=p["ground"],
                              on=p["on"])
        assert row["eligible"] == alone.eligible, (p, row, alone)
        assert row["amount"] == alone.amount
        assert row["reason"] == ("" if alone.eligible else alone.reasons[0].code)
        assert row["average_salary"] == alone.record["average_salary_revalued"]
