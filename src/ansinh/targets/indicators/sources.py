"""What the indicators are computed from: each domain's own service, called once per question and kept for the
rest of the computation (a report asks the participants on a day for five indicators, and again for last year).

Every method answers all provinces at once (``{province: value}``, 2025 codes): a province's report ranks it among
the others, and the country's figure is their sum. Nothing here counts records itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache

from sqlalchemy.orm import Session

from ansinh.targets.indicators.registry import Figure


class Sources:
    def __init__(self, session: Session) -> None:
        self.session = session
        # one cache per computation (the records may change between two)
        self._grids: dict[date, dict[str, dict[str, int]]] = {}
        self._arrears: dict[date, dict[str, dict]] = {}
        self._uncovered: dict[date, dict[str, int]] = {}
        for name in ("population", "leavers", "voluntary_new",
                     "voluntary_returning", "hi_groups", "collected", "contracted", "lookups", "citizen_ids",
                     "population_matched", "e_transactions", "claims"):
            setattr(self, name, cache(getattr(self, name)))

    def prepare(self, days: Sequence[date]) -> None:
        """Read the participants and the arrears of several days in one pass each (a report asks a period's last
        day and last year's)."""
        self._read_grids(days)
        self._read_arrears(days)
        self._read_uncovered(days)

    def _read_grids(self, days: Sequence[date]) -> None:
        from ansinh.participation.service import participation_by_province_on

        wanted = [day for day in days if day not in self._grids]
        if wanted:
            for day, rows in participation_by_province_on(self.session, wanted).items():
                self._grids[day] = {row["province"]: row for row in rows if row["province"]}

    def _read_uncovered(self, days: Sequence[date]) -> None:
        from ansinh.registry.shares import count_uncovered_on

        wanted = [day for day in days if day not in self._uncovered]
        if wanted:
            self._uncovered.update(count_uncovered_on(self.session, wanted))

    def _read_arrears(self, days: Sequence[date]) -> None:
        from ansinh.collection.arrears import arrears_by_province_on

        wanted = [day for day in days if day not in self._arrears]
        if wanted:
            self._arrears.update(arrears_by_province_on(self.session, wanted))

    # --- participation -------------------------------------------------------------------------------------
    def participants_grid(self, on: date) -> dict[str, dict[str, int]]:
        self._read_grids([on])
        return self._grids[on]

    def participants(self, on: date, *schemes: str) -> dict[str, Figure]:
        return {province: Figure(sum(row[scheme] for scheme in schemes))
                for province, row in self.participants_grid(on).items()}

    def population(self, year: int) -> dict[str, tuple[int, int, int]]:
        from ansinh.registry.places import population_by_province

        return population_by_province(self.session, year=year)

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
        from ansinh.participation.flows import count_hi_groups

        result = {province: sum(row["hi_groups_plain"].get(group, 0) for group in groups)
                  for province, row in self.participants_grid(on).items()}
        for province, count in count_hi_groups(self.session, on=on, groups=groups, flagged_only=True).items():
            result[province] = result.get(province, 0) + count
        return {province: count for province, count in result.items() if count}

    def leavers(self, since: date, until: date) -> dict[str, int]:
        from ansinh.participation.flows import count_compulsory_leavers

        return count_compulsory_leavers(self.session, since=since, until=until)

    def voluntary_new(self, since: date, until: date) -> dict[str, int]:
        from ansinh.participation.flows import count_voluntary_new

        return count_voluntary_new(self.session, since=since, until=until)

    def voluntary_returning(self, since: date, until: date) -> dict[str, int]:
        from ansinh.participation.flows import count_voluntary_returning

        return count_voluntary_returning(self.session, since=since, until=until)

    # --- collection -----------------------------------------------------------------------------------------
    def collected(self, since: date, until: date) -> dict[str, int]:
        from ansinh.collection.payments import collected_by_province

        return collected_by_province(self.session, since=since, until=until)

    def arrears(self, on: date) -> dict[str, dict]:
        self._read_arrears([on])
        return self._arrears[on]

    # --- cards and facilities -------------------------------------------------------------------------------
    def contracted(self, on: date) -> dict[str, dict[str, int]]:
        from ansinh.cards.facilities import contracted_by_level

        return contracted_by_level(self.session, on=on)

    def lookups(self, since: date, until: date) -> dict[str, tuple[int, int]]:
        from ansinh.cards.service import lookups_by_province

        return lookups_by_province(self.session, since=since, until=until)

    # --- medical claims -------------------------------------------------------------------------------------
    def claims(self, since: date, until: date) -> dict[str, dict[str, int]]:
        from ansinh.claims.monitoring.service import claims_by_province

        return claims_by_province(self.session, since=since, until=until)

    # --- registry -------------------------------------------------------------------------------------------
    def citizen_ids(self) -> dict[str, tuple[int, int]]:
        from ansinh.registry.shares import count_citizen_ids

        return count_citizen_ids(self.session)

    def population_matched(self, on: date) -> dict[str, tuple[int, int]]:
        from ansinh.registry.shares import count_population_matched

        return count_population_matched(self.session, on=on)

    def e_transactions(self) -> dict[str, tuple[int, int]]:
        from ansinh.registry.shares import count_e_transactions

        return count_e_transactions(self.session)

    def uncovered(self, on: date) -> dict[str, int]:
        self._read_uncovered([on])
        return self._uncovered[on]


def counts(values: dict[str, int]) -> dict[str, Figure]:
    return {province: Figure(int(value)) for province, value in values.items() if province}


def rates(values: dict[str, tuple[int, int]]) -> dict[str, Figure]:
    return {province: Figure(int(part), int(whole)) for province, (part, whole) in values.items() if province}
