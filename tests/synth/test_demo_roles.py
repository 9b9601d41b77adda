"""The demo shows every role its work: a small demo loaded the way ``ansinh demo load`` does, then, for each role
of the plan, the records its pages show; and every name in it is Vietnamese."""

from datetime import date

import pytest
from sqlalchemy import func, select

from ansinh.audit.service import audit_context
from ansinh.auth.models import Role
from ansinh.synth.demo import load_demo, load_demo_registry, plan_demo
from ansinh.synth.population import GIVEN_NAMES, MIDDLE_NAMES, SURNAMES
from tests.conftest import web_login

TODAY = date(2026, 10, 20)
VOCABULARY = ({s for pool in SURNAMES.values() for s in pool} | {m for pool in MIDDLE_NAMES.values() for m in pool}
              | {g for pool in GIVEN_NAMES.values() for g in pool})
ENGLISH = {"Jane", "John", "Mary", "James", "Michael", "David", "Sarah", "Linda", "Robert", "William", "Elizabeth"}


def _vietnamese(name: str) -> bool:
    words = name.split()
    return len(words) >= 3 and all(word in VOCABULARY for word in words) and not ENGLISH & set(words)


@pytest.mark.parametrize("seed", [1, 2026, 77])
def test_every_demo_user_has_a_vietnamese_name_matching_the_sex_of_the_citizen(seed):
    from ansinh.registry.identifiers import citizen_id_century_sex

    plan = plan_demo(seed)
    assert plan == plan_demo(seed)
    for user in plan.users:
        assert _vietnamese(user.full_name), user.full_name
        if Role.citizen in user.roles:
            sex = citizen_id_century_sex(user.subject_ref)[1]
            middle, given = user.full_name.split()[1:3]
            assert middle in MIDDLE_NAMES[sex] and given in GIVEN_NAMES[sex], (user.full_name, sex)


@pytest.fixture
def demo(db):
    """The whole demo, small: users, 400 people with the users' stories, 6 months of collection, facilities."""
    from ansinh.synth.collection import load_collection_year
    from ansinh.synth.facilities import load_demo_health_insurance

    plan = plan_demo()
    with audit_context(channel="job", actor_username="demo-loader"):
        with db.unit_of_work() as s:
            load_demo(s, plan)
        with db.unit_of_work() as s:
            written = load_demo_registry(s, plan, people=400, today=TODAY)
        load_collection_year(db, seed=plan.seed, today=TODAY, months=6)
        with db.unit_of_work() as s:
            load_demo_health_insurance(s, plan, today=TODAY, facilities_per_province=4, lookups=50)
    assert written["story_workers"] > 0 and written["story_households"] == 4
    return plan


def _users(plan, role):
    return [u for u in plan.users if role in u.roles]


def test_every_role_finds_its_work_and_its_dashboard(client, db, demo):
    from ansinh.auth import service as auth_service
    from ansinh.cards.facilities import contract_in_force
    from ansinh.cards.models import CardLookup
    from ansinh.cards.service import current_card
    from ansinh.collection.arrears import payer_account
    from ansinh.collection.models import Bill, Payment
    from ansinh.participation import service as participation
    from ansinh.participation.models import Declaration, DeclarationKind, Scheme
    from ansinh.registry import service as registry
    from ansinh.registry.models import Employer, Person

    roles = {r for u in demo.users for r in u.roles}
    assert roles == set(Role)
    employer_pages: dict[str, tuple[int, str]] = {}  # username → (employer id, a current worker's name)
    with db.unit_of_work() as s:
        for user in _users(demo, Role.employer):
            principal = auth_service.principal_for(auth_service.get_user_by_username(s, user.username))
            employer = registry.get_employer_by_tax_code(s, principal, user.subject_ref)  # the employer's own
            workers, total = participation.current_workers(s, employer.id, TODAY)
            assert total >= 5 and all(_vietnamese(w.person.full_name) for w in workers)
            employer_pages[user.username] = (employer.id, workers[0].person.full_name)
            assert _vietnamese(employer.contact_name)
            kinds = set(s.scalars(select(Declaration.kind).where(Declaration.employer_id == employer.id)))
            assert kinds == set(DeclarationKind)
            assert not s.scalar(select(func.count()).select_from(Declaration).where(
                Declaration.employer_id == employer.id, Declaration.retroactive))  # each made in its month
            payer = f"E:{employer.id}"
            assert s.scalar(select(func.count()).select_from(Bill).where(Bill.payer_key == payer)) >= 5
            assert s.scalar(select(func.count()).select_from(Payment).where(Payment.payer_key == payer)) >= 2
            account = payer_account(s, payer, on=TODAY, principal=principal)
            assert account["arrears"] > 0 and account["interest"] > 0
            bills = account["bills"]
            assert any(0 < b["paid"] < b["total"] for b in bills)  # one paid in part
            assert sum(1 for b in bills if b["paid"] == 0 and b["months_overdue"] > 0) == 2  # two months unpaid
            assert any(b["paid"] == b["total"] for b in bills)

        for user in _users(demo, Role.citizen):
            principal = auth_service.principal_for(auth_service.get_user_by_username(s, user.username))
            person = registry.find_person(s, principal, citizen_id=user.subject_ref)
            history = participation.coverage_history(s, person.id)
            schemes = {p.scheme for p in history}
            assert {Scheme.si_compulsory, Scheme.si_voluntary, Scheme.hi} <= schemes
            assert len({p.employer_id for p in history if p.scheme == Scheme.si_compulsory}) == 2
            assert {p.hi_group for p in history if p.scheme == Scheme.hi} >= {"GD"}
            assert min(p.valid_from for p in history) <= date(TODAY.year - 5, 1, 1)  # several years
            card = current_card(s, person.id)
            assert card is not None and card.valid_from <= TODAY <= card.valid_until
            members = registry.household_members(s, person.household_id)
            assert len(members) == 3 and all(_vietnamese(m.full_name) for m in members)

        for user in _users(demo, Role.facility):
            assert contract_in_force(s, user.subject_ref, TODAY) is not None
            looked_up = s.scalar(select(func.count()).select_from(CardLookup).where(
                CardLookup.facility_code == user.subject_ref))
            assert looked_up >= 30

        for user in _users(demo, Role.district_officer) + _users(demo, Role.provincial_officer):
            principal = auth_service.principal_for(auth_service.get_user_by_username(s, user.username))
            assert registry.search_people(s, principal, "nguyen", limit=5)[0], user.username
            if Role.provincial_officer in user.roles:
                assert registry.list_employers(s, principal, limit=5)[0], user.username

        # Every name in the demo's registry is Vietnamese (the population's and the stories').
        names = list(s.scalars(select(Person.full_name)))
        assert len(names) > 400 and all(_vietnamese(n) for n in names), [n for n in names if not _vietnamese(n)][:5]
        contacts = [c for c in s.scalars(select(Employer.contact_name)) if c]
        assert contacts and all(_vietnamese(c) for c in contacts)

    for user in demo.users:  # every demo user signs in with the password the demo printed
        assert web_login(client, user.username, user.password).status_code == 303, user.username
        response = client.get("/")
        assert response.status_code == 200, (user.username, response.status_code)
        if user.username in employer_pages:  # the employer's own pages: its workers, its account
            employer_id, worker = employer_pages[user.username]
            page = client.get(f"/registry/employers/{employer_id}")
            assert page.status_code == 200 and worker in page.text
            assert client.get(f"/collection/employers/{employer_id}").status_code == 200
        client.cookies.clear()
