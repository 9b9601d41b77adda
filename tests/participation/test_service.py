from datetime import date

import pytest

from ansinh.auth import service as auth_service
from ansinh.auth.models import OrgUnit, Role, User
from ansinh.errors import Conflict, PermissionDenied, ValidationFailed
from ansinh.i18n import use_locale
from ansinh.participation import service
from ansinh.participation.models import DeclarationKind, Scheme
from ansinh.registry import service as registry
from ansinh.registry.models import Ownership, Sex

TODAY = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def english():
    """The checks speak the request's language; these tests read the English text."""
    with use_locale("en"):
        yield


@pytest.fixture
def setup(session, org):
    hanoi = session.get(OrgUnit, org.hanoi.id)
    employer = registry.create_employer(session, registry.EmployerData(
        tax_code="0100109106", name="Công ty An Bình", ownership=Ownership.private, region="I"), hanoi)
    worker = registry.create_person(session, registry.PersonData(
        full_name="Nguyễn Văn An", date_of_birth=date(1990, 5, 1), sex=Sex.male, citizen_id="001090012345"), hanoi)
    return employer, worker, hanoi


def declare(session, employer, worker, kind, month, salary=None, today=TODAY):
    return service.apply_declaration(session, employer=employer, person=worker, kind=kind, effective_month=month,
                                     insured_salary=salary, submitted_by="test", today=today)


def current(session, person_id):
    return [(p.scheme.value, p.valid_from, p.valid_to, p.insured_salary) for p in service.coverage_history(session, person_id)]


def test_join_covers_si_hi_and_ui_from_the_month(session, setup):
    employer, worker, _ = setup
    declaration = declare(session, employer, worker, DeclarationKind.join, date(2026, 11, 15), 12_000_000)
    assert declaration.effective_month == date(2026, 11, 1) and not declaration.retroactive
    assert sorted(current(session, worker.id)) == [("hi", date(2026, 11, 1), None, 12_000_000),
                                                   ("si_compulsory", date(2026, 11, 1), None, 12_000_000),
                                                   ("ui", date(2026, 11, 1), None, 12_000_000)]
    hi = [p for p in service.coverage_history(session, worker.id) if p.scheme == Scheme.hi][0]
    assert hi.hi_group == "DN" and hi.employer_id == employer.id and hi.province_2025 == "01"


def test_a_salary_below_the_floor_is_refused_naming_the_floor(session, setup):
    employer, worker, _ = setup
    with pytest.raises(ValidationFailed) as excinfo:
        declare(session, employer, worker, DeclarationKind.join, date(2025, 3, 1), 4_000_000)  # region I floor 4,960,000
    assert excinfo.value.field == "insured_salary" and "4,960,000" in str(excinfo.value)
    assert service.coverage_history(session, worker.id) == []
    check = service.check_declaration(session, employer=employer, person=worker, kind="join",
                                      effective_month=date(2025, 3, 1), insured_salary=4_000_000, hi_group=None,
                                      today=TODAY)
    assert check.floor == 4_960_000 and check.retroactive


def test_leave_and_salary_change_keep_the_history(session, setup):
    employer, worker, _ = setup
    declare(session, employer, worker, "join", date(2026, 1, 1), 10_000_000)
    declare(session, employer, worker, "salary_change", date(2026, 6, 1), 15_000_000)
    declare(session, employer, worker, "leave", date(2026, 10, 1))
    si = [row for row in current(session, worker.id) if row[0] == "si_compulsory"]
    assert si == [("si_compulsory", date(2026, 1, 1), date(2026, 6, 1), 10_000_000),
                  ("si_compulsory", date(2026, 6, 1), date(2026, 10, 1), 15_000_000)]
    everything = service.coverage_history(session, worker.id, include_superseded=True)
    assert len(everything) > len(service.coverage_history(session, worker.id))  # superseded rows stay
    assert all(p.superseded_by_declaration_id for p in everything if p.superseded_at)
    assert [p.insured_salary for p in service.coverage_on(session, worker.id, date(2026, 3, 1))] == [10_000_000] * 3
    assert service.coverage_on(session, worker.id, date(2026, 10, 1)) == []
    with pytest.raises(ValidationFailed, match="not declared"):
        declare(session, employer, worker, "leave", date(2026, 11, 1))


def test_a_retroactive_salary_change_splits_only_until_the_next_change(session, setup):
    employer, worker, _ = setup
    declare(session, employer, worker, "join", date(2026, 1, 1), 10_000_000)
    declare(session, employer, worker, "salary_change", date(2026, 9, 1), 14_000_000)
    late = declare(session, employer, worker, "salary_change", date(2026, 4, 1), 12_000_000)
    assert late.retroactive and late.needs_rebilling
    si = [row[1:] for row in current(session, worker.id) if row[0] == "si_compulsory"]
    assert si == [(date(2026, 1, 1), date(2026, 4, 1), 10_000_000), (date(2026, 4, 1), date(2026, 9, 1), 12_000_000),
                  (date(2026, 9, 1), None, 14_000_000)]


