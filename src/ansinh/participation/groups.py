"""Health insurance beneficiary group codes (the two letters at the start of a card code) that enrolment uses,
with who pays by default. Source: VSS Decision 1351/QĐ-BHXH (card codes), HI Law Art 12."""

from __future__ import annotations

from ansinh.i18n import N_
from ansinh.participation.models import Payer

#: code → (label msgid, default payer)
HI_GROUPS: dict[str, tuple[str, Payer]] = {
    "DN": (N_("Employees of enterprises"), Payer.employer),
    "HC": (N_("Civil servants and public employees"), Payer.employer),
    "XK": (N_("Employees of other employers"), Payer.employer),
    "HT": (N_("Pensioners"), Payer.other_budget),
    "TE": (N_("Children under 6"), Payer.state_budget),
    "HN": (N_("Members of poor households"), Payer.state_budget),
    "DT": (N_("Ethnic minorities in hardship areas"), Payer.state_budget),
    "BT": (N_("Social protection beneficiaries"), Payer.state_budget),
    "CN": (N_("Members of near-poor households"), Payer.state_budget),
    "HS": (N_("Pupils"), Payer.self),
    "SV": (N_("Students"), Payer.self),
    "GD": (N_("Household members"), Payer.household),
    "NN": (N_("Agriculture, forestry and fishery households"), Payer.household),
    "TN": (N_("Unemployment benefit recipients"), Payer.other_budget),
}
EMPLOYER_GROUPS = ("DN", "HC", "XK")
STATE_GROUPS = ("TE", "HN", "DT", "BT", "CN", "HS", "SV", "NN")
#: Groups whose HI a fund pays for the months of a benefit (the unemployment fund for TN, Employment Law Art 51),
#: enrolled with :func:`ansinh.participation.service.enrol_state_budget` by the benefit's payment.
FUND_GROUPS = ("TN",)
