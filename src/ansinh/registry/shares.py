"""Shares of the registry per 2025 province, for the indicator catalogue: people with a citizen ID, participants whose
identity agrees with the national population database, employers registered for electronic transactions, and the
people without health insurance on a day (with the list behind that figure).

Each count is one GROUP BY query over every province at once, keyed by the 2025 province code (a record without one
is skipped), optionally for one province; a share is ``(part, whole)``. Records merged into another
(``merged_into_id``) are left out. No principal: the caller keeps to its scope.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from ansinh import clock
from ansinh.auth.models import OrgUnit
from ansinh.participation.models import CoveragePeriod, Scheme
from ansinh.participation.service import active
from ansinh.registry.imports import identity_differences
from ansinh.registry.models import Employer, ImportBatch, Person, Place, PopulationRecord


def _live(province: str | None) -> list:
    """People not merged away, with a 2025 province (this one when given)."""
    return [Person.merged_into_id.is_(None), Person.province_2025.is_not(None),
            *([Person.province_2025 == province] if province else [])]


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _shares(session: Session, stmt) -> dict[str, tuple[int, int]]:
    return {code: (int(part), int(whole)) for code, part, whole in session.execute(stmt)}


def count_citizen_ids(session: Session, *, province: str | None = None) -> dict[str, tuple[int, int]]:
    """Per province of residence: (people with a citizen ID, people)."""
    return _shares(session, select(Person.province_2025, func.count(Person.citizen_id), func.count())
                   .where(*_live(province)).group_by(Person.province_2025))


def count_e_transactions(session: Session, *, province: str | None = None) -> dict[str, tuple[int, int]]:
    """Per province of the employer: (employers registered for electronic transactions, employers)."""
    conditions = [Employer.province_2025.is_not(None), *([Employer.province_2025 == province] if province else [])]
    return _shares(session, select(Employer.province_2025, _count_if(Employer.e_transactions.is_(True)), func.count())
                   .where(*conditions).group_by(Employer.province_2025))


def _end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in Vietnam (the agency's business day), in UTC as stored."""
    return datetime.combine(day + timedelta(days=1), time(), clock.VIETNAM).astimezone(timezone.utc)


def count_population_matched(session: Session, *, on: date, province: str | None = None
                             ) -> dict[str, tuple[int, int]]:
    """Per province of residence: (participants whose identity agrees with the population database, participants).

    Participants are the people with a current coverage period of any scheme in force on ``on``. Each is compared
    with the latest population import applied by the end of ``on`` that covers them (a batch of their office or of
    an office above it, or a national one): matched when it has a record of their citizen ID with the same name,
    date of birth, sex and, when both have it, residence (:func:`ansinh.registry.imports.identity_differences`, the
    rule of the sync report). A participant without a citizen ID, or absent from that extract, is not matched; one no
    extract covers is not compared (a province without any import has no figure, rather than 0%)."""
    participants = (select(Person.id, Person.province_2025, Person.org_unit_id, Person.citizen_id, Person.full_name,
                           Person.date_of_birth, Person.sex, Person.residence_place_id)
                    .where(*_live(province), Person.id.in_(active(select(CoveragePeriod.person_id), on)))
                    .subquery())
    batch_unit, person_unit = aliased(OrgUnit), aliased(OrgUnit)
    batches = (select(ImportBatch.id, ImportBatch.created_at, batch_unit.path)
               .outerjoin(batch_unit, batch_unit.id == ImportBatch.org_unit_id)
               .where(ImportBatch.kind == "population", ImportBatch.status == "applied",
                      ImportBatch.created_at < _end_of_day(on)).subquery())
    ranked = (select(participants.c.id.label("person_id"), batches.c.id.label("batch_id"),
                     func.row_number().over(partition_by=participants.c.id,
                                            order_by=(batches.c.created_at.desc(), batches.c.id.desc())
                                            ).label("rank"))
              .join(person_unit, person_unit.id == participants.c.org_unit_id)
              .join(batches, or_(batches.c.path.is_(None), person_unit.path.startswith(batches.c.path)))
              .subquery())
    latest = select(ranked.c.person_id, ranked.c.batch_id).where(ranked.c.rank == 1).subquery()
    record = PopulationRecord
    agrees = and_(record.id.is_not(None), ~or_(*identity_differences(participants.c, record).values()))
    stmt = (select(participants.c.province_2025, _count_if(agrees), func.count())
            .select_from(participants)
            .join(latest, latest.c.person_id == participants.c.id)  # compared only where an extract covers them
            .outerjoin(record, and_(record.import_batch_id == latest.c.batch_id,
                                    record.citizen_id == participants.c.citizen_id))
            .group_by(participants.c.province_2025))
    return _shares(session, stmt)


# --- people without health insurance ------------------------------------------------------------------------

def uncovered_conditions(on: date, province: str | None) -> list:
    """The WHERE conditions (on ``Person``) of the people of the registry born by ``on``, not merged away, of
    ``province`` (2025 code; None: every province) with no current HI period in force on ``on``."""
    covered = exists(active(select(CoveragePeriod.id).where(CoveragePeriod.person_id == Person.id,
                                                            CoveragePeriod.scheme == Scheme.hi), on))
    return [*_live(province), Person.date_of_birth <= on, ~covered]


def count_uncovered(session: Session, *, on: date, province: str | None = None) -> dict[str, int]:
    """Per province of residence: the people of the registry (born by ``on``) without health insurance on ``on``."""
    return {code: int(count) for code, count in session.execute(
        select(Person.province_2025, func.count()).where(*uncovered_conditions(on, province))
        .group_by(Person.province_2025))}


def list_uncovered(session: Session, *, on: date, province: str | None = None, limit: int = 100, offset: int = 0
                   ) -> tuple[list[dict], int]:
    """The people :func:`count_uncovered` counts, by name and id: ``person_id, si_number, citizen_id, full_name,
    date_of_birth, residence_place_id, commune`` (the name of the place of residence, None when not recorded)."""
    conditions = uncovered_conditions(on, province)
    total = session.scalar(select(func.count()).select_from(Person).where(*conditions)) or 0
    rows = session.execute(
        select(Person.id.label("person_id"), Person.si_number, Person.citizen_id, Person.full_name,
               Person.date_of_birth, Person.residence_place_id, Place.name.label("commune"))
        .outerjoin(Place, Place.id == Person.residence_place_id).where(*conditions)
        .order_by(Person.name_search, Person.id).limit(limit).offset(offset)).mappings().all()
    return [dict(row) for row in rows], total
