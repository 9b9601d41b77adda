"""Monthly snapshots of the indicators: stored figures equal those computed, a month taken again is replaced, trends
read the stored months and compute the others."""

from datetime import date

from sqlalchemy import func, select

from ansinh.targets.indicators import snapshots
from ansinh.targets.indicators.service import indicator_results
from ansinh.targets.models import IndicatorValue
from ansinh.targets.periods import month_period, months_between, parse_period
from tests.targets.test_indicators import world  # noqa: F401 - the hand-built world of Hà Nội and Sơn La

MONTHS = months_between(parse_period("2026-06"), parse_period("2026-09"))


def test_stored_figures_are_those_computed_and_a_month_taken_again_is_replaced(session, world):  # noqa: F811
    rows = snapshots.take_snapshots(session, MONTHS)
    assert rows == session.scalar(select(func.count()).select_from(IndicatorValue)) > 0
    assert snapshots.take_snapshots(session, MONTHS[-1:]) == rows // 4  # each month the same number of figures
    assert session.scalar(select(func.count()).select_from(IndicatorValue)) == rows
    live = {item["code"]: item["value"] for item in indicator_results(
        session, None, province="01", period=MONTHS[-1])["indicators"] if item["measured"]}
    stored = snapshots.series(session, live, "01", MONTHS)
    assert {code: values[-1][1] for code, values in stored.items()} == live
    # September: the third worker left (not a participant from 1 September); the volunteer joined in August
    assert [value for _, value in stored["participants.si_compulsory"]] == [3, 3, 3, 2]
    assert [value for _, value in stored["participants.si_voluntary"]] == [0, 0, 1, 1]


def test_a_trend_reads_stored_months_and_computes_the_others(session, world, people):  # noqa: F811
    snapshots.take_snapshots(session, MONTHS[:2])
    from ansinh.participation import service as participation

    participation.apply_declaration(session, employer=_employer(session),
                                    person=world[0], kind="leave", effective_month=date(2026, 6, 1),
                                    submitted_by="t", today=date(2026, 11, 22))
    trend = snapshots.series(session, ["participants.si_compulsory"], "01", MONTHS)
    # June and July as stored (before the correction), August and September from the records (after it)
    assert [value for _, value in trend["participants.si_compulsory"]] == [3, 3, 2, 1]
    assert months_between(month_period(2025, 11), month_period(2026, 2))[0].label == "2025-11"


def _employer(session):
    from ansinh.registry.models import Employer

    return session.scalar(select(Employer).where(Employer.tax_code == "0100109106"))
