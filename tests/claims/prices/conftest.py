"""Fixtures of the price-list tests: facilities registered through the services, and price lists written as CSV."""

from __future__ import annotations

from datetime import date

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.cards import facilities
from ansinh.claims.prices import service

HEADER = "kind,code,name,unit,price,valid_from,valid_to,tender"


def csv(*rows: str, header: str = HEADER) -> bytes:
    """A price list as CSV: one ``kind,code,name,unit,price,valid_from,valid_to,tender`` line per row."""
    return ("\n".join((header, *rows)) + "\n").encode()


@pytest.fixture
def facility(db, org):
    """Register a facility (default 01001, of Hà Nội) through the services; returns its code."""

    def factory(code: str = "01001", *, unit=None, name: str = "Bệnh viện Đa khoa Hà Đông",
                level: str = "provincial") -> str:
        with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
            office = s.get(OrgUnit, (unit or org.hanoi).id)
            facilities.create_facility(s, facilities.FacilityData(code=code, name=name, level=level), office)
        return code

    return factory


@pytest.fixture
def import_list(db):
    """Import a price list through the service in a unit of work of its own; returns the report."""

    def run(content: bytes, *, facility_code: str = "01001", file_name: str = "bang-gia.csv", principal=None,
            today: date = date(2026, 6, 1)) -> service.PriceImportReport:
        with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
            return service.import_price_list(s, content=content, file_name=file_name, facility_code=facility_code,
                                             principal=principal, actor="test", today=today)

    return run
