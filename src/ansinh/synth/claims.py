"""Synthetic national claim files (Decision 130/QĐ-BYT as amended by 4750/QĐ-BYT, or its predecessor of Decision 4210)
for tests, demos and benchmarks: never a real file, which carries patient data.

:func:`claim_file` builds the envelope (``GIAMDINHHS``) with one ``HOSO`` per treatment episode, each with its
summary (XML1), drugs (XML2), services, supplies and beds (XML3), and, when asked, other tables as received (XML4
paraclinical results, XML5 clinical course …). Every table is complete (every field of the Ministry's layout, empty
ones included) so that a file is the size and shape of a real one; the totals are consistent to the cent (computed
with ``Decimal``: line amounts rounded half up to 2 decimals, the summary's totals their sums, the fund's share
``T_TONGCHI_BH − T_BNCCT``). Patients are given (:class:`Patient`, e.g. from the registry, with their valid card
codes) or made up (Vietnamese names, valid card codes, ICD-10 codes of common diseases).

Deterministic for a seed. :class:`Faults` injects each structural problem intake must find.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from ansinh.synth.population import vietnamese_name

CENT = Decimal("0.01")

# --- the layouts: every field, in the Ministry's order -------------------------------------------------------

#: XML1 (TONG_HOP) of Decision 130 as amended by 4750: 66 fields.
XML1_FIELDS = (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "SO_CCCD", "NGAY_SINH", "GIOI_TINH", "NHOM_MAU", "MA_QUOCTICH", "MA_DANTOC",
    "MA_NGHE_NGHIEP", "DIA_CHI", "MATINH_CU_TRU", "MAHUYEN_CU_TRU", "MAXA_CU_TRU", "DIEN_THOAI", "MA_THE_BHYT",
    "MA_DKBD", "GT_THE_TU", "GT_THE_DEN", "NGAY_MIEN_CCT", "LY_DO_VV", "LY_DO_VNT", "MA_LY_DO_VNT", "CHAN_DOAN_VAO",
    "CHAN_DOAN_RV", "MA_BENH_CHINH", "MA_BENH_KT", "MA_BENH_YHCT", "MA_PTTT_QT", "MA_DOITUONG_KCB", "MA_NOI_DI",
    "MA_NOI_DEN", "MA_TAI_NAN", "NGAY_VAO", "NGAY_VAO_NOI_TRU", "NGAY_RA", "GIAY_CHUYEN_TUYEN", "SO_NGAY_DTRI",
    "PP_DIEU_TRI", "KET_QUA_DTRI", "MA_LOAI_RV", "GHI_CHU", "NGAY_TTOAN", "T_THUOC", "T_VTYT", "T_TONGCHI_BV",
    "T_TONGCHI_BH", "T_BNTT", "T_BNCCT", "T_BHTT", "T_NGUONKHAC", "T_BHTT_GDV", "NAM_QT", "THANG_QT", "MA_LOAI_KCB",
    "MA_KHOA", "MA_CSKCB", "MA_KHUVUC", "CAN_NANG", "CAN_NANG_CON", "NAM_NAM_LIEN_TUC", "NGAY_TAI_KHAM", "MA_HSBA",
    "MA_TTDV", "DU_PHONG",
)
#: XML2 (CHI_TIET_THUOC) of Decision 130 as amended by 4750.
XML2_FIELDS = (
    "MA_LK", "STT", "MA_THUOC", "MA_PP_CHEBIEN", "MA_CSKCB_THUOC", "MA_NHOM", "TEN_THUOC", "DON_VI_TINH",
    "HAM_LUONG", "DUONG_DUNG", "DANG_BAO_CHE", "LIEU_DUNG", "CACH_DUNG", "SO_DANG_KY", "TT_THAU", "PHAM_VI",
    "TYLE_TT_BH", "SO_LUONG", "DON_GIA", "THANH_TIEN_BV", "THANH_TIEN_BH", "T_NGUONKHAC_NSNN", "T_NGUONKHAC_VTNN",
    "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL", "T_NGUONKHAC", "MUC_HUONG", "T_BNTT", "T_BNCCT", "T_BHTT", "MA_KHOA",
    "MA_BAC_SI", "MA_DICH_VU", "NGAY_YL", "NGAY_TH_YL", "MA_PTTT", "NGUON_CTRA", "VET_THUONG_TP", "DU_PHONG",
)
#: XML3 (CHI_TIET_DVKT) of Decision 130 as amended by 4750.
XML3_FIELDS = (
    "MA_LK", "STT", "MA_DICH_VU", "MA_PTTT_QT", "MA_VAT_TU", "MA_NHOM", "GOI_VTYT", "TEN_VAT_TU", "TEN_DICH_VU",
    "MA_XANG_DAU", "DON_VI_TINH", "PHAM_VI", "SO_LUONG", "DON_GIA_BV", "DON_GIA_BH", "TT_THAU", "TYLE_TT_DV",
    "TYLE_TT_BH", "THANH_TIEN_BV", "THANH_TIEN_BH", "T_TRANTT", "MUC_HUONG", "T_NGUONKHAC_NSNN", "T_NGUONKHAC_VTNN",
    "T_NGUONKHAC_VTTN", "T_NGUONKHAC_CL", "T_NGUONKHAC", "T_BNTT", "T_BNCCT", "T_BHTT", "MA_KHOA", "MA_GIUONG",
    "MA_BAC_SI", "NGUOI_THUC_HIEN", "MA_BENH", "MA_BENH_YHCT", "NGAY_YL", "NGAY_TH_YL", "NGAY_KQ", "MA_PTTT",
    "VET_THUONG_TP", "PP_VO_CAM", "VI_TRI_TH_DVKT", "MA_MAY", "MA_HIEU_SP", "TAI_SU_DUNG", "DU_PHONG",
)
#: The predecessor (Decision 4210/QĐ-BYT, until 2023-08-31).
XML1_FIELDS_4210 = (
    "MA_LK", "STT", "MA_BN", "HO_TEN", "NGAY_SINH", "GIOI_TINH", "DIA_CHI", "MA_THE", "MA_DKBD", "GT_THE_TU",
    "GT_THE_DEN", "MIEN_CUNG_CT", "TEN_BENH", "MA_BENH", "MA_BENHKHAC", "MA_LYDO_VVIEN", "MA_NOI_CHUYEN",
    "MA_TAI_NAN", "NGAY_VAO", "NGAY_RA", "SO_NGAY_DTRI", "KET_QUA_DTRI", "TINH_TRANG_RV", "NGAY_TTOAN", "T_THUOC",
    "T_VTYT", "T_TONGCHI", "T_BNTT", "T_BNCCT", "T_BHTT", "T_NGUONKHAC", "T_NGOAIDS", "NAM_QT", "THANG_QT",
    "MA_LOAI_KCB", "MA_KHOA", "MA_CSKCB", "MA_KHUVUC", "MA_PTTT_QT", "CAN_NANG",
)
XML2_FIELDS_4210 = (
    "MA_LK", "STT", "MA_THUOC", "MA_NHOM", "TEN_THUOC", "DON_VI_TINH", "HAM_LUONG", "DUONG_DUNG", "LIEU_DUNG",
    "SO_DANG_KY", "TT_THAU", "PHAM_VI", "TYLE_TT", "SO_LUONG", "DON_GIA", "THANH_TIEN", "MUC_HUONG", "T_NGUONKHAC",
    "T_BNTT", "T_BHTT", "T_BNCCT", "T_NGOAIDS", "MA_KHOA", "MA_BAC_SI", "MA_BENH", "NGAY_YL", "MA_PTTT",
)
XML3_FIELDS_4210 = (
    "MA_LK", "STT", "MA_DICH_VU", "MA_VAT_TU", "MA_NHOM", "GOI_VTYT", "TEN_VAT_TU", "TEN_DICH_VU", "DON_VI_TINH",
    "PHAM_VI", "SO_LUONG", "DON_GIA", "TT_THAU", "TYLE_TT", "THANH_TIEN", "T_TRANTT", "MUC_HUONG", "T_NGUONKHAC",
    "T_BNTT", "T_BHTT", "T_BNCCT", "T_NGOAIDS", "MA_KHOA", "MA_GIUONG", "MA_BAC_SI", "MA_BENH", "NGAY_YL", "NGAY_KQ",
    "MA_PTTT",
)

# --- what episodes are made of ----------------------------------------------------------------------------------

#: ICD-10 codes of common reasons for a visit, with the discharge diagnosis as written.
DIAGNOSES = (
    ("J06.9", "Nhiễm trùng đường hô hấp trên cấp"), ("I10", "Tăng huyết áp vô căn (nguyên phát)"),
    ("E11.9", "Bệnh đái tháo đường type 2 không biến chứng"), ("K29.7", "Viêm dạ dày, không đặc hiệu"),
    ("M54.5", "Đau vùng thắt lưng"), ("J20.9", "Viêm phế quản cấp"), ("A09", "Tiêu chảy và viêm dạ dày ruột"),
    ("N39.0", "Nhiễm trùng đường tiết niệu"), ("J18.9", "Viêm phổi, không đặc hiệu"),
    ("I25.1", "Bệnh tim do xơ vữa động mạch"), ("E78.5", "Tăng lipid máu"), ("K21.9", "Trào ngược dạ dày thực quản"),
    ("M17.9", "Thoái hóa khớp gối"), ("H10.9", "Viêm kết mạc"), ("L30.9", "Viêm da"),
    ("S52.5", "Gãy đầu dưới xương quay"), ("K35.8", "Viêm ruột thừa cấp"), ("O80", "Đẻ thường một thai"),
)
#: (MA_THUOC, name, unit, strength, route, registration, unit price in dong with up to 3 decimals)
DRUGS = (
    ("40.17", "Paracetamol", "Viên", "500mg", "1.01", "VD-21341-14", "350"),
    ("40.153", "Amoxicilin", "Viên", "500mg", "1.01", "VD-24542-16", "1020.5"),
    ("40.470", "Omeprazol", "Viên", "20mg", "1.01", "VD-25011-16", "880"),
    ("40.521", "Metformin", "Viên", "850mg", "1.01", "VD-26734-17", "610.125"),
    ("40.463", "Amlodipin", "Viên", "5mg", "1.01", "VD-19877-13", "245"),
    ("40.630", "Atorvastatin", "Viên", "20mg", "1.01", "VD-30412-18", "1450"),
    ("40.982", "Natri clorid 0,9%", "Chai", "500ml", "2.15", "VD-22155-15", "9800"),
    ("40.58", "Ceftriaxon", "Lọ", "1g", "2.10", "VD-27112-17", "23500"),
    ("40.1008", "Vitamin B1 + B6 + B12", "Viên", "", "1.01", "VD-28112-17", "390.75"),
    ("40.48", "Ibuprofen", "Viên", "400mg", "1.01", "VD-23343-15", "520"),
)
#: (MA_DICH_VU, name, MA_NHOM, unit price at the hospital, unit price insured)
SERVICES = (
    ("13.1896", "Khám Nội", "13", "38700", "38700"),
    ("22.0120.1370", "Tổng phân tích tế bào máu ngoại vi (bằng máy đếm laser)", "1", "46200", "46200"),
    ("23.0166.1494", "Định lượng Glucose [Máu]", "1", "21500", "21500"),
    ("23.0007.1494", "Định lượng Creatinin (máu)", "1", "21500", "21500"),
    ("18.0119.0028", "Chụp Xquang ngực thẳng", "2", "65400", "65400"),
    ("18.0001.0001", "Siêu âm ổ bụng", "2", "43900", "43900"),
    ("21.0014.1778", "Điện tim thường", "3", "32800", "32800"),
    ("03.3826.0219", "Thay băng vết thương chiều dài dưới 15cm", "18", "57600", "57600"),
    ("10.0576.0485", "Phẫu thuật cắt ruột thừa nội soi", "8", "2989000", "2989000"),
)
#: (MA_VAT_TU, name, unit, unit price)
SUPPLIES = (
    ("N03.02.040", "Bơm tiêm nhựa dùng một lần 5ml", "Cái", "1050"),
    ("N03.05.010", "Kim luồn tĩnh mạch", "Cái", "9800"),
    ("N04.02.010", "Dây truyền dịch", "Bộ", "5250"),
    ("N02.03.010", "Găng tay phẫu thuật tiệt trùng", "Đôi", "4725.5"),
)
#: (MA_DICH_VU of the bed day, name, MA_NHOM, price): 15 inpatient bed, 14 day bed
BEDS = (("K02.1905", "Ngày giường bệnh Nội khoa loại 2", "15", "200100"),
        ("K01.1925", "Ngày giường bệnh ban ngày Nội khoa", "14", "60000"))
#: Card groups and their benefit digits (the benefit digit decides MUC_HUONG).
CARD_GROUPS = (("DN", "4"), ("HC", "4"), ("GD", "4"), ("HT", "3"), ("TE", "1"), ("CN", "2"), ("HS", "4"))
BENEFIT_PERCENT = {"1": 100, "2": 100, "3": 95, "4": 80, "5": 100}
#: The tables kept as received (a short, plausible content each).
ATTACHMENT_ROOTS = {"XML4": "CHITIEU_CHITIET_DICHVUCANLAMSANG", "XML5": "CHITIEU_CHITIET_DIENBIENLAMSANG",
                    "XML7": "CHITIEU_DULIEU_GIAYRAVIEN", "XML14": "CHITIEU_DULIEU_GIAYHEN_KHAMLAI"}


@dataclass(frozen=True)
class Patient:
    """The person an episode is for, as the facility knows them (e.g. taken from the registry)."""

    full_name: str
    date_of_birth: date
    sex: int  # 1 male, 2 female, 3 other
    card_code: str  # 15 characters; several joined by ';' when the card changed during the stay
    citizen_id: str | None = None
    registered_facility: str | None = None
    card_valid_from: date = date(2026, 1, 1)
    card_valid_to: date = date(2026, 12, 31)
    patient_ref: str | None = None


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode to generate. ``None`` fields are drawn from the seed."""

    patient: Patient | None = None
    ma_lk: str | None = None
    care_type: str | None = None  # MA_LOAI_KCB: 01 outpatient examination, 03 inpatient …
    visit_category: str = "1.1"  # MA_DOITUONG_KCB
    arrived_at: datetime | None = None  # in Vietnam's time
    days: int | None = None  # inpatient stays: days between arrival and discharge
    drugs: int | None = None
    services: int | None = None
    supplies: int | None = None
    attachments: tuple[str, ...] = ()  # e.g. ("XML4", "XML5")
    main_icd: str | None = None


