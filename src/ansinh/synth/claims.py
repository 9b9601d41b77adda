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
from datetime import date, datetime, timedelta
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


def load_demo_claims(session, plan, *, today: date, episodes: int = DEMO_EPISODES) -> dict:
    """For each facility the demo's facility users act for: a file of this month's episodes of people of its
    province who hold a card (received and accepted), and a file with mistakes (received and refused), through the
    intake service."""
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
    return result
