"""The employment office's decisions: each row an unemployment claim with its clock from the decision, the
decision number filing once, bad rows rejected with their reasons in both languages, other provinces' people not
found."""

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.benefits import unemployment_import
from ansinh.benefits.models import BenefitClaim, ClaimStatus, ClaimType
from ansinh.errors import PermissionDenied
from ansinh.registry.imports import read_table

HEADER = "decision_number,decision_on,citizen_id,employment_ended_on,benefit_months,monthly_amount,first_month\n"
TODAY = date(2026, 3, 10)


def _claims(session) -> int:
    return session.scalar(select(func.count()).select_from(BenefitClaim))


def test_each_decision_is_a_claim_with_its_clock_from_the_decision(session, bworld):
    lan = bworld.person("Ngô Thị Lan")
    sonla_person = bworld.person("Lò Văn Pản", unit=bworld.sonla)
    content = (HEADER
               + f"15/QĐ-TTDVVL,2026-02-13,{lan.citizen_id},2026-01-31,3,6000000,2026-02\n"
               + f"16/QĐ-TTDVVL,2026-02-13,{sonla_person.citizen_id},2026-01-31,3,5000000,\n"  # another province
               + "17/QĐ-TTDVVL,2026-02-13,0010,2026-01-31,3,5000000,\n"
               + f"18/QĐ-TTDVVL,2026-02-13,{lan.citizen_id},2026-03-01,3,5000000,\n"  # ended after the decision
               + f"19/QĐ-TTDVVL,2026-02-13,{lan.citizen_id},2026-01-31,13,5000000,\n"
               + f"20/QĐ-TTDVVL,2026-04-01,{lan.citizen_id},2026-01-31,3,5000000,\n"  # decided after today
               + f"15/QĐ-TTDVVL,2026-02-13,{lan.citizen_id},2026-01-31,3,6000000,2026-02\n").encode()
    report = unemployment_import.import_unemployment_decisions(session, bworld.officer, content=content,
                                                               file_name="tcvl.csv", on=TODAY)
    assert (report.status, report.rows, report.filed, report.rejected) == ("done", 7, 1, 6)
    first = report.outcomes[0]
    claim = session.get(BenefitClaim, first["claim_id"])
    assert (claim.claim_type, claim.status, claim.external_ref) == (ClaimType.unemployment, ClaimStatus.accepted,
                                                                    "15/QĐ-TTDVVL")
    # Friday 13 February 2026 is after Tết (16-20 February are days off): 5 working days → 27 February
    assert (claim.filed_on, claim.complete_on, claim.deadline) == (date(2026, 2, 13), date(2026, 2, 13),
                                                                   date(2026, 2, 27))
    assert claim.details == {"decision_number": "15/QĐ-TTDVVL", "decision_on": "2026-02-13",
                             "employment_ended_on": "2026-01-31", "benefit_months": 3, "monthly_amount": 6_000_000,
                             "first_month": "2026-02-01"}
    errors = [o["error"] for o in report.outcomes[1:]]
    assert errors[0]["column"] == "citizen_id" and errors[0]["reason_en"].startswith("No person is registered")
    assert errors[1] == {"column": "citizen_id", "value": "0010", "reason_en": "A citizen ID is 12 digits.",
                         "reason_vi": "Số định danh cá nhân (CCCD) gồm 12 chữ số."}
    assert errors[2]["reason_en"] == "The employment ended (2026-03-01) after the decision (2026-02-13)."
    assert errors[2]["reason_vi"] == "Ngày chấm dứt hợp đồng lao động (2026-03-01) sau ngày quyết định (2026-02-13)."
    assert errors[3] == {"column": "benefit_months", "value": "13", "reason_en": "Write a whole number from 1 to 12.",
                         "reason_vi": "Ghi một số nguyên từ 1 đến 12."}
    assert errors[4]["column"] == "decision_on"
    assert errors[5]["reason_en"] == "Row 2 of this file gives the same decision."
    assert report.error_lines()[0].startswith("tcvl.csv, row 3, citizen_id: No person is registered")
    assert report.error_lines("vi")[1] == "tcvl.csv, dòng 4, citizen_id: Số định danh cá nhân (CCCD) gồm 12 chữ số."


def test_a_decision_imported_again_files_nothing(session, bworld):
    lan = bworld.person("Ngô Thị Lan")
    content = (HEADER + f"15/QĐ-TTDVVL,13/02/2026,{lan.citizen_id},31/01/2026,3,6000000,\n").encode()
    first = unemployment_import.import_unemployment_decisions(session, bworld.officer, content=content,
                                                              file_name="a.csv", on=TODAY)
    count = _claims(session)
    again = unemployment_import.import_unemployment_decisions(session, bworld.officer, content=content,
                                                              file_name="a.csv", on=TODAY)
    assert (first.filed, again.filed, again.already_filed) == (1, 0, 1)
    assert again.outcomes[0]["claim_id"] == first.outcomes[0]["claim_id"]
    assert _claims(session) == count
    claim = session.get(BenefitClaim, first.outcomes[0]["claim_id"])
    assert claim.details["first_month"] == "2026-02-01"  # default: the month of the decision


def test_a_file_without_its_columns_writes_nothing_and_outsiders_are_refused(session, bworld):
    count = _claims(session)
    report = unemployment_import.import_unemployment_decisions(session, bworld.officer, content=b"a,b\n1,2\n",
                                                               file_name="x.csv", on=TODAY)
    assert report.status == "rejected" and {e.column for e in report.errors} == {
        "decision_number", "decision_on", "citizen_id", "employment_ended_on", "benefit_months", "monthly_amount"}
    assert report.errors[0].reason_vi == "Thiếu cột bắt buộc decision_number."
    with pytest.raises(PermissionDenied):
        unemployment_import.import_unemployment_decisions(session, bworld.citizen, content=HEADER.encode(),
                                                          file_name="x.csv", on=TODAY)
    assert _claims(session) == count


def test_the_template_reads_back():
    frame = read_table(unemployment_import.template_xlsx(), "t.xlsx")
    assert frame.columns == [spec.name for spec in unemployment_import.COLUMNS]
