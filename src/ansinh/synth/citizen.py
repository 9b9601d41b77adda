"""The demo citizen's self-service history, after their working life (:mod:`ansinh.synth.stories`: two employers,
voluntary SI, household HI, a card) and the facilities' claims: what they did in the portal and what came back.

- a bank account in their own name (verified), benefits paid into it;
- a lump-sum claim filed in the portal three weeks ago (accepted, its deadline running);
- two health insurance visits at the province's demo hospital this month (a check-up and a short stay), through
  the claims intake like any facility's file;
- a correction request of their phone number refused last month (with its notice), and one of their address
  waiting for the office;
- notices: the answer to the correction, and a reminder that their voluntary period is coming to an end.

Everything goes through the portal's and the domains' services as the citizen (or the province's officer) would,
with dates derived from the demo's ``today`` (never the clock). Deterministic for a seed and a database.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.auth.models import Role, User
from ansinh.auth.service import principal_for
from ansinh.registry.models import Person

#: Days before ``today`` of each step.
CLAIM_FILED_DAYS_AGO = 21
REJECTED_DAYS_AGO = 35
OPEN_CORRECTION_DAYS_AGO = 3
#: The bank (a NAPAS BIN) of the demo citizen's account.
DEMO_BANK_BIN = "970436"
VIETNAM = timezone(timedelta(hours=7))


def _user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def _officer(session: Session, plan, province_unit: str) -> User | None:
    for user in plan.users:
        if Role.provincial_officer in user.roles and user.org_unit_code == province_unit:
            return _user(session, user.username)
    return None


def _facility_code(plan, province_unit: str) -> str | None:
    for user in plan.users:
        if Role.facility in user.roles and user.org_unit_code == province_unit:
            return user.subject_ref
    return None


def _visits(session: Session, plan, person: Person, facility_code: str, *, today: date) -> int:
    """Two episodes of the citizen at the facility this month, sent as the facility's file through the intake."""
    from ansinh.cards.models import HICard, MedicalFacility
    from ansinh.claims.intake.service import receive_claim_file
    from ansinh.synth.claims import EpisodeSpec, Patient, claim_file

    if session.scalar(select(MedicalFacility.id).where(MedicalFacility.code == facility_code)) is None:
        return 0
    card = session.scalar(select(HICard).where(HICard.person_id == person.id, HICard.superseded_at.is_(None))
                          .order_by(HICard.valid_from.desc()).limit(1))
    if card is None:
        return 0
    patient = Patient(full_name=person.full_name, date_of_birth=person.date_of_birth,
                      sex=2 if getattr(person.sex, "value", person.sex) == "female" else 1, card_code=card.card_code,
                      citizen_id=person.citizen_id, registered_facility=card.registered_facility,
                      card_valid_from=card.valid_from, card_valid_to=card.valid_until or date(today.year, 12, 31))
    first = today.replace(day=1) if today.day >= 5 else (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    specs = [EpisodeSpec(patient=patient, ma_lk=f"VSSID-{person.id}-1", care_type="01",
                         arrived_at=datetime.combine(first, datetime.min.time()).replace(hour=8, tzinfo=VIETNAM)),
             EpisodeSpec(patient=patient, ma_lk=f"VSSID-{person.id}-2", care_type="03", days=2,
                         arrived_at=datetime.combine(first + timedelta(days=1),
                                                     datetime.min.time()).replace(hour=9, tzinfo=VIETNAM))]
    data = claim_file(facility_code, specs, seed=plan.seed + 7, on=today)
    report = receive_claim_file(session, content=data, file_name=f"{facility_code}-{today:%Y-%m}-vssid.xml",
                                principal=None, facility_code=facility_code, today=today,
                                received_by="demo-loader", threads=False)
    return report.claims


def citizen_self_service(session: Session, plan, user, *, today: date) -> dict:
    """The story of one citizen user (see the module); counts of what was written."""
    from ansinh.benefits.payments import service as payments
    from ansinh.notices.service import send_notice
    from ansinh.portal import actions
    from ansinh.registry.corrections import service as corrections

    account = _user(session, user.username)
    person = session.scalar(select(Person).where(Person.citizen_id == user.subject_ref))
    officer = _officer(session, plan, user.org_unit_code)
    if account is None or person is None or officer is None:
        return {}
    citizen, staff = principal_for(account), principal_for(officer)
    counts = {"bank accounts": 0, "portal claims": 0, "visits": 0, "correction requests": 0, "notices": 0}

    holder = person.full_name.upper()
    existing = payments.bank_accounts(session, citizen, citizen_id=person.citizen_id)
    if not existing:
        number = f"0{person.id:010d}"[-11:]
        actions.register_bank_account(session, citizen, bank_bin=DEMO_BANK_BIN, account_number=number,
                                      holder_name=holder, on=today - timedelta(days=60))
        counts["bank accounts"] += 1

    filed_on = today - timedelta(days=CLAIM_FILED_DAYS_AGO)
    claim, new = actions.file_claim(session, citizen, claim_type="lump_sum", ground="abroad", on=filed_on,
                                    external_ref=f"demo-{plan.seed}")
    counts["portal claims"] += int(new)

    facility = _facility_code(plan, user.org_unit_code)
    if facility:
        counts["visits"] += _visits(session, plan, person, facility, today=today)

    rejected = corrections.file_correction(session, citizen, changes={"phone": "0987654321"},
                                           note="Số điện thoại mới", on=today - timedelta(days=REJECTED_DAYS_AGO))
    corrections.reject_correction(session, staff, rejected.id, on=today - timedelta(days=REJECTED_DAYS_AGO - 4),
                                  reason="Số điện thoại chưa được xác minh; vui lòng mang CCCD đến cơ quan BHXH.")
    corrections.file_correction(session, citizen, changes={"address": "Số 12 ngõ 34 phố Trần Duy Hưng"},
                                note="Đã chuyển nơi ở", on=today - timedelta(days=OPEN_CORRECTION_DAYS_AGO))
    counts["correction requests"] += 2
    counts["notices"] += 1  # the refusal's
    paid_until = today.replace(day=1) + timedelta(days=40)
    send_notice(session, kind="voluntary_renewal", key=f"demo:voluntary_renewal:{person.id}:{today:%Y-%m}",
                on=today - timedelta(days=2), params={"paid_until": paid_until.replace(day=1) - timedelta(days=1)},
                person_id=person.id, person_ref=person.citizen_id, link="/me/bills")
    counts["notices"] += 1
    return counts


def load_demo_citizens(session: Session, plan, *, today: date) -> dict:
    """The self-service history of every citizen user of the plan whose person exists (see the module)."""
    total: dict[str, int] = {}
    for user in plan.users:
        if Role.citizen not in user.roles:
            continue
        for key, value in citizen_self_service(session, plan, user, today=today).items():
            total[key] = total.get(key, 0) + value
    return total
