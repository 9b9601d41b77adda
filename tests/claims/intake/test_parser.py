"""The claim file read without a database: fields, exact amounts, Vietnam's time to UTC, the 4210 layout, each
structural problem, and hostile files (each refused with a clear problem, quickly)."""

from __future__ import annotations

import base64
import io
import time
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansinh.claims.intake import parser
from ansinh.claims.appraisal.rules import appraisal_rules
from ansinh.claims.intake.parser import DatedRule, R, parse_claim_file
from ansinh.rules.parameters import PARAMETER_DIR as PARAMETERS
from ansinh.rules.parameters import get_parameters, load_parameters, track_parameter_use
from ansinh.i18n import use_locale
from ansinh.synth.claims import EpisodeSpec, Faults, Patient, claim_file

ON = date(2026, 11, 30)
FACILITY = "01001"
PATIENT = Patient(full_name="Nguyễn Thị Lan", date_of_birth=date(1985, 2, 1), sex=2, card_code="DN4010123456789",
                  citizen_id="001185000001", registered_facility="01001", card_valid_from=date(2026, 1, 1),
                  card_valid_to=date(2026, 12, 31), patient_ref="BN0001")


def parse(data: bytes, **options) -> parser.ParsedFile:
    options.setdefault("facility_code", FACILITY)
    return parse_claim_file(io.BytesIO(data), file_name="test.xml", **options)


def reasons(parsed: parser.ParsedFile) -> list[tuple]:
    return [(p.ma_lk, p.table, p.row, p.field, p.reason) for p in parsed.problems]


def keys(parsed: parser.ParsedFile) -> set[str]:
    by_text = {text: key for key, text in R.items()}
    return {by_text[p.reason] for p in parsed.problems}


def envelope(tables: list[dict[str, bytes]], *, facility: str = FACILITY, count: int | None = None,
             prolog: str = "") -> bytes:
    """A file built by hand from tables (each HOSO: LOAIHOSO → decoded bytes)."""
    hoso = "".join("<HOSO>" + "".join(f"<FILEHOSO><LOAIHOSO>{k}</LOAIHOSO><NOIDUNGFILE>"
                                      f"{base64.b64encode(v).decode()}</NOIDUNGFILE></FILEHOSO>"
                                      for k, v in tables_.items()) + "</HOSO>" for tables_ in tables)
    return (f'<?xml version="1.0" encoding="utf-8"?>{prolog}<GIAMDINHHS><THONGTINDONVI><MACSKCB>{facility}</MACSKCB>'
            f"</THONGTINDONVI><THONGTINHOSO><NGAYLAP>20261130</NGAYLAP><SOLUONGHOSO>"
            f"{len(tables) if count is None else count}</SOLUONGHOSO><DANHSACHHOSO>{hoso}</DANHSACHHOSO>"
            "</THONGTINHOSO></GIAMDINHHS>").encode()


def tables_of(data: bytes, episode: int = 0) -> dict[str, bytes]:
    """The decoded tables of one episode of a generated file."""
    import re

    hoso = re.findall(rb"<HOSO>(.*?)</HOSO>", data)[episode]
    return {k.decode(): base64.b64decode(v) for k, v in
            re.findall(rb"<LOAIHOSO>(.*?)</LOAIHOSO><NOIDUNGFILE>(.*?)</NOIDUNGFILE>", hoso)}


# --- a good file -------------------------------------------------------------------------------------------------

