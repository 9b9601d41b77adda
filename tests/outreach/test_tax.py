"""Tax and business-registry matching on the hand-counted world (:mod:`tests.outreach.world`) with two more
employers: B (Hà Nội, 0100112437, no workers) and C (Sơn La, 5500001000)."""

import pytest
from sqlalchemy import func, select

from ansinh.auth import service as auth_service
from ansinh.auth.models import Role, User
from ansinh.collection.models import InspectionCase
from ansinh.errors import PermissionDenied
from ansinh.outreach import tax
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership
from tests.outreach.world import ON, build

ENTERPRISES = """tax_code,name,address,employee_count
0100109106,Công ty An Bình,Hà Nội,3
0100112437,Công ty Bình Minh,Hà Nội,0
0100109113,Công ty Chưa Đăng Ký,Hà Nội,5
5500001000,Hợp tác xã Mộc Châu,Sơn La,4
0100109107,Sai Mã,Hà Nội,2
0100112437,Công ty Bình Minh,Hà Nội,0
0100109120,Số Sai,Hà Nội,abc
"""


def withholdings(w) -> str:
    return "\n".join([
        "employer_tax_code,citizen_id,month",
        f"0100109106,{w['worker'].citizen_id},2026-02",     # row 2: covered by A
        f"0100109106,{w['leaver'].citizen_id},2026-02",     # row 3: left A on 2025-10-01 → finding
        f"0100109106,{w['leaver'].citizen_id},2025-09",     # row 4: still covered in September
        "0100109113,001090999999,2026-01",                   # row 5: unregistered firm, unknown person → finding
        f"5500001000,{w['far'].citizen_id},2026-02",        # row 6: Sơn La's firm (Hà Nội: out of scope)
        f"0100109106,{w['worker'].citizen_id},2026-13",     # row 7: bad month
        "0100109106,123,2026-02",                            # row 8: bad citizen ID
        f"0100109106,{w['leaver'].citizen_id},2026-02",     # row 9: the same as row 3, once
    ]) + "\n"


@pytest.fixture
def world(session, org):
    w = build(session, org)
    for code, unit in (("0100112437", w["hanoi"]), ("5500001000", w["sonla"])):
        w[code] = registry.create_employer(session, registry.EmployerData(
            tax_code=code, name=f"Công ty {code}", ownership=Ownership.private, region="I"), unit)
    session.flush()
    return w


def officer(session, make_user, unit, name):
    user = make_user(name, unit, Role.provincial_officer)
    return auth_service.principal_for(session.get(User, user.id))


def test_matching_for_a_province(session, org, world, make_user):
    hanoi = officer(session, make_user, org.hanoi, "hn")
    report = tax.tax_match(session, hanoi, enterprises=ENTERPRISES.encode(), enterprises_name="dn.csv", on=ON,
                           withholdings=withholdings(world).encode(), withholdings_name="tncn.csv")
    assert report.status == "done"
    assert (report.enterprises, report.withholdings) == (4, 5)  # 7 rows − 2 bad − 1 duplicate; 8 − 2 bad − 1 again
    assert [(e["file"], e["row"], e["column"]) for e in report.errors] == [
        ("dn.csv", 6, "tax_code"), ("dn.csv", 7, "tax_code"), ("dn.csv", 8, "employee_count"),
        ("tncn.csv", 7, "month"), ("tncn.csv", 8, "citizen_id")]
    assert report.errors[1]["reason_en"] == "The same tax code is on an earlier row."
    assert report.errors[0]["reason_vi"] and report.errors[0]["reason_en"].startswith("A tax code")
    assert [r["tax_code"] for r in report.unregistered] == ["0100109113"]
    assert report.outside_scope == 1  # Sơn La's cooperative
    assert report.under_declared == [{"row": 2, "employer_id": world["a"].id, "tax_code": "0100109106",
                                      "name": "Công ty An Bình", "employee_count": 3, "si_workers": 1,
                                      "missing": 2}]
    found = [(r["row"], r["citizen_id"], r["month"], r["registered"], r["person_id"])
             for r in report.workers_without_si]
    assert found == [(3, world["leaver"].citizen_id, "2026-02", True, world["leaver"].id),
                     (5, "001090999999", "2026-01", False, None)]


def test_matching_for_the_country_and_another_province(session, org, world, make_user):
    report = tax.tax_match(session, None, enterprises=ENTERPRISES.encode(), enterprises_name="dn.csv", on=ON,
                           withholdings=withholdings(world).encode(), withholdings_name="tncn.csv")
    assert report.outside_scope == 0
    assert sorted(r["tax_code"] for r in report.under_declared) == ["0100109106", "5500001000"]
    assert [r["row"] for r in report.workers_without_si] == [3, 5, 6]
    sonla = officer(session, make_user, org.sonla, "sl")
    theirs = tax.tax_match(session, sonla, enterprises=ENTERPRISES.encode(), enterprises_name="dn.csv", on=ON,
                           withholdings=withholdings(world).encode(), withholdings_name="tncn.csv")
    assert theirs.outside_scope == 2  # A and B of Hà Nội
    assert [r["tax_code"] for r in theirs.under_declared] == ["5500001000"]
    # the leaver (Hà Nội's employer) is not shown to Sơn La; its own worker and the unregistered firm's are
    assert [(r["row"], r["person_id"]) for r in theirs.workers_without_si] == [(5, None), (6, world["far"].id)]


def test_a_file_without_its_columns_is_rejected(session, world):
    report = tax.tax_match(session, None, enterprises=b"tax_code,name\n0100109106,An\n", enterprises_name="x.csv",
                           on=ON)
    assert report.status == "rejected" and report.errors[0]["column"] == "employee_count"
    assert report.errors[0]["row"] == 1


def test_opening_an_inspection_case_once(session, org, world, make_user):
    hanoi = officer(session, make_user, org.hanoi, "hn")
    case, opened = tax.open_inspection(session, hanoi, tax_code="0100109106", on=ON, findings="Thiếu 2 lao động")
    assert opened and case.findings == "Thiếu 2 lao động" and case.employer_id == world["a"].id
    again, opened = tax.open_inspection(session, hanoi, tax_code="0100109106", on=ON, findings="Khác")
    assert not opened and again.id == case.id and again.findings == "Thiếu 2 lao động"
    sonla = officer(session, make_user, org.sonla, "sl")
    with pytest.raises(PermissionDenied):
        tax.open_inspection(session, sonla, tax_code="0100112437", on=ON)
    assert session.scalar(select(func.count()).select_from(InspectionCase)) == 1