def test_joining_twice_is_refused(session, setup):
    employer, worker, _ = setup
    declare(session, employer, worker, "join", date(2026, 1, 1), 10_000_000)
    with pytest.raises(ValidationFailed, match="already declared"):
        declare(session, employer, worker, "join", date(2026, 3, 1), 10_000_000)


def test_enrolments(session, setup, org):
    employer, worker, hanoi = setup
    wife = registry.create_person(session, registry.PersonData(
        full_name="Trần Thị Bình", date_of_birth=date(1992, 3, 1), sex=Sex.female, citizen_id="001192012346"), hanoi)
    child = registry.create_person(session, registry.PersonData(
        full_name="Nguyễn Minh Châu", date_of_birth=date(2022, 8, 1), sex=Sex.female, citizen_id="001322012347"), hanoi)
    voluntary = service.enrol_voluntary(session, person=wife, income=3_000_000, months=3, group="near_poor",
                                        start=date(2026, 1, 1), org_unit=hanoi)
    assert voluntary.payer.value == "self" and voluntary.payment_months == 3
    with pytest.raises(ValidationFailed) as low:
        service.enrol_voluntary(session, person=worker, income=1_000_000, months=1, group="other",
                                start=date(2026, 1, 1), org_unit=hanoi)
    assert low.value.field == "income"
    declare(session, employer, worker, "join", date(2026, 1, 1), 10_000_000)
    with pytest.raises(Conflict, match="compulsory"):
        service.enrol_voluntary(session, person=worker, income=3_000_000, months=1, group="other",
                                start=date(2026, 2, 1), org_unit=hanoi)
    household = registry.create_household(session, head=worker, members=[wife, child], org_unit=hanoi)
    with pytest.raises(Conflict, match="already has health insurance"):
        service.enrol_household_hi(session, household=household, members=[worker], start=date(2026, 1, 1))
    periods = service.enrol_household_hi(session, household=household, members=[wife], start=date(2026, 1, 1))
    # Her first HI, paid on 2026-01-01: covered 30 days after the payment for the 12 months paid (HI Law Art 16(3)(c)
    # as amended by Law 51/2024).
    assert [(p.hi_group, p.member_order, p.valid_from, p.valid_to) for p in periods] == [
        ("GD", 1, date(2026, 1, 31), date(2027, 1, 31))]
    [te] = service.enrol_state_budget(session, group="TE", people=[child], start=date(2022, 8, 1),
                                      end=date(2028, 8, 1), org_unit=hanoi)
    assert te.payer.value == "state_budget"
    with pytest.raises(ValidationFailed):
        service.enrol_state_budget(session, group="ZZ", people=[child], start=date(2022, 8, 1), end=date(2028, 8, 1),
                                   org_unit=hanoi)


def test_summary_counts_participants_as_of_any_date(session, setup, org, make_user):
    employer, worker, hanoi = setup
    declare(session, employer, worker, "join", date(2025, 1, 1), 10_000_000)
    declare(session, employer, worker, "leave", date(2026, 1, 1))
    other = registry.create_person(session, registry.PersonData(
        full_name="Lò Thị Dung", date_of_birth=date(1995, 1, 1), sex=Sex.female, citizen_id="014195012349"),
        session.get(OrgUnit, org.sonla.id))
    service.enrol_voluntary(session, person=other, income=2_000_000, months=1, group="ethnic_minority",
                            start=date(2025, 7, 1), org_unit=session.get(OrgUnit, org.sonla.id))
    mid_2025 = service.participation_summary(session, None, on=date(2025, 8, 1))
    assert (mid_2025["si_compulsory"], mid_2025["hi"], mid_2025["ui"], mid_2025["si_voluntary"]) == (1, 1, 1, 1)
    assert mid_2025["hi_by_group"] == {"DN": 1}
    assert service.participation_summary(session, None, on=date(2026, 2, 1))["si_compulsory"] == 0
    hanoi_only = service.participation_summary(session, None, on=date(2025, 8, 1), province="01")
    assert hanoi_only["si_voluntary"] == 0 and hanoi_only["si_compulsory"] == 1
    officer = auth_service.principal_for(session.get(User, make_user("sl", org.sonla, Role.provincial_officer).id))
    scoped = service.participation_summary(session, officer, on=date(2025, 8, 1))
    assert scoped["si_compulsory"] == 0 and scoped["si_voluntary"] == 1
    from ansinh.registry.models import PopulationFigure, Structure
    session.add(PopulationFigure(structure=Structure.from_2025, province_code="01", year=2025, population=4,
                                 working_age_population=2))
    session.flush()
    rated = service.participation_summary(session, None, on=date(2025, 8, 1), province="01")
    assert rated["population"] == 4 and rated["hi_coverage_rate"] == 0.25 and rated["si_working_age_rate"] == 0.5
    assert service.participation_by_province(session, None, on=date(2025, 8, 1))[0]["province"] == "01"