def test_a_generated_file_is_read_into_claims_lines_and_attachments():
    spec = EpisodeSpec(patient=PATIENT, ma_lk="LK-0001", care_type="03", days=3, drugs=2, services=2, supplies=1,
                       arrived_at=datetime(2026, 11, 3, 8, 30), attachments=("XML4", "XML5"), main_icd="J18.9")
    data = claim_file(FACILITY, [spec, EpisodeSpec()], seed=1, on=ON)
    parsed = parse(data)
    assert parsed.accepted, reasons(parsed)
    assert (parsed.envelope.facility_code, parsed.envelope.created_on, parsed.envelope.declared_count,
            parsed.layout, parsed.envelope.episodes) == (FACILITY, ON, 2, "130", 2)
    claim = parsed.claims.row(0, named=True)
    assert claim["episode_key"] == "LK-0001" and claim["hoso"] == 1
    assert (claim["full_name"], claim["citizen_id"], claim["date_of_birth"], claim["sex"]) == (
        "Nguyễn Thị Lan", "001185000001", date(1985, 2, 1), 2)
    assert (claim["card_code"], claim["registered_facility"], claim["card_valid_from"], claim["card_valid_to"]) == (
        "DN4010123456789", "01001", date(2026, 1, 1), date(2026, 12, 31))
    assert (claim["main_icd"], claim["visit_category"], claim["care_type"], claim["patient_ref"]) == (
        "J18.9", "1.1", "03", "BN0001")
    # 08:30 in Vietnam is 01:30 UTC
    assert claim["arrived_at"] == datetime(2026, 11, 3, 1, 30, tzinfo=UTC)
    assert claim["admitted_at"] == claim["arrived_at"]
    assert claim["settlement_year"] == 2026 and claim["settlement_month"] == 11
    lines = parsed.lines.filter(pl.col("hoso") == 1)
    assert sorted(lines["kind"].to_list()) == ["bed", "drug", "drug", "service", "service", "service", "supply"]
    assert lines["hospital_amount"].sum() == claim["total_hospital"]
    assert lines["insured_amount"].sum() == claim["total_insured"]
    bed = lines.filter(pl.col("kind") == "bed").row(0, named=True)
    assert bed["cost_group"] == "15" and bed["bed_code"].startswith("H") and bed["quantity_milli"] == 3000
    assert parsed.attachments.filter(pl.col("hoso") == 1)["table"].sort().to_list() == ["XML4", "XML5"]
    assert parsed.attachments["ma_lk"].unique().to_list() == ["LK-0001"]
    assert "<NOI_DUNG>" in parsed.attachments["content"][0]


def retag(raw: bytes, **values: str) -> bytes:
    """A table with the first element of each named tag given another text."""
    import re

    text = raw.decode()
    for tag, value in values.items():
        text = re.sub(f"<{tag}>[^<]*</{tag}>|<{tag}/>", f"<{tag}>{value}</{tag}>", text, count=1)
    return text.encode()


def test_amounts_are_exact_and_rounded_half_up_to_the_dong():
    tables = tables_of(claim_file(FACILITY, [EpisodeSpec(patient=PATIENT, drugs=1, services=0)], seed=3, on=ON))
    tables["XML2"] = retag(tables["XML2"], SO_LUONG="0.125", DON_GIA="1020.505", THANH_TIEN_BV="127.56",
                           THANH_TIEN_BH="127.5", T_BHTT="102.49", T_BNCCT="25.01", T_BNTT="0.06")
    tables["XML3"] = retag(tables["XML3"], THANH_TIEN_BV="38700", THANH_TIEN_BH="38700")
    tables["XML1"] = retag(tables["XML1"], T_TONGCHI_BV="38827.56", T_TONGCHI_BH="38827.5", T_BNCCT="7765.01",
                           T_BHTT="31062.49")
    parsed = parse(envelope([tables]))
    assert parsed.accepted, reasons(parsed)
    line = parsed.lines.filter(pl.col("source_table") == "XML2").row(0, named=True)
    assert (line["quantity_milli"], line["unit_price_milli"]) == (125, 1_020_505)
    assert (line["hospital_amount"], line["insured_amount"], line["fund_amount"], line["patient_copay"],
            line["patient_pays"]) == (128, 128, 102, 25, 0)
    claim = parsed.claims.row(0, named=True)
    assert (claim["total_hospital"], claim["total_insured"], claim["patient_copay"], claim["fund_claimed"]) == (
        38828, 38828, 7765, 31062)


@given(st.integers(min_value=0, max_value=10**15 - 1), st.integers(min_value=0, max_value=2),
       st.integers(min_value=0, max_value=99))
