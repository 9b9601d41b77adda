"""Every route that reads or changes a record by id, called by the users who must not see or touch that record.

A small world of records belongs to Hà Nội (province 01): people, a household, employers and their declarations, a
billing run with its bills, a matched payment and one in suspense, an inspection case, a facility with its
contract, health insurance cards, an import batch, users. Four outsiders try every route on them:

- ``sonla`` — a provincial officer of Sơn La (another province);
- ``other_employer`` — the employer user of another Hà Nội employer;
- ``citizen`` — a citizen (another person);
- ``facility`` — the user of a Sơn La hospital with a contract.

Each must be answered 403 or 404, and the database must be exactly as it was (every table but the logs).

The cases are generated from the application: every route whose path takes a record id must have a case in
:data:`CASES` (the test fails naming a new route that has none), and the routes that take a record in their body or
query are listed there too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select, text

from ansinh import clock
from ansinh.api import all_routes
from ansinh.audit.service import audit_context
from ansinh.auth.deps import declared_scopes
from ansinh.auth.models import OrgUnit, Role
from ansinh.auth.permissions import Scope
from ansinh.models import metadata
from tests.conftest import api_token

MONTH = date(2026, 1, 1)
#: Tables that record the requests themselves (refusals, sign-ins, tokens), not records.
LOG_TABLES = {"audit_event", "login_attempt", "login_throttle", "api_token", "user_session", "idempotency_record",
              "alembic_version"}
OUTSIDERS = ("sonla", "other_employer", "citizen", "facility")


def _fhir_claim(w: dict) -> dict:
    """A FHIR Claim of the world's person at its facility (the pre-check: nothing is stored even when allowed)."""
    from tests.claims.test_fhir import claim

    return {"json": claim(w["card_code"], citizen_id=w["person_cid"], born="1990-05-17", day="2026-03-02",
                          facility=w["facility"])}


