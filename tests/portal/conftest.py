"""The portal's test world (Hà Nội): An, a citizen with a history built through the participation services (two
employers with a gap, then voluntary social insurance, head of a household with household health insurance), a card,
a benefit claim and bills; Bình, a second citizen with a voluntary bill of her own; accounts for both, a Hà Nội
officer and a Sơn La officer.

An's history, by hand (months before the month of the day asked):
- Công ty An Bình: 2020-01 .. 2020-12, 10,000,000 to 2020-06 then 12,000,000 (12 months, SI + UI + HI);
- gap 2021-01 .. 2021-06 (6 months);
- Hợp tác xã Hoa Sen: 2021-07 .. 2021-12 at 8,000,000 (6 months);
- gap 2022-01 .. 2025-12 (48 months);
- voluntary SI 2026-01 .. 2026-03 on an income of 3,000,000 (3 months, paid by himself);
- household HI from 2026-01-31 (the 30 days of waiting after payment) to 2027-01-30, paid by the household;
  its months, as the record counts them: 2026-01 .. 2027-01.
Social insurance: 12 + 6 + 3 = 21 months = 1 year 9 months; compulsory 18, voluntary 3; UI 18.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.auth.service import principal_for
from ansinh.collection.billing import run_billing
from ansinh.participation import service as participation
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex

DAY = date(2026, 11, 30)  # the day the history is built on (declarations are checked against it)
JAN = date(2026, 1, 1)
AN_CID, BINH_CID, CUONG_CID = "001090012345", "001192054321", "001095000777"


@pytest.fixture
def pworld(db, org, make_user):
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi = s.get(OrgUnit, org.hanoi.id)
        first = registry.create_employer(s, registry.EmployerData(
            tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
        second = registry.create_employer(s, registry.EmployerData(
            tax_code="0101248141", name="Hợp tác xã Hoa Sen", ownership=Ownership.private, region="I"), hanoi)

        def person(name, born, sex, cid):
            return registry.create_person(s, registry.PersonData(full_name=name, date_of_birth=born, sex=sex,
                                                                 citizen_id=cid), hanoi)

        an = person("Nguyễn Văn An", date(1990, 5, 1), Sex.male, AN_CID)
        binh = person("Trần Thị Bình", date(1992, 7, 9), Sex.female, BINH_CID)
        cuong = person("Nguyễn Văn Cường", date(1995, 3, 3), Sex.male, CUONG_CID)

        def declare(employer, kind, month, salary=None):
            participation.apply_declaration(s, employer=employer, person=an, kind=kind, effective_month=month,
                                            insured_salary=salary, submitted_by="test", today=DAY)

        declare(first, "join", date(2020, 1, 1), 10_000_000)
        declare(first, "salary_change", date(2020, 7, 1), 12_000_000)
        declare(first, "leave", date(2021, 1, 1))
        declare(second, "join", date(2021, 7, 1), 8_000_000)
        declare(second, "leave", date(2022, 1, 1))
        participation.enrol_voluntary(s, person=an, income=3_000_000, months=1, group="other", start=JAN,
                                      org_unit=hanoi, today=date(2026, 1, 5))
        participation.end_voluntary(s, person=an, end=date(2026, 4, 1), today=date(2026, 3, 5))
        household = registry.create_household(s, head=an, members=[cuong], org_unit=hanoi)
        participation.enrol_household_hi(s, household=household, members=[an, cuong], start=JAN, months=12,
                                         today=date(2026, 1, 5))
        participation.enrol_voluntary(s, person=binh, income=4_000_000, months=1, group="other", start=JAN,
                                      org_unit=hanoi, today=date(2026, 1, 5))
        from ansinh.cards import service as cards

        cards.issue_cards(s, on=date(2026, 2, 15), person_ids=[an.id, cuong.id])
        officer = make_user("hn.officer", org.hanoi, Role.provincial_officer)
        from ansinh.benefits import service as benefits

        claim, _ = benefits.file_claim(s, principal_for(s.get(User, officer.id)), claim_type="sickness",
                                       citizen_id=AN_CID, filed_on=date(2026, 2, 12), channel="counter",
                                       details={"leave_from": "2026-02-02", "days": 3})
        binh_claim, _ = benefits.file_claim(s, principal_for(s.get(User, officer.id)), claim_type="sickness",
                                            citizen_id=BINH_CID, filed_on=date(2026, 2, 12), channel="counter",
                                            details={"leave_from": "2026-02-02", "days": 2})
        ids = SimpleNamespace(an=an.id, binh=binh.id, cuong=cuong.id, household=household.id, claim=claim.id,
                              binh_claim=binh_claim.id, first=first.id, second=second.id)
    with audit_context(channel="job", actor_username="test"):
        run_billing(db, period=JAN, province=None, actor="test", today=date(2026, 1, 20))
    make_user("an", org.hanoi, Role.citizen, subject_ref=AN_CID)
    make_user("binh", org.hanoi, Role.citizen, subject_ref=BINH_CID)
    make_user("sl.officer", org.sonla, Role.provincial_officer)
    return ids
