"""Eligibility and amounts of a benefit claim, from the person's records and the rules' calculators.

(The interface the workflow calls; the rules themselves are filled in by the eligibility work.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from ansinh.benefits.models import BenefitClaim


@dataclass
class Reason:
    """Why a claim is refused (or a condition it meets): a code, the article of law, and the text in both
    languages."""
    code: str
    article: str
    text_en: str
    text_vi: str


@dataclass
class Assessment:
    eligible: bool
    amount: int = 0  # the one-off amount (dong): lump sum, sickness, maternity, funeral, survivor one-off, bonus
    monthly_amount: int | None = None  # pension, monthly survivor allowance, unemployment
    benefit_months: int | None = None  # unemployment
    first_month: date | None = None  # the first month of a monthly benefit
    reasons: list[Reason] = field(default_factory=list)  # the refusal's grounds when not eligible
    record: dict = field(default_factory=dict)  # the contribution record used (months, salaries, revaluation)
    figures: dict = field(default_factory=dict)  # the computation, type by type (rate, months of salary, ...)

    def as_json(self) -> dict:
        return {"eligible": self.eligible, "amount": self.amount, "monthly_amount": self.monthly_amount,
                "benefit_months": self.benefit_months,
                "first_month": self.first_month.isoformat() if self.first_month else None,
                "reasons": [vars(r) for r in self.reasons], "record": self.record, "figures": self.figures}


def assess(session: Session, claim: BenefitClaim, *, on: date) -> Assessment:
    """The assessment of a claim on ``on`` from the records (never typed by an officer)."""
    raise NotImplementedError("the eligibility rules are being written")


#: Lump-sum grounds under Law 41/2024/QH15 Art 70(1), for claims filed from 2025-07-01.
LUMP_SUM_GROUNDS_2025 = ("retirement_age_under_15_years", "abroad", "grave_illness", "incapacity_81",
                         "transitional_12_months")
#: Lump-sum grounds under Law 58/2014/QH13 Art 60(1) (with Resolution 93/2015/QH13), for claims filed before.
LUMP_SUM_GROUNDS_2014 = ("retirement_age_under_20_years", "abroad", "grave_illness", "out_of_work_12_months")
#: The day Law 41/2024/QH15 took effect.
LAW_2024_FROM = date(2025, 7, 1)


def lump_sum_grounds(filed_on: date) -> tuple[str, ...]:
    """The grounds of a lump-sum withdrawal under the law in force on the filing date."""
    return LUMP_SUM_GROUNDS_2025 if filed_on >= LAW_2024_FROM else LUMP_SUM_GROUNDS_2014