def _cid(dob: date, sex: str, serial: int, province: str = "001") -> str:
    digit = {1900: 0, 2000: 2}[dob.year // 100 * 100] + (1 if sex == "female" else 0)
    return f"{province}{digit}{dob.year % 100:02d}{serial:06d}"


@dataclass
class World:
    ids: dict
    tokens: dict[str, dict[str, str]]


def _build(db, org) -> dict:
    """The records of Hà Nội, written through the services."""
    from ansinh.auth import service as auth_service
    from ansinh.cards import facilities, service as cards
    from ansinh.collection import inspections, payments
    from ansinh.collection.billing import run_billing
    from ansinh.collection.models import Bill
    from ansinh.participation import service as participation
    from ansinh.registry import service as registry
    from ansinh.registry.imports import import_file
    from ansinh.registry.models import Ownership, Sex
    from tests.collection.arrears_fixtures import tax_code

    ids: dict = {}
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        people = []
        for serial, (name, born, sex) in enumerate([("Nguyễn Văn An", date(1990, 5, 17), Sex.male),
                                                    ("Trần Thị Bình", date(1985, 2, 1), Sex.female),
                                                    ("Lê Văn Cường", date(2001, 12, 31), Sex.male)], 1):
            people.append(registry.create_person(s, registry.PersonData(
                full_name=name, date_of_birth=born, sex=sex, citizen_id=_cid(born, sex.value, serial)), hanoi))
        person, head, member = people
        employer = registry.create_employer(s, registry.EmployerData(
            tax_code=tax_code(11), name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
        other = registry.create_employer(s, registry.EmployerData(
            tax_code=tax_code(23), name="Công ty Khác", ownership=Ownership.private, region="I"), hanoi)
        participation.apply_declaration(s, employer=employer, person=person, kind="join", effective_month=MONTH,
                                        insured_salary=10_000_000, submitted_by="test-fixture",
                                        today=date(2026, 1, 10))
        household = registry.create_household(s, head=head, members=[member], org_unit=hanoi)
        facility = facilities.create_facility(s, facilities.FacilityData(code="01001", name="Bệnh viện Hà Đông",
                                                                         level="provincial"), hanoi)
        in_force_until = clock.today().replace(month=12, day=31)  # in force today, whatever the day
        contract = facilities.sign_contract(s, facility=facility, contract_number="01/2026/HĐ",
                                            valid_from=date(2026, 1, 1), valid_until=in_force_until,
                                            org_unit=hanoi)
        sonla_facility = facilities.create_facility(s, facilities.FacilityData(
            code="14001", name="Bệnh viện Sơn La", level="provincial"), sonla)
        facilities.sign_contract(s, facility=sonla_facility, contract_number="14/2026/HĐ",
                                 valid_from=date(2026, 1, 1), valid_until=in_force_until, org_unit=sonla)
        cards.issue_cards(s, on=date(2026, 1, 15))
        # covered after the cards were issued: issuing again would give the household its cards
        participation.enrol_household_hi(s, household=household, members=[head, member], start=date(2026, 2, 1))
        header = "citizen_id,full_name,date_of_birth,sex,residence_code\n"
        rows = f"{person.citizen_id},{person.full_name},1990-05-17,male,\n"
        batch = import_file(s, kind="population", content=(header + rows).encode(), file_name="population.csv",
                            principal_or_context="test-fixture", org_unit=hanoi, today=date(2026, 1, 10))
        assert batch.status == "applied", batch.to_json()
        officer = auth_service.create_user(s, username="hn.officer", password="a long and uncommon passphrase",
                                           full_name="Cán bộ Hà Nội", org_unit=hanoi,
                                           roles=[Role.provincial_officer])
        employer_user = auth_service.create_user(s, username="hn.employer", password="a long and uncommon passphrase",
                                                 full_name="Kế toán An Bình", org_unit=hanoi, roles=[Role.employer],
                                                 subject_ref=employer.tax_code)
        ids["employer_user"] = employer_user.id
        from ansinh.auth.service import principal_for
        from ansinh.benefits import service as benefits
        from ansinh.benefits.models import EmployerBenefitBatch

        benefit_claim, _ = benefits.file_claim(s, principal_for(officer), claim_type="sickness",
                                               citizen_id=person.citizen_id, filed_on=date(2026, 2, 12),
                                               channel="counter", details={"leave_from": "2026-02-02", "days": 3})
        benefit_batch = EmployerBenefitBatch(employer_id=employer.id, file_name="01b.csv", file_sha256="b" * 64,
                                             submitted_on=date(2026, 2, 12), lines=0, org_unit_id=hanoi.id,
                                             submitted_by="test-fixture", outcomes=[])
        s.add(benefit_batch)
        s.flush()
        ids.update(benefit_claim=benefit_claim.id, benefit_batch=benefit_batch.id)
        from ansinh.notices.service import send_notice
        from ansinh.registry.corrections.models import CorrectionRequest

        notice = send_notice(s, kind="general", key="scope:1", on=date(2026, 2, 12), params={"message": "x"},
                             person_id=person.id, person_ref=person.citizen_id)
        correction = CorrectionRequest(person_id=person.id, person_ref=person.citizen_id,
                                       changes={"phone": "0912345678"}, previous={"phone": None}, status="open",
                                       filed_on=date(2026, 2, 12), filed_by="test-fixture", org_unit_id=hanoi.id,
                                       province_2025=person.province_2025)
        s.add(correction)
        s.flush()
        ids.update(notice=notice.id, correction=correction.id)

        from ansinh.outreach import agents as outreach_agents, sponsors as outreach_sponsors

        agent = outreach_agents.create_agent(s, None, outreach_agents.AgentData(
            code="BD-HN-01", name="Bưu điện Hà Nội", kind="post_office", province="01"))
        sponsor = outreach_sponsors.create_sponsor(s, None, outreach_sponsors.SponsorData(
            name="Quỹ Bảo trợ Hà Nội", kind="organisation", province="01"), actor="test-fixture")
        ids.update(agent=agent.id, sponsor=sponsor.id)
        ids.update(person=person.id, person_cid=person.citizen_id, head=head.id, member=member.id,
                   employer=employer.id, other_employer=other.id, other_employer_tax=other.tax_code,
                   household=household.id, facility="01001", contract=contract.id, batch=batch.batch_id,
                   user=officer.id, org_unit=hanoi.id, employer_tax=employer.tax_code)
    run = run_billing(db, period=MONTH, province="01", actor="test-fixture", today=date(2026, 1, 20))
    ids["run"] = run["run_id"]
    from ansinh.jobs.service import start_job

    with audit_context(channel="job", actor_username="test-fixture"):  # the month billed: a job with nothing left
        ids["job"] = start_job(db, "billing", {"period": "2026-01", "province": "01", "today": "2026-01-20"},
                               actor="test-fixture", broker_url="")
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        bill = s.scalar(select(Bill).where(Bill.payer_key == f"E:{employer.id}", Bill.period == MONTH))
        ids["bill"], ids["payer_key"] = bill.id, bill.payer_key
        matched = payments.record_payment(s, bank_transaction_id="VCB-0001", paid_on=date(2026, 2, 1),
                                          amount=1_000_000, reference_text=f"BHXH {bill.reference}",
                                          on=date(2026, 2, 2))
        suspense = payments.record_payment(s, bank_transaction_id="VCB-0002", paid_on=date(2026, 2, 1),
                                           amount=500_000, reference_text="khong ro", on=date(2026, 2, 2))
        assert (matched.status, suspense.status) == ("matched", "suspense")
        case = inspections.open_case(s, None, employer_id=employer.id, on=date(2026, 3, 1))
        ids.update(payment=matched.id, suspense=suspense.id, case=case.id)
        ids["card"] = cards.card_history(s, person.id)[-1].id
        ids["card_code"] = cards.card_history(s, person.id)[-1].card_code
        from ansinh.claims.budgets.service import set_budget
        from ansinh.claims.prices.service import import_price_list

        prices = import_price_list(s, content=PRICE_LIST, file_name="bang-gia.csv", facility_code="01001",
                                   actor="test-fixture")
        assert prices.status == "applied", prices.to_json()
        set_budget(s, province="01", year=2026, amount=10**12, source="QĐ 1/QĐ-BHXH", valid_from=date(2026, 1, 1),
                   actor="test-fixture")
        from ansinh.claims.intake.service import receive_claim_file
        from ansinh.synth.claims import claim_file

        ids["claim_file_bytes"] = claim_file("01001", 2, seed=1, on=date(2026, 1, 31))
        received = receive_claim_file(s, content=ids["claim_file_bytes"], file_name="hoso.xml", principal=None,
                                      facility_code="01001", today=date(2026, 2, 1))
        assert received.accepted, received.to_json()
        ids["claim_file"] = received.file_id
        from ansinh.claims.appraisal.models import Finding
        from ansinh.claims.models import Claim
        from ansinh.claims.review.service import start_appraisal

        start_appraisal(s, principal=None, facility_code="01001", month=None)
        finding = s.scalar(select(Finding).where(Finding.superseded_at.is_(None)).order_by(Finding.id).limit(1))
        ids["finding"], ids["ma_lk"] = finding.id, s.get(Claim, finding.claim_id).episode_key
        ids["other_claim_file_bytes"] = claim_file("01001", 3, seed=2, on=date(2026, 1, 31))
        from sqlalchemy import update

        from ansinh.claims.models import Claim
        from ansinh.claims.settlement import service as settlement

        s.execute(update(Claim).values(status="appraised"))  # as the appraisal leaves them (tested elsewhere)
        year, month = s.execute(select(Claim.settlement_year, Claim.settlement_month)
                                .order_by(Claim.settlement_year, Claim.settlement_month).limit(1)).one()
        settlement.record_advance(s, principal=None, facility_code="01001", reference="UT-1", paid_on=date(2026, 1, 5),
                                  amount=1_000, period_from=date(year, month, 1))
        ids["settlement"] = settlement.settle_month(s, principal=None, facility_code="01001",
                                                    month=date(year, month, 1), on=date(2026, 3, 1)).settlement.id
        from ansinh.targets.plans import service as plans

        ids["plan_version"] = plans.import_plans(s, content=PLAN, file_name="plan.csv", principal=None,
                                                 actor="test-fixture").versions[0]["id"]
        # benefits: the employer's 01B-HSB list with the person's sick leave, filed as a claim
        from ansinh.benefits.cli import operator_principal
        from ansinh.benefits.employer_batch import submit_employer_batch

        sick_list = (f"line,citizen_id,type,leave_from,days\n1,{person.citizen_id},sickness,2026-01-20,3\n").encode()
        sent = submit_employer_batch(s, operator_principal(s), content=sick_list, file_name="01b.csv",
                                     employer_tax_code=employer.tax_code, on=date(2026, 2, 2))
        assert sent.filed == 1, sent.to_json()
        ids["benefit_batch"], ids["benefit_claim"] = sent.batch_id, sent.outcomes[0]["claim_id"]
        ids["benefit_list"] = sick_list.replace(b"2026-01-20,3", b"2026-01-21,2")
    ids.update(_benefit_payments(db, ids))
    return ids


def _benefit_payments(db, ids: dict) -> dict:
    """A Hà Nội pensioner paid by bank: January paid (then found overpaid), February returned (failed)."""
    from ansinh.auth.models import User
    from ansinh.auth.service import principal_for
    from ansinh.benefits.payments import service as pay
    from ansinh.benefits.payments.models import BenefitPayment

    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        officer = principal_for(s.get(User, ids["user"]))
        account = pay.add_bank_account(s, officer, citizen_id=ids["person_cid"], bank_bin="970436",
                                       account_number="0011000099", holder_name="NGUYEN VAN AN", on=MONTH)
        pay.register_entitlement(s, officer, citizen_id=ids["person_cid"], claim_type="pension",
                                 monthly_amount=5_000_000, first_month=MONTH)
    for month in (MONTH, date(2026, 2, 1)):
        pay.run_payroll(db, month=month, by="test-fixture", province="01")
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        officer = principal_for(s.get(User, ids["user"]))
        file = pay.export_payment_file(s, officer, on=date(2026, 2, 5), bank_bin="970436")
        jan, feb = s.scalars(select(BenefitPayment).order_by(BenefitPayment.month)).all()
        report = pay.import_bank_results(s, officer, file_name="kq.csv", on=date(2026, 2, 6), content=(
            f"reference,status,reason\nBP{jan.id},paid,\nBP{feb.id},returned,other\n").encode())
        assert report.status == "applied", report.to_json()
        over = pay.record_overpayment(s, officer, payment_ids=[jan.id], reason="re-employed", on=date(2026, 2, 7))
        return {"benefit_account": account.id, "payroll_run": s.scalar(select(BenefitPayment.payroll_run_id)),
                "benefit_payment": feb.id, "payment_file": file.id, "overpayment": over.id}


@pytest.fixture
def world(db, org, client, make_user) -> World:
    ids = _build(db, org)
    make_user("sonla", org.sonla, Role.provincial_officer)
    make_user("other_employer", org.hanoi, Role.employer, subject_ref=ids["other_employer_tax"])
    make_user("citizen", org.hanoi, Role.citizen, subject_ref=_cid(date(1970, 1, 1), "male", 99))
    make_user("facility", org.sonla, Role.facility, subject_ref="14001")
    return World(ids, {name: api_token(client, name) for name in OUTSIDERS})


PRICE_LIST = ("kind,code,name,unit,price,valid_from\nservice,02.1896,Khám Nội,lần,42100,2026-01-01\n"
              "drug,40.17,Paracetamol 500mg,viên,1200,2026-01-01\n").encode()
LATER_PRICES = b"kind,code,name,unit,price,valid_from\nservice,02.1896,Kham Noi,lan,1,2026-02-01\n"

PLAN = ("indicator,province,year,quarter,value,source,effective_from\n"
        "participants.si_compulsory,01,2026,,60000,QĐ 546/QĐ-TTg,2026-01-01\n").encode()
Request = tuple[str, str, dict]
#: (method, route path) → the request built from the world's ids. Routes of the same path and method share one.
CASES: dict[tuple[str, str], Callable[[dict], Request]] = {
    # the citizen's portal: only the signed-in citizen's own records (no one else's claim or notice by its id)
    ("POST", "/api/v1/me/claims/{claim_id}/job-search-reports"): lambda w: (
        "POST", f"/api/v1/me/claims/{w['benefit_claim']}/job-search-reports",
        {"json": {"month": "2026-02-01", "contacts": 2}}),
    ("POST", "/api/v1/me/notices/{notice_id}/read"): lambda w: ("POST", f"/api/v1/me/notices/{w['notice']}/read", {}),
    ("POST", "/me/claims/{claim_id}/job-search"): lambda w: (
        "POST", f"/me/claims/{w['benefit_claim']}/job-search", {"data": {"month": "2026-02", "contacts": "2"}}),
    ("POST", "/me/notices/{notice_id}/read"): lambda w: ("POST", f"/me/notices/{w['notice']}/read", {}),
    # correction requests are resolved by the registry officers of the person's province only
    ("POST", "/api/v1/registry/corrections/{request_id}/accept"): lambda w: (
        "POST", f"/api/v1/registry/corrections/{w['correction']}/accept", {}),
    ("POST", "/api/v1/registry/corrections/{request_id}/reject"): lambda w: (
        "POST", f"/api/v1/registry/corrections/{w['correction']}/reject", {"json": {"reason": "x"}}),
    ("POST", "/registry/corrections/{request_id}/{decision}"): lambda w: (
        "POST", f"/registry/corrections/{w['correction']}/accept", {}),
    # benefit payments
    ("GET", "/api/v1/benefits/payroll-runs/{run_id}"):
        lambda w: ("GET", f"/api/v1/benefits/payroll-runs/{w['payroll_run']}", {}),
    ("GET", "/api/v1/benefits/payments/{payment_id}"):
        lambda w: ("GET", f"/api/v1/benefits/payments/{w['benefit_payment']}", {}),
    ("POST", "/api/v1/benefits/payments/{payment_id}/reissue"):
        lambda w: ("POST", f"/api/v1/benefits/payments/{w['benefit_payment']}/reissue", {"json": {}}),
    ("GET", "/api/v1/benefits/payment-files/{file_id}"):
        lambda w: ("GET", f"/api/v1/benefits/payment-files/{w['payment_file']}", {}),
    ("POST", "/api/v1/benefits/accounts/{account_id}/close"):
        lambda w: ("POST", f"/api/v1/benefits/accounts/{w['benefit_account']}/close", {"json": {}}),
    ("POST", "/api/v1/benefits/overpayments/{overpayment_id}/recoveries"):
        lambda w: ("POST", f"/api/v1/benefits/overpayments/{w['overpayment']}/recoveries",
                   {"json": {"amount": 1000}}),
    # benefit payments' pages
    ("GET", "/benefits/payroll/{run_id}"): lambda w: ("GET", f"/benefits/payroll/{w['payroll_run']}", {}),
    ("GET", "/benefits/payment-files/{file_id}.{extension}"):
        lambda w: ("GET", f"/benefits/payment-files/{w['payment_file']}.csv", {}),
    ("POST", "/benefits/payments/{payment_id}/reissue"):
        lambda w: ("POST", f"/benefits/payments/{w['benefit_payment']}/reissue", {"data": {}}),
    ("POST", "/benefits/overpayments/{overpayment_id}/recoveries"):
        lambda w: ("POST", f"/benefits/overpayments/{w['overpayment']}/recoveries", {"data": {"amount": "1000"}}),
    # auth
    ("GET", "/api/v1/org-units/{org_unit_id}"): lambda w: ("GET", f"/api/v1/org-units/{w['org_unit']}", {}),
    ("GET", "/api/v1/org-units/{org_unit_id}/users"):
        lambda w: ("GET", f"/api/v1/org-units/{w['org_unit']}/users", {}),
    ("GET", "/api/v1/users/{user_id}"): lambda w: ("GET", f"/api/v1/users/{w['user']}", {}),
    ("POST", "/api/v1/users"): lambda w: ("POST", "/api/v1/users", {"json": {
        "username": "intruder.user", "password": "a long and uncommon passphrase", "full_name": "X",
        "org_unit_code": "BHXH-01", "roles": ["provincial_officer"]}}),
    ("PATCH", "/api/v1/users/{user_id}"):
        lambda w: ("PATCH", f"/api/v1/users/{w['user']}", {"json": {"roles": ["administrator"]}}),
    ("POST", "/api/v1/users/{user_id}/deactivation"):
        lambda w: ("POST", f"/api/v1/users/{w['user']}/deactivation", {}),
    ("DELETE", "/api/v1/users/{user_id}/deactivation"):
        lambda w: ("DELETE", f"/api/v1/users/{w['user']}/deactivation", {}),
    ("POST", "/api/v1/users/{user_id}/password-reset"):
        lambda w: ("POST", f"/api/v1/users/{w['user']}/password-reset", {"json": {}}),
    ("GET", "/admin/users/{user_id}"): lambda w: ("GET", f"/admin/users/{w['user']}", {}),
    ("POST", "/admin/users/{user_id}/roles"):
        lambda w: ("POST", f"/admin/users/{w['user']}/roles", {"data": {"roles": ["administrator"]}}),
    ("POST", "/admin/users/{user_id}/deactivation"):
        lambda w: ("POST", f"/admin/users/{w['user']}/deactivation", {"data": {}}),
    ("POST", "/admin/users/{user_id}/reactivation"):
        lambda w: ("POST", f"/admin/users/{w['user']}/reactivation", {"data": {}}),
    ("POST", "/admin/users/{user_id}/password"):
        lambda w: ("POST", f"/admin/users/{w['user']}/password", {"data": {"generate": "1"}}),
    ("POST", "/admin/users"): lambda w: ("POST", "/admin/users", {"data": {
        "username": "intruder.web", "password": "a long and uncommon passphrase", "full_name": "X",
        "org_unit": str(w["org_unit"]), "roles": ["provincial_officer"]}}),
    # auth: a password reset code for the world's person (their account would be created)
    ("POST", "/api/v1/accounts/reset-codes"):
        lambda w: ("POST", "/api/v1/accounts/reset-codes", {"json": {"citizen_id": w["person_cid"]}}),
    ("POST", "/accounts/reset-codes"):
        lambda w: ("POST", "/accounts/reset-codes", {"data": {"citizen_id": w["person_cid"]}}),
    ("POST", "/accounts/reset-codes/slip.pdf"):
        lambda w: ("POST", "/accounts/reset-codes/slip.pdf", {"data": {"citizen_id": w["person_cid"],
                                                                      "code": "ACDEFGHJ"}}),
    ("POST", "/admin/org-units"): lambda w: ("POST", "/admin/org-units", {"data": {
        "parent": str(w["org_unit"]), "code": "BHXH-01-99", "name": "Lạ", "place": "00004"}}),
    # registry
    ("GET", "/api/v1/people/{person_id}"): lambda w: ("GET", f"/api/v1/people/{w['person']}", {}),
    ("PATCH", "/api/v1/people/{person_id}"):
        lambda w: ("PATCH", f"/api/v1/people/{w['person']}", {"json": {"address": "Nơi khác"}}),
    ("GET", "/api/v1/people/lookup"): lambda w: ("GET", f"/api/v1/people/lookup?citizen_id={w['person_cid']}", {}),
    ("POST", "/api/v1/people"): lambda w: ("POST", "/api/v1/people", {"json": {
        "full_name": "Người Lạ", "date_of_birth": "1991-01-01", "sex": "male", "org_unit_code": "BHXH-01"}}),
    ("POST", "/api/v1/households"): lambda w: ("POST", "/api/v1/households", {"json": {
        "head_person_id": w["person"], "member_person_ids": [w["member"]]}}),
    ("GET", "/api/v1/employers/{employer_id}"): lambda w: ("GET", f"/api/v1/employers/{w['employer']}", {}),
    ("GET", "/registry/people/{person_id}"): lambda w: ("GET", f"/registry/people/{w['person']}", {}),
    ("GET", "/registry/employers/{employer_id}"): lambda w: ("GET", f"/registry/employers/{w['employer']}", {}),
    ("GET", "/registry/people/{person_id}/edit"): lambda w: ("GET", f"/registry/people/{w['person']}/edit", {}),
    ("POST", "/registry/people/{person_id}/edit"): lambda w: ("POST", f"/registry/people/{w['person']}/edit", {
        "data": {"full_name": "Kẻ Lạ", "date_of_birth": "1990-05-17", "sex": "male"}}),
    ("GET", "/registry/people/{person_id}/merge"): lambda w: ("GET", f"/registry/people/{w['person']}/merge", {}),
    ("POST", "/registry/people/{person_id}/merge"): lambda w: ("POST", f"/registry/people/{w['person']}/merge", {
        "data": {"duplicate_id": str(w["member"]), "reason": "trùng"}}),
    ("GET", "/registry/people/{person_id}/household"):
        lambda w: ("GET", f"/registry/people/{w['person']}/household", {}),
    ("POST", "/registry/people/{person_id}/household"): lambda w: ("POST", f"/registry/people/{w['person']}/household", {
        "data": {"members": "", "address": "Kẻ Lạ"}}),
    ("GET", "/registry/employers/{employer_id}/edit"):
        lambda w: ("GET", f"/registry/employers/{w['employer']}/edit", {}),
    ("POST", "/registry/employers/{employer_id}/edit"):
        lambda w: ("POST", f"/registry/employers/{w['employer']}/edit", {
            "data": {"name": "Kẻ Lạ", "ownership": "private", "region": "I", "sector": "private"}}),
    ("GET", "/api/v1/imports/population/{batch_id}/sync"):
        lambda w: ("GET", f"/api/v1/imports/population/{w['batch']}/sync", {}),
    # participation
    ("GET", "/api/v1/employers/{employer_id}/declarations"):
        lambda w: ("GET", f"/api/v1/employers/{w['employer']}/declarations", {}),
    ("GET", "/api/v1/people/{person_id}/coverage"): lambda w: ("GET", f"/api/v1/people/{w['person']}/coverage", {}),
    ("POST", "/api/v1/declarations"): lambda w: ("POST", "/api/v1/declarations", {"json": {
        "employer_tax_code": w["employer_tax"], "citizen_id": w["person_cid"], "kind": "salary_change",
        "effective_month": "2026-02-01", "insured_salary": 11_000_000}}),
    ("GET", "/api/v1/participation/summary"): lambda w: ("GET", "/api/v1/participation/summary?province=01", {}),
    # collection
    ("GET", "/api/v1/billing/runs/{run_id}"): lambda w: ("GET", f"/api/v1/billing/runs/{w['run']}", {}),
    ("GET", "/api/v1/billing/runs/{run_id}/exceptions"):
        lambda w: ("GET", f"/api/v1/billing/runs/{w['run']}/exceptions", {}),
    ("POST", "/api/v1/bills/{bill_id}/write-offs"):
        lambda w: ("POST", f"/api/v1/bills/{w['bill']}/write-offs", {"json": {"amount": 1_000, "reason": "phá sản"}}),
    ("GET", "/api/v1/payments/{payment_id}"): lambda w: ("GET", f"/api/v1/payments/{w['payment']}", {}),
    ("POST", "/api/v1/billing/runs"): lambda w: ("POST", "/api/v1/billing/runs",
                                                 {"json": {"period": "2026-02", "province": "01"}}),
    ("GET", "/api/v1/bills/{bill_id}"): lambda w: ("GET", f"/api/v1/bills/{w['bill']}", {}),
    # jobs
    ("GET", "/api/v1/jobs/{job_id}"): lambda w: ("GET", f"/api/v1/jobs/{w['job']}", {}),
    ("POST", "/api/v1/jobs"): lambda w: ("POST", "/api/v1/jobs", {"json": {"kind": "billing", "period": "2026-02",
                                                                         "province": "01"}}),
    ("GET", "/jobs/{job_id}"): lambda w: ("GET", f"/jobs/{w['job']}", {}),
    ("GET", "/jobs/{job_id}/progress"): lambda w: ("GET", f"/jobs/{w['job']}/progress", {}),
    ("GET", "/api/v1/jobs/{job_id}/files/{name}"):
        lambda w: ("GET", f"/api/v1/jobs/{w['job']}/files/report-01-2026-02.pdf", {}),
    ("GET", "/jobs/{job_id}/files/{name}"): lambda w: ("GET", f"/jobs/{w['job']}/files/report-01-2026-02.pdf", {}),
    ("POST", "/jobs"): lambda w: ("POST", "/jobs", {"data": {"kind": "billing", "period": "2026-02",
                                                           "province": "01"}}),
    ("GET", "/api/v1/bills/{bill_id}/qr.svg"): lambda w: ("GET", f"/api/v1/bills/{w['bill']}/qr.svg", {}),
    ("GET", "/collection/bills/{bill_id}"): lambda w: ("GET", f"/collection/bills/{w['bill']}", {}),
    ("GET", "/collection/employers/{employer_id}"):
        lambda w: ("GET", f"/collection/employers/{w['employer']}", {}),
    ("GET", "/api/v1/arrears/accounts/{payer_key}"):
        lambda w: ("GET", f"/api/v1/arrears/accounts/{w['payer_key']}", {}),
    ("POST", "/api/v1/payments/{payment_id}/reverse"):
        lambda w: ("POST", f"/api/v1/payments/{w['payment']}/reverse", {"json": {"reason": "trả lại"}}),
    ("POST", "/api/v1/payments/{payment_id}/assign"):
        lambda w: ("POST", f"/api/v1/payments/{w['suspense']}/assign", {"json": {"payer_key": w["payer_key"]}}),
    ("POST", "/collection/suspense/{payment_id}/assign"):
        lambda w: ("POST", f"/collection/suspense/{w['suspense']}/assign", {"data": {"payer": w["payer_key"]}}),
    ("GET", "/collection/billing/runs/{run_id}"): lambda w: ("GET", f"/collection/billing/runs/{w['run']}", {}),
    ("GET", "/collection/billing/runs/{run_id}/progress"):
        lambda w: ("GET", f"/collection/billing/runs/{w['run']}/progress", {}),
    ("GET", "/collection/payments/{payment_id}"): lambda w: ("GET", f"/collection/payments/{w['payment']}", {}),
    ("POST", "/collection/payments/{payment_id}/reverse"):
        lambda w: ("POST", f"/collection/payments/{w['payment']}/reverse", {"data": {"reason": "trả lại"}}),
    ("POST", "/collection/bills/{bill_id}/write-offs"):
        lambda w: ("POST", f"/collection/bills/{w['bill']}/write-offs", {"data": {"amount": "1000",
                                                                                  "reason": "phá sản"}}),
    ("GET", "/api/v1/inspections/{case_id}"): lambda w: ("GET", f"/api/v1/inspections/{w['case']}", {}),
    ("POST", "/api/v1/inspections/{case_id}/findings"):
        lambda w: ("POST", f"/api/v1/inspections/{w['case']}/findings", {"json": {"findings": "Không nộp"}}),
    ("POST", "/api/v1/inspections/{case_id}/decisions"):
        lambda w: ("POST", f"/api/v1/inspections/{w['case']}/decisions", {"json": {"kind": "fine",
                                                                                    "amount": 1_000_000}}),
    ("POST", "/api/v1/inspections/{case_id}/payments"):
        lambda w: ("POST", f"/api/v1/inspections/{w['case']}/payments", {"json": {"payment_id": w["payment"]}}),
    ("POST", "/api/v1/inspections/{case_id}/close"):
        lambda w: ("POST", f"/api/v1/inspections/{w['case']}/close", {"json": {}}),
    ("POST", "/api/v1/inspections"): lambda w: ("POST", "/api/v1/inspections",
                                                {"json": {"employer_id": w["other_employer"]}}),
    # outreach: an inspection case from a tax finding about the world's employer
    ("POST", "/api/v1/outreach/tax-match/cases"):
        lambda w: ("POST", "/api/v1/outreach/tax-match/cases", {"json": {"tax_code": w["employer_tax"]}}),
    ("POST", "/outreach/tax-match/cases"):
        lambda w: ("POST", "/outreach/tax-match/cases", {"data": {"tax_code": w["employer_tax"]}}),
    ("GET", "/api/v1/outreach/agents/{agent_id}"): lambda w: ("GET", f"/api/v1/outreach/agents/{w['agent']}", {}),
    ("POST", "/api/v1/outreach/agents/{agent_id}/collections"):
        lambda w: ("POST", f"/api/v1/outreach/agents/{w['agent']}/collections", {"json": {
            "reference": "20260101E000000000", "amount": 1000, "collected_on": "2026-02-01", "receipt": "R1"}}),
    ("GET", "/outreach/agents/{agent_id}"): lambda w: ("GET", f"/outreach/agents/{w['agent']}", {}),
    ("POST", "/outreach/agents/{agent_id}/collections"):
        lambda w: ("POST", f"/outreach/agents/{w['agent']}/collections", {"data": {
            "reference": "20260101E000000000", "amount": "1000", "collected_on": "2026-02-01", "receipt": "R1"}}),
    ("GET", "/api/v1/outreach/sponsors/{sponsor_id}"):
        lambda w: ("GET", f"/api/v1/outreach/sponsors/{w['sponsor']}", {}),
    ("POST", "/api/v1/outreach/sponsors/{sponsor_id}/sponsorships"):
        lambda w: ("POST", f"/api/v1/outreach/sponsors/{w['sponsor']}/sponsorships", {"json": {
            "citizen_id": w["person_cid"], "scheme": "household_hi", "from_month": "2026-05",
            "to_month": "2026-06"}}),
    ("GET", "/outreach/sponsors/{sponsor_id}"): lambda w: ("GET", f"/outreach/sponsors/{w['sponsor']}", {}),
    ("POST", "/outreach/sponsors/{sponsor_id}/sponsorships"):
        lambda w: ("POST", f"/outreach/sponsors/{w['sponsor']}/sponsorships", {"data": {
            "citizen_id": w["person_cid"], "scheme": "household_hi", "from_month": "2026-05",
            "to_month": "2026-06"}}),
    ("GET", "/collection/inspections/{case_id}"): lambda w: ("GET", f"/collection/inspections/{w['case']}", {}),
    ("POST", "/collection/inspections/{case_id}/{action}"):
        lambda w: ("POST", f"/collection/inspections/{w['case']}/findings", {"data": {"findings": "Không nộp"}}),
    # cards and facilities
    ("GET", "/api/v1/cards/people/{person_id}"): lambda w: ("GET", f"/api/v1/cards/people/{w['person']}", {}),
    ("POST", "/api/v1/cards/people/{person_id}/suspension"):
        lambda w: ("POST", f"/api/v1/cards/people/{w['person']}/suspension", {"json": {"reason": "nghi ngờ"}}),
    ("DELETE", "/api/v1/cards/people/{person_id}/suspension"):
        lambda w: ("DELETE", f"/api/v1/cards/people/{w['person']}/suspension", {}),
    ("PUT", "/api/v1/cards/people/{person_id}/registered-facility"):
        lambda w: ("PUT", f"/api/v1/cards/people/{w['person']}/registered-facility",
                   {"json": {"facility_code": "01001"}}),
    ("GET", "/cards/people/{person_id}/card.pdf"): lambda w: ("GET", f"/cards/people/{w['person']}/card.pdf", {}),
    ("GET", "/fhir/r4/Coverage/{card_id}"): lambda w: ("GET", f"/fhir/r4/Coverage/{w['card']}", {}),
    ("POST", "/api/v1/cards/births"): lambda w: ("POST", "/api/v1/cards/births", {"json": {"births": [{
        "full_name": "Bé Lạ", "date_of_birth": "2026-01-05", "sex": "female", "org_unit_code": "BHXH-01"}]}}),
    ("GET", "/api/v1/facilities/{code}/contracts"):
        lambda w: ("GET", f"/api/v1/facilities/{w['facility']}/contracts", {}),
    ("POST", "/api/v1/facilities/{code}/contracts"):
        lambda w: ("POST", f"/api/v1/facilities/{w['facility']}/contracts", {"json": {
            "contract_number": "99/2026/HĐ", "valid_from": "2026-02-01", "valid_until": "2026-12-31"}}),
    ("POST", "/api/v1/facilities/{code}/contracts/{contract_id}/termination"):
        lambda w: ("POST", f"/api/v1/facilities/{w['facility']}/contracts/{w['contract']}/termination"
                           "?last_day=2026-06-30", {}),
    ("POST", "/api/v1/facilities"): lambda w: ("POST", "/api/v1/facilities", {"json": {
        "code": "01999", "name": "Phòng khám Lạ", "level": "commune", "org_unit_code": "BHXH-01"}}),
    ("POST", "/cards/people/{person_id}/{action}"):
        lambda w: ("POST", f"/cards/people/{w['person']}/suspend", {"data": {"reason": "nghi ngờ"}}),
    ("GET", "/cards/facilities/{code}"): lambda w: ("GET", f"/cards/facilities/{w['facility']}", {}),
    ("POST", "/cards/facilities/{code}/contracts"):
        lambda w: ("POST", f"/cards/facilities/{w['facility']}/contracts", {"data": {
            "contract_number": "99/2026/HĐ", "valid_from": "2026-02-01", "valid_until": "2026-12-31"}}),
    ("POST", "/cards/facilities/{code}/classifications"):
        lambda w: ("POST", f"/cards/facilities/{w['facility']}/classifications", {"data": {
            "classified_from": "2026-02-01", "level_2025": "specialised"}}),
    ("POST", "/api/v1/facilities/{code}/classifications"):
        lambda w: ("POST", f"/api/v1/facilities/{w['facility']}/classifications", {"json": {
            "valid_from": "2026-02-01", "level_2025": "specialised"}}),
    # claims intake
    ("GET", "/api/v1/claims/files/{file_id}"): lambda w: ("GET", f"/api/v1/claims/files/{w['claim_file']}", {}),
    ("GET", "/claims/files/{file_id}"): lambda w: ("GET", f"/claims/files/{w['claim_file']}", {}),
    ("POST", "/api/v1/claims/files"): lambda w: ("POST", "/api/v1/claims/files", {
        "files": {"file": ("hoso.xml", w["other_claim_file_bytes"], "application/xml")},
        "data": {"facility_code": w["facility"]}}),
    ("POST", "/claims/files"): lambda w: ("POST", "/claims/files", {
        "files": {"file": ("hoso.xml", w["other_claim_file_bytes"], "application/xml")},
        "data": {"facility_code": w["facility"]}}),
    ("POST", "/cards/facilities/{code}/contracts/{contract_id}/termination"):
        lambda w: ("POST", f"/cards/facilities/{w['facility']}/contracts/{w['contract']}/termination",
                   {"data": {"last_day": "2026-06-30", "reason": "thử"}}),
    # claims: appraisal, claims and review
    ("POST", "/api/v1/claims/appraisals"): lambda w: ("POST", "/api/v1/claims/appraisals",
                                                      {"json": {"facility_code": "01001"}}),
    ("GET", "/api/v1/claims/{facility_code}/{ma_lk}"):
        lambda w: ("GET", f"/api/v1/claims/01001/{w['ma_lk']}", {}),
    ("GET", "/claims/{facility_code}/{ma_lk}"): lambda w: ("GET", f"/claims/01001/{w['ma_lk']}", {}),
    ("POST", "/api/v1/claims/findings/{finding_id}/override"):
        lambda w: ("POST", f"/api/v1/claims/findings/{w['finding']}/override", {"json": {"reason": "outsider"}}),
    ("POST", "/claims/findings/{finding_id}/override"):
        lambda w: ("POST", f"/claims/findings/{w['finding']}/override", {"data": {"reason": "outsider"}}),
    ("POST", "/fhir/r4/Claim"): lambda w: ("POST", "/fhir/r4/Claim", _fhir_claim(w)),
    ("POST", "/fhir/r4/Claim/$submit"): lambda w: ("POST", "/fhir/r4/Claim/$submit", _fhir_claim(w)),
    # claims: price lists and budgets
    ("GET", "/claims/prices/{code}"): lambda w: ("GET", f"/claims/prices/{w['facility']}?on=2026-03-01", {}),
    ("GET", "/claims/prices/{code}/export.xlsx"):
        lambda w: ("GET", f"/claims/prices/{w['facility']}/export.xlsx?on=2026-03-01", {}),
    ("GET", "/claims/prices/{code}/history"):
        lambda w: ("GET", f"/claims/prices/{w['facility']}/history?kind=service&item=02.1896", {}),
    ("POST", "/claims/prices/{code}/import"):
        lambda w: ("POST", f"/claims/prices/{w['facility']}/import",
                   {"files": {"file": ("gia.csv", LATER_PRICES, "text/csv")}}),
    ("POST", "/api/v1/claims/prices"): lambda w: ("POST", "/api/v1/claims/prices", {
        "data": {"facility": w["facility"]}, "files": {"file": ("gia.csv", LATER_PRICES, "text/csv")}}),
    ("GET", "/api/v1/claims/prices"): lambda w: ("GET", f"/api/v1/claims/prices?facility={w['facility']}", {}),
    ("POST", "/api/v1/claims/budgets"): lambda w: ("POST", "/api/v1/claims/budgets", {"json": {
        "province": "01", "year": 2026, "facility_code": w["facility"], "amount": 10**9, "source": "QĐ lạ"}}),
    ("GET", "/api/v1/claims/budgets"): lambda w: ("GET", "/api/v1/claims/budgets?province=01&year=2026", {}),
    ("POST", "/claims/budgets"): lambda w: ("POST", "/claims/budgets", {"data": {
        "province": "01", "year": "2026", "facility": w["facility"], "amount": "1000", "source": "QĐ lạ"}}),
    ("GET", "/claims/budgets"): lambda w: ("GET", "/claims/budgets?province=01&year=2026", {}),
    # claims: settlements and advances
    ("GET", "/api/v1/claims/settlements/{settlement_id}"):
        lambda w: ("GET", f"/api/v1/claims/settlements/{w['settlement']}", {}),
    ("GET", "/api/v1/claims/settlements/{settlement_id}/export"):
        lambda w: ("GET", f"/api/v1/claims/settlements/{w['settlement']}/export?format=xlsx", {}),
    ("GET", "/claims/settlements/{settlement_id}"): lambda w: ("GET", f"/claims/settlements/{w['settlement']}", {}),
    ("GET", "/claims/settlements/{settlement_id}/export.xlsx"):
        lambda w: ("GET", f"/claims/settlements/{w['settlement']}/export.xlsx", {}),
    ("GET", "/claims/settlements/{settlement_id}/export.pdf"):
        lambda w: ("GET", f"/claims/settlements/{w['settlement']}/export.pdf", {}),
    ("POST", "/api/v1/claims/settlements"): lambda w: ("POST", "/api/v1/claims/settlements", {"json": {
        "facility_code": w["facility"], "month": "2026-02"}}),
    ("POST", "/claims/settlements"): lambda w: ("POST", "/claims/settlements", {"data": {
        "facility_code": w["facility"], "month": "2026-02"}}),
    ("POST", "/api/v1/claims/advances"): lambda w: ("POST", "/api/v1/claims/advances", {"json": {
        "facility_code": w["facility"], "reference": "UT-2", "paid_on": "2026-02-01", "amount": 1000,
        "period_from": "2026-04"}}),
    # claims: cost monitoring
    ("GET", "/api/v1/claims/costs"): lambda w: ("GET", f"/api/v1/claims/costs?month=2026-01&facility={w['facility']}",
                                                {}),
    ("GET", "/api/v1/claims/frequent-cards"): lambda w: ("GET", "/api/v1/claims/frequent-cards?month=2026-01&"
                                                                "province=01", {}),
    ("GET", "/api/v1/claims/budget-use"): lambda w: ("GET", "/api/v1/claims/budget-use?year=2026&province=01", {}),
    ("GET", "/claims/costs"): lambda w: ("GET", f"/claims/costs?month=2026-01&province=01&facility={w['facility']}",
                                         {}),
    ("GET", "/claims/budget-use"): lambda w: ("GET", "/claims/budget-use?year=2026&province=01", {}),
    # targets: Hà Nội's plan and report
    ("GET", "/api/v1/plans/versions/{version_id}"):
        lambda w: ("GET", f"/api/v1/plans/versions/{w['plan_version']}", {}),
    ("GET", "/api/v1/plans"): lambda w: ("GET", "/api/v1/plans?year=2026&province=01", {}),
    ("PUT", "/api/v1/plans/targets"): lambda w: ("PUT", "/api/v1/plans/targets", {"json": {
        "indicator": "participants.si_compulsory", "province": "01", "year": 2026, "value": "1", "source": "QĐ lạ",
        "effective_from": "2026-01-01"}}),
    ("POST", "/api/v1/plans/import"): lambda w: ("POST", "/api/v1/plans/import", {
        "files": {"file": ("plan.csv", PLAN.replace(b"60000", b"1"), "text/csv")}}),
    ("GET", "/api/v1/reports/province"): lambda w: ("GET", "/api/v1/reports/province?province=01&period=2026-01", {}),
    ("POST", "/api/v1/reports/province/issue"): lambda w: ("POST", "/api/v1/reports/province/issue", {"json": {
        "province": "01", "period": "2026-01"}}),
    ("GET", "/api/v1/reports/province/versions"):
        lambda w: ("GET", "/api/v1/reports/province/versions?province=01&period=2026-01", {}),
    # targets: the pages, issuing and the records behind a figure
    ("GET", "/targets"): lambda w: ("GET", "/targets?province=01&period=2025-12", {}),
    ("GET", "/targets/plans"): lambda w: ("GET", "/targets/plans?year=2025&province=01", {}),
    ("POST", "/targets/issue"): lambda w: ("POST", "/targets/issue", {"data": {
        "province": "01", "period": "2025-12", "reason": "x"}}),
    ("POST", "/targets/plans/target"): lambda w: ("POST", "/targets/plans/target", {"data": {
        "indicator": "participants.si_compulsory", "province": "01", "year": "2025", "value": "1",
        "source": "QĐ 2", "effective_from": "2025-01-01", "office": "BHXH-01-01"}}),
    ("GET", "/targets/drill"): lambda w: ("GET", "/targets/drill?indicator=arrears.amount&province=01&"
                                                 "period=2025-12", {}),
    ("GET", "/api/v1/targets/drill"): lambda w: ("GET", "/api/v1/targets/drill?indicator=arrears.amount&"
                                                        "province=01&period=2025-12", {}),
    # the employer portal: the world's employer's bill and accounts, its registration by an officer
    ("GET", "/api/v1/employer/bills/{bill_id}"): lambda w: ("GET", f"/api/v1/employer/bills/{w['bill']}", {}),
    ("GET", "/api/v1/employer/bills/{bill_id}/bill.pdf"):
        lambda w: ("GET", f"/api/v1/employer/bills/{w['bill']}/bill.pdf", {}),
    ("GET", "/employer/bills/{bill_id}"): lambda w: ("GET", f"/employer/bills/{w['bill']}", {}),
    ("GET", "/employer/bills/{bill_id}/bill.pdf"): lambda w: ("GET", f"/employer/bills/{w['bill']}/bill.pdf", {}),
    ("POST", "/api/v1/employer/users/{user_id}/deactivation"):
        lambda w: ("POST", f"/api/v1/employer/users/{w['employer_user']}/deactivation", {}),
    ("POST", "/employer/users/{user_id}/deactivation"):
        lambda w: ("POST", f"/employer/users/{w['employer_user']}/deactivation", {"data": {}}),
    ("POST", "/api/v1/employers/{employer_id}/e-transactions"):
        lambda w: ("POST", f"/api/v1/employers/{w['employer']}/e-transactions", {"json": {
            "contact_name": "Kẻ Lạ", "email": "la@example.vn", "phone": "0912345678"}}),
    ("DELETE", "/api/v1/employers/{employer_id}/e-transactions"):
        lambda w: ("DELETE", f"/api/v1/employers/{w['employer']}/e-transactions", {}),
    # benefits: the person's claim (filed through the employer's list) and the list
    ("GET", "/api/v1/benefits/claims/{claim_id}"):
        lambda w: ("GET", f"/api/v1/benefits/claims/{w['benefit_claim']}", {}),
    ("GET", "/api/v1/benefits/claims/{claim_id}/decision.pdf"):
        lambda w: ("GET", f"/api/v1/benefits/claims/{w['benefit_claim']}/decision.pdf", {}),
    ("POST", "/api/v1/benefits/claims/{claim_id}/incomplete"):
        lambda w: ("POST", f"/api/v1/benefits/claims/{w['benefit_claim']}/incomplete",
                   {"json": {"on": "2026-02-03", "missing": ["Giấy ra viện"]}}),
    ("POST", "/api/v1/benefits/claims/{claim_id}/complete"):
        lambda w: ("POST", f"/api/v1/benefits/claims/{w['benefit_claim']}/complete", {"json": {"on": "2026-02-03"}}),
    ("POST", "/api/v1/benefits/claims/{claim_id}/assess"):
        lambda w: ("POST", f"/api/v1/benefits/claims/{w['benefit_claim']}/assess", {"json": {"on": "2026-02-03"}}),
    ("POST", "/api/v1/benefits/claims/{claim_id}/decide"):
        lambda w: ("POST", f"/api/v1/benefits/claims/{w['benefit_claim']}/decide",
                   {"json": {"on": "2026-02-03", "refuse": "outsider"}}),
    ("POST", "/api/v1/benefits/claims/{claim_id}/appeal"):
        lambda w: ("POST", f"/api/v1/benefits/claims/{w['benefit_claim']}/appeal",
                   {"json": {"on": "2026-02-03", "reason": "outsider"}}),
    ("POST", "/api/v1/benefits/claims/{claim_id}/withdraw"):
        lambda w: ("POST", f"/api/v1/benefits/claims/{w['benefit_claim']}/withdraw", {"json": {"on": "2026-02-03"}}),
    ("GET", "/api/v1/benefits/employer-batches/{batch_id}"):
        lambda w: ("GET", f"/api/v1/benefits/employer-batches/{w['benefit_batch']}", {}),
    ("POST", "/api/v1/benefits/claims"): lambda w: ("POST", "/api/v1/benefits/claims", {"json": {
        "type": "sickness", "citizen_id": w["person_cid"], "filed_on": "2026-02-03",
        "details": {"leave_from": "2026-01-26", "days": 2}}}),
    ("POST", "/api/v1/benefits/employer-batches"): lambda w: ("POST", "/api/v1/benefits/employer-batches", {
        "files": {"file": ("01b.csv", w["benefit_list"], "text/csv")}, "data": {"employer": w["employer_tax"]}}),
    # benefits: the pages of a claim and of an employer's 01B-HSB list
    ("GET", "/benefits/claims/{claim_id}"): lambda w: ("GET", f"/benefits/claims/{w['benefit_claim']}", {}),
    ("GET", "/benefits/claims/{claim_id}/decision.pdf"):
        lambda w: ("GET", f"/benefits/claims/{w['benefit_claim']}/decision.pdf", {}),
    ("POST", "/benefits/claims/{claim_id}/{action}"):
        lambda w: ("POST", f"/benefits/claims/{w['benefit_claim']}/withdraw", {"data": {"on": "2026-02-13"}}),
    ("GET", "/benefits/employer-batches/{batch_id}"):
        lambda w: ("GET", f"/benefits/employer-batches/{w['benefit_batch']}", {}),
}

#: Routes whose path parameters name no record (a kind of import, a parameter, a language, a file format).
NOT_RECORDS = {
    ("GET", "/api/v1/imports/{kind}/template"), ("POST", "/api/v1/imports/{kind}"),
    ("GET", "/registry/imports/templates/{kind}.xlsx"), ("GET", "/api/v1/rules/parameters/{name}"),
    ("GET", "/lang/{code}"),
    # a report file is named by a secret token of the user who ran the import, and opened only by that user
    # (tests/registry/test_pages.py); there is no id to try
    ("GET", "/registry/imports/reports/{token}.{extension}"),
}


def _route_keys(app) -> set[tuple[str, str]]:
    keys = set()
    for route in all_routes(app):
        if "{" not in route.path or set(declared_scopes(route)) <= {Scope.public, Scope.reference}:
            continue
        for method in route.methods - {"HEAD"}:
            keys.add((method, route.path))
    return keys


def test_every_route_that_takes_a_record_id_has_a_case(app):
    missing = sorted(_route_keys(app) - set(CASES) - NOT_RECORDS)
    assert missing == [], f"add these routes to CASES in {__file__}: {missing}"


def _snapshot(db) -> dict[str, str]:
    """A fingerprint of every table but the logs."""
    out = {}
    with db.unit_of_work() as s:
        for table in metadata.sorted_tables:
            if table.name in LOG_TABLES:
                continue
            rows = s.execute(text(f'SELECT * FROM "{table.name}"')).all()
            out[table.name] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return out


def test_outsiders_are_refused_and_change_nothing(db, client, world):
    """All the cases against one world (building it is most of the time): every failing case is listed."""
    problems = []
    for key in sorted(CASES):
        method, url, kwargs = CASES[key](world.ids)
        before = _snapshot(db)
        answers = {}
        for outsider in OUTSIDERS:
            response = client.request(method, url, headers=world.tokens[outsider], follow_redirects=False,
                                      **kwargs)
            answers[outsider] = response.status_code
        if not all(status in (403, 404) for status in answers.values()):
            problems.append(f"{method} {key[1]}: {answers}")
        after = _snapshot(db)
        changed = [name for name in before if before[name] != after[name]]
        if changed:
            problems.append(f"{method} {key[1]} changed {changed}")
    assert problems == []


def _ids(body, key: str = "id") -> set:
    items = body.get("items", body) if isinstance(body, dict) else body
    return {item.get(key) for item in items if isinstance(item, dict)}


#: Operations of a scope that answer, but only about the caller's scope: (outsider, request, what must not show).
SCOPED_ANSWERS: list[tuple[str, Callable[[dict], Request], Callable[[dict, object], bool]]] = [
    ("sonla", lambda w: ("GET", "/api/v1/people?limit=500", {}), lambda w, body: w["person"] not in _ids(body)),
    ("sonla", lambda w: ("GET", "/api/v1/jobs", {}), lambda w, body: w["job"] not in _ids(body)),
    ("sonla", lambda w: ("GET", "/api/v1/employers?limit=500", {}), lambda w, body: w["employer"] not in _ids(body)),
    ("other_employer", lambda w: ("GET", "/api/v1/employers?limit=500", {}),
     lambda w, body: _ids(body) == {w["other_employer"]}),
    ("sonla", lambda w: ("GET", "/api/v1/users?limit=500", {}), lambda w, body: w["user"] not in _ids(body)),
    ("sonla", lambda w: ("GET", "/api/v1/org-units", {}), lambda w, body: w["org_unit"] not in _ids(body)),
    ("sonla", lambda w: ("GET", "/api/v1/inspections", {}), lambda w, body: w["case"] not in _ids(body)),
    ("sonla", lambda w: ("GET", "/api/v1/outreach/uncovered?on=2026-12-31&limit=1000", {}),
     lambda w, body: w["person"] not in _ids(body["rows"], "person_id")),
    ("sonla", lambda w: ("GET", "/api/v1/outreach/sponsors", {}), lambda w, body: w["sponsor"] not in _ids(body)),
    ("sonla", lambda w: ("GET", "/api/v1/outreach/agents", {}), lambda w, body: w["agent"] not in _ids(body)),
    ("sonla", lambda w: ("GET", "/api/v1/outreach/renewals?month=2026-01", {}),
     lambda w, body: w["person"] not in _ids(body["rows"], "person_id")),
    ("sonla", lambda w: ("GET", "/api/v1/outreach/commissions?since=2026-01&until=2026-12", {}),
     lambda w, body: w["agent"] not in _ids(body["rows"], "agent_id")),
    ("sonla", lambda w: ("GET", "/api/v1/arrears/overdue-employers?min_months=1&on=2026-12-31", {}),
     lambda w, body: w["employer"] not in _ids(body, "employer_id")),
    ("sonla", lambda w: ("GET", "/api/v1/claims/files", {}), lambda w, body: w["claim_file"] not in _ids(body)),
    ("facility", lambda w: ("GET", "/api/v1/claims/files", {}), lambda w, body: w["claim_file"] not in _ids(body)),
    ("sonla", lambda w: ("GET", "/api/v1/claims", {}), lambda w, body: body == []),
    ("facility", lambda w: ("GET", "/api/v1/claims", {}), lambda w, body: body == []),
    ("sonla", lambda w: ("GET", "/api/v1/claims/review/queue", {}), lambda w, body: body == []),
    ("sonla", lambda w: ("GET", "/api/v1/claims/review/sample?on=2026-02-01", {}), lambda w, body: body == []),
    ("sonla", lambda w: ("GET", "/api/v1/claims/settlements", {}),
     lambda w, body: body["settlements"] == [] and body["totals"]["settlements"] == 0),
    ("facility", lambda w: ("GET", "/api/v1/claims/settlements", {}),
     lambda w, body: body["settlements"] == [] and body["totals"]["settlements"] == 0),
    ("sonla", lambda w: ("GET", "/api/v1/claims/advances", {}), lambda w, body: body == []),
    ("facility", lambda w: ("GET", "/api/v1/claims/advances", {}), lambda w, body: body == []),
    ("sonla", lambda w: ("GET", "/api/v1/claims/costs?month=2026-01", {}),
     lambda w, body: w["facility"] not in _ids(body["facilities"], "code")),
    ("facility", lambda w: ("GET", "/api/v1/claims/costs?month=2026-01", {}),
     lambda w, body: w["facility"] not in _ids(body["facilities"], "code")),
    ("sonla", lambda w: ("GET", "/api/v1/claims/budget-use?year=2026&on=2026-03-01", {}),
     lambda w, body: "01" not in _ids(body["provinces"], "province")),
    *((outsider, lambda w: ("GET", "/api/v1/benefits/claims?limit=500", {}),
       lambda w, body: w["benefit_claim"] not in _ids(body["items"])) for outsider in OUTSIDERS),
    ("sonla", lambda w: ("GET", "/api/v1/benefits/due?on=2026-02-02&days_ahead=60", {}),
     lambda w, body: body["late"] == body["due_today"] == body["upcoming"] == []),    # The citizen's own records (portal): no identifier to pass; an account that is not this person's has none here.
    *((outsider, (lambda path: lambda w: ("GET", f"{path}?person_id={w['person']}&citizen_id={w['person_cid']}",
                                          {}))(path),
       lambda w, body: w["person_cid"] not in repr(body))
      for outsider in OUTSIDERS
      for path in ("/api/v1/me/person", "/api/v1/me/contributions", "/api/v1/me/card", "/api/v1/me/claims",
                   "/api/v1/me/bills", "/api/v1/me/notices", "/api/v1/me/visits", "/api/v1/me/bank-accounts",
                   "/api/v1/me/corrections", "/api/v1/me/reminders", "/api/v1/me/household",
                   "/api/v1/me/unemployment", "/api/v1/me/claims/preview")),
    ("sonla", lambda w: ("GET", "/api/v1/registry/corrections", {}), lambda w, body: body["items"] == []),
    # what a citizen sends is about themselves: another's identifiers in the body reach no one else's record
    *((outsider, lambda w: ("POST", "/api/v1/me/bank-accounts", {"json": {
        "bank_bin": "970436", "account_number": "0011000123", "holder_name": "Nguyễn Văn An"}}),
       lambda w, body: False) for outsider in OUTSIDERS),
    *((outsider, lambda w: ("POST", "/api/v1/me/corrections", {"json": {"phone": "0900000001"}}),
       lambda w, body: False) for outsider in OUTSIDERS),
    *((outsider, lambda w: ("POST", "/api/v1/me/household", {"json": {
        "members": [w["head"], w["member"]], "start": "2027-03-01", "months": 12}}),
       lambda w, body: False) for outsider in OUTSIDERS),
    *((outsider, lambda w: ("POST", "/api/v1/me/claims", {"json": {
        "type": "funeral", "deceased_citizen_id": w["person_cid"], "details": {"died_on": "2026-02-01"}}}),
       lambda w, body: False) for outsider in OUTSIDERS),
]


def test_lists_and_scoped_operations_answer_only_about_the_callers_scope(db, client, world):
    problems = []
    for outsider, build, hides in SCOPED_ANSWERS:
        method, url, kwargs = build(world.ids)
        response = client.request(method, url, headers=world.tokens[outsider], **kwargs)
        if response.status_code in (403, 404):
            continue
        if response.status_code != 200 or not hides(world.ids, response.json()):
            problems.append(f"{outsider} {method} {url}: {response.status_code} {response.text[:300]}")
    assert problems == []


def test_issuing_cards_from_another_province_touches_none_of_this_one(db, client, world, make_user, org):
    before = _snapshot(db)
    # on 2026-03-15: the household enrolled on 2026-02-01 (a first enrolment) is covered from 2026-03-03, after the
    # card's 30-day wait (HI Law Art 16(3)(c) as amended by Law 51/2024)
    response = client.post("/api/v1/cards/issue?on=2026-03-15", headers=world.tokens["sonla"])
    assert response.status_code in (200, 403), response.text
    assert _snapshot(db)["hi_card"] == before["hi_card"]
    make_user("hn.cards", org.hanoi, Role.provincial_officer)  # and the province's own officer does issue them
    issued = client.post("/api/v1/cards/issue?on=2026-03-15", headers=api_token(client, "hn.cards"))
    assert issued.status_code == 200 and issued.json()["issued"] == 2, issued.text
    assert _snapshot(db)["hi_card"] != before["hi_card"]
