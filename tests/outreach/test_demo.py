"""The demo's outreach on a small demo: a sponsor billed and paid, an agent with collections, tax files to match."""

from datetime import date

from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.collection import ledger
from ansinh.outreach import agents, sponsors, tax
from ansinh.outreach.models import AgentCollection

TODAY = date(2026, 6, 15)


def test_the_demo_has_outreach_lists(db):
    from ansinh.synth.collection import load_collection_year
    from ansinh.synth.demo import load_demo, load_demo_registry, plan_demo
    from ansinh.synth.outreach import demo_tax_files, load_demo_outreach

    plan = plan_demo(2026)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        load_demo(s, plan)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        load_demo_registry(s, plan, people=800, today=TODAY)
    with audit_context(channel="job", actor_username="test-fixture"):
        load_collection_year(db, seed=3, today=TODAY, months=3)
        result = load_demo_outreach(db, today=TODAY, seed=3)
    assert result["sponsored"] > 0 and result["sponsor_bills"] == 3 and result["agent_collections"] > 0
    with db.unit_of_work() as s:
        [account] = sponsors.sponsor_accounts(s, None, province="01")
        assert account["people"] == result["sponsored"] and 0 < account["paid"] < account["billed"]
        rows = agents.commissions(s, None, since=date(2026, 1, 1), until=date(2026, 6, 1), province="01")
        assert sum(r["collected"] for r in rows) == s.scalar(select(func.sum(AgentCollection.amount)))
        assert all(r["commission"] == (r["collected"] * 5 + 50) // 100 for r in rows)
        assert sum(ledger.trial_balance(s).values()) == 0
    enterprises, withholdings = demo_tax_files(db, on=TODAY, seed=3)
    with audit_context(channel="job", actor_username="test-fixture"), db.unit_of_work() as s:
        report = tax.tax_match(s, None, enterprises=enterprises.encode(), enterprises_name="dn.csv", on=TODAY,
                               withholdings=withholdings.encode(), withholdings_name="tncn.csv")
    assert report.status == "done" and report.errors == [] and len(report.unregistered) == 2
