"""Tables of medical claims: the files facilities send (the national claim file of Decision 130/QĐ-BYT as amended
by 4750/QĐ-BYT, or its predecessor of Decision 4210), the treatment episodes they carry (XML1, one claim per
episode and version) and their lines (XML2 drugs, XML3 services, supplies and beds). The other tables of an
episode (XML4 … XML15) are kept as received.

An episode is (facility, MA_LK). Sent again before it is settled, it becomes a new version and the earlier one is
marked ``superseded_at``; nothing is deleted. A claim is settled when its facility's settlement month is (a row of
``claim_settlement``, :mod:`ansinh.claims.settlement`): settling a month writes one row, not one per claim. Amounts are integer dong; quantities and unit prices, which the file
gives with up to 3 decimals, are integers in thousandths (``*_milli``). Moments are UTC (the file's local times are
Vietnam's).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, BigInteger, Date, ForeignKey, Index, Integer, SmallInteger, String, Text,
                        UniqueConstraint, and_, column, exists, table, text)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow
from ansinh.registry.models import BigId

Money = BigInteger


class ClaimFile(Base):
    """One file received from a facility: accepted or refused as a whole, with every problem found."""

    __tablename__ = "claim_file"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    facility_code: Mapped[str] = mapped_column(String(5), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)  # the facility's office
    sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    layout: Mapped[str | None] = mapped_column(String(8))  # "130" (Decision 130/4750) or "4210"
    created_on: Mapped[date | None] = mapped_column(Date)  # NGAYLAP
    declared_count: Mapped[int | None] = mapped_column(Integer)  # SOLUONGHOSO
    status: Mapped[str] = mapped_column(String(12))  # accepted | refused
    claims: Mapped[int] = mapped_column(Integer, default=0)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list | None] = mapped_column(JSON)  # the first problems: {ma_lk, table, row, field, reason}
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    received_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("facility_code", "sha256"),)


class Claim(Base):
    """One version of a treatment episode (XML1, TONG_HOP), with its appraisal outcome. On PostgreSQL its pages are
    half filled (fillfactor 50, migration 0020) so that the appraisal's update of each claim stays on its page."""

    __tablename__ = "claim"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("claim_file.id"), index=True)
    facility_code: Mapped[str] = mapped_column(String(5))
    episode_key: Mapped[str] = mapped_column(String(100))  # MA_LK
    version: Mapped[int] = mapped_column(Integer, default=1)
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # the patient, as the file gives them, and as found in the registry
    person_id: Mapped[int | None] = mapped_column(BigId, index=True)
    patient_ref: Mapped[str | None] = mapped_column(String(100))  # MA_BN
    full_name: Mapped[str] = mapped_column(String(255))
    citizen_id: Mapped[str | None] = mapped_column(String(12))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[int | None] = mapped_column(SmallInteger)  # 1 male, 2 female, 3 other
    card_code: Mapped[str | None] = mapped_column(String(200))  # MA_THE_BHYT (several joined by ';')
    registered_facility: Mapped[str | None] = mapped_column(String(5))  # MA_DKBD
    card_valid_from: Mapped[date | None] = mapped_column(Date)
    card_valid_to: Mapped[date | None] = mapped_column(Date)
    # the episode
    main_icd: Mapped[str | None] = mapped_column(String(10))
    other_icd: Mapped[str | None] = mapped_column(String(200))
    visit_category: Mapped[str | None] = mapped_column(String(8))  # MA_DOITUONG_KCB
    care_type: Mapped[str | None] = mapped_column(String(2))  # MA_LOAI_KCB
    referred_from: Mapped[str | None] = mapped_column(String(5))  # MA_NOI_DI
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime())
    admitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    discharged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    treatment_days: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[int | None] = mapped_column(SmallInteger)  # KET_QUA_DTRI
    discharge_type: Mapped[int | None] = mapped_column(SmallInteger)  # MA_LOAI_RV
    # the amounts claimed (dong)
    total_hospital: Mapped[int] = mapped_column(Money)  # T_TONGCHI_BV
    total_insured: Mapped[int] = mapped_column(Money)  # T_TONGCHI_BH
    patient_copay: Mapped[int] = mapped_column(Money)  # T_BNCCT
    patient_pays: Mapped[int] = mapped_column(Money)  # T_BNTT
    fund_claimed: Mapped[int] = mapped_column(Money)  # T_BHTT
    other_sources: Mapped[int] = mapped_column(Money, default=0)  # T_NGUONKHAC
    settlement_year: Mapped[int] = mapped_column(SmallInteger)  # NAM_QT
    settlement_month: Mapped[int] = mapped_column(SmallInteger)  # THANG_QT
    # appraisal and settlement
    status: Mapped[str] = mapped_column(String(12), default="received")  # received | appraised (see ``state``)
    outcome_status: Mapped[str | None] = mapped_column(String(16))  # accepted | partly_accepted | rejected
    disallowed: Mapped[int] = mapped_column(Money, default=0)
    appraised_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    province_2025: Mapped[str] = mapped_column(String(8))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("facility_code", "episode_key", "version"),
        Index("ix_claim_facility_month", "facility_code", "settlement_year", "settlement_month"),
        Index("ix_claim_person_arrived", "person_id", "arrived_at"),
        # one current version per episode, whatever races; it also finds the current version (migration 0017, which
        # dropped ix_claim_current: the versions of an episode are found by uq_claim_facility_code_episode_key_version)
        Index("uq_claim_current_episode", "facility_code", "episode_key", unique=True,
              postgresql_where=text("superseded_at IS NULL"), sqlite_where=text("superseded_at IS NULL")),
    )

    @property
    def state(self) -> str:
        """received | appraised | settled (its facility's month is settled)."""
        return SETTLED if self.settled else self.status


