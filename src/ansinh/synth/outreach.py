"""The demo's outreach: a sponsor paying for people of the demo province, a post office that collected voluntary SI
and household HI, and the tax authority's files to match.

- **Sponsor**: ``Quỹ Bảo trợ trẻ em và người nghèo`` (a local budget) pays the household HI of a few people of the
  province who had none, from three months ago for six months; the province is billed again for those months
  (the other payers were billed by the national runs: only the sponsor is new), and its first bill is paid.
- **Agent**: a post office of the province records collections for the voluntary SI and household HI bills of the
  province still unpaid in the last three months (its receipts), so that its commission shows per month.
- **Tax files** (:func:`demo_tax_files`): the registered employers of the province with more employees than they
  declare (some), two enterprises not registered, and the income tax withheld of a few people without compulsory
  SI — written by ``ansinh outreach demo-tax-files DIR``.

Everything goes through the services with dates derived from ``today``; deterministic for a seed.
"""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import exists, func, select

from ansinh.collection.models import Allocation, Bill
from ansinh.db import Database
from ansinh.participation.service import add_months, month_start
from ansinh.registry.models import Employer, Person

PROVINCE = "01"
SPONSOR_NAME = "Quỹ Bảo trợ trẻ em và người nghèo"
AGENT_CODE = "BD-HN-DEMO"
SPONSORED = 6


def load_demo_outreach(database: Database, *, today: date, seed: int | str, province: str = PROVINCE) -> dict:
    """Owns its transactions (billing runs commit their own). Returns counts."""
    from ansinh.collection.billing import run_billing
    from ansinh.collection.payments import record_payment
    from ansinh.outreach import agents, sponsors
    from ansinh.registry.shares import uncovered_conditions

    rng = random.Random(f"{seed}/outreach")
    first = add_months(month_start(today), -2)
    result = {"sponsored": 0, "sponsor_bills": 0, "agent_collections": 0}
    with database.unit_of_work() as session:
        sponsor = sponsors.create_sponsor(session, None, sponsors.SponsorData(
            name=SPONSOR_NAME, kind="local_budget", province=province), actor="demo-loader")
        sponsor_id = sponsor.id
        candidates = list(session.scalars(select(Person).where(
            *uncovered_conditions(first, province), Person.citizen_id.is_not(None),
            Person.date_of_birth <= date(first.year - 25, 1, 1)).order_by(Person.id).limit(200)))
        for person in rng.sample(candidates, min(SPONSORED, len(candidates))):
            try:
                with session.begin_nested():
                    sponsors.sponsor_person(session, None, sponsor, citizen_id=person.citizen_id,
                                            scheme="household_hi", from_month=first, to_month=add_months(first, 5),
                                            actor="demo-loader", today=today)
                result["sponsored"] += 1
            except Exception:  # noqa: BLE001 - a person covered meanwhile is simply not sponsored
                continue
    for offset in range(3):
        run_billing(database, period=add_months(first, offset), province=province, actor="demo-loader",
                    today=min(today, add_months(first, offset)))
    with database.unit_of_work() as session:
        bills = list(session.scalars(select(Bill).where(Bill.payer_key == sponsors.payer_key(sponsor_id))
                                     .order_by(Bill.period)))
        result["sponsor_bills"] = len(bills)
        if bills:
            record_payment(session, bank_transaction_id=f"DEMO{seed}-SPONSOR-1", paid_on=today,
                           amount=bills[0].total, reference_text=f"Quy bao tro {bills[0].reference}", on=today)
        agent = agents.create_agent(session, None, agents.AgentData(
            code=AGENT_CODE, name="Bưu điện Trung tâm Hà Nội", kind="post_office", province=province))
        paid = exists().where(Allocation.bill_id == Bill.id, Allocation.reversed.is_(False))
        open_bills = list(session.scalars(select(Bill).where(
            Bill.province_2025 == province, Bill.payer_type.in_(("voluntary", "household")),
            Bill.period >= first, Bill.total > 0, ~paid).order_by(Bill.period, Bill.id).limit(12)))
        for number, bill in enumerate(open_bills, start=1):
            collected_on = min(today, date(bill.period.year, bill.period.month, rng.randint(5, 25)))
            agents.record_collection(session, None, agent, reference=bill.reference, amount=bill.total,
                                     collected_on=collected_on, receipt=f"BL{bill.period:%y%m}-{number:04d}",
                                     today=today)
            result["agent_collections"] += 1
    return result


def demo_tax_files(database: Database, *, on: date, seed: int | str, province: str = PROVINCE) -> tuple[str, str]:
    """(enterprises CSV, withholdings CSV) for the tax match of ``province``: every registered employer of it with
    its declared workers (some with more employees than declared), two enterprises not registered, and income tax
    withheld in the last month for a few people of the province without compulsory SI."""
    from ansinh.participation.models import CoveragePeriod, Scheme
    from ansinh.participation.service import active
    from ansinh.registry.identifiers import tax_code_check_digit

    rng = random.Random(f"{seed}/tax")
    with database.unit_of_work() as session:
        employers = session.execute(select(Employer.tax_code, Employer.name, Employer.id).where(
            Employer.province_2025 == province).order_by(Employer.id).limit(40)).all()
        counts = {}
        for _code, _name, employer_id in employers:
            counts[employer_id] = session.scalar(select(func.count()).select_from(active(select(
                CoveragePeriod.person_id).where(CoveragePeriod.employer_id == employer_id,
                                                CoveragePeriod.scheme == Scheme.si_compulsory), on).subquery())) or 0
        compulsory = exists(active(select(CoveragePeriod.id).where(CoveragePeriod.person_id == Person.id,
                                                                   CoveragePeriod.scheme == Scheme.si_compulsory), on))
        workers = list(session.scalars(select(Person.citizen_id).where(
            Person.province_2025 == province, Person.citizen_id.is_not(None), ~compulsory,
            Person.date_of_birth <= date(on.year - 20, 1, 1)).order_by(Person.id).limit(5)))
    lines = ["tax_code,name,address,employee_count"]
    for code, name, employer_id in employers:
        extra = rng.choice((0, 0, 0, 2, 5))
        lines.append(f"{code},\"{name}\",Hà Nội,{counts[employer_id] + extra}")
    known = {code for code, _name, _id in employers}
    serial = 0
    while serial < 2:
        body = f"01{rng.randint(1000000, 9999999):07d}"
        digit = tax_code_check_digit(body)
        if digit is None or f"{body}{digit}" in known:
            continue
        serial += 1
        lines.append(f"{body}{digit},Công ty chưa đăng ký số {serial},Hà Nội,{3 * serial}")
    month = add_months(month_start(on), -1)
    withholding = ["employer_tax_code,citizen_id,month"]
    if employers:
        withholding += [f"{employers[0][0]},{cid},{month:%Y-%m}" for cid in workers]
    return "\n".join(lines) + "\n", "\n".join(withholding) + "\n"
