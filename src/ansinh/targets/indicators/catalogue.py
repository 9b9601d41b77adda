"""The indicators the agency's reports cite, each declared once: its code (the stable name tools script against),
its names, unit, stock or flow, the domain service it is computed through, and how.

Stocks are counted as of the period's last day (``participants.si_compulsory`` for 2026-11 is the participants on
30 November, as ``ansinh report participation --on 2026-11-30``); flows over the period's days.
"""

from __future__ import annotations

from ansinh.targets.indicators.registry import Figure, Indicator, register
from ansinh.targets.indicators.sources import counts, rates

#: HI beneficiary groups of pupils (HS) and students (SV), as printed in the card code (Decision 1666/QĐ-BHXH).
PUPIL_STUDENT_GROUPS = ("HS", "SV")
PARTICIPATION = "participation.service.participation_by_province"


def _declare(flow: bool, code, name_en, name_vi, compute, source, description, *, unit="people", better="higher",
             drill=None, reference="", judged=True):
    return register(Indicator(code=code, name_en=name_en, name_vi=name_vi, unit=unit, flow=flow,
                              compute=compute, source=source, description=description, better=better, drill=drill,
                              reference=reference, judged=judged))


def _stock(*args, **kwargs):
    """An indicator counted as of the period's last day."""
    return _declare(False, *args, **kwargs)


def _flow(*args, **kwargs):
    """An indicator counted over the period's days."""
    return _declare(True, *args, **kwargs)


# --- participants ---------------------------------------------------------------------------------------------
_stock("participants.si_compulsory", "Compulsory social insurance participants", "Người tham gia BHXH bắt buộc",
       lambda s, p: s.participants(p.end, "si_compulsory"), PARTICIPATION,
       "People with a compulsory social insurance period in force on the period's last day.")
_stock("participants.si_voluntary", "Voluntary social insurance participants", "Người tham gia BHXH tự nguyện",
       lambda s, p: s.participants(p.end, "si_voluntary"), PARTICIPATION,
       "People with a voluntary social insurance period in force on the period's last day.")
_stock("participants.si_total", "Social insurance participants", "Người tham gia BHXH",
       lambda s, p: s.participants(p.end, "si_compulsory", "si_voluntary"), PARTICIPATION,
       "Compulsory and voluntary social insurance participants (a person is in one of them at a time).")
_stock("participants.hi", "Health insurance participants", "Người tham gia BHYT",
       lambda s, p: s.participants(p.end, "hi"), PARTICIPATION,
       "People with health insurance in force on the period's last day, each counted once whatever their groups.")
_stock("participants.ui", "Unemployment insurance participants", "Người tham gia BHTN",
       lambda s, p: s.participants(p.end, "ui"), PARTICIPATION,
       "People with unemployment insurance in force on the period's last day.")
_stock("participants.hi_pupils_students", "Pupils and students with health insurance", "Học sinh, sinh viên tham gia BHYT",
       lambda s, p: counts(s.hi_groups(p.end, PUPIL_STUDENT_GROUPS)), "participation.flows.count_hi_groups",
       "People in the pupils' (HS) or students' (SV) health insurance group on the period's last day.")

# --- coverage -------------------------------------------------------------------------------------------------
_stock("coverage.hi_population_pct", "Health insurance coverage of the population", "Tỷ lệ bao phủ BHYT",
       lambda s, p: s.coverage(p.end, ("hi",), working_age=False),
       "participation.service.participation_by_province; registry.places.population_by_province",
       "Health insurance participants as a share of the province's population (the population figures of the "
       "year, or the latest loaded before it).", unit="percent",
       reference="Decision 546/QĐ-TTg (targets of coverage by province)")
_stock("coverage.si_working_age_pct", "Social insurance share of the working-age population",
       "Tỷ lệ tham gia BHXH so với lực lượng lao động trong độ tuổi",
       lambda s, p: s.coverage(p.end, ("si_compulsory", "si_voluntary"), working_age=True),
       "participation.service.participation_by_province; registry.places.population_by_province",
       "Compulsory and voluntary social insurance participants as a share of the working-age population.",
       unit="percent", reference="Resolution 28-NQ/TW (targets of SI coverage of the labour force)")

