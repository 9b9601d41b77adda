"""Benefit claims counted by province for the targets' indicators: received, filed electronically, resolved, resolved
on time, and lump-sum withdrawals granted, in total and by type. One grouped query per question; set-based."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from ansinh.benefits.models import ELECTRONIC_CHANNELS, BenefitClaim, ClaimStatus, ClaimType

C = BenefitClaim
#: Decisions that grant (the claim went on to be paid, or is waiting to be).
GRANTED = (ClaimStatus.granted, ClaimStatus.payment_ordered, ClaimStatus.paid, ClaimStatus.failed,
           ClaimStatus.reconciled)


def _zero() -> dict:
    return {"received": 0, "electronic": 0, "resolved": 0, "on_time": 0, "lump_sum_granted": 0,
            "by_type": {t.value: {"received": 0, "resolved": 0, "on_time": 0} for t in ClaimType}}


def claims_by_province(session: Session, *, since: date, until: date,
                       province: str | None = None) -> dict[str, dict]:
    """Per 2025 province, over the days ``since``..``until``: ``received`` (filed), ``electronic`` (filed through
    the portal or the employer's electronic list), ``resolved`` (first decided: granted or refused; a withdrawal is
    not a resolution), ``on_time`` (of those resolved, by their deadline), ``lump_sum_granted`` (lump-sum
    withdrawals granted), and ``by_type`` the first three per claim type."""
    electronic = [c.value for c in ELECTRONIC_CHANNELS]
    filed = and_(C.filed_on >= since, C.filed_on <= until)
    resolved = and_(C.resolved_on.is_not(None), C.resolved_on >= since, C.resolved_on <= until)
    on_time = and_(resolved, C.deadline.is_not(None), C.resolved_on <= C.deadline)
    granted_lump = and_(resolved, C.claim_type == ClaimType.lump_sum.value,
                        C.status.in_([s.value for s in GRANTED]))

    def n(condition):
        return func.coalesce(func.sum(case((condition, literal(1)), else_=literal(0))), 0)

    stmt = (select(C.province_2025, C.claim_type, n(filed), n(and_(filed, C.channel.in_(electronic))), n(resolved),
                   n(on_time), n(granted_lump))
            .where((filed) | (resolved))
            .group_by(C.province_2025, C.claim_type))
    if province:
        stmt = stmt.where(C.province_2025 == province)
    result: dict[str, dict] = {}
    for code, claim_type, received, elec, done, timely, lump in session.execute(stmt):
        if not code:
            continue
        row = result.setdefault(code, _zero())
        kind = ClaimType(claim_type).value
        row["received"] += int(received)
        row["electronic"] += int(elec)
        row["resolved"] += int(done)
        row["on_time"] += int(timely)
        row["lump_sum_granted"] += int(lump)
        row["by_type"][kind] = {"received": int(received), "resolved": int(done), "on_time": int(timely)}
    return result


def pensioners_by_province(session: Session, *, on: date, province: str | None = None) -> dict[str, int]:
    """Per 2025 province, the people with a pension in payment on ``on`` (an entitlement begun, not ended nor
    stopped): one grouped count."""
    from ansinh.benefits.payments.models import Entitlement as E

    month = on.replace(day=1)
    stmt = (select(E.province_2025, func.count(func.distinct(E.payee_person_id)))
            .where(E.claim_type == ClaimType.pension.value, E.first_month <= month,
                   (E.last_month.is_(None)) | (E.last_month >= month),
                   (E.stopped_on.is_(None)) | (E.stopped_on > on))
            .group_by(E.province_2025))
    if province:
        stmt = stmt.where(E.province_2025 == province)
    return {code: int(n) for code, n in session.execute(stmt) if code}


def payments_by_province(session: Session, *, since: date, until: date,
                         province: str | None = None) -> dict[str, dict[str, int]]:
    """Per 2025 province: ``payroll`` (the pension payroll of the months from ``since``'s to ``until``'s: what was
    ordered, less what was cancelled), ``paid`` (benefit payments of every kind paid in the period) and
    ``paid_bank`` (of those, paid into a bank account)."""
    from ansinh.benefits.payments.models import BenefitPayment as P
    from ansinh.benefits.payments.models import Entitlement as E
    from ansinh.benefits.payments.models import Method, PaymentStatus

    pension = select(E.id).where(E.claim_type == ClaimType.pension.value)
    in_months = and_(P.entitlement_id.in_(pension), P.month >= since.replace(day=1), P.month <= until,
                     P.status != PaymentStatus.cancelled.value, P.reissue_of_id.is_(None))
    paid = and_(P.status == PaymentStatus.paid.value, P.paid_on >= since, P.paid_on <= until)

    def total(condition, value):
        return func.coalesce(func.sum(case((condition, value), else_=literal(0))), 0)

    stmt = (select(P.province_2025, total(in_months, P.amount), total(paid, literal(1)),
                   total(and_(paid, P.method == Method.bank.value), literal(1)))
            .where(in_months | paid).group_by(P.province_2025))
    if province:
        stmt = stmt.where(P.province_2025 == province)
    return {code: {"payroll": int(amount), "paid": int(n), "paid_bank": int(bank)}
            for code, amount, n, bank in session.execute(stmt) if code}
