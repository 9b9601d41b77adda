"""A small world for claim intake: facilities of Hà Nội (01001 with a contract, 01002 without) and of Sơn La (14001
with a contract), people of Hà Nội registered with citizen IDs, and helpers to send a generated file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from ansinh.audit.service import audit_context
from ansinh.auth.models import OrgUnit
from ansinh.cards import facilities
from ansinh.registry import service as registry
from ansinh.registry.models import Sex
from ansinh.synth.claims import EpisodeSpec, Patient

#: The day the files are made (NGAYLAP); their episodes are of the month before.
ON = date(2026, 11, 30)
HANOI, HANOI_NO_CONTRACT, SONLA = "01001", "01002", "14001"


def cid(born: date, female: bool, serial: int, province: str = "001") -> str:
    digit = {1900: 0, 2000: 2}[born.year // 100 * 100] + (1 if female else 0)
    return f"{province}{digit}{born.year % 100:02d}{serial:06d}"


@dataclass
class IntakeWorld:
    people: list[dict]  # id, citizen_id, full_name, date_of_birth, sex

    def patient(self, index: int, card: str = "DN4010123456789") -> Patient:
        person = self.people[index]
        return Patient(full_name=person["full_name"], date_of_birth=person["date_of_birth"],
                       sex=2 if person["female"] else 1, card_code=card, citizen_id=person["citizen_id"],
                       registered_facility=HANOI)

    def episodes(self, count: int) -> list[EpisodeSpec]:
        return [EpisodeSpec(patient=self.patient(i % len(self.people))) for i in range(count)]


@pytest.fixture
def intake_world(db, org) -> IntakeWorld:
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        hanoi, sonla = s.get(OrgUnit, org.hanoi.id), s.get(OrgUnit, org.sonla.id)
        for code, name, unit, contract in ((HANOI, "Bệnh viện Đa khoa Hà Đông", hanoi, True),
                                           (HANOI_NO_CONTRACT, "Phòng khám Ba Đình", hanoi, False),
                                           (SONLA, "Bệnh viện Đa khoa tỉnh Sơn La", sonla, True)):
            facility = facilities.create_facility(s, facilities.FacilityData(code=code, name=name,
                                                                             level="provincial"), unit)
            if contract:
                facilities.sign_contract(s, facility=facility, contract_number=f"HD-{code}",
                                         valid_from=date(2020, 1, 1), valid_until=date(2099, 12, 31), org_unit=unit)
        people = []
        for serial, (name, born, female) in enumerate([("Nguyễn Văn An", date(1990, 5, 17), False),
                                                       ("Trần Thị Bình", date(1985, 2, 1), True),
                                                       ("Lê Văn Cường", date(2001, 12, 31), False)], 1):
            person = registry.create_person(s, registry.PersonData(
                full_name=name, date_of_birth=born, sex=Sex.female if female else Sex.male,
                citizen_id=cid(born, female, serial)), hanoi)
            people.append({"id": person.id, "citizen_id": person.citizen_id, "full_name": name,
                           "date_of_birth": born, "female": female})
    return IntakeWorld(people)