def test_decimal_text_is_read_as_decimal_would_round_it(whole, decimals, fraction):
    """Up to 15 digits before the point (the parser's bound: ``_milli``; 10**15 itself is refused)."""
    text = str(whole) if decimals == 0 else f"{whole}.{fraction % 10 ** decimals:0{decimals}d}"
    frame = pl.DataFrame({"t": [text]}).select(m=parser._milli(pl.col("t"), 2)).with_columns(
        d=parser._dong(pl.col("m")))
    expected = Decimal(text).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert frame["m"][0] == int(Decimal(text) * 1000)
    assert frame["d"][0] == int(expected)


@pytest.mark.parametrize("text", ["1,5", "-3", "1.234", "1e3", " ", "12.", ".5", "١٢", "1" + "0" * 15])
def test_malformed_amounts_are_not_read(text):
    assert pl.DataFrame({"t": [text]}).select(parser._milli(pl.col("t"), 2)).item() is None


def test_vietnam_midnight_is_the_evening_before_in_utc():
    spec = EpisodeSpec(patient=PATIENT, arrived_at=datetime(2026, 11, 1, 0, 0), drugs=1, services=0)
    parsed = parse(claim_file(FACILITY, [spec], seed=1, on=ON))
    assert parsed.claims["arrived_at"][0] == datetime(2026, 10, 31, 17, 0, tzinfo=UTC)


def test_the_4210_layout_is_read_for_episodes_before_its_end():
    spec = EpisodeSpec(patient=PATIENT, arrived_at=datetime(2023, 6, 12, 9, 0), drugs=2, services=1)
    data = claim_file(FACILITY, [spec, EpisodeSpec(arrived_at=datetime(2023, 6, 20, 9, 0))], seed=2,
                      on=date(2023, 6, 30), layout="4210")
    parsed = parse(data)
    assert parsed.accepted, reasons(parsed)
    assert parsed.layout == "4210"
    claim = parsed.claims.row(0, named=True)
    assert claim["card_code"] == "DN4010123456789" and claim["citizen_id"] is None
    assert claim["date_of_birth"] == date(1985, 2, 1) and claim["visit_category"] == "1"
    assert claim["total_hospital"] == claim["total_insured"] == parsed.lines.filter(
        pl.col("hoso") == 1)["hospital_amount"].sum()


def test_the_4210_layout_is_refused_for_episodes_from_its_end_which_is_a_parameter():
    late = claim_file(FACILITY, [EpisodeSpec(patient=PATIENT, arrived_at=datetime(2023, 9, 2, 9, 0))], seed=2,
                      on=date(2023, 9, 30), layout="4210")
    parsed = parse(late)
    assert keys(parsed) == {"layout_4210_late"} and parsed.problems[0].field == "NGAY_RA"
    june = claim_file(FACILITY, [EpisodeSpec(patient=PATIENT, arrived_at=datetime(2023, 6, 12, 9, 0))], seed=2,
                      on=date(2023, 6, 30), layout="4210")
    assert parse(june).accepted
    assert keys(parse(june, layout_4210_ends=DatedRule(date(2023, 6, 1), "a test's own date"))) == {
        "layout_4210_late"}
    end = parser.layout_4210_end()
    assert end.day == date(2023, 9, 1) and "130/QĐ-BYT" in end.reference