@dataclass
class Faults:
    """Structural problems to inject (episodes by their 0-based index in the file)."""

    declared_count: int | None = None  # SOLUONGHOSO other than the number of HOSO
    envelope_facility: str | None = None  # MACSKCB other than the facility's code
    episode_facility: Mapping[int, str] = field(default_factory=dict)  # MA_CSKCB of these episodes
    wrong_total: Collection[int] = ()  # T_TONGCHI_BV one thousand dong above its lines' sum
    wrong_insured_total: Collection[int] = ()  # T_TONGCHI_BH one thousand dong above its lines' sum
    wrong_fund: Collection[int] = ()  # T_BHTT five dong off T_TONGCHI_BH − T_BNCCT
    duplicate_key: Collection[int] = ()  # these episodes reuse the MA_LK of the episode before
    orphan_line: Collection[int] = ()  # one XML3 line of these episodes refers to an MA_LK of no episode
    missing: Mapping[int, Sequence[str]] = field(default_factory=dict)  # XML1 fields left out
    values: Mapping[tuple[int, str], str] = field(default_factory=dict)  # (episode, XML1 field) → text
    line_values: Mapping[tuple[int, str, int, str], str] = field(default_factory=dict)  # (episode, table, row, field)
    table_bytes: Mapping[tuple[int, str], bytes] = field(default_factory=dict)  # a table's decoded bytes
    base64_text: Mapping[tuple[int, str], str] = field(default_factory=dict)  # a NOIDUNGFILE as written
    prolog: str = ""  # text between the XML declaration and the root (a DOCTYPE …)
    truncate_at: int | None = None  # cut the file after this many bytes


