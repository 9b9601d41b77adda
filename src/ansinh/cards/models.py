"""Tables of health insurance cards: card versions issued from coverage periods, the medical facilities with their
HI contracts and their dated classification into the levels of 2025, and the log of lookups made at facility desks (the seed reports count lookups and successful lookups
per province, facility and month)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId


class FacilityLevel(str, enum.Enum):
    """The level (tuyến) of a facility before 2025-01-01, as the HI cost-sharing rules name it
    (``hi_cost_sharing.FacilityLevel``). Since Law 51/2024/QH15 (Art 1(17), replacing Art 22 of the HI Law from
    2025-01-01) facilities have a technical level instead (:class:`FacilityLevel2025`, dated in
    :class:`FacilityClassification`); the former level still decides some HI benefits."""

    central = "central"
    provincial = "provincial"
    district = "district"
    commune = "commune"


class MedicalFacility(Base):
    """A medical facility (cơ sở KCB) with its 5-digit code: 2 digits of province and 3 of number."""

    __tablename__ = "medical_facility"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(5), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The level before 2025-01-01 (central, provincial, district, commune); the level since then is dated in
    #: ``facility_classification``.
    level: Mapped[FacilityLevel] = mapped_column(Enum(FacilityLevel, native_enum=False, length=12))
    primary_care: Mapped[bool] = mapped_column(Boolean, default=True)  # accepts primary-care registration
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    #: A code of the specialty catalogue (``cards/data/facility_specialties.yaml``): "general" or the specialty of a
    #: specialised hospital; with the level, it makes the facility's peer group for cost monitoring.
    specialty: Mapped[str] = mapped_column(String(24), default="general", server_default="general")
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))  # the commune (2025 structure)
    province_2025: Mapped[str] = mapped_column(String(8), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)  # the office that contracts it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FacilityLevel2025(str, enum.Enum):
    """The technical level of a facility from 2025-01-01 (HI Law Art 22 as replaced by Law 51/2024/QH15; classified
    under Decree 02/2025/NĐ-CP and Circular 01/2025/TT-BYT)."""

    initial = "initial"  # cấp khám bệnh, chữa bệnh ban đầu
    basic = "basic"  # cấp khám bệnh, chữa bệnh cơ bản
    specialised = "specialised"  # cấp khám bệnh, chữa bệnh chuyên sâu


class FacilityClassification(Base):
    """A facility's classification from a date (``valid_from``) until the next one: its 2025 level; for a basic
    facility its classification score (points, 0 to 100: the bands under 50, 50 to under 70, 70 and more decide
    HI benefits) or that it is provisionally classified (xếp cấp tạm thời, no score); for an initial-level facility
    whether it is of the kind the Ministry's visit-category catalogue lists under code 1.2 (``health_station``:
    commune health stations, family-medicine practices, area health centres licensed as clinics, health stations
    of agencies, the army and the police), where HI pays the whole cost whatever the card's level. A
    reclassification is a new row from its date; nothing is changed or deleted. ``org_unit_id``: the office that
    contracts the facility (the audit trail's scope)."""

    __tablename__ = "facility_classification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("medical_facility.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    level_2025: Mapped[FacilityLevel2025] = mapped_column(Enum(FacilityLevel2025, native_enum=False, length=12))
    score: Mapped[int | None] = mapped_column(Integer)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    health_station: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[str | None] = mapped_column(String(120))  # the classifying decision, e.g. "QĐ 123/QĐ-SYT"
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("facility_id", "valid_from"),
                      CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"))


class FacilityContract(Base):
    """An HI contract between an office and a facility: only a facility with a contract in force may look up
    cards and send claims. Ending a contract early sets ``terminated_on``; nothing is deleted."""

    __tablename__ = "facility_contract"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("medical_facility.id"), index=True)
    contract_number: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)  # inclusive
    terminated_on: Mapped[date | None] = mapped_column(Date)  # last day in force when ended early
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("facility_id", "contract_number"),)


class CardStatus(str, enum.Enum):
    active = "active"
    suspended = "suspended"  # e.g. a card lent to another person, or the holder reported dead


class HICard(Base):
    """One version of a person's card. A change of group, validity or place makes a new version; the old one is
    kept, marked ``superseded_at``. ``card_code``: group (2 letters) + benefit digit + province (2 digits) + SI
    number (10 digits)."""

    __tablename__ = "hi_card"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    card_code: Mapped[str] = mapped_column(String(15), index=True)
    hi_group: Mapped[str] = mapped_column(String(2))
    benefit_digit: Mapped[str] = mapped_column(String(1))
    province_code: Mapped[str] = mapped_column(String(2))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)  # inclusive, as printed; None = open-ended
    registered_facility: Mapped[str | None] = mapped_column(String(10))
    five_years_from: Mapped[date | None] = mapped_column(Date)
    coverage_period_id: Mapped[int | None] = mapped_column(BigId)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[CardStatus] = mapped_column(Enum(CardStatus, native_enum=False, length=12),
                                               default=CardStatus.active, server_default="active")
    status_reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_hi_card_current", "person_id", "superseded_at"),)


class CardLookup(Base):
    """One lookup at a facility desk (or by agency staff): who, with which key, for which day, and the answer."""

    __tablename__ = "card_lookup"
    __audit__ = False  # the log itself; reads of the person are audited separately

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    looked_up_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer)
    facility_code: Mapped[str | None] = mapped_column(String(10))
    province_2025: Mapped[str | None] = mapped_column(String(8))
    key_type: Mapped[str] = mapped_column(String(12))  # citizen_id | card_code | si_number
    on: Mapped[date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(16))  # covered | not_covered | unknown_person | mismatch
    reason: Mapped[str | None] = mapped_column(String(24))
    person_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (Index("ix_card_lookup_kpi", "province_2025", "looked_up_at"),
                      Index("ix_card_lookup_facility", "facility_code", "looked_up_at"),
                      Index("ix_card_lookup_facility_person", "facility_code", "person_id"))


class LookupAlert(Base):
    """An alert on a looker's card lookups (``ansinh.cards.desk_guard``): within an hour, lookups of many people
    unrelated to the looker, or many failed identity checks. One per looker, kind and hour; reviewed by the agency."""

    __tablename__ = "card_lookup_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    looker: Mapped[str] = mapped_column(String(40))  # "facility:01001" or "user:12"
    facility_code: Mapped[str | None] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(Integer)
    province_2025: Mapped[str | None] = mapped_column(String(8))  # the looker's province (who reviews it)
    kind: Mapped[str] = mapped_column(String(40))  # many_unrelated_people | many_failed_identity_checks
    count: Mapped[int] = mapped_column(Integer)
    hour: Mapped[datetime] = mapped_column(UtcDateTime())  # the hour (UTC) the threshold was crossed

    __table_args__ = (UniqueConstraint("looker", "kind", "hour", name="uq_card_lookup_alert_looker_kind_hour"),
                      Index("ix_card_lookup_alert_province", "province_2025", "raised_at"))
