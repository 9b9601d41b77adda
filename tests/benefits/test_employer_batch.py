"""The employer's list of sickness and maternity cases (01B-HSB): each line a claim or a rejection with its reason in
both languages; the same file, or the same case in another file, files nothing twice; the employer's own list only."""

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.auth.models import OrgUnit, Role, User
from ansinh.auth.service import principal_for
from ansinh.benefits import employer_batch
from ansinh.benefits.models import BenefitClaim, Channel, ClaimStatus, EmployerBenefitBatch
from ansinh.errors import NotFound, PermissionDenied
from ansinh.registry.imports import read_table
from ansinh.registry.models import Sex

SENT = date(2026, 3, 2)
HEADER = "line,citizen_id,type,leave_from,days,hazardous,birth_on,children,child_order\n"


@pytest.fixture
def workers(session, bworld):
    """Two workers of An Bình (Hà Nội) since January 2025, one who left in December 2025, and a stranger."""
    an = bworld.work(bworld.person("Trần Văn An"), bworld.employer_hn, date(2025, 1, 1))
    mai = bworld.work(bworld.person("Lê Thị Mai", born=date(1994, 6, 1), sex=Sex.female), bworld.employer_hn,
                      date(2025, 1, 1))
    left = bworld.work(bworld.person("Phạm Văn Hùng"), bworld.employer_hn, date(2025, 1, 1), end=date(2025, 12, 1))
    stranger = bworld.person("Đỗ Văn Lạ")
    return an, mai, left, stranger


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_each_line_is_a_claim_or_a_rejection_with_its_reason(session, bworld, workers):
    an, mai, left, stranger = workers
    content = (HEADER
               + f"1,{an.citizen_id},sickness,2026-02-23,5,no,,,\n"
               + f"2,{mai.citizen_id},maternity,,,,15/02/2026,2,1\n"
               + "3,001099999999,sickness,2026-02-23,3,,,,\n"  # nobody registered
               + f"4,{left.citizen_id},sickness,2026-02-23,3,,,,\n"  # left the employer in December 2025
               + f"5,{stranger.citizen_id},sickness,2026-02-30,3,,,,\n"  # 30 February
               + f"6,{an.citizen_id},sickness,2026-03-05,2,,,,\n"  # after the day the list is sent
               + f"7,{an.citizen_id},sickness,2026-02-23,5,no,,,\n").encode()  # line 1 again
    report = employer_batch.submit_employer_batch(session, bworld.officer, content=content, file_name="01b.csv",
                                                  employer_tax_code="0100109106", on=SENT)
    assert (report.status, report.lines, report.filed, report.rejected) == ("done", 7, 2, 5)
    by_line = {o["line"]: o for o in report.outcomes}
    assert [by_line[str(n)]["status"] for n in range(1, 8)] == ["filed", "filed"] + ["rejected"] * 5
    assert by_line["3"]["error"] == {
        "column": "citizen_id", "value": "001099999999",
        "reason_en": "No person is registered with citizen ID 001099999999.",
        "reason_vi": "Không có người nào đăng ký với số CCCD 001099999999."}
    assert by_line["4"]["error"]["column"] == "leave_from"
    assert by_line["4"]["error"]["reason_en"] == (f"{left.citizen_id} was not a worker of this employer with "
                                                  "compulsory social insurance on 2026-02-23.")
    assert by_line["4"]["error"]["reason_vi"].startswith(f"{left.citizen_id} không phải là người lao động")
    assert by_line["5"]["error"]["column"] == "leave_from" and by_line["5"]["error"]["value"] == "2026-02-30"
    assert by_line["5"]["error"]["reason_vi"] == "Không phải ngày: ghi dạng YYYY-MM-DD hoặc DD/MM/YYYY."
    assert "after the day the list is sent (2026-03-02)" in by_line["6"]["error"]["reason_en"]
    assert by_line["7"]["error"]["reason_en"] == "Row 2 of this file gives the same case."
    assert report.error_lines()[0].startswith("01b.csv, row 4, citizen_id: No person")

    sick = session.get(BenefitClaim, by_line["1"]["claim_id"])
    assert (sick.channel, sick.status, sick.employer_id, sick.batch_line) == (
        Channel.employer, ClaimStatus.accepted, bworld.employer_hn.id, 2)
    assert sick.details == {"leave_from": "2026-02-23", "days": 5, "hazardous": False}
    assert sick.external_ref == f"01B:0100109106:{an.citizen_id}:sickness:2026-02-23"
    assert sick.deadline == date(2026, 3, 11)  # 7 working days after Monday 2 March 2026
    birth = session.get(BenefitClaim, by_line["2"]["claim_id"])
    assert birth.details == {"birth_on": "2026-02-15", "children": 2, "child_order": 1, "direct": False}
    batch = session.get(EmployerBenefitBatch, report.batch_id)
    assert (batch.lines, batch.filed, batch.rejected, len(batch.outcomes)) == (7, 2, 5, 7)