def test_the_end_of_the_4210_layout_is_read_from_its_dated_parameter(tmp_path):
    """The day comes from ``claims.intake.layout_4210`` (its null entry), read by intake: another date in the
    parameter moves the refusal, and every ``claims.`` parameter the appraisal does not declare is intake's."""
    folder = tmp_path / "claims" / "intake"
    folder.mkdir(parents=True)
    text = (PARAMETERS / "claims" / "intake" / "layout_4210.yaml").read_text(encoding="utf-8")
    (folder / "layout_4210.yaml").write_text(text.replace("2023-09-01:", "2023-06-01:"), encoding="utf-8")
    moved = parser.layout_4210_end(load_parameters(tmp_path))
    assert moved.day == date(2023, 6, 1)
    june = claim_file(FACILITY, [EpisodeSpec(patient=PATIENT, arrived_at=datetime(2023, 6, 12, 9, 0))], seed=2,
                      on=date(2023, 6, 30), layout="4210")
    assert keys(parse(june, layout_4210_ends=moved)) == {"layout_4210_late"}
    with track_parameter_use() as hits:
        assert parse(june).accepted
    assert hits[parser.LAYOUT_4210_PARAMETER] == {0}  # in force the day before the end
    declared = {name for rule in appraisal_rules().values() for name in rule.parameters}
    # the other parts of the claims domain keep theirs under their own names (tested there)
    claims_parameters = {name for name in get_parameters().names() if name.startswith("claims.")
                         and not name.startswith(("claims.review.", "claims.monitoring."))}
    assert claims_parameters - declared == set(parser.INTAKE_PARAMETERS)


def test_line_kinds_follow_the_cost_group_and_codes():
    data = claim_file(FACILITY, [EpisodeSpec(patient=PATIENT, services=3, drugs=1, supplies=0)], seed=4, on=ON,
                      faults=Faults(line_values={(0, "XML3", 2, "MA_NHOM"): "14", (0, "XML3", 3, "MA_NHOM"): "11",
                                                 (0, "XML3", 4, "MA_NHOM"): "16"}))
    parsed = parse(data)
    assert parsed.accepted, reasons(parsed)
    services = parsed.lines.filter(pl.col("source_table") == "XML3").sort("row_no")
    assert services["kind"].to_list() == ["service", "bed", "supply", "bed"]


def test_cdata_comments_and_entities_are_read_as_plain_text_is():
    plain = claim_file(FACILITY, [EpisodeSpec(patient=PATIENT, drugs=2, services=1)], seed=5, on=ON)
    tables = tables_of(plain)
    tricky = {**tables,
              "XML1": tables["XML1"].replace(b"<HO_TEN>Nguy\xe1\xbb\x85n Th\xe1\xbb\x8b Lan</HO_TEN>",
                                             b"<HO_TEN><![CDATA[Nguy\xe1\xbb\x85n Th\xe1\xbb\x8b Lan]]></HO_TEN>"
                                             b"<!-- a comment -->"),
              "XML2": tables["XML2"].replace(b"<TEN_THUOC>", b"<TEN_THUOC>A &amp; B &#x2013; ", 1)}
    expected = parse(envelope([tables]))
    got = parse(envelope([tricky]))
    assert got.accepted, reasons(got)
    assert got.claims.drop("hoso").equals(expected.claims.drop("hoso"))
    assert got.lines["name"][0].startswith("A & B – ")
    assert got.lines.drop("name").equals(expected.lines.drop("name"))


def test_a_bom_and_an_xml_declaration_in_a_table_are_fine():
    tables = tables_of(claim_file(FACILITY, [EpisodeSpec(patient=PATIENT)], seed=6, on=ON))
    tables["XML1"] = b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>' + tables["XML1"]
    assert parse(envelope([tables])).accepted


# --- structural problems ---------------------------------------------------------------------------------------

def faulty(faults: Faults, count: int = 3, **options) -> parser.ParsedFile:
    return parse(claim_file(FACILITY, count, seed=7, on=ON, faults=faults), **options)


def test_required_fields_and_formats_are_checked_naming_episode_table_row_and_field():
    parsed = faulty(Faults(missing={0: ["HO_TEN"]}, values={(1, "NGAY_VAO"): "2026-11-01", (2, "GIOI_TINH"): "9"},
                           line_values={(2, "XML3", 1, "SO_LUONG"): "1,5"}))
    assert not parsed.accepted
    found = {(p.row, p.table, p.field, p.reason) for p in parsed.problems}
    assert (1, "XML1", "HO_TEN", R["required"]) in found
    assert (2, "XML1", "NGAY_VAO", R["datetime"]) in found
    assert (3, "XML1", "GIOI_TINH", R["choice"]) in found
    assert (1, "XML3", "SO_LUONG", R["amount"]) in found
    by_field = {p.field: p for p in parsed.problems}
    assert by_field["NGAY_VAO"].value == "2026-11-01" and by_field["NGAY_VAO"].ma_lk.endswith("0000002")


