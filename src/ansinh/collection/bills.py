"""What is left to pay on a bill, as one SQL expression (the bills list, the bill's page, the citizen's and the
employer's portals all read it from here): the bill's total less its principal allocations that were not reversed,
less its write-offs."""

from __future__ import annotations

from sqlalchemy import func, select

from ansinh.collection.models import Allocation, Bill, WriteOff

_paid = (select(func.coalesce(func.sum(Allocation.amount), 0)).where(
    Allocation.bill_id == Bill.id, Allocation.part == "principal", Allocation.reversed.is_(False))
    .correlate(Bill).scalar_subquery())
_written = (select(func.coalesce(func.sum(WriteOff.amount), 0)).where(WriteOff.bill_id == Bill.id)
            .correlate(Bill).scalar_subquery())
#: A correlated SQL expression over :class:`Bill`: its outstanding amount (dong; negative when overpaid).
OUTSTANDING = Bill.total - _paid - _written