SETTLED = "settled"
#: The settlements (``claim_settlement``, defined in :mod:`ansinh.claims.settlement.models`), as far as a claim needs.
_settlements = table("claim_settlement", column("facility_code"), column("year"), column("month"))


def claim_is_settled(claim=Claim):
    """SQL: whether the claim's facility and settlement month are settled (the unique index of the settlements)."""
    return exists().where(and_(_settlements.c.facility_code == claim.facility_code,
                               _settlements.c.year == claim.settlement_year,
                               _settlements.c.month == claim.settlement_month))


Claim.settled = column_property(claim_is_settled(), deferred=False)


def claim_month_of(year: int, month: int) -> date:
    """A line's ``claim_month``: the first day of its claim's settlement month (NAM_QT, THANG_QT)."""
    return date(year, month, 1)


class ClaimLine(Base):
    """One line of an episode: a drug (XML2) or a service, supply or bed (XML3).

    ``claim_month`` is its claim's settlement month (THANG_QT/NAM_QT, the first day of it), copied into the line when
    it is written: on PostgreSQL the table is partitioned by it (migration 0031), so that the appraisal and the
    settlement of a month read one partition. It never changes (a corrected claim is a new version with new lines),
    and all the lines of a claim share it: the unique key (claim, table, row) holds with it as it does without."""

    __tablename__ = "claim_line"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    claim_month: Mapped[date] = mapped_column(Date)  # the claim's settlement month (its first day): the partition key
    source_table: Mapped[str] = mapped_column(String(4))  # XML2 | XML3
    row_no: Mapped[int] = mapped_column(Integer)  # STT
    kind: Mapped[str] = mapped_column(String(8))  # drug | service | supply | bed
    code: Mapped[str] = mapped_column(String(50))  # MA_THUOC | MA_DICH_VU | MA_VAT_TU
    cost_group: Mapped[str | None] = mapped_column(String(4))  # MA_NHOM
    name: Mapped[str | None] = mapped_column(String(1024))
    unit: Mapped[str | None] = mapped_column(String(50))
    scope: Mapped[int | None] = mapped_column(SmallInteger)  # PHAM_VI: 1 in cover, 2 outside, 3 outside but paid
    quantity_milli: Mapped[int] = mapped_column(BigInteger)  # SO_LUONG × 1000
    unit_price_milli: Mapped[int] = mapped_column(BigInteger)  # DON_GIA (XML2) / DON_GIA_BH (XML3) × 1000
    payment_rate: Mapped[int | None] = mapped_column(SmallInteger)  # TYLE_TT_BH, percent
    benefit_pct: Mapped[int | None] = mapped_column(SmallInteger)  # MUC_HUONG, percent
    hospital_amount: Mapped[int] = mapped_column(Money)  # THANH_TIEN_BV
    insured_amount: Mapped[int] = mapped_column(Money)  # THANH_TIEN_BH
    fund_amount: Mapped[int] = mapped_column(Money)  # T_BHTT
    patient_copay: Mapped[int] = mapped_column(Money, default=0)  # T_BNCCT
    patient_pays: Mapped[int] = mapped_column(Money, default=0)  # T_BNTT
    tender: Mapped[str | None] = mapped_column(String(100))  # TT_THAU
    bed_code: Mapped[str | None] = mapped_column(String(10))  # MA_GIUONG
    department: Mapped[str | None] = mapped_column(String(50))  # MA_KHOA
    ordered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # NGAY_YL
    performed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # NGAY_TH_YL
    result_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # NGAY_KQ
    disallowed: Mapped[int] = mapped_column(Money, default=0)

    # PostgreSQL wants the partition key in every unique key; a claim's lines all have its month, so the same rule
    __table_args__ = (UniqueConstraint("claim_id", "source_table", "row_no", "claim_month"),)


class ClaimAttachment(Base):
    """A table of an episode other than XML1-3 (XML4 results, XML5 clinical course, … XML15), as received."""

    __tablename__ = "claim_attachment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    source_table: Mapped[str] = mapped_column(String(6))  # XML4 … XML15
    content: Mapped[str] = mapped_column(Text)  # the decoded UTF-8 XML

    __table_args__ = (UniqueConstraint("claim_id", "source_table"),)
