"""The employer portal's test world (Hà Nội): Công ty Sao Mai with two workers declared from January 2026 (Lan at
10,000,000 dong, Minh at 8,000,000), billed for January and February 2026, one payment of 2,000,000 dong on
2026-02-10 quoting January's bill, health insurance cards issued on 2026-01-15; another employer, Công ty Khác; the
accounts: Sao Mai's first account (its administrator), its accountant (duty accounting), its declarations clerk,
Khác's account, a citizen and a Hà Nội officer.

By hand: each bill line is the salary times the rates in force in 2026 (employer 21.5%, worker 10.5%: 32% in
all), so a month's bill is 32% × (10,000,000 + 8,000,000) = 5,760,000 dong.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.auth.service import principal_for
from ansinh.collection.billing import run_billing
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex
from tests.collection.arrears_fixtures import tax_code
from tests.conftest import PASSWORD

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
LAN_CID, MINH_CID, HOA_CID = "001190011111", "001092022222", "001195033333"
SAO_MAI, KHAC = tax_code(41), tax_code(42)


@pytest.fixture
def eworld(db, org, make_user):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        sao_mai = registry.create_employer(s, registry.EmployerData(
            tax_code=SAO_MAI, name="Công ty Sao Mai", ownership=Ownership.private, region="I"), hanoi)
        khac = registry.create_employer(s, registry.EmployerData(
            tax_code=KHAC, name="Công ty Khác", ownership=Ownership.private, region="I"), hanoi)

        def person(name, born, sex, cid):
            return registry.create_person(s, registry.PersonData(full_name=name, date_of_birth=born, sex=sex,
                                                                 citizen_id=cid), hanoi)

        lan = person("Nguyễn Thị Lan", date(1990, 3, 4), Sex.female, LAN_CID)
        minh = person("Trần Văn Minh", date(1992, 8, 9), Sex.male, MINH_CID)
        hoa = person("Lê Thị Hoa", date(1995, 1, 2), Sex.female, HOA_CID)
        for who, salary in ((lan, 10_000_000), (minh, 8_000_000)):
            participation.apply_declaration(s, employer=sao_mai, person=who, kind="join", effective_month=JAN,
                                            insured_salary=salary, submitted_by="test-fixture",
                                            today=date(2026, 1, 10))
        from ansinh.cards import service as cards

        cards.issue_cards(s, on=date(2026, 1, 15), person_ids=[lan.id, minh.id])
        ids = SimpleNamespace(sao_mai=sao_mai.id, khac=khac.id, lan=lan.id, minh=minh.id, hoa=hoa.id)
    with audit_context(channel="job", actor_username="test"):
        run_billing(db, period=JAN, province=None, actor="test", today=date(2026, 1, 20))
        run_billing(db, period=FEB, province=None, actor="test", today=date(2026, 2, 20))
    from ansinh.collection import payments
    from ansinh.collection.models import Bill
    from sqlalchemy import select

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        bills = {b.period: b for b in s.scalars(select(Bill).where(Bill.payer_key == f"E:{ids.sao_mai}"))}
        ids.jan_bill, ids.feb_bill = bills[JAN].id, bills[FEB].id
        ids.jan_reference = bills[JAN].reference
        payments.record_payment(s, bank_transaction_id="VCB-SM-1", paid_on=date(2026, 2, 10), amount=2_000_000,
                                reference_text=f"BHXH {bills[JAN].reference}", on=date(2026, 2, 10))
    admin = make_user("saomai.admin", org.hanoi, Role.employer, subject_ref=SAO_MAI)
    ids.admin = admin.id
    make_user("khac.admin", org.hanoi, Role.employer, subject_ref=KHAC)
    make_user("an", org.hanoi, Role.citizen, subject_ref=LAN_CID)
    make_user("hn.officer", org.hanoi, Role.provincial_officer)
    make_user("sl.officer", org.sonla, Role.provincial_officer)
    from ansinh.portal.employer import service

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        account = service.employer_account(s, principal_for(s.get(User, admin.id)))
        ids.accountant = service.add_employer_user(
            s, account, username="saomai.ketoan", full_name="Phạm Thu Kế", password=PASSWORD, duty="accounting").id
        ids.clerk = service.add_employer_user(
            s, account, username="saomai.nhansu", full_name="Đỗ Văn Sự", password=PASSWORD, duty="declarations").id
    return ids
