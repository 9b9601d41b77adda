from sqlalchemy import func, select

from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgLevel, Role, User
from ansinh.registry.identifiers import tax_code_check_digit
from ansinh.synth.demo import ascii_slug, is_empty, load_demo, plan_demo


def test_the_same_seed_gives_the_same_data_and_another_seed_differs():
    assert plan_demo(7) == plan_demo(7)
    other = plan_demo(8)
    assert [u.full_name for u in other.users] != [u.full_name for u in plan_demo(7).users]
    assert [u.password for u in other.users] != [u.password for u in plan_demo(7).users]


def test_the_plan_has_every_role_and_a_three_level_tree():
    plan = plan_demo()
    assert {r for u in plan.users for r in u.roles} == set(Role)
    assert {u.level for u in plan.org_units} == set(OrgLevel)
    assert len({u.username for u in plan.users}) == len(plan.users)
    assert all(len(u.password) >= 12 for u in plan.users)
    names = [u.full_name for u in plan.users]
    assert any(ch in "".join(names) for ch in "ăâđêôơư")  # Vietnamese names


def test_identifiers_are_well_formed():
    plan = plan_demo()
    for user in plan.users:
        if Role.employer in user.roles:
            assert len(user.subject_ref) == 10 and int(user.subject_ref[9]) == tax_code_check_digit(user.subject_ref[:9])
        if Role.citizen in user.roles:
            assert len(user.subject_ref) == 12 and user.subject_ref.isdigit()
            assert user.subject_ref[:3] == "0" + user.org_unit_code[-2:]
    # Published tax codes: Viettel 0100109106, Vinamilk 0300588569.
    assert tax_code_check_digit("010010910") == 6 and tax_code_check_digit("030058856") == 9
    assert ascii_slug("Hồ Chí Minh") == "ho.chi.minh" and ascii_slug("Đà Nẵng") == "da.nang"


def test_loading_writes_through_the_services(db):
    plan = plan_demo()
    with db.unit_of_work() as s:
        assert is_empty(s)
        load_demo(s, plan)
    with db.unit_of_work() as s:
        assert not is_empty(s)
        assert s.scalar(select(func.count(User.id))) == len(plan.users)
        admin = auth_service.get_user_by_username(s, "admin")
        assert auth_service.verify_password(admin.password_hash, plan.users[0].password)
        hanoi_officer = auth_service.principal_for(auth_service.get_user_by_username(s, "hanoi.canbo"))
        visible = auth_service.list_org_units(s, hanoi_officer)
        assert [u.code for u in visible] == ["BHXH-01", "BHXH-01-01", "BHXH-01-02"]