def test_a_worker_with_two_employers_counts_once(session, setup):
    employer, worker, hanoi = setup
    second = registry.create_employer(session, registry.EmployerData(
        tax_code="0300588569", name="Công ty Thứ Hai", ownership=Ownership.fdi, region="II"), hanoi)
    declare(session, employer, worker, "join", date(2026, 1, 1), 10_000_000)
    declare(session, second, worker, "join", date(2026, 3, 1), 8_000_000)
    flagged = [p.overlapping for p in service.coverage_history(session, worker.id)]
    assert all(flagged) and len(flagged) == 6
    both = service.participation_summary(session, None, on=date(2026, 4, 1))
    assert (both["si_compulsory"], both["hi"], both["ui"]) == (1, 1, 1)
    assert both["hi_by_group"] == {"DN": 1}
    assert service.participation_by_province(session, None, on=date(2026, 4, 1))[0]["si_compulsory"] == 1
    declare(session, second, worker, "leave", date(2026, 6, 1))
    assert not any(p.overlapping for p in service.coverage_history(session, worker.id) if p.valid_from >= date(2026, 6, 1))
    assert service.participation_summary(session, None, on=date(2026, 7, 1))["si_compulsory"] == 1



def test_the_summary_page_counts_in_one_pass_what_summary_and_by_province_count(session, setup, org, make_user):
    """participation_overview (the page: one pass over the periods) answers as participation_summary and
    participation_by_province do, for the nation, one province and a provincial officer, with a worker counted once
    while flagged in two employments."""
    employer, worker, hanoi = setup
    second = registry.create_employer(session, registry.EmployerData(
        tax_code="0300588569", name="Công ty Thứ Hai", ownership=Ownership.fdi, region="II"), hanoi)
    declare(session, employer, worker, "join", date(2026, 1, 1), 10_000_000)
    declare(session, second, worker, "join", date(2026, 3, 1), 8_000_000)
    sonla = session.get(OrgUnit, org.sonla.id)
    for i in range(2):
        other = registry.create_person(session, registry.PersonData(
            full_name=f"Lò Thị Dung {i}", date_of_birth=date(1995, 1, 1 + i), sex=Sex.female), sonla)
        service.enrol_voluntary(session, person=other, income=2_000_000, months=1, group="ethnic_minority",
                                start=date(2026, 1, 1), org_unit=sonla)
    officer = auth_service.principal_for(session.get(User, make_user("sl", org.sonla, Role.provincial_officer).id))
    for who, province in ((None, None), (None, "01"), (None, "14"), (officer, None), (officer, "14")):
        summary, by_province = service.participation_overview(session, who, on=date(2026, 4, 1), province=province)
        assert summary == service.participation_summary(session, who, on=date(2026, 4, 1), province=province)
        assert by_province == service.participation_by_province(session, who, on=date(2026, 4, 1))
    nation, by_province = service.participation_overview(session, None, on=date(2026, 4, 1))
    assert (nation["si_compulsory"], nation["si_voluntary"], nation["hi"]) == (1, 2, 1)
    assert [(row["province"], row["si_compulsory"], row["si_voluntary"]) for row in by_province] == \
        [("01", 1, 0), ("14", 0, 2)]
    with pytest.raises(PermissionDenied):
        service.participation_overview(session, officer, on=date(2026, 4, 1), province="01")


# --- the waiting period of a card (HI Law Art 16(3)(c) as amended by Law 51/2024/QH15, from 2025-07-01) --------------
# The groups of Art 12(4) (State support: CN, HS, SV, NN) and 12(5) (household: GD) joining for the first time or after
# a lapse of 90 days or more have a card valid 30 days after the day they pay; a shorter lapse is a continuous renewal.

@pytest.mark.parametrize(("previous_end", "expected"), [
    (None, date(2026, 1, 31)),               # a first enrolment: 30 days after the payment
    (date(2025, 10, 3), date(2026, 1, 31)),  # 90 days without cover (3 Oct to 31 Dec): waits
    (date(2025, 10, 4), date(2026, 1, 1)),   # 89 days: a continuous renewal, valid from the payment
    (date(2026, 1, 1), date(2026, 1, 1)),    # the previous card ran to the day before the payment
    (date(2026, 3, 1), date(2026, 1, 1)),    # paid before the previous card ended
])
def test_cover_starts_30_days_after_payment_after_a_lapse_of_90_days(previous_end, expected):
    assert service.coverage_start_after_payment(date(2026, 1, 1), previous_end, waiting_days=30,
                                                lapse_days=90) == expected