def test_the_declared_count_must_be_the_number_of_episodes():
    parsed = faulty(Faults(declared_count=5))
    assert reasons(parsed) == [(None, None, None, "SOLUONGHOSO", R["count"])]
    with use_locale("en"):
        assert parsed.problems[0].text() == "SOLUONGHOSO says 5 episodes, but the file has 3."
    with use_locale("vi"):
        assert "5" in parsed.problems[0].text() and "SOLUONGHOSO" in parsed.problems[0].text()


def test_totals_must_be_the_sums_of_the_lines_and_the_fund_share_within_a_dong():
    parsed = faulty(Faults(wrong_total={0}, wrong_insured_total={1}, wrong_fund={2}))
    found = {(p.row, p.field, p.reason) for p in parsed.problems}
    assert found == {(1, "T_TONGCHI_BV", R["total"]), (2, "T_TONGCHI_BH", R["total"]), (2, "T_BHTT", R["fund"]),
                     (3, "T_BHTT", R["fund"])}
    first = next(p for p in parsed.problems if p.row == 1)
    assert first.params["declared"] - first.params["computed"] == 1000
    with use_locale("en"):
        assert "T_TONGCHI_BV is " in first.text() and "THANH_TIEN_BV add up to" in first.text()


def test_a_dong_of_rounding_is_allowed():
    tables = tables_of(claim_file(FACILITY, [EpisodeSpec(patient=PATIENT)], seed=8, on=ON))
    import re

    total = Decimal(re.search(rb"<T_TONGCHI_BV>([^<]*)</T_TONGCHI_BV>", tables["XML1"]).group(1).decode())
    assert parse(envelope([{**tables, "XML1": retag(tables["XML1"], T_TONGCHI_BV=str(total + 1))}])).accepted
    off = parse(envelope([{**tables, "XML1": retag(tables["XML1"], T_TONGCHI_BV=str(total + Decimal("1.01")))}]))
    assert keys(off) == {"total"}


def test_the_facility_must_be_the_envelopes_and_the_uploaders():
    parsed = faulty(Faults(episode_facility={1: "01999"}))
    assert reasons(parsed) == [(parsed.claims["episode_key"][1] if parsed.claims.height else
                                parsed.problems[0].ma_lk, "XML1", 2, "MA_CSKCB", R["episode_facility"])]
    other = parse(claim_file(FACILITY, 2, seed=7, on=ON), facility_code="01002")
    assert (None, None, None, "MACSKCB", R["envelope_facility"]) in reasons(other)


def test_each_ma_lk_is_unique_in_the_file():
    parsed = faulty(Faults(duplicate_key={2}))
    assert [(p.row, p.field, p.reason, p.params) for p in parsed.problems] == [(3, "MA_LK", R["duplicate_key"],
                                                                                {"first": 2})]


def test_lines_must_refer_to_an_episode_of_the_file():
    orphan = faulty(Faults(orphan_line={1}))
    assert [(p.table, p.field, p.reason) for p in orphan.problems] == [("XML3", "MA_LK", R["orphan"])]
    assert orphan.problems[0].ma_lk.endswith("-KHONG-CO")
    data = claim_file(FACILITY, 2, seed=9, on=ON)
    first_key = parse(data).claims["episode_key"][0]
    other = faulty(Faults(line_values={(1, "XML3", 1, "MA_LK"): first_key}), count=2)
    assert (first_key, "XML3", 1, "MA_LK", R["other_episode"]) in reasons(other)


def test_row_numbers_are_unique_within_a_table_of_an_episode():
    data = claim_file(FACILITY, [EpisodeSpec(patient=PATIENT, drugs=3)], seed=7, on=ON,
                      faults=Faults(line_values={(0, "XML2", 2, "STT"): "1"}))
    parsed = parse(data)
    assert {(p.table, p.field, p.reason) for p in parsed.problems} == {("XML2", "STT", R["duplicate_row"])}