# --- flows of participants ------------------------------------------------------------------------------------
_flow("flows.si_compulsory_leavers", "Workers who left compulsory social insurance",
      "Người dừng tham gia BHXH bắt buộc",
      lambda s, p: counts(s.leavers(p.start, p.end)), "participation.flows.count_compulsory_leavers",
      "People whose compulsory SI ended in the period without another compulsory period the next day (a change "
      "of employer is not leaving).", better="lower", drill="leavers")
_flow("flows.si_voluntary_new", "New voluntary social insurance participants", "Người tham gia BHXH tự nguyện mới",
      lambda s, p: counts(s.voluntary_new(p.start, p.end)), "participation.flows.count_voluntary_new",
      "People whose first voluntary SI period began in the period.", drill="voluntary_new")
_flow("flows.si_voluntary_returning", "Voluntary social insurance participants returning",
      "Người tham gia BHXH tự nguyện quay lại",
      lambda s, p: counts(s.voluntary_returning(p.start, p.end)), "participation.flows.count_voluntary_returning",
      "People whose voluntary SI began again in the period after a gap.", drill="voluntary_returning")

# --- collection and arrears -----------------------------------------------------------------------------------
_flow("collection.collected", "Contributions collected", "Số tiền thu",
      lambda s, p: counts(s.collected(p.start, p.end)), "collection.payments.collected_by_province",
      "Money received in the period and allocated to contributions or interest (money in suspense is not "
      "collected yet).", unit="dong")


def _arrears(key: str, whole: str | None = None):
    def compute(sources, period) -> dict[str, Figure]:
        figures = sources.arrears(period.end)
        if whole is None:
            return {province: Figure(int(row[key])) for province, row in figures.items() if province}
        return {province: Figure(int(row[key]), int(row[whole])) for province, row in figures.items() if province}
    return compute


_stock("arrears.amount", "Arrears of contributions", "Số tiền nợ đóng", _arrears("arrears"),
       "collection.arrears.arrears_by_province",
       "Contributions past their deadline and not paid on the period's last day.", unit="dong", better="lower",
       drill="debtors")
_stock("arrears.overdue_rate", "Overdue rate", "Tỷ lệ nợ", _arrears("arrears", "due"),
       "collection.arrears.arrears_by_province",
       "Arrears as a share of the contributions due.", unit="percent", better="lower", drill="debtors")
_stock("arrears.interest_bearing_rate", "Interest-bearing overdue rate", "Tỷ lệ nợ phải tính lãi",
       _arrears("interest_bearing", "due"), "collection.arrears.arrears_by_province",
       "Arrears overdue long enough to bear late-payment interest, as a share of the contributions due.",
       unit="percent", better="lower", drill="debtors",
       reference="collection.interest_bearing_min_months_late")
_stock("arrears.employers_3_months", "Employers overdue 3 months or more", "Đơn vị nợ từ 3 tháng trở lên",
       _arrears("employers_3_months"), "collection.arrears.arrears_by_province",
       "Employers with a contribution overdue three months or more.", unit="employers", better="lower",
       drill="debtors_3_months")


# --- facilities and cards -------------------------------------------------------------------------------------
def _contracted(sources, period) -> dict[str, Figure]:
    return {province: Figure(sum(levels.values()), None, dict(levels))
            for province, levels in sources.contracted(period.end).items() if province}


_stock("facilities.contracted", "Medical facilities under contract", "Cơ sở KCB ký hợp đồng KCB BHYT",
       _contracted, "cards.facilities.contracted_by_level",
       "Facilities with a health insurance contract in force on the period's last day, by level.",
       unit="facilities")
_flow("cards.lookups", "Card lookups at the province's facilities", "Lượt tra cứu thẻ BHYT",
      lambda s, p: {k: Figure(n) for k, (n, _ok) in s.lookups(p.start, p.end).items() if k},
      "cards.service.lookups_by_province",
      "Lookups of health insurance cards made at the province's facilities (and by its offices).", unit="lookups",
      judged=False)
_flow("cards.lookups_successful", "Successful card lookups", "Lượt tra cứu thẻ BHYT thành công",
      lambda s, p: {k: Figure(ok) for k, (_n, ok) in s.lookups(p.start, p.end).items() if k},
      "cards.service.lookups_by_province",
      "Lookups answered with a card in force.", unit="lookups")
