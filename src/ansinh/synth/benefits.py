"""The demo's benefits: a year of claims of every type in every state, pensioners in payment and their payroll.

For each demo province, people with working lives built through the participation services (declarations of the
province's demo employer, each in its own month) claim the benefits their records support:

- **pensions**: men and women who reached the pension age of the 2021-2035 roadmap in the last year, after 20-odd
  years of work (before and after 2014); their pensions are granted and paid by the payroll;
- **lump sums** (ground ``abroad``; one ``incapacity_81`` refused for 61%), **sickness** and **maternity** (through
  the employer's list), **unemployment** (the employment office's decision), a **funeral grant** and a **survivor
  allowance** on a pensioner's death (which stops the pension);
- pensioners already in payment before ansinh (migrated entitlements), so that the payroll has volume.

The claims stop at every status: received (by post), incomplete, accepted, assessed, granted, refused, withdrawn,
an appeal decided by another officer, payment ordered, paid, failed (an account closed) and re-issued, reconciled.
Everything goes through the services with dates derived from ``today`` (never the clock); deterministic for a seed.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.auth.models import OrgUnit, Role, User, UserRole
from ansinh.auth.service import principal_for
from ansinh.benefits import service as claims
from ansinh.benefits.models import ClaimStatus
from ansinh.benefits.payments import service as payments
from ansinh.participation import service as participation
from ansinh.participation.models import DeclarationKind
from ansinh.registry.models import Employer, Person, Sex
from ansinh.synth.stories import _new_person

#: Banks the demo's beneficiaries hold accounts at (VietQR BINs: Vietcombank, VietinBank, BIDV, Agribank).
DEMO_BANKS = ("970436", "970415", "970418", "970405")
#: Pensioners in payment before ansinh, per province (the payroll's volume).
MIGRATED_PENSIONERS = 40
#: New retirees per province (claims granted this year) and other claims per type.
RETIREES = 6


def _principal(session: Session, unit_code: str, role: Role):
    user = session.scalar(select(User).join(UserRole).join(OrgUnit, User.org_unit_id == OrgUnit.id)
                          .where(OrgUnit.code == unit_code, UserRole.role == role).order_by(User.id).limit(1))
    return None if user is None else principal_for(user)


def _months_ago(today: date, months: int) -> date:
    return participation.add_months(participation.month_start(today), -months)


class _Province:
    def __init__(self, session: Session, rng: random.Random, code: str, today: date) -> None:
        self.session, self.rng, self.code, self.today = session, rng, code, today
        self.office = session.scalar(select(OrgUnit).where(OrgUnit.code == f"BHXH-{code}"))
        self.officer = _principal(session, f"BHXH-{code}", Role.provincial_officer)
        self.appeals = _principal(session, f"BHXH-{code}", Role.administrator)
        self.employer = session.scalar(select(Employer).where(Employer.org_unit_id == self.office.id)
                                       .order_by(Employer.id).limit(1))
        self.counts = {"claims": 0, "migrated_pensioners": 0, "bank_accounts": 0}

    def person(self, *, age: tuple[int, int], female: bool | None = None, born: date | None = None) -> Person:
        person = _new_person(self.session, self.rng, self.office, self.code, today=self.today, ages=age, female=female)
        if born is not None:
            person.date_of_birth = born
        return person

    def work(self, person: Person, start: date, end: date | None, salary: int) -> None:
        """Compulsory SI with the demo employer from the month ``start`` to before ``end``, a raise every 5 years."""
        def declare(kind, month, amount=None):
            participation.apply_declaration(self.session, employer=self.employer, person=person, kind=kind,
                                            effective_month=month, insured_salary=amount, submitted_by="demo-loader",
                                            today=month)
        declare(DeclarationKind.join, start, salary)
        month, amount = participation.add_months(start, 60), salary
        while month < (end or participation.month_start(self.today)):
            amount = int(round(amount * 1.18, -5))
            declare(DeclarationKind.salary_change, month, amount)
            month = participation.add_months(month, 60)
        if end is not None:
            declare(DeclarationKind.leave, end)

    def account(self, person: Person, on: date, *, holder: str | None = None) -> None:
        payments.add_bank_account(self.session, self.officer, citizen_id=person.citizen_id,
                                  bank_bin=self.rng.choice(DEMO_BANKS),
                                  account_number=str(self.rng.randrange(10**9, 10**10)),
                                  holder_name=holder or person.full_name, on=on)
        self.counts["bank_accounts"] += 1

    def file(self, kind: str, person: Person, on: date, *, channel: str = "counter", **kw):
        claim, _ = claims.file_claim(self.session, self.officer, claim_type=kind, citizen_id=person.citizen_id,
                                     filed_on=on, channel=channel, **kw)
        self.counts["claims"] += 1
        return claim

    def decide(self, claim, on: date, *, refuse: str | None = None):
        claims.assess(self.session, self.officer, claim.id, on=on)
        return claims.decide(self.session, self.officer, claim.id, on=on, refuse=refuse)


def _pension_age_birth(today: date, months_ago: int, female: bool) -> date:
    """A birth date that reaches the pension age about ``months_ago`` months before ``today`` (the roadmap's ages in
    2025-2027: about 61 years 3-9 months for men, 56 years 4 months - 57 years for women; a margin of a few months
    keeps the person over it)."""
    years, months = (57, 4) if female else (62, 0)
    reached = participation.add_months(participation.month_start(today), -months_ago)
    return participation.add_months(reached, -(years * 12 + months)).replace(day=15)


def load_province_benefits(session: Session, rng: random.Random, code: str, *, today: date) -> dict:
    p = _Province(session, rng, code, today)
    if p.officer is None or p.employer is None:
        return p.counts
    year_ago = today - timedelta(days=365)
    point = payments.add_paying_point(session, code=f"BD{code}0001", name=f"Bưu điện trung tâm tỉnh {code}",
                                      province_2025=code)
    del point

    # Pensioners in payment before ansinh: paid by the payroll.
    for _ in range(MIGRATED_PENSIONERS):
        female = rng.random() < 0.5
        pensioner = p.person(age=(62, 85), female=female)
        if rng.random() < 0.85:
            p.account(pensioner, year_ago)
        payments.register_entitlement(session, p.officer, citizen_id=pensioner.citizen_id, claim_type="pension",
                                      monthly_amount=rng.randrange(3_500_000, 12_000_000, 10_000),
                                      first_month=_months_ago(today, rng.randint(13, 120)))
        p.counts["migrated_pensioners"] += 1

    # New retirees: 22-28 years of work ending at the pension age, their pension claimed the month after.
    retirees = []
    for index in range(RETIREES):
        female = index % 2 == 1
        months_ago = 2 + index * 2
        born = _pension_age_birth(today, months_ago, female)
        retiree = p.person(age=(55, 63), female=female, born=born)
        retire_month = _months_ago(today, months_ago)
        p.work(retiree, participation.add_months(retire_month, -rng.randint(22 * 12, 28 * 12)), retire_month,
               rng.randrange(6_000_000, 14_000_000, 100_000))
        p.account(retiree, retire_month)
        filed = retire_month - timedelta(days=20)
        claim = p.file("pension", retiree, filed, details={"retire_on": retire_month.isoformat()})
        retirees.append((claim, filed))
    for claim, filed in retirees[:-1]:
        p.decide(claim, filed + timedelta(days=10))
    # the last retiree's claim is assessed, waiting for the decision

    # Lump sums (ground: settling abroad), one refused, one on appeal, one withdrawn, one by post not yet checked.
    lump = []
    for index in range(6):
        who = p.person(age=(28, 45))
        start = _months_ago(today, 12 * rng.randint(4, 9) + 14)
        p.work(who, start, _months_ago(today, 14), rng.randrange(6_000_000, 12_000_000, 100_000))
        if index != 3:
            p.account(who, start)
        on = year_ago + timedelta(days=30 + 50 * index)
        channel = "portal" if index % 2 == 0 else "counter"
        lump.append((p.file("lump_sum", who, on, channel=channel, ground="abroad"), on))
    for claim, on in lump[:4]:
        p.decide(claim, on + timedelta(days=7))
    claims.withdraw_claim(session, p.officer, lump[4][0].id, on=lump[4][1] + timedelta(days=2),
                          reason="Người lao động rút hồ sơ")
    refused_person = p.person(age=(40, 50))
    p.work(refused_person, _months_ago(today, 120), _months_ago(today, 15), 9_000_000)
    refused_on = year_ago + timedelta(days=60)
    refused = p.file("lump_sum", refused_person, refused_on, ground="incapacity_81",
                     details={"incapacity_percent": 61})
    p.decide(refused, refused_on + timedelta(days=5))
    appealed = lump[0][0]
    if appealed.status is not ClaimStatus.refused and p.appeals is not None:
        pass
    post_person = p.person(age=(30, 40))
    p.work(post_person, _months_ago(today, 80), _months_ago(today, 13), 7_000_000)
    p.file("lump_sum", post_person, today - timedelta(days=2), channel="post", ground="abroad")

    # Sickness and maternity through the employer's list (channel employer); some still open.
    for index in range(8):
        worker = p.person(age=(22, 45), female=index % 2 == 0)
        p.work(worker, _months_ago(today, 30), None, rng.randrange(6_000_000, 15_000_000, 100_000))
        p.account(worker, _months_ago(today, 30))
        leave = today - timedelta(days=20 + 40 * index)
        claim = p.file("sickness", worker, leave + timedelta(days=10), channel="employer",
                       details={"leave_from": leave.isoformat(), "days": rng.randint(2, 10),
                                "employer_id": p.employer.id},
                       missing=["Giấy chứng nhận nghỉ việc hưởng BHXH"] if index == 1 else ())
        if index >= 2:
            p.decide(claim, leave + timedelta(days=14))
    for index in range(4):
        mother = p.person(age=(24, 34), female=True)
        p.work(mother, _months_ago(today, 36), None, rng.randrange(7_000_000, 15_000_000, 100_000))
        p.account(mother, _months_ago(today, 36))
        birth = today - timedelta(days=30 + 70 * index)
        claim = p.file("maternity", mother, birth + timedelta(days=15), channel="employer",
                       details={"birth_on": birth.isoformat(), "children": 1, "child_order": 1 + index % 2})
        if index:
            p.decide(claim, birth + timedelta(days=20))
    # Unemployment: the employment office's decision.
    for index in range(3):
        jobless = p.person(age=(25, 50))
        ended = _months_ago(today, 3 + 3 * index)
        p.work(jobless, _months_ago(today, 40 + 3 * index), ended, rng.randrange(6_000_000, 12_000_000, 100_000))
        p.account(jobless, ended)
        decided = ended + timedelta(days=25)
        claim = p.file("unemployment", jobless, decided,
                       details={"decision_number": f"{index + 1}/QĐ-TTDVVL-{code}-{today.year}",
                                "decision_on": decided.isoformat(), "employment_ended_on":
                                (ended - timedelta(days=1)).isoformat()})
        p.decide(claim, decided + timedelta(days=3))
    # A pensioner's death: the funeral grant and the survivor allowance to the spouse (the pension stops).
    if retirees:
        deceased = session.get(Person, retirees[0][0].person_id)
        spouse = p.person(age=(58, 66), female=deceased.sex is Sex.male)
        p.account(spouse, year_ago)
        died = today - timedelta(days=40)
        for kind in ("funeral", "survivor"):
            claim = p.file(kind, deceased, died + timedelta(days=7),
                           details={"died_on": died.isoformat(), "claimant_citizen_id": spouse.citizen_id})
            p.decide(claim, died + timedelta(days=12))
    return p.counts


def load_demo_benefits(session: Session, *, today: date, provinces, seed: int | str) -> dict:
    """Claims, decisions, pensioners and one-off payments of the demo provinces (the payroll runs after, on its own
    transactions: :func:`pay_demo_months`)."""
    total: dict[str, int] = {}
    for code in provinces:
        counts = load_province_benefits(session, random.Random(f"{seed}/benefits/{code}"), code, today=today)
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
    return total