def test_episode_structure_problems():
    tables = tables_of(claim_file(FACILITY, [EpisodeSpec(patient=PATIENT)], seed=10, on=ON))
    no_summary = {k: v for k, v in tables.items() if k != "XML1"}
    parsed = parse(envelope([no_summary, {**tables, "XML99": b"<X/>"}]))
    assert {(p.row, p.reason) for p in parsed.problems} == {(1, R["no_summary"]), (2, R["unknown_table"])}
    twice = envelope([tables]).replace(b"</HOSO>", b"<FILEHOSO><LOAIHOSO>XML2</LOAIHOSO><NOIDUNGFILE>"
                                       + base64.b64encode(tables["XML2"]) + b"</NOIDUNGFILE></FILEHOSO></HOSO>")
    assert keys(parse(twice)) == {"twice"}
    assert keys(parse(envelope([]))) == {"no_episode"}


def test_problems_are_bounded_but_all_counted():
    faults = Faults(values={(i, "GIOI_TINH"): "9" for i in range(1_200)})
    parsed = parse(claim_file(FACILITY, 1_200, seed=11, on=ON, faults=faults), chunk_episodes=500)
    assert parsed.problem_count == 1_200 and len(parsed.problems) == parser.MAX_LISTED_PROBLEMS
    assert [p.row for p in parsed.problems[:3]] == [1, 2, 3]


def test_chunks_are_handed_over_while_no_problem_is_found():
    data = claim_file(FACILITY, 50, seed=12, on=ON, faults=Faults(wrong_total={45}))
    reader = parser.ClaimFileReader(io.BytesIO(data), facility_code=FACILITY, chunk_episodes=10)
    handed = list(reader.chunks())
    assert [c.claims.height for c in handed] == [10, 10, 10, 10]
    assert reader.problems.count == 1 and reader.envelope.episodes == 50
    clean = parser.ClaimFileReader(io.BytesIO(claim_file(FACILITY, 25, seed=12, on=ON)), facility_code=FACILITY,
                                   chunk_episodes=10, threads=False)
    assert [c.claims.height for c in clean.chunks()] == [10, 10, 5]


# --- hostile files -----------------------------------------------------------------------------------------------

BILLION_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]>")


def refused_quickly(data: bytes, **options) -> parser.ParsedFile:
    started = time.perf_counter()
    parsed = parse(data, **options)
    assert time.perf_counter() - started < 5
    assert not parsed.accepted and parsed.claims.is_empty()
    return parsed


def test_an_xml_bomb_in_the_envelope_is_refused():
    data = claim_file(FACILITY, 2, seed=13, on=ON, faults=Faults(prolog=BILLION_LAUGHS))
    data = data.replace(b"<MACSKCB>01001</MACSKCB>", b"<MACSKCB>&lol9;</MACSKCB>")
    assert keys(refused_quickly(data)) == {"dtd"}


def test_an_external_entity_in_the_envelope_is_refused_and_never_read():
    prolog = '<!DOCTYPE GIAMDINHHS [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    data = claim_file(FACILITY, 1, seed=13, on=ON, faults=Faults(prolog=prolog)).replace(
        b"<MACSKCB>01001</MACSKCB>", b"<MACSKCB>&secret;</MACSKCB>")
    parsed = refused_quickly(data)
    assert keys(parsed) == {"dtd"}
    assert "root:" not in repr(parsed.problems)


def test_a_plain_dtd_is_refused():
    data = claim_file(FACILITY, 1, seed=13, on=ON, faults=Faults(prolog="<!-- hi --><!DOCTYPE GIAMDINHHS>"))
    assert keys(refused_quickly(data)) == {"dtd"}


def test_a_file_over_the_size_limit_is_refused_while_it_is_read():
    data = claim_file(FACILITY, 40, seed=14, on=ON)
    parsed = refused_quickly(data, max_bytes=50_000)
    assert keys(parsed) == {"too_large"} and parsed.envelope.size_bytes <= 50_000 + 65_536
    assert parsed.problems[0].params == {"limit": 50_000}


