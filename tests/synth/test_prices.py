"""The demo's price lists: Vietnamese items with prices in dong, imported through the service, three lists a facility
so that the history shows (repricing in mid-2025 and in 2026), the same for a seed whatever the day."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import func, select

from ansinh.auth.models import OrgUnit
from ansinh.claims.prices import service
from ansinh.claims.prices.models import PriceItem, PriceList
from ansinh.synth.facilities import load_facilities
from ansinh.synth.prices import demo_price_lists, load_demo_prices, priced_facilities


def test_the_demo_prices_some_facilities_of_a_province_and_their_history_shows(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    created = load_facilities(session, seed=3, province_code="01", org_unit=hanoi, count=40,
                              today=date(2026, 6, 1), required_codes=["01901"])
    codes = priced_facilities(created, ["01901"])
    assert "01001" in codes and "01901" in codes  # the provincial hospital, the facility user's own
    result = load_demo_prices(session, seed=3, facilities=created, required_codes=["01901"])
    assert result["price_lists"] >= 2 * len(codes) and result["prices"] > 20 * len(codes)
    assert session.scalar(select(func.count(func.distinct(PriceList.facility_code)))) == len(codes)
    exam = [service.price_on(session, "01001", "service", "02.1896", day).price
            for day in (date(2025, 3, 1), date(2025, 9, 1), date(2026, 3, 1))]
    assert exam[0] == exam[1] < exam[2]  # the services are repriced in 2026
    beds = [service.price_on(session, "01001", "bed", "K03.1917", day).price for day in (date(2025, 3, 1),
                                                                                       date(2025, 9, 1))]
    assert beds[0] < beds[1]  # the bed days in mid-2025
    names = set(session.scalars(select(PriceItem.name).where(PriceItem.facility_code == "01001")))
    assert {"Khám Nội", "Ngày giường bệnh Nội khoa loại 1", "Paracetamol 500mg"} <= names
    frame = service.prices_for(session, codes, date(2025, 1, 1), date(2026, 12, 31))
    assert frame.filter(pl.col("in_force_until").is_not_null()).height > 0  # superseded prices are in the history


def test_the_demo_price_lists_are_the_same_for_a_seed(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    facility = load_facilities(session, seed=5, province_code="01", org_unit=hanoi, count=1,
                               today=date(2030, 1, 1))[0]
    assert demo_price_lists(5, facility) == demo_price_lists(5, facility)
    assert demo_price_lists(5, facility) != demo_price_lists(6, facility)
