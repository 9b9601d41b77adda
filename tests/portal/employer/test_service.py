"""The employer portal's services, with results computed by hand (see the world in conftest.py)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from ansinh.auth.models import User
from ansinh.auth.service import principal_for
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from ansinh.portal.employer import service
from ansinh.portal.employer.models import Duty, ETransactionRegistration
from ansinh.registry.models import Employer
from tests.conftest import PASSWORD


def _account(s, user_id):
    return service.employer_account(s, principal_for(s.get(User, user_id)))


def test_statement_totals_by_hand(db, eworld):
    """On 2026-03-15: January (5,760,000) paid 2,000,000, due 2026-02-28, so 3,760,000 in arrears for 15 days at
    0.03% a day (late interest of the Social Insurance Law 2024 Art 40, the rules' parameter): 3,760,000 × 0.0003 ×
    15 = 16,920; February (5,760,000) due 2026-03-31, not yet late."""
    with db.unit_of_work() as s:
        data = service.statement(s, s.get(Employer, eworld.sao_mai), on=date(2026, 3, 15))
    feb, jan = data["months"]
    assert (feb["period"], feb["total"], feb["paid"], feb["outstanding"], feb["arrears"], feb["interest"]) == \
        (date(2026, 2, 1), 5_760_000, 0, 5_760_000, 0, 0)
    assert (jan["period"], jan["total"], jan["paid"], jan["outstanding"], jan["arrears"], jan["interest"]) == \
        (date(2026, 1, 1), 5_760_000, 2_000_000, 3_760_000, 3_760_000, 16_920)
    assert data["totals"] == {"total": 11_520_000, "paid": 2_000_000, "written_off": 0, "outstanding": 9_520_000,
                              "arrears": 3_760_000, "interest": 16_920, "interest_paid": 0, "interest_due": 16_920}
    assert data["to_pay"] == 9_520_000 + 16_920 and data["received"] == 2_000_000 and data["unallocated"] == 0


def test_statement_before_anything_is_due(db, eworld):
    with db.unit_of_work() as s:
        data = service.statement(s, s.get(Employer, eworld.sao_mai), on=date(2026, 1, 31))
    assert [m["period"] for m in data["months"]] == [date(2026, 1, 1)]  # February not yet billed on that day
    assert data["totals"]["arrears"] == 0 and data["totals"]["interest"] == 0 and data["to_pay"] == 5_760_000


def test_contribution_notice_per_worker(db, eworld):
    """Lan 10,000,000: employer 21.5% = 2,150,000, worker 10.5% = 1,050,000; Minh 8,000,000: 1,720,000 and
    840,000."""
    with db.unit_of_work() as s:
        account = _account(s, eworld.accountant)
        notice = service.contribution_notice(s, account.principal, account.employer, date(2026, 1, 1))
        with pytest.raises(NotFound):
            service.contribution_notice(s, account.principal, account.employer, date(2025, 12, 1))
    rows = [(w["full_name"], w["insured_salary"], w["employer"], w["employee"], w["total"]) for w in notice["workers"]]
    assert rows == [("Nguyễn Thị Lan", 10_000_000, 2_150_000, 1_050_000, 3_200_000),
                    ("Trần Văn Minh", 8_000_000, 1_720_000, 840_000, 2_560_000)]
    assert notice["totals"] == {"employer": 3_870_000, "employee": 1_890_000, "total": 5_760_000}


def test_registration_is_idempotent_and_dated(db, eworld):
    with db.unit_of_work() as s:
        employer = s.get(Employer, eworld.sao_mai)
        first, new = service.register_e_transactions(s, employer, contact_name="Lê Văn Nam", email="NS@saomai.vn",
                                                     phone="024 3123 4567", on=date(2026, 3, 2), by="saomai.admin")
        again, new_again = service.register_e_transactions(s, employer, contact_name="Ai Khác", email="x@y.vn",
                                                           phone="0912345678", on=date(2026, 3, 9), by="hn.officer")
        assert (new, new_again, again.id) == (True, False, first.id)
        assert (employer.e_transactions, employer.e_transactions_since) == (True, date(2026, 3, 2))
        assert (first.email, first.phone) == ("ns@saomai.vn", "02431234567")
        ended = service.deregister_e_transactions(s, employer, on=date(2026, 4, 1), by="saomai.admin")
        assert ended.ended_on == date(2026, 4, 1)
        assert (employer.e_transactions, employer.e_transactions_since) == (False, None)
        assert service.deregister_e_transactions(s, employer, on=date(2026, 4, 2), by="x") is None
        assert len(s.scalars(select(ETransactionRegistration)).all()) == 1


@pytest.mark.parametrize("field,values", [
    ("contact_name", ("", "a@b.vn", "0912345678")), ("email", ("Nam", "not-an-address", "0912345678")),
    ("phone", ("Nam", "a@b.vn", "12ab"))])
def test_registration_contact_is_checked(db, eworld, field, values):
    with db.unit_of_work() as s:
        with pytest.raises(ValidationFailed) as refused:
            service.register_e_transactions(s, s.get(Employer, eworld.sao_mai), contact_name=values[0],
                                            email=values[1], phone=values[2], on=date(2026, 3, 2), by="x")
    assert refused.value.field == field


def test_duties_limit_what_each_user_does(db, eworld):
    with db.unit_of_work() as s:
        admin, accountant, clerk = (_account(s, i) for i in (eworld.admin, eworld.accountant, eworld.clerk))
        assert (admin.duty, accountant.duty, clerk.duty) == (Duty.administrator, Duty.accounting, Duty.declarations)
        service.ensure_duty(accountant, "accounting")
        service.ensure_duty(clerk, "declarations")
        for account, area in ((accountant, "declarations"), (accountant, "users"), (clerk, "accounting"),
                              (clerk, "registration")):
            with pytest.raises(PermissionDenied):
                service.ensure_duty(account, area)
        with pytest.raises(PermissionDenied):
            service.add_employer_user(s, accountant, username="x.y", full_name="X", password=PASSWORD,
                                      duty="accounting")


def test_users_of_the_employer_added_and_deactivated(db, eworld):
    with db.unit_of_work() as s:
        admin = _account(s, eworld.admin)
        with pytest.raises(ValidationFailed) as weak:
            service.add_employer_user(s, admin, username="saomai.yeu", full_name="Yếu", password="123456",
                                      duty="accounting")
        assert weak.value.field == "password"
        with pytest.raises(ValidationFailed) as bad_duty:
            service.add_employer_user(s, admin, username="saomai.x", full_name="X", password=PASSWORD, duty="boss")
        assert bad_duty.value.field == "duty"
        service.deactivate_employer_user(s, admin, eworld.accountant)
        with pytest.raises(ValidationFailed):
            service.deactivate_employer_user(s, admin, eworld.admin)
        users = {u["username"]: (u["duty"], u["active"]) for u in service.employer_users(s, admin.employer)}
        assert users == {"saomai.admin": ("administrator", True), "saomai.ketoan": ("accounting", False),
                         "saomai.nhansu": ("declarations", True)}
        other = s.scalar(select(User).where(User.username == "khac.admin"))
        with pytest.raises(NotFound):
            service.deactivate_employer_user(s, admin, other.id)
        with pytest.raises(PermissionDenied):  # a deactivated account acts no more
            _account(s, eworld.accountant)


def test_officers_and_citizens_are_not_employer_accounts(db, eworld):
    with db.unit_of_work() as s:
        for username in ("hn.officer", "an"):
            with pytest.raises(PermissionDenied):
                service.employer_account(s, principal_for(s.scalar(select(User).where(User.username == username))))


def test_bill_of_another_employer_is_not_found(db, eworld):
    with db.unit_of_work() as s:
        with pytest.raises(NotFound):
            service.employer_bill(s, s.get(Employer, eworld.khac), eworld.jan_bill)
        view = service.bill_view(s, service.employer_bill(s, s.get(Employer, eworld.sao_mai), eworld.jan_bill),
                                 on=date(2026, 3, 15))
        assert (view["total"], view["paid"], view["outstanding"], view["overdue"]) == \
            (5_760_000, 2_000_000, 3_760_000, True)
        assert view["payment"]["amount"] == 3_760_000 and eworld.jan_reference in view["payment"]["payload"]
        assert service.bill_pdf(s.get(Employer, eworld.sao_mai), view).startswith(b"%PDF")


def test_workers_with_cards_and_payments(db, eworld):
    with db.unit_of_work() as s:
        account = _account(s, eworld.clerk)
        rows, total = service.workers_with_cards(s, account.principal, account.employer, on=date(2026, 3, 15))
        history = service.payment_history(s, account.employer)
    assert total == 2 and [(r["full_name"], r["insured_salary"], bool(r["card"])) for r in rows] == [
        ("Nguyễn Thị Lan", 10_000_000, True), ("Trần Văn Minh", 8_000_000, True)]
    assert [(p["amount"], p["principal"], p["bills"]) for p in history] == [(2_000_000, 2_000_000,
                                                                             [eworld.jan_reference])]