def test_the_same_file_or_the_same_case_again_files_nothing_twice(session, bworld, workers):
    an, *_ = workers
    content = (HEADER + f"1,{an.citizen_id},sickness,2026-02-23,5,,,,\n").encode()
    first = employer_batch.submit_employer_batch(session, bworld.officer, content=content, file_name="a.csv",
                                                 employer_tax_code="0100109106", on=SENT)
    claims, batches = _count(session, BenefitClaim), _count(session, EmployerBenefitBatch)
    again = employer_batch.submit_employer_batch(session, bworld.officer, content=content, file_name="a.csv",
                                                 employer_tax_code="0100109106", on=date(2026, 3, 3))
    assert (again.status, again.batch_id, again.outcomes) == ("replayed", first.batch_id, first.outcomes)
    # the same case on another list (another line number): the claim filed then
    other = employer_batch.submit_employer_batch(
        session, bworld.officer, content=(HEADER + f"9,{an.citizen_id},sickness,23/02/2026,5,,,,\n").encode(),
        file_name="b.csv", employer_tax_code="0100109106", on=date(2026, 3, 3))
    assert other.outcomes[0]["status"] == "already_filed"
    assert other.outcomes[0]["claim_id"] == first.outcomes[0]["claim_id"]
    assert (_count(session, BenefitClaim), _count(session, EmployerBenefitBatch)) == (claims, batches + 1)


def test_an_unreadable_file_or_missing_columns_writes_nothing(session, bworld, workers):
    before = _count(session, EmployerBenefitBatch)
    missing = employer_batch.submit_employer_batch(session, bworld.officer, content=b"line,citizen_id\n1,0\n",
                                                   file_name="x.csv", employer_tax_code="0100109106", on=SENT)
    assert missing.status == "rejected"
    assert [(e.row, e.column) for e in missing.errors] == [(1, "type")]
    assert missing.errors[0].reason_vi == "Thiếu cột bắt buộc type."
    latin1 = employer_batch.submit_employer_batch(session, bworld.officer, content="Nguyễn".encode("utf-16"),
                                                  file_name="x.csv", employer_tax_code="0100109106", on=SENT)
    assert latin1.status == "rejected" and latin1.errors
    assert _count(session, EmployerBenefitBatch) == before


def test_an_employer_sends_its_own_list_only(session, bworld, workers, make_user, org):
    an, *_ = workers
    user = make_user("dn.anbinh", org.hanoi, Role.employer, subject_ref="0100109106")
    employer = principal_for(session.get(User, user.id))
    content = (HEADER + f"1,{an.citizen_id},sickness,2026-02-23,5,,,,\n").encode()
    own = employer_batch.submit_employer_batch(session, employer, content=content, file_name="a.csv",
                                               employer_tax_code=None, on=SENT)
    assert own.filed == 1 and own.employer_tax_code == "0100109106"
    assert employer_batch.get_batch(session, employer, own.batch_id).id == own.batch_id
    with pytest.raises(PermissionDenied):
        employer_batch.submit_employer_batch(session, employer, content=content, file_name="b.csv",
                                             employer_tax_code="5500001000", on=SENT)
    with pytest.raises(NotFound):  # Sơn La's officer: Hà Nội's employer is not in their scope
        employer_batch.submit_employer_batch(session, bworld.sonla_officer, content=content, file_name="c.csv",
                                             employer_tax_code="0100109106", on=SENT)
    with pytest.raises(NotFound):
        employer_batch.get_batch(session, bworld.sonla_officer, own.batch_id)
    with pytest.raises(NotFound):
        employer_batch.get_batch(session, bworld.citizen, own.batch_id)
    with pytest.raises(PermissionDenied):
        employer_batch.submit_employer_batch(session, bworld.citizen, content=content, file_name="d.csv",
                                             employer_tax_code="0100109106", on=SENT)
    # Mộc Châu's employer account sees nothing of An Bình's list
    other = make_user("dn.mocchau", org.sonla, Role.employer, subject_ref="5500001000")
    with pytest.raises(NotFound):
        employer_batch.get_batch(session, principal_for(session.get(User, other.id)), own.batch_id)


def test_the_template_reads_back_with_its_columns():
    frame = read_table(employer_batch.template_xlsx(), "01B-HSB.xlsx")
    assert frame.columns == [spec.name for spec in employer_batch.COLUMNS]
    assert frame.height == 1 and frame["type"][0] == "sickness"
    assert employer_batch.template_csv().startswith(b"line,citizen_id,type,leave_from,days")


def test_an_excel_list_is_read_like_a_csv(session, bworld, workers):
    import io

    import xlsxwriter

    an, *_ = workers
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("data")
    sheet.write_row(0, 0, ["line", "citizen_id", "type", "leave_from", "days"])
    sheet.write_row(1, 0, [1, an.citizen_id, "sickness", "2026-02-23", 4])
    book.close()
    report = employer_batch.submit_employer_batch(session, bworld.officer, content=buffer.getvalue(),
                                                  file_name="01b.xlsx", employer_tax_code="0100109106", on=SENT)
    assert report.filed == 1, report.outcomes
    claim = session.get(BenefitClaim, report.outcomes[0]["claim_id"])
    assert claim.details["days"] == 4
    assert session.get(OrgUnit, claim.org_unit_id).code == "BHXH-01"


