from datetime import date

import polars as pl
import pytest
from sqlalchemy import func, select

from ansinh.participation.models import CoveragePeriod
from ansinh.participation.service import participation_by_province, participation_summary
from ansinh.registry.identifiers import check_citizen_id, check_tax_code, search_key
from ansinh.registry.models import Employer, Household, Person, PopulationFigure
from ansinh.registry.service import issue_si_numbers
from ansinh.synth import population
from ansinh.synth.population import load_population, plan_population, search_key_expr

TODAY = date(2026, 3, 15)


@pytest.fixture(scope="module")
def plan() -> dict[str, pl.DataFrame]:
    return plan_population(11, 30_000, ["19"], today=TODAY)


def _active(frame: pl.DataFrame, on: date) -> pl.DataFrame:
    return frame.filter((pl.col("valid_from") <= on) & (pl.col("valid_to").is_null() | (pl.col("valid_to") > on)))


def _counts(plan: dict[str, pl.DataFrame], on: date) -> dict[str, int]:
    active = _active(plan["coverage_period"], on)
    return dict(active.group_by("scheme").agg(pl.col("person_id").n_unique()).iter_rows())


def test_the_same_seed_gives_the_same_frames_and_another_seed_differs():
    first = plan_population(5, 3_000, ["14", "01"], today=TODAY)
    again = plan_population(5, 3_000, ["14", "01"], today=TODAY)
    assert first.keys() == again.keys()
    for table in first:
        assert first[table].equals(again[table]), table
    other = plan_population(6, 3_000, ["14", "01"], today=TODAY)
    assert not other["person"]["full_name"].equals(first["person"]["full_name"])


def test_chunks_keep_identifiers_unique(monkeypatch):
    monkeypatch.setattr(population, "CHUNK_PEOPLE", 1_000)
    frames = plan_population(3, 4_500, ["79"], today=TODAY)
    people = frames["person"]
    assert people.height == 4_500
    for column in ("id", "citizen_id", "si_number"):
        assert people[column].n_unique() == people.height, column
    assert frames["household"]["id"].n_unique() == frames["household"].height
    assert set(people["household_id"]) == set(frames["household"]["id"])


def test_people_are_shared_among_provinces_by_their_size():
    frames = plan_population(2, 10_000, ["01", "14"], today=TODAY)
    by_province = dict(frames["person"].group_by("province_2025").len().iter_rows())
    assert sum(by_province.values()) == 10_000
    assert by_province["01"] > 5 * by_province["14"]  # Hà Nội 8.7 M, Sơn La 1.3 M
    sonla = frames["person"].filter(pl.col("province_2025") == "14")["ethnicity"].value_counts(sort=True)
    assert sonla["ethnicity"][0] == "Thái"


def test_identifiers_are_valid_and_unique(plan):
    people, employers = plan["person"], plan["employer"]
    assert people["citizen_id"].n_unique() == people.height
    assert people["si_number"].n_unique() == people.height
    assert people["si_number"].str.len_chars().eq(10).all() and people["si_number"].str.starts_with("19").all()
    for row in people.sample(500, seed=1).iter_rows(named=True):
        check_citizen_id(row["citizen_id"], row["date_of_birth"], row["sex"])
    assert people["citizen_id"].str.slice(0, 3).is_in(["006", "019"]).mean() > 0.85  # Bắc Kạn + Thái Nguyên
    assert employers["tax_code"].n_unique() == employers.height
    for code in employers["tax_code"]:
        check_tax_code(code)


def test_names_and_their_search_key(plan):
    people = plan["person"]
    for row in people.sample(500, seed=2).iter_rows(named=True):
        assert row["name_search"] == search_key(row["full_name"])
    surnames = people["full_name"].str.split(" ").list.first().value_counts(sort=True)
    assert surnames["full_name"][0] == "Nguyễn"
    nguyen = (people["full_name"].str.starts_with("Nguyễn ")).mean()
    assert 0.2 < nguyen < 0.45


@pytest.mark.parametrize("text", ["Nguyễn Văn Ánh", "  ĐẶNG   thị  Hương ", "Lò Thị Ýến", "H'Mông", "Ứng Ỷ Ỹ",
                                  "ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯưẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệ",
                                  "ỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ", "Café 東京 x"])
def test_the_column_search_key_agrees_with_search_key(text):
    assert pl.select(search_key_expr(pl.lit(text))).item() == search_key(text)


def test_shares_are_realistic(plan):
    people = plan["person"]
    figures = plan["population_figure"].filter(pl.col("year") == TODAY.year).row(0, named=True)
    assert figures["population"] == people.height
    working = figures["working_age_population"]
    assert 0.58 < working / people.height < 0.70
    counts = _counts(plan, TODAY)
    assert 0.25 <= counts["si_compulsory"] / working <= 0.35
    assert 0.03 <= counts["si_voluntary"] / working <= 0.06
    assert 0.90 <= counts["hi"] / people.height <= 0.96
    assert 0.85 * counts["si_compulsory"] < counts["ui"] < counts["si_compulsory"]
    under_6 = (people["date_of_birth"] > date(2020, 3, 15)).mean()
    assert 0.06 < under_6 < 0.11
    assert 0.45 < (people["sex"] == "female").mean() < 0.55
    assert 0.6 < (people["ethnicity"] == "Kinh").mean() < 0.8  # Thái Nguyên: Kinh, Tày, Nùng, Dao, ...
    # HI groups: no one counted twice on a date, and the main groups are there.
    hi = _active(plan["coverage_period"], TODAY).filter(pl.col("scheme") == "hi")
    assert hi["person_id"].n_unique() == hi.height
    assert {"DN", "HC", "HT", "TE", "HN", "CN", "HS", "SV", "GD", "BT"} <= set(hi["hi_group"])
    # Counts differ by date: some periods ended, some started since.
    assert _counts(plan, date(2024, 3, 15)) != counts


