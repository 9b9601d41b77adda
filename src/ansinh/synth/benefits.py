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
from ansinh.benefits.models import BenefitClaim, ClaimStatus
from ansinh.benefits.payments.models import BenefitPayment
from ansinh.errors import NotFound
from ansinh.benefits.payments import service as payments
from ansinh.participation import service as participation
from ansinh.participation.models import CoveragePeriod, DeclarationKind, Payer, Scheme
from ansinh.registry.models import Employer, Person, Sex
from ansinh.synth.stories import _new_person

#: Banks the demo's beneficiaries hold accounts at (VietQR BINs: Vietcombank, VietinBank, BIDV, Agribank).
DEMO_BANKS = ("970436", "970415", "970418", "970405")
#: The first month the demo declares (the contribution rules' parameters start in 2019-01); earlier years of a
#: working life are the old system's record, as migrated.
DECLARED_FROM = date(2019, 1, 1)
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
        """Compulsory SI with the demo employer from the month ``start`` to before ``end``, a raise every 5 years.
        The years before :data:`DECLARED_FROM` are the old system's record (a period as migrated, at 40% of the
        salary); declarations from then on."""
        def declare(kind, month, amount=None):
            participation.apply_declaration(self.session, employer=self.employer, person=person, kind=kind,
                                            effective_month=month, insured_salary=amount, submitted_by="demo-loader",
                                            today=month)
        if start < DECLARED_FROM:
            self.session.add(CoveragePeriod(
                person_id=person.id, scheme=Scheme.si_compulsory, valid_from=start,
                valid_to=DECLARED_FROM - timedelta(days=1), insured_salary=int(round(salary * 0.4, -4)),
                payer=Payer.employer, employer_id=self.employer.id, org_unit_id=self.employer.org_unit_id,
                province_2008=person.province_2008, province_2025=person.province_2025))
            start = DECLARED_FROM
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
    p.point = point

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
        months_ago = 2 + index * 2 if index < RETIREES - 1 else 0  # the last retires this month
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
    last_claim, last_filed = retirees[-1]  # assessed, waiting for the decision
    claims.assess(session, p.officer, last_claim.id, on=last_filed + timedelta(days=5))

    # Lump sums (ground: settling abroad), one refused, one on appeal, one withdrawn, one by post not yet checked.
    lump = []
    for index in range(6):
        who = p.person(age=(28, 45))
        start = _months_ago(today, 12 * rng.randint(4, 9) + 14)
        p.work(who, start, _months_ago(today, 14), rng.randrange(6_000_000, 12_000_000, 100_000))
        if index != 3:
            p.account(who, start)
        on = year_ago + timedelta(days=30 + 50 * index) if index < 5 else today - timedelta(days=6)
        channel = "portal" if index % 2 == 0 else "counter"
        lump.append((p.file("lump_sum", who, on, channel=channel, ground="abroad"), on))
    for claim, on in lump[:4]:
        p.decide(claim, on + timedelta(days=7))
    claims.withdraw_claim(session, p.officer, lump[4][0].id, on=lump[4][1] + timedelta(days=2),
                          reason="Người lao động rút hồ sơ")
    refused_person = p.person(age=(40, 50))
    p.work(refused_person, _months_ago(today, 120), _months_ago(today, 15), 9_000_000)
    refused_on = today - timedelta(days=40)
    refused = p.file("lump_sum", refused_person, refused_on, ground="incapacity_81",
                     details={"incapacity_percent": 61})
    p.decide(refused, refused_on + timedelta(days=5))
    if p.appeals is not None:  # the refusal appealed: back for re-assessment by another officer
        claims.appeal(session, p.appeals, refused.id, on=refused_on + timedelta(days=30),
                      reason="Người lao động bổ sung biên bản giám định y khoa mới")
    young = p.person(age=(30, 40))  # under the pension age: refused, the article cited
    p.work(young, _months_ago(today, 70), _months_ago(today, 13), 8_000_000)
    young_on = today - timedelta(days=45)
    p.decide(p.file("lump_sum", young, young_on, ground="retirement_age_under_15_years"),
             young_on + timedelta(days=4))
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
    """Claims, decisions and pensioners of the demo provinces (their payments follow: :func:`pay_demo`)."""
    total: dict[str, int] = {}
    for code in provinces:
        counts = load_province_benefits(session, random.Random(f"{seed}/benefits/{code}"), code, today=today)
        for key, value in counts.items():
            total[key] = total.get(key, 0) + value
    return total


def _results(content: bytes, paid: list[str], returned: dict[str, str]) -> bytes:
    lines = ["reference,status,reason"]
    lines += [f"{ref},paid," for ref in paid]
    lines += [f"{ref},returned,{why}" for ref, why in returned.items()]
    return ("\n".join(lines) + "\n").encode()


