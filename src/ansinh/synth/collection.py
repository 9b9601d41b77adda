"""The demo's year of collection: monthly bills, the payments that settle them (most on time, some late, some
never), a few unmatched payments waiting in suspense, late interest accrued, and inspection cases for the
employers overdue three months or more.

Everything goes through the collection services: :func:`ansinh.collection.billing.run_billing` bills each
month; the payments arrive as one bank statement a day, which
:func:`ansinh.collection.payments.import_statement` records, matches and allocates as of that day;
:func:`ansinh.collection.arrears.accrue_interest` posts the interest to ``today``;
:mod:`ansinh.collection.inspections` opens the cases.

Behaviour is deterministic for a seed: each payer draws a profile from a hash of (seed, payer key) and each bill
its delay from a hash of (seed, payer key, month) — no global random state, so the same seed and database give the same
payments. Profiles of employers:

- ``debtor`` (``DEBTOR_SHARE``): pays on time until a few months ago, then nothing (arrears of 3+ months);
- ``late`` (``late_share``): pays every bill, 1 to 3 months late (late interest);
- ``on_time``: pays before the due date, now and then a month late.

The employers that employer users act for (the demo's ``hanoi.donvi``, ...) follow a story instead
(:func:`plan_story_payments`): every bill paid on time, then one paid late and in part, then the last two due
unpaid, so that their pages show payments and arrears with late interest.

Voluntary, household and state-budget payers pay on time. About ``SUSPENSE_SHARE`` of the payments quote
neither the bill reference nor a tax code and go to the suspense list; some others quote only the employer's
tax code (the fallback match).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import select

from ansinh.collection.models import Bill, Payment
from ansinh.db import Database
from ansinh.registry.models import Employer

DEBTOR_SHARE = 0.05
SUSPENSE_SHARE = 0.01
TAX_CODE_ONLY_SHARE = 0.05
OCCASIONALLY_LATE_SHARE = 0.05
#: A late payer's bill is paid 1 month late (60 %), 2 months (25 %) or 3 months (15 %) late.
LATE_ONE_MONTH, LATE_TWO_MONTHS = 0.60, 0.85
ACTOR = "demo-loader"


def _unit(seed: int, *key) -> float:
    """A number in [0, 1) drawn from a hash of the seed and a key: the same key gives the same number."""
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def billed_periods(today: date, months: int) -> list[date]:
    """The ``months`` months up to and including the current one, oldest first."""
    current = _month_start(today)
    return [_add_months(current, -offset) for offset in range(months - 1, -1, -1)]


def payer_profile(seed: int, payer_key: str, late_share: float) -> str:
    if not payer_key.startswith("E:"):
        return "on_time"
    draw = _unit(seed, "profile", payer_key)
    if draw < DEBTOR_SHARE:
        return "debtor"
    if draw < DEBTOR_SHARE + late_share:
        return "late"
    return "on_time"


def plan_payment(seed: int, bill: dict, profile: str, *, today: date, periods: list[date]) -> dict | None:
    """The payment of one bill (or None: never paid, or not yet): the day, the amount, the text quoted."""
    key = (bill["payer_key"], bill["period"].isoformat())  # not the bill id: ids differ between databases
    draw = _unit(seed, "delay", *key)
    due: date = bill["due_date"]
    if profile == "debtor":
        # Stops paying 4 to 6 months before the last billed month.
        stop = _add_months(periods[-1], -(4 + int(_unit(seed, "stop", bill["payer_key"]) * 3)))
        if bill["period"] >= stop:
            return None
        late_months = 0
    elif profile == "story":  # on time (plan_story_payments)
        late_months = 0
    elif profile == "late":
        late_months = 1 if draw < LATE_ONE_MONTH else (2 if draw < LATE_TWO_MONTHS else 3)
    else:
        late_months = 1 if draw < OCCASIONALLY_LATE_SHARE else 0
    if late_months:
        paid_on = due + timedelta(days=(late_months - 1) * 30 + 3 + int(_unit(seed, "day", *key) * 25))
    else:
        earliest = max(bill["period"], due - timedelta(days=25))
        span = max((due - earliest).days, 0)
        paid_on = due - timedelta(days=int(_unit(seed, "day", *key) * (span + 1)))
    if paid_on > today:
        return None
    text_draw = _unit(seed, "text", *key)
    month = bill["period"].strftime("%m/%Y")
    if text_draw < SUSPENSE_SHARE:
        text = f"CK nop tien bao hiem thang {month}"  # neither reference nor tax code: suspense
    elif text_draw < SUSPENSE_SHARE + TAX_CODE_ONLY_SHARE and bill.get("tax_code"):
        text = f"MST {bill['tax_code']} nop BHXH BHYT BHTN thang {month}"
    else:
        text = f"{bill['reference']} nop BHXH thang {month}"
    account = "".join(str(int(_unit(seed, "account", bill["payer_key"], i) * 10)) for i in range(12))
    return {"bank_transaction_id": f"DEMO{seed}-{bill['reference']}", "paid_on": paid_on, "amount": int(bill["total"]),
            "payer_account": account, "reference_text": text}


def story_payers(session) -> set[str]:
    """The payer keys of the employers that employer users act for (the demo's ``hanoi.donvi``, ...): their
    bills follow :func:`plan_story_payments`, so that each shows payments, a part payment and arrears."""
    from ansinh.auth.models import Role, User, UserRole

    ids = session.scalars(select(Employer.id).join(User, User.subject_ref == Employer.tax_code)
                          .join(UserRole, UserRole.user_id == User.id).where(UserRole.role == Role.employer))
    return {f"E:{employer_id}" for employer_id in ids}


#: A story payer's last overdue bills: the oldest of them paid in part (this share), the others unpaid.
STORY_UNPAID_BILLS = 2
STORY_PART_PAID = 0.6


def plan_story_payments(seed: int, bills: list[dict], *, today: date) -> list[dict]:
    """The payments of one story payer's bills: every bill due before ``today`` is paid on time (quoting its
    reference), except the last :data:`STORY_UNPAID_BILLS` (never paid: arrears with late interest) and the one
    before them (paid late and in part: :data:`STORY_PART_PAID` of it). Bills not yet due are not paid yet."""
    overdue = sorted((b for b in bills if b["due_date"] < today), key=lambda b: b["period"])
    payments = []
    for index, bill in enumerate(overdue):
        left = len(overdue) - index
        if left <= STORY_UNPAID_BILLS:
            continue
        payment = {**plan_payment(seed, bill, "story", today=today, periods=[]),
                   "reference_text": f"{bill['reference']} nop BHXH thang {bill['period']:%m/%Y}"}
        if left == STORY_UNPAID_BILLS + 1:
            paid_on = min(bill["due_date"] + timedelta(days=12), today)
            payment = {**payment, "paid_on": paid_on, "amount": int(int(bill["total"]) * STORY_PART_PAID),
                       "reference_text": f"{bill['reference']} nop mot phan BHXH thang {bill['period']:%m/%Y}"}
        payments.append(payment)
    return payments


STATEMENT_COLUMNS = ("date", "amount", "payer_account", "reference", "bank_transaction_id", "receiving_account")


def statement_csv(payments: list[dict], receiving_account: str) -> bytes:
    """A bank statement (CSV, the layout of :func:`ansinh.collection.payments.import_statement`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STATEMENT_COLUMNS)
    for p in payments:
        writer.writerow([p["paid_on"].isoformat(), p["amount"], p["payer_account"], p["reference_text"],
                         p["bank_transaction_id"], receiving_account])
    return out.getvalue().encode("utf-8")


