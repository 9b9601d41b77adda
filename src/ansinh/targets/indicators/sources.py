"""What the indicators are computed from: each domain's own service, called once per question and kept for the
rest of the computation (a report asks the participants on a day for five indicators, and again for last year).

Every method answers all provinces at once (``{province: value}``, 2025 codes): a province's report ranks it among
the others, and the country's figure is their sum. Nothing here counts records itself.

:meth:`Sources.prepare` asks every question a report will ask up front. On PostgreSQL, when the caller's transaction
has written nothing, the questions run side by side on a few connections that all read **the caller's snapshot**
(``pg_export_snapshot`` / ``SET TRANSACTION SNAPSHOT``): the same figures as one after the other, in about the time
of the longest. Otherwise (SQLite, or a transaction with writes of its own, which other connections could not see)
they run one after the other on the caller's session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ansinh.targets.indicators.registry import Figure

#: Connections a report's questions run on at once (PostgreSQL): half the cores, since the server already scans a
#: large table with two processes of its own (on 2 cores, side by side gains nothing: measured in BENCHMARKS.md).
PARALLEL_CONNECTIONS = min(4, (os.cpu_count() or 1) // 2)
#: A question: its name and arguments.
Question = tuple[str, tuple]


class Sources:
    def __init__(self, session: Session, *, parallel: bool = True) -> None:
        self.session = session
        self.parallel = parallel
        self._memo: dict[Question, Any] = {}  # one cache per computation (the records may change between two)

    # --- asking ---------------------------------------------------------------------------------------------
    def _ask(self, name: str, *args) -> Any:
        key = (name, args)
        if key not in self._memo:
            self._memo[key] = _QUESTIONS[name](self.session, *args)
        return self._memo[key]

    def prepare(self, days: Sequence[date], windows: Sequence[tuple[date, date]] = ()) -> None:
        """Ask up front what the indicators of these days (stocks) and windows (flows) will ask: the participants
        and arrears of all the days in one pass each, the rest per day or window; side by side on PostgreSQL when
        the caller's transaction has written nothing."""
        days = tuple(sorted(set(days)))
        questions: list[Question] = [("grids", (days,)), ("arrears_on", (days,)), ("citizen_ids", ()),
                                     ("e_transactions", ())]
        for day in days:
            questions += [("pensioners", (day,)), ("uncovered", (day,)), ("population_matched", (day,)), ("contracted", (day,)),
                          ("population", (day.year,))]
        for since, until in windows:
            questions += [(name, (since, until)) for name in ("leavers", "voluntary_new", "voluntary_returning",
                                                              "collected", "lookups", "claims",
                                                              "benefit_claims", "benefit_payments")]
        wanted = [q for q in dict.fromkeys(questions) if q not in self._memo]
        if not wanted:
            return
        analytic(self.session)
        answers = self._side_by_side(wanted) if self.parallel else None
        if answers is None:
            answers = {q: _QUESTIONS[q[0]](self.session, *q[1]) for q in wanted}
        for (name, args), answer in answers.items():
            if name == "grids":
                for day, rows in answer.items():
                    self._memo[("grid", (day,))] = rows
            elif name == "arrears_on":
                for day, figures in answer.items():
                    self._memo[("arrears", (day,))] = figures
            self._memo[(name, args)] = answer

    def _side_by_side(self, questions: list[Question]) -> dict[Question, Any] | None:
        """The answers computed on connections sharing the caller's snapshot; None when that is not possible."""
        connection = self.session.connection()
        if connection.dialect.name != "postgresql" or len(questions) < 2 or PARALLEL_CONNECTIONS < 2:
            return None
        if connection.execute(text("SELECT pg_current_xact_id_if_assigned()")).scalar() is not None:
            return None  # the caller wrote: other connections would not see it
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar()
        engine = connection.engine

        def answer(question: Question):
            with engine.connect().execution_options(isolation_level="REPEATABLE READ") as worker:
                worker.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                with Session(bind=worker) as session:
                    analytic(session)
                    return _QUESTIONS[question[0]](session, *question[1])

        # the longest first, so that the others fill the other connections meanwhile
        ordered = sorted(questions, key=lambda q: _WEIGHT.get(q[0], 0), reverse=True)
        with ThreadPoolExecutor(max_workers=PARALLEL_CONNECTIONS, thread_name_prefix="indicators") as pool:
            futures = {q: pool.submit(answer, q) for q in ordered}
            return {q: future.result() for q, future in futures.items()}

    # --- participation -------------------------------------------------------------------------------------
    def participants_grid(self, on: date) -> dict[str, dict]:
        if ("grid", (on,)) not in self._memo:
            self.prepare_grids((on,))
        return self._memo[("grid", (on,))]

    def prepare_grids(self, days: Sequence[date]) -> None:
        wanted = tuple(day for day in sorted(set(days)) if ("grid", (day,)) not in self._memo)
        if wanted:
            for day, rows in _QUESTIONS["grids"](self.session, wanted).items():
                self._memo[("grid", (day,))] = rows

    def participants(self, on: date, *schemes: str) -> dict[str, Figure]:
        return {province: Figure(sum(row[scheme] for scheme in schemes))
                for province, row in self.participants_grid(on).items()}

    def population(self, year: int) -> dict[str, tuple[int, int, int]]:
        return self._ask("population", year)

    def coverage(self, on: date, schemes: Sequence[str], working_age: bool) -> dict[str, Figure]:
        """Participants of ``schemes`` over the population (or the working-age population) of the province, for
        the provinces whose population figures are loaded."""
        counts = self.participants(on, *schemes)
        result = {}
        for province, (population, working, _year) in self.population(on.year).items():
            whole = working if working_age else population
            if whole:
                result[province] = Figure(counts.get(province, Figure(0)).numerator, whole)
        return result

    def hi_groups(self, on: date, groups: tuple[str, ...]) -> dict[str, int]:
        """HI participants in some beneficiary groups: the plain periods from the pass over the participants, the
        flagged people counted apart (each once)."""
        result = {province: sum(row["hi_groups_plain"].get(group, 0) for group in groups)
                  for province, row in self.participants_grid(on).items()}
        for province, count in self._ask("hi_groups_flagged", on, tuple(groups)).items():
            result[province] = result.get(province, 0) + count
        return {province: count for province, count in result.items() if count}

    def leavers(self, since: date, until: date) -> dict[str, int]:
        return self._ask("leavers", since, until)

    def voluntary_new(self, since: date, until: date) -> dict[str, int]:
        return self._ask("voluntary_new", since, until)

    def voluntary_returning(self, since: date, until: date) -> dict[str, int]:
        return self._ask("voluntary_returning", since, until)

    # --- collection -----------------------------------------------------------------------------------------
    def collected(self, since: date, until: date) -> dict[str, int]:
        return self._ask("collected", since, until)

    def arrears(self, on: date) -> dict[str, dict]:
        if ("arrears", (on,)) not in self._memo:
            self._memo[("arrears", (on,))] = _QUESTIONS["arrears_on"](self.session, (on,))[on]
        return self._memo[("arrears", (on,))]

    # --- cards and facilities -------------------------------------------------------------------------------
    def contracted(self, on: date) -> dict[str, dict[str, int]]:
        return self._ask("contracted", on)

    def lookups(self, since: date, until: date) -> dict[str, tuple[int, int]]:
        return self._ask("lookups", since, until)

    # --- medical claims -------------------------------------------------------------------------------------
    def claims(self, since: date, until: date) -> dict[str, dict[str, int]]:
        return self._ask("claims", since, until)

    # --- benefit claims ------------------------------------------------------------------------------------
    def benefit_claims(self, since: date, until: date) -> dict[str, dict]:
        return self._ask("benefit_claims", since, until)

    def pensioners(self, on: date) -> dict[str, int]:
        return self._ask("pensioners", on)

    def benefit_payments(self, since: date, until: date) -> dict[str, dict]:
        return self._ask("benefit_payments", since, until)

    # --- registry -------------------------------------------------------------------------------------------
    def citizen_ids(self) -> dict[str, tuple[int, int]]:
        return self._ask("citizen_ids")

    def population_matched(self, on: date) -> dict[str, tuple[int, int]]:
        return self._ask("population_matched", on)

    def e_transactions(self) -> dict[str, tuple[int, int]]:
        return self._ask("e_transactions")

    def uncovered(self, on: date) -> dict[str, int]:
        return self._ask("uncovered", on)


