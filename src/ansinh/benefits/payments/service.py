"""Benefit payments (filled in by the payments work)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from ansinh.benefits.models import BenefitClaim


def on_granted(session: Session, claim: BenefitClaim, *, on: date) -> None:
    """A claim was granted: a monthly benefit starts its entitlement; a death stops the deceased's benefits."""


def claim_payments(session: Session, claim_id: int) -> list[dict]:
    """The payments of a claim, as ``benefits show --json`` lists them:
    ``[{"id", "month", "amount", "method", "status", "paid_on", "failure_reason"}]``."""
    return []
