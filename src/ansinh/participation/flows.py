"""Flows of participation over a window of days, per 2025 province, for the indicator catalogue: people who left
compulsory social insurance, people who joined voluntary social insurance for the first time or came back to it after
a gap, and the health insurance participants of some beneficiary groups on a day.

Each count is one or two GROUP BY queries over every province at once, keyed by the 2025 province code (a period
without one is skipped), optionally for one province; each list is the drill-down from a figure to its people, paged.
No principal: the caller keeps to its scope. Periods are the current ones (``superseded_at IS NULL``), half-open
``[valid_from, valid_to)``: ``valid_to`` is the first day without the cover, so a period that continues another
starts on its ``valid_to`` exactly (a change of employer or salary, a renewal).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from ansinh.participation.models import CoveragePeriod, Scheme
from ansinh.participation.service import _count_participants, active
from ansinh.registry.models import Employer, Person


def _current(period, scheme: Scheme) -> list:
    return [period.scheme == scheme, period.superseded_at.is_(None)]


def _in_force(period, day) -> list:
    """``period`` (current) is in force on ``day`` (a date or a column)."""
    return [period.superseded_at.is_(None), period.valid_from <= day,
            or_(period.valid_to.is_(None), period.valid_to > day)]


def _province(period, province: str | None) -> list:
    return [period.province_2025.is_not(None), *([period.province_2025 == province] if province else [])]


def _counts(session: Session, stmt) -> dict[str, int]:
    return {code: int(count) for code, count in session.execute(stmt)}


def _page(session: Session, stmt, order_by: Sequence, limit: int, offset: int) -> tuple[list[dict], int]:
    """Rows of ``stmt`` (labelled columns) as dicts, sorted and paged, with the total."""
    query = stmt.subquery()
    total = session.scalar(select(func.count()).select_from(query)) or 0
    rows = session.execute(select(query).order_by(*(query.c[name] for name in order_by)).limit(limit)
                           .offset(offset)).mappings().all()
    return [dict(row) for row in rows], total


# --- leaving compulsory social insurance -------------------------------------------------------------------

def leaving_periods(since: date, until: date, province: str | None):
    """(the ending period, its conditions): a current compulsory SI period ending in ``[since, until]`` (its
    ``valid_to``, the first day without it) with no current compulsory SI period of the person in force on that day."""
    ended, other = aliased(CoveragePeriod), aliased(CoveragePeriod)
    continuing = exists().where(other.person_id == ended.person_id, other.scheme == Scheme.si_compulsory,
                                *_in_force(other, ended.valid_to))
    return ended, [*_current(ended, Scheme.si_compulsory), ended.valid_to >= since, ended.valid_to <= until,
                   ~continuing, *_province(ended, province)]


def count_compulsory_leavers(session: Session, *, since: date, until: date, province: str | None = None
                             ) -> dict[str, int]:
    """People who left compulsory SI in ``[since, until]``, per province of the period that ended: its cover stopped
    on a day of the window and no other compulsory SI period was in force on that day (a change of employer or of
    salary is not leaving). Each person once per province."""
    ended, conditions = leaving_periods(since, until, province)
    return _counts(session, select(ended.province_2025, func.count(func.distinct(ended.person_id)))
                   .where(*conditions).group_by(ended.province_2025))


def list_compulsory_leavers(session: Session, *, since: date, until: date, province: str | None = None,
                            limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    """The people :func:`count_compulsory_leavers` counts, one row each (their last leaving in the window and the
    employer they left; ``left_on`` is the first day without cover), by day, name and id:
    ``person_id, si_number, full_name, employer_id, employer_name, left_on``."""
    ended, conditions = leaving_periods(since, until, province)
    ranked = (select(ended.person_id, ended.employer_id, ended.valid_to.label("left_on"),
                     func.row_number().over(partition_by=ended.person_id,
                                            order_by=(ended.valid_to.desc(), ended.employer_id)).label("rank"))
              .where(*conditions).subquery())
    stmt = (select(Person.id.label("person_id"), Person.si_number, Person.full_name,
                   ranked.c.employer_id, Employer.name.label("employer_name"), ranked.c.left_on,
                   Person.name_search.label("sort_name"))
            .join(ranked, and_(ranked.c.person_id == Person.id, ranked.c.rank == 1))
            .outerjoin(Employer, Employer.id == ranked.c.employer_id))
    rows, total = _page(session, stmt, ("left_on", "sort_name", "person_id"), limit, offset)
    return [_without_sort_key(row) for row in rows], total


def _without_sort_key(row: dict) -> dict:
    row.pop("sort_name", None)
    return row


# --- joining voluntary social insurance ---------------------------------------------------------------------

def _voluntary_new(since: date, until: date, province: str | None):
    """A current voluntary SI period starting in the window, the person's first (no earlier one)."""
    start, earlier = aliased(CoveragePeriod), aliased(CoveragePeriod)
    before = exists().where(earlier.person_id == start.person_id, *_current(earlier, Scheme.si_voluntary),
                            earlier.valid_from < start.valid_from)
    return start, [*_current(start, Scheme.si_voluntary), start.valid_from >= since, start.valid_from <= until,
                   ~before, *_province(start, province)]


