"""Two payrolls of the same month started at once on PostgreSQL (real commits, two threads): the pensioners are
paid once, the loser gets a clean conflict (or the finished run), and the books reconcile."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel
from ansinh.benefits.payments import service as pay
from ansinh.benefits.payments.models import BenefitPayment, Entitlement
from ansinh.collection import ledger
from ansinh.collection.models import BENEFIT_EXPENSE, BENEFIT_PAYABLE
from ansinh.errors import Conflict
from ansinh.registry import service as registry
from ansinh.registry.models import Sex
from tests.benefits.conftest import citizen_id_for
from tests.benefits.payments.test_payments import ZERO
from tests.live import fresh_postgres

pytestmark = pytest.mark.postgres
PENSIONERS = 40


def test_two_payrolls_at_once_pay_once():
    with fresh_postgres() as database:
        with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
            national = auth_service.create_org_unit(s, code="VSS", name="VSS", level=OrgLevel.national,
                                                    place_code="VN")
            hanoi = auth_service.create_org_unit(s, code="BHXH-01", name="Hà Nội", level=OrgLevel.province,
                                                 place_code="01", parent=national)
            point = pay.add_paying_point(s, code="BD-01", name="Bưu điện", province_2025="01")
            for i in range(PENSIONERS):
                born = date(1955, 1, 1 + i % 28)
                person = registry.create_person(s, registry.PersonData(
                    full_name=f"Hưu trí {i}", date_of_birth=born, sex=Sex.male,
                    citizen_id=citizen_id_for(born, Sex.male, i + 1)), hanoi)
                s.add(Entitlement(claim_type="pension", fund="retirement", person_id=person.id,
                                  payee_person_id=person.id, monthly_amount=4_000_000 + 1_000 * i,
                                  first_month=date(2025, 1, 1), method="cash", paying_point_id=point.id,
                                  org_unit_id=hanoi.id, province_2025="01"))
        barrier = threading.Barrier(2)
        outcomes: list = []

        def run() -> None:
            barrier.wait()
            try:
                with audit_context(channel="job", actor_username="test"):
                    outcomes.append(pay.run_payroll(database, month=date(2026, 1, 1), by="test", province="01",
                                                    chunks=4))
            except Conflict as error:
                outcomes.append(error)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        summaries = [o for o in outcomes if isinstance(o, dict)]
        assert len(outcomes) == 2 and summaries
        assert all(isinstance(o, Conflict) or o["status"] == "completed" for o in outcomes)
        # 40 pensioners: 40 × 4,000,000 + 1,000 × (0 + 1 + … + 39) = 160,780,000
        expected = PENSIONERS * 4_000_000 + 1_000 * PENSIONERS * (PENSIONERS - 1) // 2
        with audit_context(channel="job", actor_username="test"):
            final = pay.run_payroll(database, month=date(2026, 1, 1), by="test", province="01")
        assert (final["payments"], final["total"]) == (PENSIONERS, expected)
        with database.unit_of_work() as s:
            assert s.scalar(select(func.count()).select_from(BenefitPayment)) == PENSIONERS
            assert ledger.balance(s, BENEFIT_EXPENSE) == expected
            assert ledger.balance(s, BENEFIT_PAYABLE) == -expected
            assert pay.reconcile_payments(s, date(2026, 1, 31)) == ZERO