def test_households_and_employers_are_realistic(plan):
    people, households = plan["person"], plan["household"]
    sizes = people.group_by("household_id").len()["len"]
    assert sizes.min() >= 1 and sizes.max() <= 7
    assert 3.0 < sizes.mean() < 3.8
    heads = people.filter(pl.col("relation_to_head") == "head")
    assert heads.height == households.height
    assert set(heads["id"]) == set(households["head_person_id"])
    oldest = people.sort("date_of_birth").group_by("household_id", maintain_order=True).first()
    assert (oldest.join(households, left_on="household_id", right_on="id")
            .filter(pl.col("id") != pl.col("head_person_id")).height) == 0
    employers = plan["employer"]
    staff = _active(plan["coverage_period"], TODAY).filter(pl.col("scheme") == "si_compulsory")
    size = staff.group_by("employer_id").len()["len"]
    assert size.median() < 10 and size.max() > 50 * size.median()  # many small, a few large
    assert (size < 10).mean() > 0.5
    assert 0.6 < (employers["ownership"] == "private").mean() < 0.9
    assert set(employers["region"]) <= {"I", "II", "III", "IV"}
    minimum = staff.join(employers.select("id", "region"), left_on="employer_id", right_on="id").with_columns(
        floor=pl.col("region").replace_strict(population.REGIONAL_MINIMUM_WAGE))
    assert (minimum["insured_salary"] >= minimum["floor"]).all()
    voluntary = _active(plan["coverage_period"], TODAY).filter(pl.col("scheme") == "si_voluntary")
    assert (voluntary["insured_salary"] >= 1_500_000).all()
    assert set(voluntary["payment_months"]) <= {1, 3, 6, 12}
    gd = plan["coverage_period"].filter(pl.col("hi_group") == "GD")
    assert gd["household_id"].is_not_null().all() and gd["member_order"].min() == 1


def test_loading_writes_everything_and_the_summary_counts_it(session, org):
    before = issue_si_numbers(session, "19", 1)[0]
    result = load_population(session, seed=4, people=2_500, province_codes=["14"],
                             org_units={"14": org.sonla}, today=TODAY)
    assert result["person"] == 2_500
    assert session.scalar(select(func.count()).select_from(Person)) == 2_500
    assert session.scalar(select(func.count()).select_from(Household)) == result["household"]
    assert session.scalar(select(func.count()).select_from(Employer)) == result["employer"]
    assert session.scalar(select(func.count()).select_from(CoveragePeriod)) == result["coverage_period"]
    assert session.scalar(select(func.count()).select_from(Household).where(Household.head_person_id.is_(None))) == 0
    assert session.scalar(select(func.count()).select_from(PopulationFigure)) == 3
    assert before.startswith("19")
    # SI numbers came from the province's counter: the next one issued follows them.
    after = issue_si_numbers(session, "14", 1)[0]
    assert after == f"14{2_501:08d}"
    # The services still work after the bulk load (the id sequences were moved on).
    from ansinh.registry.service import PersonData, create_person

    person = create_person(session, PersonData(full_name="Lò Văn Pánh", date_of_birth=date(1990, 1, 2),
                                               sex="male"), org.sonla)
    assert person.id > 2_500
    summary = participation_summary(session, None, on=TODAY, province="14")
    assert summary["population"] == 2_500
    assert 0.08 <= summary["si_compulsory"] / summary["working_age_population"] <= 0.16  # Sơn La: few employees
    assert 0.90 <= summary["hi_coverage_rate"] <= 0.98
    assert summary["ui"] <= summary["si_compulsory"]
    assert summary["hi_by_group"]["DT"] > 0  # ethnic minorities in hardship areas
    rows = participation_by_province(session, None, on=TODAY)
    assert [r["province"] for r in rows] == ["14"] and rows[0]["hi"] == summary["hi"]
    people = session.execute(select(Person.citizen_id, Person.date_of_birth, Person.sex)
                             .where(Person.id <= 2_500).order_by(Person.id).limit(200)).all()  # the synthetic ones
    for citizen_id, born, sex in people:
        check_citizen_id(citizen_id, born, sex)


def test_loading_twice_continues_the_identifiers(session, org):
    load_population(session, seed=1, people=800, province_codes=["01"], org_units={"01": [org.hanoi, org.hanoi_office]},
                    today=TODAY)
    load_population(session, seed=1, people=800, province_codes=["01"], org_units={"01": org.hanoi}, today=TODAY)
    ids = session.execute(select(func.count(Person.id), func.count(func.distinct(Person.citizen_id)),
                                 func.count(func.distinct(Person.si_number)))).one()
    assert ids == (1_600, 1_600, 1_600)
    units = set(session.scalars(select(Person.org_unit_id).distinct()))
    assert units == {org.hanoi.id, org.hanoi_office.id}
