"""The demo's employers online (``synth.employer_portal``), loaded the way ``ansinh demo load`` does, smaller: each
demo employer registered a year ago, its first account its administrator, its accountant able to sign in and read
the statement of account of its bills and payments, refused the declarations."""

from datetime import date

from sqlalchemy import select

from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from ansinh.registry.models import Employer
from ansinh.synth.demo import load_demo, load_demo_registry, plan_demo
from tests.conftest import api_token

TODAY = date(2026, 10, 20)


def test_the_demo_employers_are_online_with_an_accountant(db, client):
    from ansinh.synth.collection import load_collection_year
    from ansinh.synth.employer_portal import load_demo_employer_portal

    plan = plan_demo()
    with audit_context(channel="job", actor_username="demo-loader"):
        with db.unit_of_work() as s:
            load_demo(s, plan)
        with db.unit_of_work() as s:
            load_demo_registry(s, plan, people=200, today=TODAY)
        load_collection_year(db, seed=plan.seed, today=TODAY, months=3)
        with db.unit_of_work() as s:
            added = load_demo_employer_portal(s, plan, today=TODAY)
    employers = [u for u in plan.users if Role.employer in u.roles]
    assert [a.username for a in added] == [u.username.rsplit(".", 1)[0] + ".ketoan" for u in employers]
    hanoi = next(u for u in employers if u.username == "hanoi.donvi")
    with db.unit_of_work() as s:
        employer = s.scalar(select(Employer).where(Employer.tax_code == hanoi.subject_ref))
        assert (employer.e_transactions, employer.e_transactions_since) == (True, date(2025, 10, 1))
    accountant = next(a for a in added if a.username == "hanoi.ketoan")
    headers = api_token(client, accountant.username, accountant.password)
    statement = client.get("/api/v1/employer/statement?on=2026-10-20", headers=headers).json()
    assert len(statement["months"]) == 3 and statement["totals"]["total"] == sum(m["total"] for m in statement["months"])
    paid = client.get("/api/v1/employer/payments", headers=headers).json()["items"]
    assert statement["received"] == sum(p["amount"] for p in paid if p["status"] == "matched"
                                        and p["paid_on"] <= "2026-10-20")
    assert client.post("/api/v1/employer/declarations/check", headers=headers, json={
        "citizen_id": "001090012345", "kind": "leave", "effective_month": "2026-10-01"}).status_code == 403
    users = client.get("/api/v1/employer/users", headers=api_token(client, "hanoi.donvi", hanoi.password)).json()
    assert {(u["username"], u["duty"]) for u in users["items"]} == {("hanoi.donvi", "administrator"),
                                                                  ("hanoi.ketoan", "accounting")}