def _money(value: Decimal) -> str:
    """An amount as the file writes it: up to 2 decimals, no trailing zeros."""
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _number(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _moment(value: datetime) -> str:
    return value.strftime("%Y%m%d%H%M")


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def card_code(rng: random.Random, province: str) -> tuple[str, str]:
    """A valid card code (group, benefit digit, province, 10-digit SI number) and its benefit digit."""
    group, digit = rng.choice(CARD_GROUPS)
    return f"{group}{digit}{province[-2:]}{rng.randrange(10**9, 10**10)}", digit


def made_up_patient(rng: random.Random, facility_code: str, on: date) -> Patient:
    female = rng.random() < 0.52
    born = date(rng.randrange(1940, 2024), rng.randrange(1, 13), rng.randrange(1, 29))
    province = facility_code[:2]
    code, _ = card_code(rng, province)
    century = 2 if born.year >= 2000 else 0
    citizen_id = f"0{province}{century + female}{born.year % 100:02d}{rng.randrange(10**6):06d}"
    return Patient(full_name=vietnamese_name(rng, female=female), date_of_birth=born, sex=2 if female else 1,
                   card_code=code, citizen_id=citizen_id, registered_facility=facility_code,
                   card_valid_from=date(on.year, 1, 1), card_valid_to=date(on.year, 12, 31))


# --- building tables -------------------------------------------------------------------------------------------

def _table(fields: Sequence[str], values: Mapping[str, object]) -> str:
    parts = []
    for name in fields:
        value = values.get(name)
        parts.append(f"<{name}>{escape(str(value))}</{name}>" if value not in (None, "") else f"<{name}/>")
    return "".join(parts)


@dataclass
class _Line:
    table: str
    values: dict
    hospital: Decimal
    insured: Decimal
    copay: Decimal
    kind: str


def _amounts(quantity: Decimal, price_hospital: Decimal, price_insured: Decimal, rate: int, benefit: int
             ) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    hospital = (quantity * price_hospital).quantize(CENT, rounding=ROUND_HALF_UP)
    insured = (quantity * price_insured * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    fund = (insured * benefit / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return hospital, insured, fund, insured - fund


def _episode(rng: random.Random, index: int, spec: EpisodeSpec, facility_code: str, on: date, layout: str,
             faults: Faults, previous_key: str | None) -> tuple[str, dict[str, str]]:
    """(MA_LK, {LOAIHOSO: table text}) of one episode."""
    patient = spec.patient or made_up_patient(rng, facility_code, on)
    key = spec.ma_lk or f"{facility_code}{on:%y%m}{index + 1:07d}"
    if index in faults.duplicate_key and previous_key is not None:
        key = previous_key
    inpatient = spec.care_type in ("03", "04") if spec.care_type else rng.random() < 0.12
    care_type = spec.care_type or ("03" if inpatient else "01")
    day_in_month = min(28, max(1, on.day - 1))
    arrived = spec.arrived_at or datetime(on.year, on.month, 1, 7, 0) + timedelta(
        days=rng.randrange(day_in_month), minutes=rng.randrange(9 * 60))
    days = spec.days if spec.days is not None else (rng.randrange(2, 8) if inpatient else 0)
    discharged = arrived + (timedelta(days=days, hours=rng.randrange(1, 5)) if inpatient
                            else timedelta(minutes=rng.randrange(30, 240)))
    digit = patient.card_code[2:3] if len(patient.card_code) >= 3 else "4"
    benefit = BENEFIT_PERCENT.get(digit, 80)
    icd, diagnosis = (next((d for d in DIAGNOSES if d[0] == spec.main_icd), (spec.main_icd, "Chẩn đoán"))
                      if spec.main_icd else rng.choice(DIAGNOSES))
    lines: list[_Line] = []

    def when(step: int) -> tuple[datetime, datetime, datetime]:
        span = max(1, int((discharged - arrived).total_seconds() // 60) - 30)
        ordered = arrived + timedelta(minutes=min(span, 10 + step * 17 % span))
        return ordered, ordered + timedelta(minutes=5), ordered + timedelta(minutes=25)

    # examination, then services, supplies, beds (XML3); drugs (XML2)
    n_services = spec.services if spec.services is not None else rng.randrange(0, 3 if not inpatient else 6)
    picks = [SERVICES[0]] + [rng.choice(SERVICES[1:7]) for _ in range(n_services)]
    if inpatient and icd == "K35.8":
        picks.append(SERVICES[8])
    for code, name, group, price_bv, price_bh in picks:
        quantity = Decimal(1)
        hospital, insured, fund, copay = _amounts(quantity, Decimal(price_bv), Decimal(price_bh), 100, benefit)
        ordered, performed, result = when(len(lines))
        lines.append(_Line("XML3", {"MA_DICH_VU": code, "MA_NHOM": group, "TEN_DICH_VU": name, "DON_VI_TINH": "Lần",
                                    "PHAM_VI": 1, "SO_LUONG": 1, "DON_GIA_BV": price_bv, "DON_GIA_BH": price_bh,
                                    "TYLE_TT_DV": 100, "TYLE_TT_BH": 100, "NGAY_YL": _moment(ordered),
                                    "NGAY_TH_YL": _moment(performed), "NGAY_KQ": _moment(result),
                                    "MA_BAC_SI": f"BS{rng.randrange(1000, 9999)}", "MA_BENH": icd.replace(".", "")},
                           hospital, insured, copay, "service"))
    n_supplies = spec.supplies if spec.supplies is not None else (rng.randrange(1, 4) if inpatient else 0)
    for _ in range(n_supplies):
        code, name, unit, price = rng.choice(SUPPLIES)
        quantity = Decimal(rng.randrange(1, 6))
        hospital, insured, fund, copay = _amounts(quantity, Decimal(price), Decimal(price), 100, benefit)
        ordered, performed, _ = when(len(lines))
        lines.append(_Line("XML3", {"MA_VAT_TU": code, "MA_NHOM": "10", "TEN_VAT_TU": name, "DON_VI_TINH": unit,
                                    "PHAM_VI": 1, "SO_LUONG": _number(quantity), "DON_GIA_BV": price,
                                    "DON_GIA_BH": price, "TT_THAU": f"{rng.randrange(100, 999)}/QĐ-SYT;G1;N1;2025",
                                    "TYLE_TT_DV": 100, "TYLE_TT_BH": 100, "NGAY_YL": _moment(ordered),
                                    "NGAY_TH_YL": _moment(performed), "GOI_VTYT": ""},
                           hospital, insured, copay, "supply"))
    if inpatient:
        code, name, group, price = BEDS[0] if care_type == "03" else BEDS[1]
        quantity = Decimal(max(1, days))
        hospital, insured, fund, copay = _amounts(quantity, Decimal(price), Decimal(price), 100, benefit)
        lines.append(_Line("XML3", {"MA_DICH_VU": code, "MA_NHOM": group, "TEN_DICH_VU": name,
                                    "DON_VI_TINH": "Ngày", "PHAM_VI": 1, "SO_LUONG": _number(quantity),
                                    "DON_GIA_BV": price, "DON_GIA_BH": price, "TYLE_TT_DV": 100, "TYLE_TT_BH": 100,
                                    "MA_GIUONG": f"H{rng.randrange(1, 400):03d}", "NGAY_YL": _moment(arrived),
                                    "NGAY_TH_YL": _moment(arrived), "MA_KHOA": "K02"},
                           hospital, insured, copay, "bed"))
    n_drugs = spec.drugs if spec.drugs is not None else rng.randrange(1, 5 if not inpatient else 9)
    for _ in range(n_drugs):
        code, name, unit, strength, route, registration, price = rng.choice(DRUGS)
        quantity = Decimal(rng.choice((1, 2, 5, 10, 14, 20, 28, 30))) if unit == "Viên" else Decimal(
            rng.choice(("1", "2", "0.5", "3")))
        rate = 100 if rng.random() < 0.9 else 50
        hospital, insured, fund, copay = _amounts(quantity, Decimal(price), Decimal(price), rate, benefit)
        ordered, performed, _ = when(len(lines))
        lines.append(_Line("XML2", {"MA_THUOC": code, "MA_NHOM": "4", "TEN_THUOC": name, "DON_VI_TINH": unit,
                                    "HAM_LUONG": strength, "DUONG_DUNG": route, "SO_DANG_KY": registration,
                                    "LIEU_DUNG": "Ngày uống 2 lần, mỗi lần 1 viên",
                                    "TT_THAU": f"{rng.randrange(100, 999)}/QĐ-SYT;G1;N{rng.randrange(1, 5)};2025",
                                    "PHAM_VI": 1, "TYLE_TT_BH": rate, "SO_LUONG": _number(quantity),
                                    "DON_GIA": price, "NGAY_YL": _moment(ordered), "NGAY_TH_YL": _moment(performed),
                                    "MA_BAC_SI": f"BS{rng.randrange(1000, 9999)}"},
                           hospital, insured, copay, "drug"))
    total_bv = sum((line.hospital for line in lines), Decimal(0))
    total_bh = sum((line.insured for line in lines), Decimal(0))
    copay = sum((line.copay for line in lines), Decimal(0))
    outside = total_bv - total_bh
    fund = total_bh - copay
    drugs_total = sum((line.hospital for line in lines if line.kind == "drug"), Decimal(0))
    supplies_total = sum((line.hospital for line in lines if line.kind == "supply"), Decimal(0))
    if index in faults.wrong_total:
        total_bv += 1000
    if index in faults.wrong_insured_total:
        total_bh += 1000
    if index in faults.wrong_fund:
        fund += 5
    settlement = discharged.date()
    summary: dict[str, object] = {
        "MA_LK": key, "STT": index + 1, "MA_BN": patient.patient_ref or f"BN{rng.randrange(10**7, 10**8)}",
        "HO_TEN": patient.full_name, "SO_CCCD": patient.citizen_id, "GIOI_TINH": patient.sex,
        "MA_QUOCTICH": "000", "MA_DANTOC": "01", "MA_NGHE_NGHIEP": "00000",
        "DIA_CHI": f"Số {rng.randrange(1, 300)}, thôn {rng.randrange(1, 12)}", "MATINH_CU_TRU": facility_code[:2],
        "MA_THE_BHYT": patient.card_code, "MA_DKBD": patient.registered_facility or facility_code,
        "GT_THE_TU": _day(patient.card_valid_from), "GT_THE_DEN": _day(patient.card_valid_to),
        "LY_DO_VV": "Khám bệnh", "CHAN_DOAN_VAO": diagnosis, "CHAN_DOAN_RV": diagnosis, "MA_BENH_CHINH": icd,
        "MA_BENH_KT": "I10;E78.5" if rng.random() < 0.2 else "", "MA_DOITUONG_KCB": spec.visit_category,
        "NGAY_VAO": _moment(arrived), "NGAY_VAO_NOI_TRU": _moment(arrived) if inpatient else "",
        "NGAY_RA": _moment(discharged), "SO_NGAY_DTRI": days + 1 if inpatient else 0,
        "KET_QUA_DTRI": 1 if inpatient else 2, "MA_LOAI_RV": 1, "NGAY_TTOAN": _moment(discharged),
        "T_THUOC": _money(drugs_total), "T_VTYT": _money(supplies_total), "T_TONGCHI_BV": _money(total_bv),
        "T_TONGCHI_BH": _money(total_bh), "T_BNTT": _money(outside), "T_BNCCT": _money(copay),
        "T_BHTT": _money(fund), "T_NGUONKHAC": "0", "T_BHTT_GDV": "0", "NAM_QT": settlement.year,
        "THANG_QT": settlement.month, "MA_LOAI_KCB": care_type, "MA_KHOA": "K01", "MA_CSKCB": facility_code,
        "CAN_NANG": f"{rng.randrange(40, 80)}.{rng.randrange(10)}", "MA_HSBA": f"HS{index + 1:08d}",
        "MA_TTDV": f"TTDV{rng.randrange(100, 999)}",
        "NGAY_SINH": _moment(datetime.combine(patient.date_of_birth, datetime.min.time())),
    }
    if index in faults.episode_facility:
        summary["MA_CSKCB"] = faults.episode_facility[index]
    for (episode, name), text in faults.values.items():
        if episode == index:
            summary[name] = text
    rows: dict[str, list[dict]] = {"XML2": [], "XML3": []}
    for line in lines:
        hospital, insured = line.hospital, line.insured
        fund_line = insured - line.copay
        values = {**line.values, "MA_LK": key, "THANH_TIEN_BV": _money(hospital), "THANH_TIEN_BH": _money(insured),
                  "MUC_HUONG": benefit, "T_BNTT": _money(hospital - insured), "T_BNCCT": _money(line.copay),
                  "T_BHTT": _money(fund_line), "T_NGUONKHAC": "0", "MA_KHOA": line.values.get("MA_KHOA", "K01"),
                  "MA_PTTT": 1}
        rows[line.table].append(values)
    for table in ("XML2", "XML3"):
        for number, values in enumerate(rows[table], 1):
            values["STT"] = number
            for (episode, name, row, field_name), text in faults.line_values.items():
                if episode == index and name == table and row == number:
                    values[field_name] = text
    if index in faults.orphan_line and rows["XML3"]:
        rows["XML3"][-1]["MA_LK"] = f"{key}-KHONG-CO"
    tables: dict[str, str] = {}
    if layout == "4210":
        summary_4210 = {**summary, "MA_THE": summary["MA_THE_BHYT"], "MA_BENH": summary["MA_BENH_CHINH"],
                        "MA_BENHKHAC": summary["MA_BENH_KT"], "TEN_BENH": diagnosis,
                        "MA_LYDO_VVIEN": {"2": "2"}.get(spec.visit_category, "1"),
                        "T_TONGCHI": summary["T_TONGCHI_BV"], "NGAY_SINH": _day(patient.date_of_birth)}
        for name in faults.missing.get(index, ()):
            summary_4210.pop(name, None)
        tables["XML1"] = f"<TONG_HOP>{_table(XML1_FIELDS_4210, summary_4210)}</TONG_HOP>"
        drug_rows = "".join(
            f"<CHI_TIET_THUOC>{_table(XML2_FIELDS_4210, {**r, 'TYLE_TT': r['TYLE_TT_BH'], 'THANH_TIEN': r['THANH_TIEN_BV']})}"
            "</CHI_TIET_THUOC>" for r in rows["XML2"])
        service_rows = "".join(
            f"<CHI_TIET_DVKT>{_table(XML3_FIELDS_4210, {**r, 'DON_GIA': r['DON_GIA_BH'], 'TYLE_TT': r['TYLE_TT_BH'], 'THANH_TIEN': r['THANH_TIEN_BV']})}"
            "</CHI_TIET_DVKT>" for r in rows["XML3"])
        tables["XML2"] = f"<DSACH_CHI_TIET_THUOC>{drug_rows}</DSACH_CHI_TIET_THUOC>"
        tables["XML3"] = f"<DSACH_CHI_TIET_DVKT>{service_rows}</DSACH_CHI_TIET_DVKT>"
    else:
        for name in faults.missing.get(index, ()):
            summary.pop(name, None)
        tables["XML1"] = f"<TONG_HOP>{_table(XML1_FIELDS, summary)}</TONG_HOP>"
        drug_rows = "".join(f"<CHI_TIET_THUOC>{_table(XML2_FIELDS, r)}</CHI_TIET_THUOC>" for r in rows["XML2"])
        service_rows = "".join(f"<CHI_TIET_DVKT>{_table(XML3_FIELDS, r)}</CHI_TIET_DVKT>" for r in rows["XML3"])
        tables["XML2"] = ("<CHITIEU_CHITIET_THUOC><DSACH_CHI_TIET_THUOC>" + drug_rows
                          + "</DSACH_CHI_TIET_THUOC></CHITIEU_CHITIET_THUOC>")
        tables["XML3"] = ("<CHITIEU_CHITIET_DVKT_VTYT><DSACH_CHI_TIET_DVKT>" + service_rows
                          + "</DSACH_CHI_TIET_DVKT></CHITIEU_CHITIET_DVKT_VTYT>")
    if not rows["XML2"]:
        del tables["XML2"]
    for name in spec.attachments:
        root = ATTACHMENT_ROOTS.get(name, f"CHITIEU_{name}")
        tables[name] = (f"<{root}><MA_LK>{escape(key)}</MA_LK><STT>1</STT><NOI_DUNG>Diễn biến bình thường, "
                        f"dấu hiệu sinh tồn ổn định</NOI_DUNG><NGAY_YL>{_moment(arrived)}</NGAY_YL></{root}>")
    return key, tables


def claim_file(facility_code: str, episodes: Sequence[EpisodeSpec] | int, *, seed: int, on: date,
               layout: str = "130", faults: Faults | None = None) -> bytes:
    """A national claim file of ``facility_code`` made on ``on`` (NGAYLAP): ``episodes`` specs, or that many made-up
    episodes (mostly outpatient visits of the month of ``on``, one in eight an inpatient stay). ``layout`` "130"
    (Decision 130/4750) or "4210" (the predecessor: use an ``on`` before 2023-09-01)."""
    faults = faults or Faults()
    data = b"".join(claim_file_parts(facility_code, episodes, seed=seed, on=on, layout=layout, faults=faults))
    return data[:faults.truncate_at] if faults.truncate_at is not None else data


def write_claim_file(stream, facility_code: str, episodes: int, *, seed: int, on: date, layout: str = "130") -> int:
    """Write a (large) file made of ``episodes`` made-up episodes to a binary stream, a few at a time (for
    benchmarks: the file never is in memory); the bytes written."""
    written = 0
    for part in claim_file_parts(facility_code, episodes, seed=seed, on=on, layout=layout):
        written += stream.write(part)
    return written


def claim_file_parts(facility_code: str, episodes: Sequence[EpisodeSpec] | int, *, seed: int, on: date,
                     layout: str = "130", faults: Faults | None = None, batch: int = 1_000):
    """The bytes of a claim file, in parts (the envelope's head, a few hundred episodes at a time, its tail)."""
    if layout not in ("130", "4210"):
        raise ValueError("layout is '130' or '4210'")
    faults = faults or Faults()
    rng = random.Random(f"claims-{seed}-{facility_code}-{on.isoformat()}")
    count = episodes if isinstance(episodes, int) else len(episodes)
    yield ('<?xml version="1.0" encoding="utf-8"?>\n' + faults.prolog
           + f"<GIAMDINHHS><THONGTINDONVI><MACSKCB>{escape(faults.envelope_facility or facility_code)}</MACSKCB>"
           f"</THONGTINDONVI><THONGTINHOSO><NGAYLAP>{_day(on)}</NGAYLAP><SOLUONGHOSO>"
           f"{count if faults.declared_count is None else faults.declared_count}</SOLUONGHOSO><DANHSACHHOSO>"
           ).encode("utf-8")
    previous = None
    parts: list[str] = []
    for index in range(count):
        spec = EpisodeSpec() if isinstance(episodes, int) else episodes[index]
        key, tables = _episode(rng, index, spec, facility_code, on, layout, faults, previous)
        previous = key
        parts.append("<HOSO>")
        for name, text in tables.items():
            content = faults.table_bytes.get((index, name), text.encode("utf-8"))
            encoded = faults.base64_text.get((index, name)) or base64.b64encode(content).decode("ascii")
            parts.append(f"<FILEHOSO><LOAIHOSO>{name}</LOAIHOSO><NOIDUNGFILE>{encoded}</NOIDUNGFILE></FILEHOSO>")
        parts.append("</HOSO>")
        if len(parts) >= batch:
            yield "".join(parts).encode("utf-8")
            parts = []
    parts.append("</DANHSACHHOSO></THONGTINHOSO><CHUKYDONVI/></GIAMDINHHS>\n")
    yield "".join(parts).encode("utf-8")


# --- the demo's claim files -------------------------------------------------------------------------------------

#: Episodes of the demo's accepted file of each facility user's facility.
DEMO_EPISODES = 24


def load_demo_claims(session, plan, *, today: date, episodes: int = DEMO_EPISODES, year: bool = True) -> dict:
    """For each facility the demo's facility users act for: a file of this month's episodes of people of its
    province who hold a card (received and accepted), and a file with mistakes (received and refused), through the
    intake service; with ``year``, the year of claims before (:func:`load_demo_claim_year`) and the appraisal of
    all of them."""
    from sqlalchemy import select

    from ansinh.auth.models import Role
    from ansinh.cards.models import HICard, MedicalFacility
    from ansinh.claims.intake.service import receive_claim_file
    from ansinh.registry.models import Person

    codes = sorted({user.subject_ref for user in plan.users if Role.facility in user.roles and user.subject_ref})
    result = {"claim files": 0, "claims": 0}
    for code in codes:
        facility = session.scalar(select(MedicalFacility).where(MedicalFacility.code == code))
        if facility is None:
            continue
        rows = session.execute(
            select(Person.full_name, Person.date_of_birth, Person.sex, Person.citizen_id, HICard.card_code,
                   HICard.valid_from, HICard.valid_until, HICard.registered_facility)
            .join(HICard, HICard.person_id == Person.id)
            .where(HICard.superseded_at.is_(None), Person.province_2025 == facility.province_2025,
                   Person.citizen_id.is_not(None))
            .order_by(Person.id).limit(episodes)).all()
        patients = [Patient(full_name=name, date_of_birth=born, sex=2 if getattr(sex, "value", sex) == "female" else 1,
                            card_code=card, citizen_id=cid, registered_facility=registered,
                            card_valid_from=valid_from, card_valid_to=valid_until or date(today.year, 12, 31))
                    for name, born, sex, cid, card, valid_from, valid_until, registered in rows]
        specs = [EpisodeSpec(patient=patient, attachments=("XML4", "XML5") if n % 5 == 0 else ())
                 for n, patient in enumerate(patients)] or episodes
        good = claim_file(code, specs, seed=plan.seed, on=today)
        bad = claim_file(code, 6, seed=plan.seed + 1, on=today,
                         faults=Faults(wrong_total={2}, values={(4, "NGAY_VAO"): "31/11/2026"}, declared_count=7))
        for name, data in ((f"{code}-{today:%Y-%m}.xml", good), (f"{code}-{today:%Y-%m}-loi.xml", bad)):
            report = receive_claim_file(session, content=data, file_name=name, principal=None, facility_code=code,
                                        today=today, received_by="demo-loader", threads=False)
            result["claim files"] += 1
            result["claims"] += report.claims
    if year:
        for key, value in load_demo_claim_year(session, plan, today=today).items():
            result[key] = result.get(key, 0) + value
    return result


# --- the demo's year of claims ----------------------------------------------------------------------------------

#: Settlement months of the demo's year of claims (ending the month before ``today``), and episodes per facility and
#: month (besides the anomalies).
DEMO_MONTHS = 12
DEMO_EPISODES_PER_MONTH = 8
#: People of the province each demo facility treats (its patients' pool).
DEMO_PATIENTS = 40
#: Code of an item no demo price list has (an ECG under another code than the lists').
UNLISTED_SERVICE = ("21.0014.1778", "Điện tim thường", "3")
#: A diagnosis code that is not an ICD-10 code (a subcategory WHO does not have).
UNKNOWN_ICD = "J06.99"
#: MA_NHOM by kind (examination fees: 13; day beds: 14).
COST_GROUPS = {"drug": "4", "supply": "10", "bed": "15", "service": "1"}
EXAMINATION_GROUP = "13"
#: The anomalies injected at each demo facility: one or a few episodes each, so that every appraisal rule finds
#: something (the rule each is meant for).
ANOMALIES = ("CARD_MISMATCH", "CARD_NOT_VALID", "CARD_EXPIRED_DURING_STAY", "NO_CONTRACT", "BENEFIT_LEVEL",
             "TOTALS", "PRICE_ABOVE", "NOT_IN_PRICE_LIST", "ICD_UNKNOWN", "CARE_DAYS", "BED_UNDER_4H", "BED_DAYS",
             "ORDER_OUTSIDE_STAY", "EXAM_FEE_TWICE", "OVERLAPPING_STAYS", "DUPLICATE", "SAME_DAY_VISITS",
             "MANY_VISITS")


def demo_months(today: date, months: int = DEMO_MONTHS) -> list[date]:
    """The first days of the ``months`` months ending the month before ``today``."""
    first = date(today.year, today.month, 1)
    result = []
    for back in range(months, 0, -1):
        index = first.year * 12 + first.month - 1 - back
        result.append(date(index // 12, index % 12 + 1, 1))
    return result


@dataclass
class _DemoPatient:
    person_id: int
    full_name: str
    date_of_birth: date
    sex: int
    citizen_id: str
    card_code: str
    registered_facility: str | None
    card_valid_from: date
    card_valid_to: date | None
    five_years_from: date | None = None


class _DemoYear:
    """Builds the rows of the demo's year of claims (claims with their lines, per facility and settlement month)."""

    def __init__(self, session, *, seed: int, today: date, parameters=None) -> None:
        from ansinh.rules.parameters import get_parameters
        from ansinh.synth.prices import ITEMS

        self.session = session
        self.rng = random.Random(f"demo-claims-{seed}")
        self.today = today
        self.parameters = parameters or get_parameters()
        self.names = {code: (name, unit) for _, code, name, unit, _, _ in ITEMS}
        self.episodes: dict[tuple[str, date], list[tuple[dict, list[dict]]]] = {}
        self.facilities: dict[str, object] = {}
        self.prices: dict[str, list[tuple[str, str, int, date, date | None]]] = {}

    # --- the facts ---------------------------------------------------------------------------------------------

    def facility(self, code: str):
        from ansinh.cards.facilities import get_facility

        if code not in self.facilities:
            self.facilities[code] = get_facility(self.session, code)
        return self.facilities[code]

    def load_prices(self, codes: list[str], since: date, until: date) -> None:
        from ansinh.claims.prices.service import prices_for

        frame = prices_for(self.session, codes, since, until)
        for row in frame.select("facility_code", "kind", "code", "price", "valid_from", "in_force_until") \
                .iter_rows():
            self.prices.setdefault(row[0], []).append(row[1:])

    def items(self, facility_code: str, kind: str, day: date, *, examination: bool | None = None) -> list[tuple]:
        """(code, price) of the facility's items of a kind in force on a day."""
        found = []
        for item_kind, code, price, valid_from, until in self.prices.get(facility_code, ()):
            if item_kind != kind or valid_from > day or (until is not None and day > until):
                continue
            is_examination = self.names.get(code, ("",))[0].startswith("Khám")
            if examination is None or examination == is_examination:
                found.append((code, price))
        return sorted(found)

    def benefit_pct(self, card_code: str, day: date) -> int:
        return int(self.parameters["hi_benefits.benefit_level"].at(day, card_code[2:3]) * 100)

    # --- episodes ----------------------------------------------------------------------------------------------

    def line(self, kind: str, code: str, price: int, quantity: int, when: datetime, *, group: str | None = None,
             ordered: datetime | None = None) -> dict:
        name, unit = self.names.get(code, (code, "lần"))
        group = group or (EXAMINATION_GROUP if name.startswith("Khám") else COST_GROUPS[kind])
        return {"kind": kind, "code": code, "cost_group": group, "name": name, "unit": unit, "quantity": quantity,
                "price": price, "ordered_at": ordered or when, "performed_at": when}

    def episode(self, facility_code: str, month: date, patient: _DemoPatient, *, arrived: datetime,
                inpatient: bool = False, days: int = 0, hours: int = 2, lines: list[dict] | None = None,
                **changes) -> tuple[dict, list[dict]]:
        """One episode (claim values, lines) at a facility, settled in ``month``: an examination and a few tests and
        drugs at the listed prices, or a stay with its bed days; ``changes`` overwrite claim values."""
        rng = self.rng
        day = arrived.date()
        discharged = arrived + (timedelta(days=days, hours=hours) if inpatient else timedelta(minutes=90))
        if lines is None:
            lines = []
            exams = self.items(facility_code, "service", day, examination=True)
            if exams:
                lines.append(self.line("service", *exams[0], 1, arrived + timedelta(minutes=10)))
            tests = self.items(facility_code, "service", day, examination=False)
            for code, price in rng.sample(tests, min(len(tests), rng.randrange(0, 3))):
                if price < 500_000:
                    lines.append(self.line("service", code, price, 1, arrived + timedelta(minutes=30)))
            drugs = self.items(facility_code, "drug", day)
            for code, price in rng.sample(drugs, min(len(drugs), rng.randrange(1, 4))):
                lines.append(self.line("drug", code, price, rng.choice((5, 10, 14, 20, 30)),
                                       arrived + timedelta(minutes=60)))
            if inpatient:
                beds = self.items(facility_code, "bed", day)
                if beds:
                    lines.append(self.line("bed", *beds[0], max(1, days), arrived + timedelta(hours=1)))
                supplies = self.items(facility_code, "supply", day)
                for code, price in supplies[:2]:
                    lines.append(self.line("supply", code, price, rng.randrange(1, 5), arrived + timedelta(hours=1)))
        icd = rng.choice(DIAGNOSES)[0]
        care_type = "03" if inpatient else "01"
        extra = self.parameters["claims.treatment_days_extra"].at(day)
        claim = {"patient": patient, "facility_code": facility_code, "arrived_at": arrived,
                 "admitted_at": arrived if inpatient else None, "discharged_at": discharged, "care_type": care_type,
                 "treatment_days": (discharged.date() - day).days + extra if inpatient else 0, "main_icd": icd,
                 "visit_category": "1.1", "benefit_pct": self.benefit_pct(patient.card_code, day),
                 "other_sources": 0, "month": month, "outcome": 1 if inpatient else 2}
        claim.update(changes)
        self.episodes.setdefault((facility_code, month), []).append((claim, lines))
        return claim, lines

    def ordinary(self, facility_code: str, month: date, patients: list[_DemoPatient], count: int) -> None:
        rng = self.rng
        last = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        for _ in range(count):
            inpatient = rng.random() < 0.15
            days = rng.randrange(2, 6) if inpatient else 0
            latest = max(1, last.day - days - 1)
            arrived = datetime(month.year, month.month, rng.randrange(1, latest + 1), rng.randrange(7, 16),
                               rng.choice((0, 15, 30, 45)))
            holders = [p for p in patients if p.card_valid_from <= arrived.date()]  # a card valid on the day
            if holders:
                self.episode(facility_code, month, rng.choice(holders), arrived=arrived, inpatient=inpatient,
                             days=days)

    # --- rows --------------------------------------------------------------------------------------------------

    def write(self, *, received_by: str) -> dict:
        """Insert a received file per facility and month, its claims and their lines (one statement each)."""
        import hashlib

        from sqlalchemy import insert

        from ansinh.claims.models import Claim, ClaimFile, ClaimLine
        from ansinh.clock import VIETNAM

        written = {"claim files": 0, "claims": 0, "lines": 0}
        for (facility_code, month), episodes in sorted(self.episodes.items(), key=lambda pair: (pair[0][1],
                                                                                                  pair[0][0])):
            facility = self.facility(facility_code)
            after = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
            received = datetime(after.year, after.month, 3, 9, 0, tzinfo=VIETNAM)
            name = f"{facility_code}-{month:%Y-%m}.xml"
            row = ClaimFile(facility_code=facility_code, org_unit_id=facility.org_unit_id,
                            sha256=hashlib.sha256(f"demo-{facility_code}-{month}".encode()).hexdigest(),
                            file_name=name, size_bytes=0, layout="130", created_on=after - timedelta(days=1),
                            declared_count=len(episodes), status="accepted", claims=len(episodes),
                            lines=sum(len(lines) for _, lines in episodes), problem_count=0,
                            received_at=received, received_by=received_by)
            self.session.add(row)
            self.session.flush()
            claims, keyed_lines = [], []
            for number, (claim, lines) in enumerate(episodes, 1):
                patient: _DemoPatient = claim["patient"]
                key = f"DEMO{facility_code}{month:%y%m}{number:05d}"
                amounts = []
                for line in lines:
                    hospital = line["quantity"] * line["price"]
                    fund = (hospital * claim["benefit_pct"] * 2 + 100) // 200  # half up
                    amounts.append((hospital, fund))
                insured = sum(hospital for hospital, _ in amounts)
                fund = sum(fund for _, fund in amounts)
                local = {name: (claim[name].replace(tzinfo=VIETNAM) if claim[name] is not None else None)
                         for name in ("arrived_at", "admitted_at", "discharged_at")}
                claims.append({
                    "file_id": row.id, "facility_code": facility_code, "episode_key": key, "version": 1,
                    "person_id": patient.person_id, "patient_ref": f"BN{patient.person_id:08d}",
                    "full_name": patient.full_name, "citizen_id": patient.citizen_id,
                    "date_of_birth": claim.get("date_of_birth", patient.date_of_birth), "sex": patient.sex,
                    "card_code": patient.card_code, "registered_facility": patient.registered_facility,
                    "card_valid_from": patient.card_valid_from, "card_valid_to": patient.card_valid_to,
                    "main_icd": claim["main_icd"], "other_icd": claim.get("other_icd"),
                    "visit_category": claim["visit_category"], "care_type": claim["care_type"], **local,
                    "treatment_days": claim["treatment_days"], "outcome": claim["outcome"], "discharge_type": 1,
                    "total_hospital": insured, "total_insured": insured, "patient_copay": insured - fund,
                    "patient_pays": 0, "fund_claimed": fund, "other_sources": claim["other_sources"],
                    "settlement_year": month.year, "settlement_month": month.month, "status": "received",
                    "disallowed": 0, "province_2025": facility_code[:2], "org_unit_id": facility.org_unit_id,
                    "received_at": received})
                for row_no, (line, (hospital, line_fund)) in enumerate(zip(lines, amounts), 1):
                    keyed_lines.append((key, {
                        "source_table": "XML2" if line["kind"] == "drug" else "XML3", "row_no": row_no,
                        "claim_month": month.replace(day=1),
                        "kind": line["kind"], "code": line["code"], "cost_group": line["cost_group"],
                        "name": line["name"], "unit": line["unit"], "scope": 1,
                        "quantity_milli": line["quantity"] * 1000, "unit_price_milli": line["price"] * 1000,
                        "payment_rate": 100, "benefit_pct": claim["benefit_pct"], "hospital_amount": hospital,
                        "insured_amount": hospital, "fund_amount": line_fund, "patient_copay": hospital - line_fund,
                        "patient_pays": 0, "ordered_at": line["ordered_at"].replace(tzinfo=VIETNAM),
                        "performed_at": line["performed_at"].replace(tzinfo=VIETNAM), "disallowed": 0}))
            table = Claim.__table__
            ids = dict((key, claim_id) for claim_id, key in self.session.execute(
                insert(table).returning(table.c.id, table.c.episode_key, sort_by_parameter_order=True), claims))
            if keyed_lines:
                self.session.execute(insert(ClaimLine.__table__), [{**values, "claim_id": ids[key]}
                                                         for key, values in keyed_lines])
            written["claim files"] += 1
            written["claims"] += len(claims)
            written["lines"] += len(keyed_lines)
        self.session.flush()
        return written


def _demo_patients(session, province: str, limit: int) -> list[_DemoPatient]:
    from sqlalchemy import select

    from ansinh.cards.models import HICard
    from ansinh.registry.models import Person

    rows = session.execute(
        select(Person.id, Person.full_name, Person.date_of_birth, Person.sex, Person.citizen_id, HICard.card_code,
               HICard.registered_facility, HICard.valid_from, HICard.valid_until, HICard.five_years_from)
        .join(HICard, HICard.person_id == Person.id)
        .where(HICard.superseded_at.is_(None), HICard.status == "active", Person.province_2025 == province,
               Person.citizen_id.is_not(None))
        .order_by(HICard.valid_from, Person.id).limit(limit)).all()
    return [_DemoPatient(person_id, name, born, 2 if getattr(sex, "value", sex) == "female" else 1, cid, card,
                         registered, valid_from, valid_until, five_years)
            for person_id, name, born, sex, cid, card, registered, valid_from, valid_until, five_years in rows]


def _other_priced_facility(session, facility_code: str, year_start: date) -> str | None:
    """Another facility of the same province with a price list and no contract in force on ``year_start``."""
    from sqlalchemy import select

    from ansinh.cards.facilities import contract_in_force
    from ansinh.cards.models import MedicalFacility
    from ansinh.claims.prices.models import PriceItem

    codes = session.scalars(select(PriceItem.facility_code).distinct()
                            .join(MedicalFacility, MedicalFacility.code == PriceItem.facility_code)
                            .where(MedicalFacility.province_2025 == session.scalar(
                                select(MedicalFacility.province_2025).where(MedicalFacility.code == facility_code)),
                                PriceItem.facility_code != facility_code)
                            .order_by(PriceItem.facility_code)).all()
    return next((code for code in codes if contract_in_force(session, code, year_start) is None), None)


def _scored_facility(session, facility_code: str, on: date) -> str | None:
    """The facility, or else one of its province (else of any), whose classification on a day decides a share below
    the full cost (a basic facility with its score, or a specialised one): where a benefit level above the card's is
    found."""
    from sqlalchemy import select

    from ansinh.cards.models import FacilityClassification, MedicalFacility

    rows = session.execute(
        select(MedicalFacility.code, MedicalFacility.province_2025, FacilityClassification.level_2025,
               FacilityClassification.score)
        .join(FacilityClassification, FacilityClassification.facility_id == MedicalFacility.id)
        .where(FacilityClassification.valid_from <= on)
        .order_by(MedicalFacility.code, FacilityClassification.valid_from)).all()
    latest = {code: (province, getattr(level, "value", level), score) for code, province, level, score in rows}
    suitable = sorted(code for code, (_, level, score) in latest.items()
                      if (level == "basic" and score is not None) or level == "specialised")
    province = latest.get(facility_code, (None,))[0]
    for choice in (facility_code, *(c for c in suitable if latest[c][0] == province), *suitable):
        if choice in suitable:
            return choice
    return None


def load_demo_claim_year(session, plan, *, today: date, per_month: int = DEMO_EPISODES_PER_MONTH,
                         patients: int = DEMO_PATIENTS) -> dict:
    """A year of settled claims (the :data:`DEMO_MONTHS` months ending the month before ``today``) of the facilities
    the demo's facility users act for, with every anomaly of :data:`ANOMALIES` at each of them (and, for the rules
    comparing facilities, at another facility of the province), written as received files; then the automatic
    appraisal of each month (and of ``today``'s), as the national officer. The facilities' contracts of the year
    before are signed first (the demo's contracts start in January)."""
    from sqlalchemy import select

    from ansinh.auth import service as auth_service
    from ansinh.auth.models import OrgUnit, Role, User
    from ansinh.cards import facilities as cards_facilities
    from ansinh.cards.service import _new_version, current_card, suspend_card
    from ansinh.claims.appraisal.service import appraise_claims

    months = demo_months(today)
    since, until = months[0], today - timedelta(days=today.day)
    codes = sorted({user.subject_ref for user in plan.users if Role.facility in user.roles and user.subject_ref})
    year = _DemoYear(session, seed=plan.seed, today=today)
    others = {}
    for code in codes:
        facility = year.facility(code)
        previous = since.year
        if cards_facilities.contract_in_force(session, code, since) is None:
            cards_facilities.sign_contract(session, facility=facility, contract_number=f"HD-{code}-{previous}",
                                           valid_from=date(previous, 1, 1), valid_until=date(previous, 12, 31),
                                           org_unit=session.get(OrgUnit, facility.org_unit_id))
        others[code] = _other_priced_facility(session, code, since)
    cards_facilities.clear_contract_cache()
    year.load_prices(sorted(set(codes) | {code for code in others.values() if code}), since, until)

    for index, code in enumerate(codes):
        pool = _demo_patients(session, year.facility(code).province_2025, patients)
        if len(pool) < 6:
            continue
        suspended, shortened, pool = pool[1], pool[0], pool[2:]  # the earliest cards: valid all year
        for month in months:
            year.ordinary(code, month, pool, per_month)
        other = others[code]
        rng = random.Random(f"demo-anomalies-{plan.seed}-{code}")

        def on(month_index: int, day: int, hour: int = 8) -> datetime:
            month = months[month_index % len(months)]
            return datetime(month.year, month.month, day, hour, 0)

        def month_of(moment: datetime) -> date:
            return date(moment.year, moment.month, 1)

        patient = pool[0]
        # the card or the person
        at = on(index + 1, 5)
        born = patient.date_of_birth + timedelta(days=1)
        year.episode(code, month_of(at), patient, arrived=at, date_of_birth=born)
        suspend_card(session, suspended.person_id, reason="Thẻ cho người khác mượn (dữ liệu minh họa)")
        at = on(index + 2, 6)
        year.episode(code, month_of(at), suspended, arrived=at)
        # a card ending during a stay: replaced (on the 1st) by a version ending on the 10th; the stay runs to the 28th
        at = on(index + 8, 8)
        card = current_card(session, shortened.person_id)
        ends = at.date() + timedelta(days=2)
        replaced = _new_version(session, shortened.person_id, valid_until=ends)
        card.superseded_at = datetime(at.year, at.month, 1, 2, 0, tzinfo=UTC)
        shortened = _DemoPatient(**{**shortened.__dict__, "card_valid_to": replaced.valid_until})
        stay = year.episode(code, month_of(at), shortened, arrived=at, inpatient=True, days=20)
        drugs = year.items(code, "drug", at.date())
        if drugs:
            stay[1].append(year.line("drug", *drugs[0], 10, at + timedelta(days=19)))
        # contract, benefit level, totals, prices, diagnosis, days
        if other:
            at = on(0, 9)
            year.episode(other, month_of(at), pool[1], arrived=at)
        at = on(index + 3, 10)
        below_full = next((p for p in pool if year.benefit_pct(p.card_code, at.date()) < 100
                           and (p.five_years_from is None or p.five_years_from > at.date())), pool[2])
        scored = _scored_facility(session, code, at.date())
        if scored:
            if scored not in year.facilities:
                year.load_prices([scored], since, until)
            # a stay of some days: a visit costing less than a share of the base salary is paid in full anyway
            year.episode(scored, month_of(at), below_full, arrived=at, benefit_pct=100, inpatient=True, days=6)
        at = on(index + 4, 11)
        year.episode(code, month_of(at), pool[3], arrived=at, other_sources=20_000)
        at = on(index + 5, 12)
        drugs = year.items(code, "drug", at.date())
        dear = [year.line("drug", drugs[0][0], drugs[0][1] * 6 // 5 + 5, 20, at + timedelta(minutes=30))] \
            if drugs else None
        year.episode(code, month_of(at), pool[4], arrived=at, lines=dear)
        at = on(index + 6, 13)
        episode = year.episode(code, month_of(at), pool[5], arrived=at)
        episode[1].append(year.line("service", UNLISTED_SERVICE[0], 32_800, 1, at + timedelta(minutes=40),
                                    group=UNLISTED_SERVICE[2]))
        at = on(index + 7, 14)
        year.episode(code, month_of(at), pool[6 % len(pool)], arrived=at, main_icd=UNKNOWN_ICD)
        at = on(index + 8, 15)
        year.episode(code, month_of(at), pool[7 % len(pool)], arrived=at, treatment_days=2)
        # beds, orders, examination fees
        at = on(index + 9, 16)
        beds = year.items(code, "bed", at.date())
        short = year.episode(code, month_of(at), pool[8 % len(pool)], arrived=at, inpatient=True, days=0, hours=3)
        if beds and not any(line["kind"] == "bed" for line in short[1]):
            short[1].append(year.line("bed", *beds[0], 1, at + timedelta(hours=1)))
        at = on(index + 10, 17)
        long = year.episode(code, month_of(at), pool[9 % len(pool)], arrived=at, inpatient=True, days=3)
        if beds:
            long[1].append(year.line("bed", *beds[0], 4, at + timedelta(hours=2)))
        at = on(index + 11, 18)
        early = year.episode(code, month_of(at), pool[10 % len(pool)], arrived=at)
        early[1][-1]["ordered_at"] = at - timedelta(days=1)
        at = on(index + 1, 19)
        exams = year.items(code, "service", at.date(), examination=True)
        twice = year.episode(code, month_of(at), pool[11 % len(pool)], arrived=at, inpatient=True, days=4)
        if exams:
            twice[1].append(year.line("service", *exams[0], 1, at + timedelta(days=2)))
        # comparing claims: overlapping stays, a duplicate, two visits on one day, many visits of one card
        at = on(index + 2, 20)
        year.episode(code, month_of(at), pool[12 % len(pool)], arrived=at, inpatient=True, days=4)
        if other:
            year.episode(other, month_of(at), pool[12 % len(pool)], arrived=at + timedelta(days=2), inpatient=True,
                         days=3)
        at = on(index + 3, 21)
        year.episode(code, month_of(at), pool[13 % len(pool)], arrived=at)
        year.episode(code, month_of(at), pool[13 % len(pool)], arrived=at + timedelta(hours=3))
        at = on(index + 4, 22)
        year.episode(code, month_of(at), pool[14 % len(pool)], arrived=at, care_type="02", treatment_days=1)
        if other:
            year.episode(other, month_of(at), pool[14 % len(pool)], arrived=at + timedelta(hours=2))
        frequent = pool[15 % len(pool)]
        for visit in range(12):
            at = on(index + 5, 1 + 2 * visit, 7 + rng.randrange(3))
            year.episode(code, month_of(at), frequent, arrived=at)

    written = year.write(received_by="demo-loader")
    officer = session.scalar(select(User).where(User.username.in_(
        [user.username for user in plan.users if Role.national_officer in user.roles])).order_by(User.id).limit(1))
    if officer is not None:
        principal = auth_service.principal_for(officer)
        findings = 0
        for month in months:  # this month's files wait for their appraisal
            findings += appraise_claims(session, principal=principal, month=month).findings
        written["findings"] = findings
    return written


def fhir_claim(card: str, *, citizen_id: str, born: str, day: str, facility: str,
               items: Sequence[tuple[str, str, float, float]], care_type: str = "01", icd: str = "J06.9",
               episode: str = "LK-0001") -> dict:
    """A FHIR R4 Claim of an outpatient visit on ``day`` (ISO) at ``facility`` for the pre-check
    (:mod:`ansinh.claims.fhir`): the patient by citizen ID with the birth date, the card as the coverage, ``items``
    as (kind, code of the price list, quantity, unit price)."""
    from ansinh.cards.fhir import CITIZEN_ID_SYSTEM, FACILITY_SYSTEM, HI_CARD_SYSTEM
    from ansinh.claims import fhir

    return {
        "resourceType": "Claim", "status": "active", "use": "claim",
        "identifier": [{"system": "https://benhvien.example/ma-lk", "value": episode}],
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "subType": {"coding": [{"system": fhir.CARE_TYPE_SYSTEM, "code": care_type}]},
        "contained": [{"resourceType": "Patient", "id": "p", "birthDate": born,
                       "identifier": [{"system": CITIZEN_ID_SYSTEM, "value": citizen_id}]}],
        "patient": {"reference": "#p"},
        "created": f"{day}T10:00:00+07:00",
        "provider": {"identifier": {"system": FACILITY_SYSTEM, "value": facility}},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority",
                                 "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"identifier": {"system": HI_CARD_SYSTEM,
                                                                                  "value": card}}}],
        "billablePeriod": {"start": f"{day}T08:00:00+07:00", "end": f"{day}T09:30:00+07:00"},
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [
            {"system": fhir.ICD10_SYSTEM, "code": icd}]}}],
        "item": [{"sequence": number,
                  "category": {"coding": [{"system": fhir.LINE_KIND_SYSTEM, "code": kind}]},
                  "productOrService": {"coding": [{"system": fhir.ITEM_SYSTEM, "code": code}]},
                  "servicedPeriod": {"start": f"{day}T08:10:00+07:00", "end": f"{day}T08:20:00+07:00"},
                  "quantity": {"value": quantity}, "unitPrice": {"value": price, "currency": "VND"}}
                 for number, (kind, code, quantity, price) in enumerate(items, 1)],
    }
