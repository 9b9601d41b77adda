"""The payments' test world: the benefits world (``bworld``) with claims granted through the workflow — the
assessment stubbed with given amounts (the eligibility rules are tested on their own) — and helpers to move
payments through files and results."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from ansinh.benefits import eligibility
from ansinh.benefits import service as claims
from ansinh.benefits.payments import service as pay
from ansinh.registry.models import Sex

BIN_VCB, BIN_AGR = "970436", "970405"


@pytest.fixture
def world(session, bworld, monkeypatch):
    figures: dict[int, eligibility.Assessment] = {}

    def fake_assess(session_, claim, *, on):
        return figures[claim.id]

    monkeypatch.setattr(eligibility, "assess", fake_assess)
    serial = iter(range(1, 10_000))

    def granted(kind, who, *, on=date(2026, 1, 5), amount=0, monthly=None, first_month=None, months=None,
                details=None, ground=None, officer=None):
        officer = officer or bworld.officer
        claim, _ = claims.file_claim(session, officer, claim_type=kind, citizen_id=who.citizen_id, filed_on=on,
                                     channel="counter", ground=ground, details=details,
                                     external_ref=f"T-{next(serial)}")
        figures[claim.id] = eligibility.Assessment(eligible=True, amount=amount, monthly_amount=monthly,
                                                   benefit_months=months, first_month=first_month)
        claims.assess(session, officer, claim.id, on=on)
        claims.decide(session, officer, claim.id, on=on)
        session.refresh(claim)
        return claim

    def account(who, bank_bin=BIN_VCB, number=None, holder=None, on=date(2026, 1, 2), principal=None):
        return pay.add_bank_account(session, principal or bworld.officer, citizen_id=who.citizen_id,
                                    bank_bin=bank_bin, account_number=number or f"0011{who.id:08d}",
                                    holder_name=holder or who.full_name.upper(), on=on)

    def results(rows, name="ket-qua.csv", principal=None, on=date(2026, 1, 20)):
        text = "reference,status,reason\n" + "".join(f"{r},{s},{why}\n" for r, s, why in rows)
        return pay.import_bank_results(session, principal or bworld.officer, file_name=name,
                                       content=text.encode(), on=on)

    def pensioner(name, born=date(1960, 1, 1), sex=Sex.male):
        return bworld.person(name, born=born, sex=sex)

    return SimpleNamespace(b=bworld, granted=granted, account=account, results=results, pensioner=pensioner)