@pytest.mark.parametrize("cut", [10, 300, 5_000, -40, -3])
def test_a_truncated_file_is_refused(cut):
    data = claim_file(FACILITY, 3, seed=15, on=ON)
    parsed = refused_quickly(data[:cut])
    assert keys(parsed) == {"truncated"}, reasons(parsed)


def test_a_malformed_file_is_refused_naming_where():
    data = claim_file(FACILITY, 3, seed=15, on=ON).replace(b"</FILEHOSO><FILEHOSO>", b"</FILEHOSO><<FILEHOSO>", 1)
    parsed = refused_quickly(data)
    assert keys(parsed) == {"not_xml"} and "line" in parsed.problems[0].params["detail"]
    assert keys(refused_quickly(b"hello")) in ({"not_xml"}, {"truncated"})
    assert keys(refused_quickly(b"<OTHER><A/></OTHER>")) == {"root"}


def test_broken_base64_is_refused():
    data = claim_file(FACILITY, 2, seed=16, on=ON, faults=Faults(base64_text={(1, "XML2"): "bm90IGJhc2U2NA=x=="}))
    parsed = refused_quickly(data)
    assert [(p.table, p.row, p.field, p.reason) for p in parsed.problems] == [("XML2", 2, "NOIDUNGFILE", R["base64"])]


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1", "cp1258"])
def test_a_table_not_in_utf8_is_refused(encoding):
    tables = tables_of(claim_file(FACILITY, [EpisodeSpec(patient=PATIENT)], seed=17, on=ON))
    text = tables["XML1"].decode("utf-8")
    if encoding != "utf-16":
        text = text.replace("Nguyễn Thị Lan", "Tr\u00e9 Lan")  # é: a Latin-1 byte that is not UTF-8
    data = claim_file(FACILITY, [EpisodeSpec(patient=PATIENT)], seed=17, on=ON,
                      faults=Faults(table_bytes={(0, "XML1"): text.encode(encoding, errors="replace")}))
    parsed = refused_quickly(data)
    assert [(p.table, p.reason) for p in parsed.problems] == [("XML1", R["table_encoding"])]


@pytest.mark.parametrize("payload", [
    BILLION_LAUGHS.replace("lolz", "TONG_HOP") + "<TONG_HOP><MA_LK>&lol9;</MA_LK></TONG_HOP>",
    '<!DOCTYPE TONG_HOP [<!ENTITY x SYSTEM "file:///etc/passwd">]><TONG_HOP><MA_LK>&x;</MA_LK></TONG_HOP>',
    '<!DOCTYPE TONG_HOP SYSTEM "http://example.invalid/x.dtd"><TONG_HOP><MA_LK>1</MA_LK></TONG_HOP>',
])
def test_a_table_with_a_dtd_or_an_entity_bomb_inside_the_base64_is_refused(payload):
    data = claim_file(FACILITY, 2, seed=18, on=ON, faults=Faults(table_bytes={(1, "XML1"): payload.encode()}))
    parsed = refused_quickly(data)
    assert [(p.table, p.row, p.reason) for p in parsed.problems] == [("XML1", 2, R["table_dtd"])]


def test_an_attachment_with_a_bomb_is_refused_too():
    tables = tables_of(claim_file(FACILITY, [EpisodeSpec(patient=PATIENT)], seed=19, on=ON))
    tables["XML5"] = (BILLION_LAUGHS.replace("lolz", "X") + "<X>&lol9;</X>").encode()
    assert keys(refused_quickly(envelope([tables]))) == {"table_dtd"}


def test_the_envelope_facility_can_be_peeked():
    data = claim_file(FACILITY, 2, seed=20, on=ON)
    assert parser.peek_facility(io.BytesIO(data)) == FACILITY
    assert parser.peek_facility(io.BytesIO(BILLION_LAUGHS.encode() + data)) is None
    assert parser.peek_facility(io.BytesIO(b"junk")) is None