@pytest.mark.parametrize(("raw", "column", "reason"), [
    ({"citizen_id": "", "type": "sickness"}, "citizen_id", "A value is required."),
    ({"citizen_id": "00109001234５", "type": "sickness"}, "citizen_id", "A citizen ID is 12 digits."),
    ({"citizen_id": "001090012345", "type": "ốm"}, "type", "The type is sickness or maternity."),
    ({"citizen_id": "001090012345", "type": "sickness", "leave_from": "0001-01-01", "days": "2"}, "leave_from",
     "Not a date: write YYYY-MM-DD or DD/MM/YYYY."),
    ({"citizen_id": "001090012345", "type": "sickness", "leave_from": "2026-02-02", "days": "²"}, "days",
     "Write a whole number from 1 to 365."),
    ({"citizen_id": "001090012345", "type": "sickness", "leave_from": "2026-02-02", "days": "3", "hazardous": "?"},
     "hazardous", "Write yes or no."),
    ({"citizen_id": "001090012345", "type": "maternity", "birth_on": "2026-02-02", "children": "11"}, "children",
     "Write a whole number from 1 to 10."),
])
def test_a_line_is_checked_column_by_column(raw, column, reason):
    with pytest.raises(employer_batch._LineError) as problem:
        employer_batch.read_case(raw, 2, sent_on=SENT)
    assert (problem.value.column, problem.value.reason_en) == (column, reason)


def test_excel_cells_read_as_text_are_understood():
    case = employer_batch.read_case({"citizen_id": "001090012345", "type": "Sickness",
                                     "leave_from": "2026-02-02 00:00:00", "days": "5.0", "hazardous": "có"}, 2,
                                    sent_on=SENT)
    assert (case.on, case.details) == (date(2026, 2, 2), {"leave_from": "2026-02-02", "days": 5, "hazardous": True})


@pytest.mark.postgres
def test_the_same_list_or_case_sent_at_once_is_filed_once():
    """Four requests at once on PostgreSQL with real commits: two send the same file, two another file with the same
    case. One batch per file, one claim: the second of each waits for the first and replays (or finds the claim)."""
    import threading

    from ansinh.audit.service import audit_context
    from ansinh.benefits.cli import operator_principal
    from ansinh.participation import service as participation
    from ansinh.registry import service as registry
    from ansinh.registry.models import Ownership
    from tests.live import fresh_postgres, hanoi_facility

    with fresh_postgres() as database:
        hanoi_id, _ = hanoi_facility(database, name="Bệnh viện Hà Đông", level="provincial")
        with audit_context(channel="job", actor_username="test-fixture"), database.unit_of_work() as s:
            hanoi = s.get(OrgUnit, hanoi_id)
            employer = registry.create_employer(s, registry.EmployerData(
                tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
            an = registry.create_person(s, registry.PersonData(full_name="Trần Văn An", date_of_birth=date(1985, 5, 1),
                                                               sex=Sex.male, citizen_id="001085000001"), hanoi)
            participation.apply_declaration(s, employer=employer, person=an, kind="join",
                                            effective_month=date(2025, 1, 1), insured_salary=10_000_000,
                                            submitted_by="test", today=date(2026, 3, 1))
        files = [(HEADER + "1,001085000001,sickness,2026-02-23,5,,,,\n").encode(),
                 (HEADER + "7,001085000001,sickness,23/02/2026,5,,,,\n").encode()]
        started = threading.Barrier(4)
        outcome: list = []

        def send(n: int) -> None:
            try:
                started.wait(5)
                with audit_context(channel="api", actor_username=f"t{n}"), database.unit_of_work() as s:
                    report = employer_batch.submit_employer_batch(
                        s, operator_principal(s), content=files[n % 2], file_name=f"{n}.csv",
                        employer_tax_code="0100109106", on=SENT)
                    outcome.append((n % 2, report.status, report.outcomes[0]["status"], report.outcomes[0]["claim_id"]))
            except Exception as exc:  # noqa: BLE001 - the outcome is asserted
                outcome.append(exc)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not [o for o in outcome if isinstance(o, Exception)], outcome
        assert len({claim_id for *_, claim_id in outcome}) == 1
        assert sorted(status for _, status, *_ in outcome) == ["done", "done", "replayed", "replayed"]
        assert sorted(line for _, status, line, _ in outcome if status == "done") == ["already_filed", "filed"]
        with database.unit_of_work() as s:
            assert s.scalar(select(func.count()).select_from(BenefitClaim)) == 1
            assert s.scalar(select(func.count()).select_from(EmployerBenefitBatch)) == 2