def _bills(session, periods: list[date]) -> list[dict]:
    rows = session.execute(
        select(Bill.id, Bill.payer_key, Bill.period, Bill.due_date, Bill.total, Bill.reference, Employer.tax_code)
        .outerjoin(Employer, Employer.id == Bill.employer_id)
        .where(Bill.period.in_(periods), Bill.total > 0).order_by(Bill.id)).all()
    return [dict(row._mapping) for row in rows]


def _run_billing(database: Database, period: date, today: date) -> dict:
    from ansinh.collection.billing import run_billing

    # Billed (and posted to the ledger) on the first day of the month billed.
    return run_billing(database, period=period, province=None, actor=ACTOR, today=min(period, today))


def load_collection_year(database: Database, *, seed: int, today: date, months: int = 12, late_share: float = 0.15,
                         progress: Callable[[str, int], None] | None = None) -> dict:
    """Bill the last ``months`` months, pay most bills (see the module), accrue interest to ``today`` and open
    inspection cases. Owns its transactions (one per billing run, one per month of payments). Returns counts."""
    from ansinh.audit.service import record_event
    from ansinh.collection import arrears
    from ansinh.collection.payments import collection_accounts, import_statement

    periods = billed_periods(today, months)
    result = {"billing_runs": 0, "bills": 0, "billed": 0, "payments": 0, "paid": 0, "in_suspense": 0,
              "unpaid_bills": 0, "interest_posted": 0, "inspection_cases": 0}
    for period in periods:
        summary = _run_billing(database, period, today)
        result["billing_runs"] += 1
        if progress:
            progress(f"billing {period:%Y-%m}", int(summary.get("bills", 0) or 0))

    with database.unit_of_work() as session:
        bills = _bills(session, periods)
        already = set(session.scalars(select(Payment.bank_transaction_id).where(
            Payment.bank_transaction_id.like(f"DEMO{seed}-%"))))
    result["bills"] = len(bills)
    result["billed"] = sum(int(b["total"]) for b in bills)
    with database.unit_of_work() as session:
        story = story_payers(session)
    planned = []
    story_bills: dict[str, list[dict]] = {}
    for bill in bills:
        if bill["payer_key"] in story:
            story_bills.setdefault(bill["payer_key"], []).append(bill)
            continue
        payment = plan_payment(seed, bill, payer_profile(seed, bill["payer_key"], late_share), today=today,
                               periods=periods)
        if payment is None:
            result["unpaid_bills"] += 1
        elif payment["bank_transaction_id"] not in already:
            planned.append(payment)
    for payer_bills in story_bills.values():
        payments = plan_story_payments(seed, payer_bills, today=today)
        result["unpaid_bills"] += len(payer_bills) - len(payments)
        planned.extend(p for p in payments if p["bank_transaction_id"] not in already)
    planned.sort(key=lambda p: (p["paid_on"], p["bank_transaction_id"]))

    # One bank statement per day, imported on that day (matched and allocated as of then); a month per commit.
    receiving = collection_accounts()[0].account
    by_month: dict[date, dict[date, list[dict]]] = {}
    for payment in planned:
        by_month.setdefault(_month_start(payment["paid_on"]), {}).setdefault(payment["paid_on"], []).append(payment)
    for month, days in sorted(by_month.items()):
        count = 0
        with database.unit_of_work() as session:
            for day, payments in sorted(days.items()):
                report = import_statement(session, content=statement_csv(payments, receiving),
                                          file_name=f"demo-statement-{day.isoformat()}.csv", actor=ACTOR, today=day)
                if report.status == "rejected":
                    raise RuntimeError(f"demo statement of {day} refused: {report.errors[:3]}")
                result["payments"] += report.created
                result["in_suspense"] += report.suspense
                result["paid"] += report.amount
                count += report.created
        if progress:
            progress(f"payments {month:%Y-%m}", count)

    with database.unit_of_work() as session:
        result["interest_posted"] = arrears.accrue_interest(session, on=today)
        result["inspection_cases"] = _open_cases(session, today=today, seed=seed)
        record_event(session, action="create", entity_type="demo_collection", entity_id=str(seed),
                     details=dict(result))
    if progress:
        progress("interest and inspections", result["inspection_cases"])
    return result


def _open_cases(session, *, today: date, seed: int, count: int = 2) -> int:
    """Open an inspection case for the (at most) ``count`` employers with the largest debts overdue 3+ months;
    the first gets findings and a payment plan."""
    from ansinh.collection import inspections
    from ansinh.collection.arrears import overdue_employers
    from ansinh.collection.models import InspectionCase

    with_case = set(session.scalars(select(InspectionCase.employer_id)))
    candidates = [row for row in overdue_employers(session, None, on=today, min_months=3)
                  if row["employer_id"] not in with_case]
    opened = 0
    for index, row in enumerate(candidates[:max(count - len(with_case), 0)]):
        case = inspections.open_case(session, None, employer_id=row["employer_id"], on=today)
        if index == 0:
            inspections.record_findings(
                session, None, case.id, f"Contributions of {row['months_overdue']} months unpaid "
                                        f"({row['arrears']:,} dong); the employer acknowledges the debt.")
            inspections.add_decision(session, None, case.id, kind="payment_plan", amount=int(row["arrears"]),
                                     due=_add_months(_month_start(today), 3), note="Three monthly instalments.")
        opened += 1
    return opened
