"""Benefit claims counted by province for the indicators: received, electronic, resolved, on time, lump sums."""

from datetime import date

import pytest

from ansinh.benefits import eligibility, monitoring, service
from ansinh.benefits.eligibility import Assessment, Reason
from ansinh.targets.indicators.registry import indicators
from ansinh.targets.indicators.sources import Sources
from ansinh.targets.periods import parse_period


@pytest.fixture
def fixed_assessment(monkeypatch):
    """The assessment is another part's work (tested there): here a claim is eligible unless its person's name
    says otherwise, so that the counting is what is tested."""
    def assess(session, claim, *, on):
        from ansinh.registry.models import Person

        if "Từ chối" in session.get(Person, claim.person_id).full_name:
            return Assessment(eligible=False, reasons=[Reason("x", "Art 1", "no", "không")])
        return Assessment(eligible=True, amount=1_000_000)
    monkeypatch.setattr(eligibility, "assess", assess)


def _decide(session, officer, claim, on):
    service.assess(session, officer, claim.id, on=on)
    service.decide(session, officer, claim.id, on=on)


def test_claims_counted_by_province(session, bworld, fixed_assessment):
    o, s = bworld.officer, bworld.sonla_officer
    sick = {"leave_from": "2026-02-02", "days": 3}

    def file(who, officer, kind, on, channel="counter", **kw):
        claim, _ = service.file_claim(session, officer, claim_type=kind, citizen_id=who.citizen_id, filed_on=on,
                                      channel=channel, **kw)
        return claim

    # Hà Nội: 4 claims filed in March 2026 (2 through the portal/employer), one in February (not counted as received)
    a = file(bworld.person("An"), o, "sickness", date(2026, 3, 2), details=sick)  # decided on time (deadline 11 Mar)
    b = file(bworld.person("Bình"), o, "sickness", date(2026, 3, 2), "employer", details=sick)  # decided late
    c = file(bworld.person("Cường", born=date(1960, 1, 1)), o, "lump_sum", date(2026, 3, 3), "portal",
             ground="abroad")  # granted on time (deadline 13 March): a withdrawal
    file(bworld.person("Dũng"), o, "sickness", date(2026, 3, 4), details=sick, missing=["giấy ra viện"])  # open
    # filed in February, deadline Monday 2 March (10 days), refused late in March
    e = file(bworld.person("Từ chối Em"), o, "lump_sum", date(2026, 2, 20), ground="abroad")
    _decide(session, o, a, date(2026, 3, 10))
    _decide(session, o, b, date(2026, 3, 20))
    _decide(session, o, c, date(2026, 3, 5))
    _decide(session, o, e, date(2026, 3, 6))
    # Sơn La: one claim filed in March, withdrawn (not resolved)
    f = file(bworld.person("Giang", unit=bworld.sonla), s, "maternity", date(2026, 3, 9),
             details={"birth_on": "2026-03-01"})
    service.withdraw_claim(session, s, f.id, on=date(2026, 3, 10))

    rows = monitoring.claims_by_province(session, since=date(2026, 3, 1), until=date(2026, 3, 31))
    hn, sl = rows["01"], rows["14"]
    assert (hn["received"], hn["electronic"], hn["resolved"], hn["on_time"], hn["lump_sum_granted"]) == (4, 2, 4, 2, 1)
    assert hn["by_type"]["sickness"] == {"received": 3, "resolved": 2, "on_time": 1}
    assert hn["by_type"]["lump_sum"] == {"received": 1, "resolved": 2, "on_time": 1}
    assert (sl["received"], sl["resolved"]) == (1, 0)

    # the same figures through the indicator catalogue
    period = parse_period("2026-03")
    sources = Sources(session, parallel=False)
    figure = indicators()["benefits.resolved_on_time_pct"].compute(sources, period)["01"]
    assert (figure.numerator, figure.denominator) == (2, 4)
    assert indicators()["benefits.electronic_pct"].compute(sources, period)["01"].denominator == 4
    assert indicators()["benefits.received.sickness"].compute(sources, period)["01"].numerator == 3