_flow("cards.lookups_success_pct", "Share of card lookups successful", "Tỷ lệ tra cứu thẻ BHYT thành công",
      lambda s, p: rates({k: (ok, n) for k, (n, ok) in s.lookups(p.start, p.end).items()}),
      "cards.service.lookups_by_province",
      "Successful lookups as a share of all lookups at the province's facilities.", unit="percent")

# --- registry, employers, people not covered ------------------------------------------------------------------
_stock("registry.population_matched_pct", "Participants matched with the population database",
       "Tỷ lệ người tham gia đã đồng bộ với CSDL quốc gia về dân cư",
       lambda s, p: rates(s.population_matched(p.end)), "registry.shares.count_population_matched",
       "Participants whose citizen ID, name, date of birth and sex agree with the latest extract of the "
       "national population database imported.", unit="percent")
_stock("registry.citizen_id_pct", "People with a citizen ID", "Tỷ lệ người có số định danh cá nhân",
       lambda s, p: rates(s.citizen_ids()), "registry.shares.count_citizen_ids",
       "People in the registry with a citizen ID (the records as they are now).", unit="percent")
_stock("employers.e_transactions_pct", "Employers transacting electronically",
       "Tỷ lệ đơn vị giao dịch điện tử",
       lambda s, p: rates(s.e_transactions()), "registry.shares.count_e_transactions",
       "Employers registered for electronic transactions (the records as they are now).", unit="percent")
_stock("hi.uncovered_people", "People without health insurance", "Người chưa tham gia BHYT",
       lambda s, p: counts(s.uncovered(p.end)), "registry.shares.count_uncovered",
       "People of the registry with no health insurance in force on the period's last day.", better="lower",
       drill="uncovered")

# --- medical claims (by the month the facility claims them in) -----------------------------------------------
_CLAIMS = "claims.monitoring.service.claims_by_province"


def _claims(key: str, whole: str | None = None):
    def compute(sources, period) -> dict[str, Figure]:
        rows = sources.claims(period.start, period.end)
        return {k: Figure(row[key], row[whole] if whole else None) for k, row in rows.items()}
    return compute


_flow("claims.visits", "Health insurance visits claimed", "Lượt khám chữa bệnh BHYT đề nghị thanh toán",
      _claims("claims"), _CLAIMS, "Claims (visits and stays) of the period's settlement months, current versions.",
      unit="visits", judged=False)
_flow("claims.fund_claimed", "Health insurance costs claimed", "Chi phí KCB BHYT đề nghị thanh toán",
      _claims("claimed"), _CLAIMS, "The fund's share claimed by facilities (T_BHTT) for the period's months.",
      unit="dong", judged=False)
_flow("claims.disallowed", "Costs disallowed by the appraisal", "Chi phí từ chối thanh toán qua giám định",
      _claims("disallowed"), _CLAIMS, "What the appraisal disallowed of the claims of the period's months.",
      unit="dong", judged=False)
_flow("claims.disallowed_pct", "Share of claimed costs disallowed", "Tỷ lệ chi phí từ chối thanh toán",
      _claims("disallowed", "claimed"), _CLAIMS, "Disallowed as a share of the fund's share claimed.",
      unit="percent")

# --- benefit claims (filed, and first decided, in the period) --------------------------------------------------
_BENEFITS = "benefits.monitoring.claims_by_province"
#: Benefit types as the reports name them.
BENEFIT_TYPES = {
    "lump_sum": ("Lump-sum withdrawals", "BHXH một lần"),
    "pension": ("Pensions", "lương hưu"),
    "sickness": ("Sickness", "ốm đau"),
    "maternity": ("Maternity", "thai sản"),
    "unemployment": ("Unemployment", "thất nghiệp"),
    "funeral": ("Funeral grants", "mai táng phí"),
    "survivor": ("Survivor allowances", "tử tuất"),
}


def _benefits(key: str, whole: str | None = None, claim_type: str | None = None):
    def compute(sources, period) -> dict[str, Figure]:
        rows = sources.benefit_claims(period.start, period.end)
        return {k: Figure(part[key], part[whole] if whole else None)
                for k, row in rows.items() for part in [row["by_type"][claim_type] if claim_type else row]}
    return compute


