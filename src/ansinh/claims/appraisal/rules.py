"""The registry of appraisal rules. Each rule declares itself once, like the calculators::

    register_rule(AppraisalRule(
        code="PRICE_ABOVE",
        description_en="Unit price above the facility's approved price on the day",
        description_vi="Đơn giá cao hơn giá được phê duyệt của cơ sở tại ngày thực hiện",
        reference="HI Law Art 30, 31; Circular 12/2026/TT-BTC Art 10(1)(d)",
        valid_from=date(2018, 3, 1), valid_until=None,   # visit days the rule applies to
        level="line",                                     # claim | line
        check=price_above,                                # AppraisalBatch -> findings frame (whole columns)
        messages={"": N_("Unit price {unit_price} is above the approved price {approved_price} ...")},
        parameters=(),                                    # the dated parameters it reads
        refuses=True,                                     # False: a flag for review, amount always 0
    ))

A check is a pure function of the whole batch, on columns; it returns one row per finding with the columns of
:data:`FINDING_SCHEMA` but ``rule`` (the engine adds it): ``claim_id``, ``line_id`` (null for a claim-level rule),
``amount`` (the fund's share it refuses, whole dong) and ``details`` (JSON text of the values its message names;
``reason`` picks the message among ``messages``). The engine (:mod:`.engine`) applies a rule only to the claims
whose visit day (arrival) falls within its dates, caps amounts and adds the findings up.

Messages are English msgids marked with ``N_`` (Vietnamese in the catalogue); :func:`describe` renders a finding
in the current language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
from markupsafe import Markup

from ansinh.clock import VIETNAM
from ansinh.formatting import message_params, stored_params
from ansinh.i18n import gettext

if TYPE_CHECKING:
    from ansinh.claims.appraisal.engine import AppraisalBatch

Level = Literal["claim", "line"]

#: The columns of a findings frame (a check returns them without ``rule``).
FINDING_SCHEMA: dict[str, pl.DataType] = {"claim_id": pl.Int64, "line_id": pl.Int64, "rule": pl.String,
                                          "amount": pl.Int64, "details": pl.String}


@dataclass(frozen=True)
class AppraisalRule:
    code: str
    description_en: str
    description_vi: str
    reference: str
    valid_from: date
    valid_until: date | None
    level: Level
    check: Callable[[AppraisalBatch], pl.DataFrame]
    messages: Mapping[str, str] = field(default_factory=dict)
    parameters: tuple[str, ...] = ()
    refuses: bool = True

    def applies_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def message(self, reason: str | None = None) -> str:
        """The English msgid of the message for a reason (the rule's default message when it has no such reason)."""
        return self.messages.get(reason or "", self.messages.get("", self.description_en))


RULES: dict[str, AppraisalRule] = {}


def register_rule(rule: AppraisalRule) -> AppraisalRule:
    if rule.code in RULES and RULES[rule.code] is not rule:
        raise ValueError(f"appraisal rule {rule.code} is already registered")
    if rule.level not in ("claim", "line"):
        raise ValueError(f"appraisal rule {rule.code}: level is claim or line, not {rule.level!r}")
    if rule.valid_until is not None and rule.valid_until < rule.valid_from:
        raise ValueError(f"appraisal rule {rule.code}: valid_until is before valid_from")
    if "" not in rule.messages:
        raise ValueError(f"appraisal rule {rule.code}: a default message (key '') is needed")
    RULES[rule.code] = rule
    return rule


def appraisal_rules() -> dict[str, AppraisalRule]:
    """Every rule, importing the module that declares them first, in code order."""
    from ansinh.claims.appraisal import checks  # noqa: F401 - registers the rules

    return dict(sorted(RULES.items()))


def details_json(**columns: pl.Expr) -> pl.Expr:
    """The ``details`` column: JSON text of the named values (keys sorted, so the text is the same for the same
    values)."""
    return pl.struct(**dict(sorted(columns.items()))).struct.json_encode().alias("details")


def findings_frame(frame: pl.DataFrame, *, amount: pl.Expr | int, line: bool, **details: pl.Expr) -> pl.DataFrame:
    """A check's findings from a frame holding ``claim_id`` (and ``line_id`` for a line-level rule): the amount
    (an expression, or 0 for a flag) and the details."""
    amount_expr = amount if isinstance(amount, pl.Expr) else pl.lit(amount)
    return frame.select(
        pl.col("claim_id").cast(pl.Int64),
        (pl.col("line_id") if line else pl.lit(None)).cast(pl.Int64).alias("line_id"),
        amount_expr.cast(pl.Int64).alias("amount"),
        details_json(**details),
    )


_LOCAL_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")


def _readable(values: dict[str, Any]) -> dict[str, Any]:
    """The details as the reader's language writes them: amounts grouped (a whole price without ``.0``), days day
    first, the engine's local moments (Vietnam's time, no zone) as moments; ids and codes as they are."""
    def revived(key: str, value: Any) -> Any:
        if key.endswith("_id"):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _LOCAL_MOMENT.fullmatch(value):
            return datetime.fromisoformat(value).replace(tzinfo=VIETNAM)
        return value

    kept = {key: value for key, value in values.items() if key.endswith("_id")}
    shown = message_params(stored_params({key: revived(key, value) for key, value in values.items()
                                          if key not in kept}))
    return {**shown, **kept}


#: Details that are codes (of a catalogue, a price list, a card, a facility): shown as code on a page, never as
#: numbers ("1.1" is a visit category, not one and a tenth).
CODE_DETAILS = frozenset({"code", "codes", "card_code", "care_type", "visit_category", "facility_code",
                          "other_facility_code", "clause", "case"})


def describe(rule_code: str, details: str | Mapping[str, Any] | None, *, markup: bool = False) -> str:
    """A finding as a sentence in the current language; with ``markup``, HTML (escaped, the codes in ``<code>``)."""
    rule = appraisal_rules()[rule_code]
    values = json.loads(details) if isinstance(details, str) else dict(details or {})
    text = gettext(rule.message(values.get("reason")))
    readable = _readable(values)
    if markup:
        text = Markup.escape(text)
        readable = {key: Markup("<code>{}</code>").format(value) if key in CODE_DETAILS else value
                    for key, value in readable.items()}
    try:
        return text.format(**readable)
    except (KeyError, IndexError, ValueError):
        return text
