"""Tables of the registry: places (both administrative structures and the mapping between them), people,
households, employers, population figures and the national population extract."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ansinh.db import Base, UtcDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")


class Structure(str, enum.Enum):
    """The administrative structure a place belongs to."""

    before_2025 = "2008"  # 63 provinces → districts → communes, until 2025-06-30
    from_2025 = "2025"  # 34 provinces → communes, from 2025-07-01


class PlaceLevel(str, enum.Enum):
    province = "province"
    district = "district"
    commune = "commune"


class Sex(str, enum.Enum):
    male = "male"
    female = "female"


class Ownership(str, enum.Enum):
    state = "state"
    private = "private"
    fdi = "fdi"
    cooperative = "cooperative"
    household_business = "household_business"
    public_service = "public_service"  # đơn vị sự nghiệp
    association = "association"
    other = "other"


class Place(Base):
    """A province, district or commune of one structure, with its official code and validity dates."""

    __tablename__ = "place"
    __audit__ = False  # reference data, loaded from the packages

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    structure: Mapped[Structure] = mapped_column(Enum(Structure, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e]))
    level: Mapped[PlaceLevel] = mapped_column(Enum(PlaceLevel, native_enum=False, length=12))
    code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(120))
    name_search: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"), index=True)
    province_code: Mapped[str] = mapped_column(String(8))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # exclusive; None = still valid

    __table_args__ = (UniqueConstraint("structure", "level", "code"), Index("ix_place_province", "structure", "province_code"))


class PlaceMapping(Base):
    """Old commune (2008 structure) → new commune (2025 structure). A commune split in several has several rows."""

    __tablename__ = "place_mapping"
    __audit__ = False

    old_place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), primary_key=True)
    new_place_id: Mapped[int] = mapped_column(ForeignKey("place.id"), primary_key=True, index=True)


class Household(Base):
    __tablename__ = "household"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    head_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", use_alter=True), index=True)
    residence_place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    address: Mapped[str | None] = mapped_column(String(300))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Person(Base):
    """A person known to the agency. ``si_number`` is the lifelong social insurance number."""

    __tablename__ = "person"
    __audit_person_ref__ = "citizen_id"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    citizen_id: Mapped[str | None] = mapped_column(String(12), unique=True)
    si_number: Mapped[str] = mapped_column(String(10), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    name_search: Mapped[str] = mapped_column(String(120), index=True)  # without accents, lower case
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(Enum(Sex, native_enum=False, length=8))
    ethnicity: Mapped[str | None] = mapped_column(String(40))
    residence_place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    relation_to_head: Mapped[str | None] = mapped_column(String(30))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # The province of residence in both structures, derived through the mapping when the place is recorded.
    province_2008: Mapped[str | None] = mapped_column(String(8))
    province_2025: Mapped[str | None] = mapped_column(String(8))
    # Set when this record was found to be a duplicate and merged into another (its history moved there). No
    # foreign-key constraint: adding one would rebuild the table on SQLite; merge_people checks the record exists.
    merged_into_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    # The lists of people (records not merged away): counting a scope, and the two sorts an office uses most (with
    # the org unit, so that the rows skipped before a deep page are read from the index alone).
    __table_args__ = tuple(
        Index(name, *columns, postgresql_where=text("merged_into_id IS NULL"),
              sqlite_where=text("merged_into_id IS NULL"))
        for name, columns in (("ix_person_live_org", ("org_unit_id",)),
                              ("ix_person_live_name", ("name_search", "id", "org_unit_id")),
                              ("ix_person_live_born", ("date_of_birth", "id", "org_unit_id")))) + (
        # The name search at the start of any word: every word-initial prefix of the name in a GIN index on
        # PostgreSQL (the function is created by migration 0013, see registry.service.starts_a_word); LIKE on SQLite.
        Index("ix_person_name_prefixes", text("name_word_prefixes(name_search)"), postgresql_using="gin",
              postgresql_where=text("merged_into_id IS NULL")).ddl_if(dialect="postgresql"),)


class SiNumberCounter(Base):
    """The next SI number to issue, per province of issue (two-digit prefix)."""

    __tablename__ = "si_number_counter"
    __audit__ = False

    prefix: Mapped[str] = mapped_column(String(2), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)


class Employer(Base):
    __tablename__ = "employer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tax_code: Mapped[str] = mapped_column(String(13), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_search: Mapped[str] = mapped_column(String(200), index=True)
    ownership: Mapped[Ownership] = mapped_column(Enum(Ownership, native_enum=False, length=24))
    region: Mapped[str] = mapped_column(String(3))  # minimum-wage region I–IV
    sector: Mapped[str] = mapped_column(String(8))  # private (employer-set pay) or state (state-set pay)
    place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))
    address: Mapped[str | None] = mapped_column(String(300))
    e_transactions: Mapped[bool] = mapped_column(Boolean, default=False)
    # the day the registration in force began (ansinh.portal.employer.service.register_e_transactions)
    e_transactions_since: Mapped[date | None] = mapped_column(Date)
    contact_name: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    province_2008: Mapped[str | None] = mapped_column(String(8))
    province_2025: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PopulationFigure(Base):
    """Population and working-age population of a province in a year (for coverage rates)."""

    __tablename__ = "population_figure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    structure: Mapped[Structure] = mapped_column(Enum(Structure, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e]))
    province_code: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(BigInteger)
    working_age_population: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("structure", "province_code", "year"),)


class PopulationRecord(Base):
    """One row of an extract of the national population database, kept per import for the sync report."""

    __tablename__ = "population_record"
    __audit__ = False  # the import itself is audited

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    import_batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    citizen_id: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(Enum(Sex, native_enum=False, length=8))
    residence_place_id: Mapped[int | None] = mapped_column(ForeignKey("place.id"))

    __table_args__ = (UniqueConstraint("import_batch_id", "citizen_id"),)


class ImportBatch(Base):
    """One imported file: idempotent by (kind, content hash); its report kept."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # applied | rejected
    rows: Mapped[int] = mapped_column(Integer)
    created_rows: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_rows: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (Index("ix_import_batch_hash", "kind", "sha256"),)
