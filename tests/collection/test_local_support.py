"""Provincial support on voluntary SI and household HI bills (issue 16): the province and the group of each payer
go through billing to the rules, on the month billed. Runs on SQLite and PostgreSQL (the ``db`` fixture)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.collection import billing
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Sex
from ansinh.rules.parameters import ParameterSet, get_parameters, parse_parameter
from tests.collection.test_billing import bill, lines_of, run

DEC_2022, JAN_2023, JAN_2026 = date(2022, 12, 1), date(2023, 1, 1), date(2026, 1, 1)


def _person(s, unit: OrgUnit, name: str, day: int):
    return registry.create_person(s, registry.PersonData(full_name=name, date_of_birth=date(1985, 3, day),
                                                         sex=Sex.female), unit)


@pytest.fixture
def voluntary(db, org):
    """Two ethnic-minority voluntary participants paying monthly on the floor from December 2022: one in Sơn La
    (14), one in Hà Nội (01); and a Sơn La participant of no supported group."""
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        sonla, hanoi = s.get(OrgUnit, org.sonla.id), s.get(OrgUnit, org.hanoi.id)
        people = {"sonla": _person(s, sonla, "Lò Thị Mai", 1), "hanoi": _person(s, hanoi, "Hà Thị Lan", 2),
                  "sonla_other": _person(s, sonla, "Nguyễn Văn Bình", 3)}
        for key, person in people.items():
            participation.enrol_voluntary(
                s, person=person, income=1_500_000, months=1, start=DEC_2022, today=DEC_2022,
                group="other" if key == "sonla_other" else "ethnic_minority",
                org_unit=sonla if key.startswith("sonla") else hanoi)
        return {key: person.id for key, person in people.items()}


def test_son_la_support_is_on_a_2023_voluntary_bill_and_not_on_a_2022_one(db, voluntary):
    run(db, DEC_2022)
    run(db, JAN_2023)
    sonla, hanoi, other = (f"P:{voluntary[k]}" for k in ("sonla", "hanoi", "sonla_other"))
    # Decree 07/2021: rural poverty line 1,500,000 → support base 22% × 1,500,000 = 330,000 = the contribution on the
    # floor. Decree 134/2015 Art 14(1): State 10% (no ethnic-minority group before 2025-07-01) = 33,000.
    # December 2022, before Resolution 49/2022/NQ-HĐND: 330,000 − 33,000 = 297,000 in both provinces.
    assert bill(db, sonla, DEC_2022).total == 297_000
    assert bill(db, hanoi, DEC_2022).total == 297_000
    # January 2023: Sơn La adds 10% × 330,000 = 33,000 → 330,000 − 33,000 − 33,000 = 264,000.
    january = bill(db, sonla, JAN_2023)
    assert january.total == 264_000
    assert [(line.fund, line.amount, line.insured_salary) for line in lines_of(db, january.id)] == [
        ("retirement", 264_000, 1_500_000)]
    # Not in Hà Nội (no resolution recorded), nor for a Sơn La participant outside the four groups.
    assert bill(db, hanoi, JAN_2023).total == 297_000
    assert bill(db, other, JAN_2023).total == 297_000


def _with_household_support(province: str, ratio: str, start: str) -> ParameterSet:
    """The shipped parameters plus a provincial household HI support (no province's resolution is recorded yet)."""
    name = f"health_insurance.household_local_support.{province}"
    document = yaml.safe_load(f"""
description: test - a province pays part of each household member's contribution
metadata: {{unit: ratio, reference: test resolution, verified: false}}
values:
  '{start}': {{value: {ratio}, metadata: {{reference: test resolution}}}}
""")
    extra = parse_parameter(Path(f"{name}.yaml"), name, document)
    return ParameterSet({**{p.name: p for p in get_parameters()}, name: extra})


def test_household_bill_takes_the_province_support_of_its_members(db, org, monkeypatch):
    monkeypatch.setattr(billing, "get_parameters", lambda: _with_household_support("14", "0.3", "2026-01-01"))
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        households = {}
        for key, unit_id, day in (("sonla", org.sonla.id, 10), ("hanoi", org.hanoi.id, 20)):
            unit = s.get(OrgUnit, unit_id)
            head, second = _person(s, unit, f"Chủ hộ {key}", day), _person(s, unit, f"Thành viên {key}", day + 1)
            household = registry.create_household(s, head=head, members=[second], org_unit=unit)
            participation.enrol_household_hi(s, household=household, members=[head, second], start=JAN_2026,
                                             months=12, today=JAN_2026)
            households[key] = household.id
    run(db, JAN_2026)
    # Decree 146/2018 Art 7(1)(e): 4.5% × 2,340,000 = 105,300 a month for the first member, 70% = 73,710 for the
    # second. Sơn La (test figure 30%): 105,300 − 31,590 = 73,710 and 73,710 − 22,113 = 51,597 a month;
    # × 12 months = 12 × 125,307 = 1,503,684. Hà Nội has no support: 12 × 179,010 = 2,148,120.
    sonla = bill(db, f"H:{households['sonla']}", JAN_2026)
    assert sonla.total == 1_503_684
    assert sorted(line.amount for line in lines_of(db, sonla.id)) == [12 * 51_597, 12 * 73_710]
    assert bill(db, f"H:{households['hanoi']}", JAN_2026).total == 2_148_120