def _voluntary_returning(since: date, until: date, province: str | None):
    """A current voluntary SI period starting in the window after an earlier one, with none in force on the day
    before it starts (a renewal without a gap starts on the previous period's ``valid_to``: it is not a return)."""
    start, earlier, bridging = (aliased(CoveragePeriod) for _ in range(3))
    had = exists().where(earlier.person_id == start.person_id, *_current(earlier, Scheme.si_voluntary),
                         earlier.valid_from < start.valid_from)
    # In force on the day before the start: begun before it, and not ended before it (valid_to >= start).
    bridged = exists().where(bridging.person_id == start.person_id, *_current(bridging, Scheme.si_voluntary),
                             bridging.valid_from < start.valid_from,
                             or_(bridging.valid_to.is_(None), bridging.valid_to >= start.valid_from))
    return start, [*_current(start, Scheme.si_voluntary), start.valid_from >= since, start.valid_from <= until,
                   had, ~bridged, *_province(start, province)]


def _count_starts(session: Session, start, conditions: list) -> dict[str, int]:
    return _counts(session, select(start.province_2025, func.count(func.distinct(start.person_id)))
                   .where(*conditions).group_by(start.province_2025))


def _list_starts(session: Session, start, conditions: list, limit: int, offset: int) -> tuple[list[dict], int]:
    """One row per person (the first start in the window), by day, name and id."""
    first = (select(start.person_id, func.min(start.valid_from).label("joined_on")).where(*conditions)
             .group_by(start.person_id).subquery())
    stmt = (select(Person.id.label("person_id"), Person.si_number, Person.full_name, first.c.joined_on,
                   Person.name_search.label("sort_name"))
            .join(first, first.c.person_id == Person.id))
    rows, total = _page(session, stmt, ("joined_on", "sort_name", "person_id"), limit, offset)
    return [_without_sort_key(row) for row in rows], total


def count_voluntary_new(session: Session, *, since: date, until: date, province: str | None = None
                        ) -> dict[str, int]:
    """People whose first voluntary SI period ever starts in ``[since, until]``, per province of that period."""
    return _count_starts(session, *_voluntary_new(since, until, province))


def list_voluntary_new(session: Session, *, since: date, until: date, province: str | None = None,
                       limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    """The people :func:`count_voluntary_new` counts: ``person_id, si_number, full_name, joined_on``."""
    return _list_starts(session, *_voluntary_new(since, until, province), limit, offset)


def count_voluntary_returning(session: Session, *, since: date, until: date, province: str | None = None
                              ) -> dict[str, int]:
    """People who came back to voluntary SI in ``[since, until]``: a voluntary period starting in the window after
    an earlier one that had ended before it with a gap (renewals without a gap are neither new nor returning), per
    province of the new period."""
    return _count_starts(session, *_voluntary_returning(since, until, province))


def list_voluntary_returning(session: Session, *, since: date, until: date, province: str | None = None,
                             limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    """The people :func:`count_voluntary_returning` counts (their first return in the window):
    ``person_id, si_number, full_name, joined_on``."""
    return _list_starts(session, *_voluntary_returning(since, until, province), limit, offset)


# --- health insurance groups on a day ---------------------------------------------------------------------

def count_hi_groups(session: Session, *, on: date, groups: Sequence[str], province: str | None = None,
                    flagged_only: bool = False) -> dict[str, int]:
    """People with a current health insurance period in force on ``on`` in one of ``groups`` (e.g. ``("HS", "SV")``,
    pupils and students), per province of the period; a person in two of the groups at once is counted once.
    ``flagged_only``: only the people whose periods are flagged overlapping (a distinct count over their own index;
    the rest are one period per person and day, counted by
    :func:`ansinh.participation.service.participation_by_province_on` in its pass over the periods)."""
    if not groups:
        return {}
    conditions = [CoveragePeriod.scheme == Scheme.hi, CoveragePeriod.hi_group.in_(list(groups)),
                  *_province(CoveragePeriod, province)]
    if flagged_only:
        stmt = active(select(CoveragePeriod.province_2025, func.count(func.distinct(CoveragePeriod.person_id)))
                      .where(CoveragePeriod.overlapping.is_(True), *conditions), on)
        return _counts(session, stmt.group_by(CoveragePeriod.province_2025))
    counts = _count_participants(session, on, conditions, (CoveragePeriod.province_2025,))
    return {code: count for (code,), count in counts.items()}