def _references(content: bytes) -> list[str]:
    import csv
    import io

    return [row["reference"] for row in csv.DictReader(io.StringIO(content.decode("utf-8")))]


def pay_demo(database, *, today: date, provinces, seed: int | str) -> dict:
    """The demo's payments: the payroll of the year's past months sent and paid, one-off payments ordered, sent and
    paid (half of them reconciled), one returned for a closed account and re-issued to a new account, one returned
    and left failed; this month's payroll ordered and not yet sent; two granted claims not yet ordered."""
    from ansinh.audit.service import audit_context

    summary = {"payroll_months": 0, "payments_paid": 0, "payments_failed": 0}
    for months_ago in range(11, 0, -1):  # the year's months (ordered in their month; a benefit granted later in
        month = _months_ago(today, months_ago)  # the year is paid its earlier months when its payroll runs)
        payments.run_payroll(database, month=month, by="demo-loader", on=month)
        summary["payroll_months"] += 1
    with audit_context(channel="cli", actor_username="demo-loader"), database.unit_of_work() as session:
        for code in provinces:
            rng = random.Random(f"{seed}/benefit-payments/{code}")
            officer = _principal(session, f"BHXH-{code}", Role.provincial_officer)
            if officer is None:
                continue
            granted = session.scalars(select(BenefitClaim.id).where(
                BenefitClaim.province_2025 == code, BenefitClaim.status == ClaimStatus.granted.value)
                .order_by(BenefitClaim.id)).all()
            payments.order_payments(session, officer, on=today - timedelta(days=8), claim_ids=list(granted[:-3]))
            files = []
            for bank in DEMO_BANKS:
                try:
                    files.append(payments.export_payment_file(session, officer, on=today - timedelta(days=7),
                                                              bank_bin=bank))
                except NotFound:
                    continue
            contents = {file.id: payments.payment_file_content(session, officer, file.id)[1] for file in files}
            one_off = [ref for content in contents.values() for ref in _references(content)
                       if session.scalar(select(BenefitPayment.entitlement_id.is_(None)).where(
                           BenefitPayment.id == int(ref.removeprefix("BP"))))]
            # one account closed: failed, then re-issued to a new account; a name that does not match: failed, its
            # claim left failed for the officer
            returning = dict(zip(one_off[:2], ("closed_account", "name_mismatch"), strict=False))
            for file in files:
                content = contents[file.id]
                refs = _references(content)
                half = len(refs) // 2
                returned = {ref: why for ref, why in returning.items() if ref in refs}
                batch_a = [r for r in refs[:half] if r not in returned]
                batch_b = [r for r in refs[half:] if r not in returned]
                for number, (paid, back) in enumerate(((batch_a, returned), (batch_b, {}))):
                    if not paid and not back:
                        continue
                    payments.import_bank_results(session, officer, file_name=f"ketqua-{file.id}-{number}.csv",
                                                 content=_results(content, paid, back),
                                                 on=today - timedelta(days=6 - 2 * number))
                    summary["payments_paid"] += len(paid)
                    summary["payments_failed"] += len(back)
                    if number == 0:
                        payments.reconcile_payments(session, today - timedelta(days=5))
                closed = [ref for ref, why in returned.items() if why == "closed_account"]
                if closed:
                    failed = session.get(BenefitPayment, int(closed[0].removeprefix("BP")))
                    if failed is not None:
                        payee = session.get(Person, failed.payee_person_id)
                        payments.add_bank_account(session, officer, citizen_id=payee.citizen_id,
                                                  bank_bin=rng.choice(DEMO_BANKS),
                                                  account_number=str(rng.randrange(10**9, 10**10)),
                                                  holder_name=payee.full_name, on=today - timedelta(days=3))
                        payments.reissue_payment(session, officer, failed.id, on=today - timedelta(days=3))
            try:  # the cash list of the province's paying point, all paid at the counter
                cash = payments.export_payment_file(session, officer, on=today - timedelta(days=7),
                                                    paying_point=f"BD{code}0001")
            except NotFound:
                cash = None
            if cash is not None:
                refs = _references(payments.payment_file_content(session, officer, cash.id)[1])
                payments.import_bank_results(session, officer, file_name=f"ketqua-tienmat-{cash.id}.csv",
                                             content=_results(b"", refs, {}), on=today - timedelta(days=5))
                summary["payments_paid"] += len(refs)
            payments.order_payments(session, officer, on=today - timedelta(days=1), claim_ids=list(granted[-3:-2]))
    payments.run_payroll(database, month=_months_ago(today, 0), by="demo-loader", on=_months_ago(today, 0))
    summary["payroll_months"] += 1
    return summary