def analytic(session: Session) -> None:
    """Set the caller's PostgreSQL transaction for the report's grouped reads: no JIT compilation (on these
    sub-second queries it costs more than it saves: 0.4 s of a participants' pass over 2.6 million periods,
    BENCHMARKS.md). ``SET LOCAL``: until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


# --- the questions, each through its domain's service ----------------------------------------------------------

def _grids(session: Session, days: tuple[date, ...]) -> dict[date, dict[str, dict]]:
    from ansinh.participation.service import participation_by_province_on

    return {day: {row["province"]: row for row in rows if row["province"]}
            for day, rows in participation_by_province_on(session, days).items()}


def _arrears_on(session: Session, days: tuple[date, ...]) -> dict[date, dict[str, dict]]:
    from ansinh.collection.arrears import arrears_by_province_on

    return arrears_by_province_on(session, days)


def _hi_groups_flagged(session: Session, on: date, groups: tuple[str, ...]) -> dict[str, int]:
    from ansinh.participation.flows import count_hi_groups

    return count_hi_groups(session, on=on, groups=groups, flagged_only=True)


def _domain(module: str, function: str, *names: str) -> Callable:
    """A question answered by ``module.function(session, name=arg, ...)``."""
    def ask(session: Session, *args):
        import importlib

        return getattr(importlib.import_module(module), function)(session, **dict(zip(names, args, strict=True)))
    return ask


_QUESTIONS: dict[str, Callable] = {
    "grids": _grids,
    "arrears_on": _arrears_on,
    "population": _domain("ansinh.registry.places", "population_by_province", "year"),
    "hi_groups_flagged": _hi_groups_flagged,
    "leavers": _domain("ansinh.participation.flows", "count_compulsory_leavers", "since", "until"),
    "voluntary_new": _domain("ansinh.participation.flows", "count_voluntary_new", "since", "until"),
    "voluntary_returning": _domain("ansinh.participation.flows", "count_voluntary_returning", "since", "until"),
    "collected": _domain("ansinh.collection.payments", "collected_by_province", "since", "until"),
    "contracted": _domain("ansinh.cards.facilities", "contracted_by_level", "on"),
    "lookups": _domain("ansinh.cards.service", "lookups_by_province", "since", "until"),
    "claims": _domain("ansinh.claims.monitoring.service", "claims_by_province", "since", "until"),
    "benefit_claims": _domain("ansinh.benefits.monitoring", "claims_by_province", "since", "until"),
    "pensioners": _domain("ansinh.benefits.monitoring", "pensioners_by_province", "on"),
    "benefit_payments": _domain("ansinh.benefits.monitoring", "payments_by_province", "since", "until"),
    "citizen_ids": _domain("ansinh.registry.shares", "count_citizen_ids"),
    "population_matched": _domain("ansinh.registry.shares", "count_population_matched", "on"),
    "e_transactions": _domain("ansinh.registry.shares", "count_e_transactions"),
    "uncovered": _domain("ansinh.registry.shares", "count_uncovered", "on"),
}
#: Rough cost of each question (the longest are started first).
_WEIGHT = {"arrears_on": 10, "uncovered": 8, "grids": 7, "collected": 3, "leavers": 2, "citizen_ids": 2}


def counts(values: dict[str, int]) -> dict[str, Figure]:
    return {province: Figure(int(value)) for province, value in values.items() if province}


def rates(values: dict[str, tuple[int, int]]) -> dict[str, Figure]:
    return {province: Figure(int(part), int(whole)) for province, (part, whole) in values.items() if province}