_flow("benefits.received", "Benefit claims received", "Hồ sơ hưởng chế độ đã tiếp nhận", _benefits("received"),
      _BENEFITS, "Benefit claims of every type filed in the period, by any channel.", unit="claims")
_flow("benefits.resolved", "Benefit claims resolved", "Hồ sơ hưởng chế độ đã giải quyết", _benefits("resolved"),
      _BENEFITS, "Claims first decided (granted or refused) in the period; a withdrawal is not a resolution.",
      unit="claims")
_flow("benefits.resolved_on_time_pct", "Benefit claims resolved on time", "Tỷ lệ hồ sơ giải quyết đúng hạn",
      _benefits("on_time", "resolved"), _BENEFITS,
      "Claims decided by their legal deadline (working days from a complete file, benefits.deadlines.*) as a share "
      "of the claims decided in the period.", unit="percent", reference="benefits.deadlines")
_flow("benefits.electronic_pct", "Benefit claims filed electronically", "Tỷ lệ hồ sơ nộp qua giao dịch điện tử",
      _benefits("electronic", "received"), _BENEFITS,
      "Claims filed through the public-service portal or the app, or on the employer's electronic list, as a "
      "share of the claims received.", unit="percent")
_flow("benefits.lump_sum_withdrawals", "Lump-sum withdrawals granted", "Số người hưởng BHXH một lần",
      _benefits("lump_sum_granted"), _BENEFITS, "Lump-sum withdrawals granted in the period (people who left the "
      "social insurance system).", unit="people", better="lower")
_stock("benefits.pensioners", "Pensioners", "Người hưởng lương hưu",
       lambda s, p: counts(s.pensioners(p.end)), "benefits.monitoring.pensioners_by_province",
       "People with a pension in payment on the period's last day (granted in ansinh or migrated from the old "
       "system), counted by the province of their record.", judged=False)


def _payments(key: str, whole: str | None = None):
    def compute(sources, period) -> dict[str, Figure]:
        rows = sources.benefit_payments(period.start, period.end)
        return {k: Figure(row[key], row[whole] if whole else None) for k, row in rows.items()}
    return compute


_flow("benefits.payroll_amount", "Pension payroll", "Số tiền chi trả lương hưu", _payments("payroll"),
      "benefits.monitoring.payments_by_province", "The pension payroll of the period's months: the payments "
      "ordered, less those cancelled (a death).", unit="dong", judged=False)
_flow("benefits.paid_through_bank_pct", "Benefits paid through bank accounts",
      "Tỷ lệ chi trả qua tài khoản ngân hàng", _payments("paid_bank", "paid"),
      "benefits.monitoring.payments_by_province", "Benefit payments paid in the period into the beneficiary's own "
      "bank account, as a share of all the benefit payments paid (the rest in cash at the post office's paying "
      "points).", unit="percent")
for _type, (_en, _vi) in BENEFIT_TYPES.items():
    _flow(f"benefits.received.{_type}", f"Claims received: {_en.lower()}", f"Hồ sơ tiếp nhận: {_vi}",
          _benefits("received", claim_type=_type), _BENEFITS, f"Claims of type {_type} filed in the period.",
          unit="claims", judged=False)
    _flow(f"benefits.resolved_on_time_pct.{_type}", f"Resolved on time: {_en.lower()}",
          f"Tỷ lệ giải quyết đúng hạn: {_vi}", _benefits("on_time", "resolved", claim_type=_type), _BENEFITS,
          f"Claims of type {_type} decided by their deadline, as a share of those decided in the period.",
          unit="percent")

# --- declared for plans, counted once their domain lands -----------------------------------------------------
register(Indicator(
    code="selfservice.app_installs", name_en="Card app installs (VssID)", name_vi="Lượt cài đặt ứng dụng VssID",
    unit="people", flow=False, compute=lambda s, p: {}, source="self-service (not yet in ansinh)",
    description="Installs of the agency's app: a kind of target the provinces are assigned; ansinh counts it "
                "once the self-service portal records accounts.", measured=False))