@pytest.mark.parametrize(("group", "paid_on", "expected"), [
    ("GD", date(2025, 6, 30), date(2025, 6, 30)),  # before Law 51/2024's clause: no waiting period is modelled
    ("GD", date(2025, 7, 1), date(2025, 7, 31)),   # from 2025-07-01: household participants wait
    ("CN", date(2025, 7, 1), date(2025, 7, 31)),   # the State-supported groups too
    ("SV", date(2025, 7, 1), date(2025, 7, 31)),
    ("TE", date(2025, 7, 1), date(2025, 7, 1)),    # paid by the State (Art 12(3)): no waiting
    ("DN", date(2025, 7, 1), date(2025, 7, 1)),    # paid by the employer (Art 12(1)): no waiting
])
def test_which_groups_wait_is_a_dated_parameter(group, paid_on, expected):
    assert service.hi_coverage_start(group, paid_on, None) == expected


def test_household_members_wait_after_a_first_enrolment_or_a_lapse_and_keep_the_months_paid(session, setup):
    _employer, worker, hanoi = setup
    lapsed, renewed, newcomer = (registry.create_person(session, registry.PersonData(
        full_name=name, date_of_birth=date(1980, 1, 1 + i), sex=Sex.female), hanoi)
        for i, name in enumerate(("Lê Thị Gián", "Lê Thị Nối", "Lê Thị Mới")))
    service.enrol_state_budget(session, group="HN", people=[lapsed], start=date(2025, 1, 1), end=date(2025, 10, 3),
                               org_unit=hanoi, today=TODAY)
    service.enrol_state_budget(session, group="HN", people=[renewed], start=date(2025, 1, 1), end=date(2025, 10, 4),
                               org_unit=hanoi, today=TODAY)
    household = registry.create_household(session, head=worker, members=[lapsed, renewed, newcomer], org_unit=hanoi)
    periods = service.enrol_household_hi(session, household=household, members=[lapsed, renewed, newcomer],
                                         start=date(2026, 1, 1), months=6, today=TODAY)
    assert [(p.member_order, p.valid_from, p.valid_to) for p in periods] == [
        (1, date(2026, 1, 31), date(2026, 7, 31)),  # 90 days without cover: 30 days' wait, then the 6 months paid
        (2, date(2026, 1, 1), date(2026, 7, 1)),    # 89 days: continuous, from the payment
        (3, date(2026, 1, 31), date(2026, 7, 31)),  # never covered: waits
    ]


def test_a_household_enrolment_before_july_2025_does_not_wait(session, setup):
    _employer, worker, hanoi = setup
    household = registry.create_household(session, head=worker, members=[], org_unit=hanoi)
    [june] = service.enrol_household_hi(session, household=household, members=[worker], start=date(2025, 6, 1),
                                        months=3, today=date(2025, 6, 1))
    assert (june.valid_from, june.valid_to) == (date(2025, 6, 1), date(2025, 9, 1))
    # paid on 2025-12-01, 91 days after that cover ended: from 2025-07-01 the law makes the card wait
    [december] = service.enrol_household_hi(session, household=household, members=[worker], start=date(2025, 12, 1),
                                            months=3, today=date(2025, 12, 1))
    assert (december.valid_from, december.valid_to) == (date(2025, 12, 31), date(2026, 3, 31))


def test_a_state_supported_list_waits_but_keeps_its_end(session, setup):
    _employer, worker, hanoi = setup
    [near_poor] = service.enrol_state_budget(session, group="CN", people=[worker], start=date(2026, 1, 1),
                                             end=date(2027, 1, 1), org_unit=hanoi, today=TODAY)
    assert (near_poor.valid_from, near_poor.valid_to) == (date(2026, 1, 31), date(2027, 1, 1))
    again = registry.create_person(session, registry.PersonData(
        full_name="Phan Văn Chờ", date_of_birth=date(1970, 1, 1), sex=Sex.male), hanoi)
    with pytest.raises(ValidationFailed) as short:  # the list ends before the wait does
        service.enrol_state_budget(session, group="SV", people=[again], start=date(2026, 1, 1), end=date(2026, 1, 31),
                                   org_unit=hanoi, today=TODAY)
    assert short.value.field == "end"
    [poor] = service.enrol_state_budget(session, group="HN", people=[again], start=date(2026, 1, 1),
                                        end=date(2027, 1, 1), org_unit=hanoi, today=TODAY)
    assert poor.valid_from == date(2026, 1, 1)  # paid in full by the State (Art 12(3)): no wait
