"""A synthetic population at scale: people, households, employers, coverage periods and population figures for
a few provinces, with the shares of a real Vietnamese province, deterministic by seed.

- :func:`plan_population` is pure: the frames (Polars) for a seed, a number of people and the provinces.
- :func:`load_population` writes them with :func:`ansinh.bulk.bulk_insert` (COPY on PostgreSQL), in chunks of
  :data:`CHUNK_PEOPLE` people, so memory stays bounded whatever the number of people.

Everything is computed on whole columns; random numbers come from :class:`random.Random` as raw bytes turned
into Polars series (no Python loop per person). The same seed, people and provinces give the same frames.

Shares (sources: GSO population and housing census 2019 and its 2024 mid-term survey, VSS yearly reports; all
approximate and meant for demos and benchmarks, not statistics):
- age pyramid of Vietnam 2024 by 5-year groups; a little more women among the old;
- ethnicity per province (Sơn La mostly Thái, Cao Bằng Tày and Nùng, the Mekong provinces with Khmer, ...);
- households of 1 to 7 (mean about 3.5), the head the oldest adult;
- compulsory SI about 22–42 % of the working-age population (by province), voluntary SI 3–6 %, HI 92–95 % of
  the population; UI for every employee except civil servants (state agencies);
- employers: sizes from a power law (many micro, few large), ownership about 80 % private.
"""

from __future__ import annotations

import array
import random
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from ansinh.bulk import bulk_insert
from ansinh.registry.identifiers import TAX_CODE_WEIGHTS

CHUNK_PEOPLE = 200_000
WORKING_AGE = (15, 60)  # from 15 to 59 years completed
RETIREMENT_AGE = {"male": 61, "female": 56}  # about the 2025 ages (Labour Code 2019 Art 169, the roadmap)
SALARY_CAP = 46_800_000  # 20 × base salary 2,340,000 (2024-07-01)
REGIONAL_MINIMUM_WAGE = {"I": 4_960_000, "II": 4_410_000, "III": 3_860_000, "IV": 3_450_000}  # 2024-07-01
HISTORY_START = date(2010, 1, 1)

# --- reference shares ---------------------------------------------------------------------------------

#: (first age, last age, share in %) — Vietnam 2024, about.
AGE_PYRAMID = (
    (0, 4, 7.3), (5, 9, 8.0), (10, 14, 8.1), (15, 19, 7.0), (20, 24, 6.8), (25, 29, 7.4), (30, 34, 8.1),
    (35, 39, 8.0), (40, 44, 7.3), (45, 49, 6.8), (50, 54, 6.0), (55, 59, 5.4), (60, 64, 4.6), (65, 69, 3.6),
    (70, 74, 2.4), (75, 79, 1.4), (80, 84, 0.9), (85, 89, 0.6), (90, 99, 0.3),
)

#: 2025 provinces: approximate population in thousands (for sharing N among several provinces).
PROVINCE_POPULATION = {
    "01": 8_700, "04": 570, "08": 1_870, "11": 650, "12": 490, "14": 1_300, "15": 1_780, "19": 1_800, "20": 800,
    "22": 1_400, "24": 3_600, "25": 4_000, "31": 4_700, "33": 3_600, "37": 4_400, "38": 4_300, "40": 3_800,
    "42": 1_600, "44": 1_900, "46": 1_400, "48": 3_100, "51": 2_200, "52": 3_600, "56": 2_200, "66": 3_300,
    "68": 3_900, "75": 4_500, "79": 14_000, "80": 3_300, "82": 4_400, "86": 4_300, "91": 4_900, "92": 4_200,
    "96": 2_600,
}
MOUNTAIN = {"04", "08", "11", "12", "14", "15", "20"}
URBAN = {"01", "79"}
INDUSTRIAL = {"24", "31", "75", "22", "48", "19"}

ETHNICITY_DEFAULT = {"Kinh": 85.3, "Tày": 1.9, "Thái": 1.9, "Mường": 1.5, "H'Mông": 1.5, "Khmer": 1.4,
                     "Nùng": 1.1, "Dao": 0.9, "Hoa": 0.8, "Gia Rai": 0.5, "Ê Đê": 0.4, "Ba Na": 0.3,
                     "Sán Chay": 0.2, "Chăm": 0.2, "Cơ Ho": 0.2, "Xơ Đăng": 0.2}
ETHNICITY = {
    "01": {"Kinh": 98.5, "Mường": 0.8, "Tày": 0.3, "Thái": 0.1, "Nùng": 0.1, "Dao": 0.1, "Hoa": 0.1},
    "79": {"Kinh": 93.5, "Hoa": 4.5, "Khmer": 0.6, "Chăm": 0.3, "Tày": 0.3, "Nùng": 0.3, "Mường": 0.2},
    "14": {"Thái": 53.2, "Kinh": 16.6, "H'Mông": 16.5, "Mường": 8.2, "Dao": 2.2, "Khơ Mú": 1.3, "Xinh Mun": 1.0,
           "Kháng": 0.5, "La Ha": 0.5},
    "19": {"Kinh": 70.0, "Tày": 14.5, "Nùng": 5.5, "Dao": 3.8, "Sán Chay": 2.0, "H'Mông": 1.6, "Sán Dìu": 1.5,
           "Hoa": 0.3, "Mường": 0.3},
    "04": {"Tày": 40.8, "Nùng": 31.1, "H'Mông": 10.6, "Dao": 10.1, "Kinh": 5.8, "Sán Chay": 1.0},
    "11": {"Thái": 37.9, "H'Mông": 35.1, "Kinh": 18.4, "Khơ Mú": 3.5, "Dao": 1.1, "Hà Nhì": 1.0, "Lào": 1.0},
    "12": {"H'Mông": 35.9, "Thái": 32.3, "Kinh": 14.0, "Dao": 13.3, "Hà Nhì": 3.0, "Giáy": 1.5},
    "20": {"Nùng": 42.2, "Tày": 35.3, "Kinh": 16.5, "Dao": 3.6, "Sán Chay": 1.4, "Hoa": 0.3},
    "48": {"Kinh": 93.0, "Cơ Tu": 3.0, "Xơ Đăng": 1.8, "Giẻ Triêng": 1.2, "Tày": 0.3, "Hoa": 0.2},
    "91": {"Kinh": 88.0, "Khmer": 9.0, "Hoa": 2.0, "Chăm": 0.5},
    "92": {"Kinh": 81.0, "Khmer": 15.5, "Hoa": 3.0},
    "86": {"Kinh": 88.0, "Khmer": 11.0, "Hoa": 0.8},
}
NAME_GROUP = {"Thái": "thai", "Lào": "thai", "H'Mông": "hmong", "Tày": "tay_nung", "Nùng": "tay_nung",
              "Sán Chay": "tay_nung", "Khmer": "khmer", "Mường": "muong", "Hoa": "hoa", "Dao": "dao",
              "Sán Dìu": "dao"}

#: Surnames: Kinh shares after the 2019 census figures commonly cited (Nguyễn about 38 %).
SURNAMES = {
    "kinh": {"Nguyễn": 38.4, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.0, "Hoàng": 3.5, "Huỳnh": 1.6, "Phan": 4.5,
             "Vũ": 2.6, "Võ": 2.4, "Đặng": 2.1, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3, "Ngô": 1.3, "Dương": 1.0,
             "Lý": 0.5, "Đinh": 0.8, "Trương": 0.8, "Lương": 0.5, "Mai": 0.5, "Cao": 0.4, "Trịnh": 0.5,
             "Đoàn": 0.5, "Lâm": 0.4, "Tạ": 0.2, "Hà": 0.6, "Phùng": 0.3, "Tô": 0.3, "Chu": 0.3, "Vương": 0.2,
             "Kiều": 0.2, "Lại": 0.2, "Thái": 0.2, "Tăng": 0.1, "Quách": 0.1},
    "thai": {"Lò": 20, "Lường": 12, "Quàng": 10, "Cầm": 10, "Vì": 10, "Tòng": 8, "Hà": 8, "Lù": 5, "Điêu": 5,
             "Lê": 4, "Bạc": 4, "Mè": 2, "Sa": 2},
    "hmong": {"Giàng": 22, "Vàng": 18, "Sùng": 14, "Mùa": 10, "Thào": 10, "Lầu": 7, "Hạng": 6, "Lý": 6,
              "Sình": 4, "Chang": 3},
    "tay_nung": {"Hoàng": 18, "Nông": 16, "Lục": 8, "Ma": 8, "Hà": 8, "Triệu": 7, "Lăng": 5, "Nguyễn": 10,
                 "Lương": 5, "Đàm": 5, "Vi": 5, "Bế": 5},
    "khmer": {"Thạch": 30, "Sơn": 20, "Kim": 12, "Danh": 15, "Lâm": 8, "Châu": 8, "Lý": 7},
    "muong": {"Bùi": 35, "Đinh": 30, "Quách": 12, "Hà": 13, "Xa": 5, "Cao": 5},
    "hoa": {"Lý": 15, "Trần": 15, "Lâm": 12, "Quách": 8, "Châu": 10, "Trương": 12, "Hứa": 8, "Lưu": 10,
            "Tăng": 10},
    "dao": {"Triệu": 35, "Bàn": 20, "Lý": 15, "Đặng": 15, "Chảo": 10, "Phùng": 5},
}
MIDDLE_NAMES = {
    "male": ("Văn", "Văn", "Văn", "Văn", "Đức", "Minh", "Quốc", "Hữu", "Thành", "Công", "Ngọc", "Xuân", "Anh",
             "Quang", "Duy", "Trung", "Hoàng", "Tuấn", "Gia", "Bảo", "Đình", "Mạnh", "Tiến", "Việt"),
    "female": ("Thị", "Thị", "Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Phương", "Minh", "Mai", "Kim", "Hồng",
               "Bảo", "Khánh", "Diệu", "Hải", "Quỳnh", "Thùy", "Mỹ", "Hoài", "Lan", "Thảo", "Hà"),
}
GIVEN_NAMES = {
    "male": ("Anh", "Hùng", "Dũng", "Tuấn", "Minh", "Nam", "Hải", "Long", "Cường", "Hoàng", "Thắng", "Sơn",
             "Trung", "Đức", "Hiếu", "Quân", "Khoa", "Phong", "Tùng", "Việt", "Huy", "Bình", "Thành", "Tâm",
             "Khánh", "Lâm", "Phúc", "Đạt", "Kiên", "Vinh", "Lộc", "Thịnh", "Toàn", "Hưng", "Bảo", "Khang",
             "Nghĩa", "Tài", "Quang", "Thái"),
    "female": ("Anh", "Hương", "Lan", "Linh", "Trang", "Hà", "Thảo", "Ngọc", "Huyền", "Hằng", "Mai", "Phương",
               "Nhung", "Hoa", "Yến", "Thủy", "Loan", "Nga", "Dung", "Vân", "Hạnh", "Thu", "Trinh", "Vy", "Nhi",
               "Giang", "Hiền", "Oanh", "Quyên", "Chi", "My", "Hồng", "Liên", "Tuyết", "Diệp", "Thư", "Ánh",
               "Duyên", "Nhàn", "Trâm"),
}
EMPLOYER_WORDS = ("Minh Phát", "Thành Công", "Hoàng Long", "An Phú", "Việt Tiến", "Đại Dương", "Phú Thịnh",
                  "Sao Mai", "Tân Tiến", "Hưng Thịnh", "Bình Minh", "Trường Sơn", "Thái Bình Dương", "Kim Long",
                  "Hải Âu", "Ánh Dương", "Đông Á", "Nam Việt", "Hồng Hà", "Thiên Phúc", "Phương Đông", "Toàn Cầu",
                  "Lộc Phát", "Hòa Bình", "Tiến Đạt", "Gia Huy", "Quang Minh", "Vạn Xuân", "Trung Kiên", "Ngọc Lan")
EMPLOYER_TRADES = ("Thương mại", "Xây dựng", "Dệt may", "Điện tử", "Cơ khí", "Thực phẩm", "Vận tải", "Dịch vụ",
                   "Nông nghiệp", "Công nghệ", "Du lịch", "Bất động sản", "Da giày", "Gỗ", "Dược phẩm")
STATE_NAMES = ("Ủy ban nhân dân xã", "Trường Tiểu học", "Trường Trung học cơ sở", "Trạm Y tế", "Ban Quản lý dự án",
               "Trung tâm Y tế", "Sở", "Chi cục")


def vietnamese_name(rng: random.Random, *, female: bool, group: str = "kinh") -> str:
    """One plausible full name (family name, middle name, given name) from the lists above, by sex: the same draws
    as the synthetic population's, for the few people made one at a time (the demo's users and their stories)."""
    surnames = SURNAMES[group]
    sex = "female" if female else "male"
    surname = rng.choices(list(surnames), weights=list(surnames.values()))[0]
    given = GIVEN_NAMES[sex]
    return " ".join((surname, rng.choice(MIDDLE_NAMES[sex]),
                     rng.choices(given, weights=[1 / (rank + 6) for rank in range(len(given))])[0]))


def employer_name(rng: random.Random) -> str:
    """A private company's name: ``Công ty TNHH Dệt may Hồng Hà``."""
    return f"{rng.choice(OWNERSHIP['private'][2][:2])} {rng.choice(EMPLOYER_TRADES)} {rng.choice(EMPLOYER_WORDS)}"


#: ownership → (share among ordinary employers %, share among the 2 % largest %, legal form prefix)
OWNERSHIP = {
    "private": (79.0, 40.0, ("Công ty TNHH", "Công ty Cổ phần", "Doanh nghiệp tư nhân")),
    "state": (4.0, 10.0, None),
    "public_service": (6.0, 12.0, None),
    "fdi": (3.0, 35.0, ("Công ty TNHH", "Công ty TNHH MTV")),
    "household_business": (6.0, 0.0, ("Hộ kinh doanh",)),
    "cooperative": (2.0, 3.0, ("Hợp tác xã",)),
}
REGIONS = {  # province → shares of regions I–IV of its employers (Decree 74/2024 lists by district)
    "01": (75, 20, 5, 0), "79": (85, 15, 0, 0), "31": (60, 30, 10, 0), "48": (50, 30, 20, 0),
    "24": (40, 40, 20, 0), "75": (60, 30, 10, 0), "22": (40, 40, 20, 0), "92": (30, 40, 30, 0),
    "19": (0, 60, 30, 10), "14": (0, 0, 35, 65),
}
REGIONS_DEFAULT = (5, 30, 40, 25)
REGIONS_MOUNTAIN = (0, 5, 35, 60)

#: province → (compulsory SI share of the working age, voluntary SI share, pensioners among the old,
#: poor households, near-poor households, median salary)
def _province_profile(code: str) -> dict:
    if code in URBAN:
        return dict(si=0.38 if code == "01" else 0.40, vol=0.03, pension=0.38, poor=0.002, near_poor=0.004,
                    salary=11_000_000, gd=0.88, dt=0.0)
    if code in MOUNTAIN:
        return dict(si=0.11, vol=0.06, pension=0.12, poor=0.15, near_poor=0.09, salary=6_500_000, gd=0.80, dt=0.7)
    if code == "19":
        return dict(si=0.30, vol=0.045, pension=0.22, poor=0.035, near_poor=0.04, salary=8_500_000, gd=0.86,
                    dt=0.3)
    if code in INDUSTRIAL:
        return dict(si=0.33, vol=0.04, pension=0.25, poor=0.01, near_poor=0.02, salary=9_000_000, gd=0.86, dt=0.1)
    return dict(si=0.22, vol=0.045, pension=0.2, poor=0.025, near_poor=0.03, salary=7_500_000, gd=0.85, dt=0.2)


# --- random columns -----------------------------------------------------------------------------------

class _Random:
    """Uniform columns from one :class:`random.Random` (raw bytes → Polars), deterministic by seed."""

    def __init__(self, *key: int) -> None:
        self._rng = random.Random("/".join(str(k) for k in key))

    def uniform(self, n: int) -> pl.Series:
        values = array.array("I")
        values.frombytes(self._rng.randbytes(4 * n))
        if values.itemsize != 4:  # pragma: no cover - every platform we run on
            raise RuntimeError("unsigned int is not 32 bits here")
        return (pl.Series(values, dtype=pl.UInt32).cast(pl.Float64) + 0.5) / 2.0**32

    def choice(self, n: int, weights: Sequence[float]) -> pl.Series:
        """Indexes 0..len(weights)-1 drawn with the weights."""
        total = float(sum(weights))
        cumulative, running = [], 0.0
        for w in weights:
            running += w / total
            cumulative.append(running)
        cumulative[-1] = 1.0 + 1e-9
        return pl.Series(cumulative).search_sorted(self.uniform(n), side="right").cast(pl.Int64)

    def integers(self, n: int, low: int, high: int) -> pl.Series:
        """Integers in [low, high)."""
        return (self.uniform(n) * (high - low)).floor().cast(pl.Int64) + low


def _pick(index: pl.Series, values: Sequence) -> pl.Series:
    return pl.Series(list(values)).gather(index)


def _weighted_top(weights: pl.Series, k: int, rng: _Random) -> pl.Series:
    """A boolean mask of k rows drawn without replacement with the weights (Efraimidis–Spirakis keys)."""
    n = weights.len()
    k = max(0, min(k, int((weights > 0).sum())))
    if k == 0:
        return pl.Series([False] * n)
    keys = (rng.uniform(n).log() / weights.cast(pl.Float64)).fill_nan(float("-inf"))
    keys = pl.select(pl.when(weights > 0).then(keys).otherwise(float("-inf"))).to_series()
    threshold = keys.top_k(k).min()
    rank = keys.rank("ordinal", descending=True)
    return (keys >= threshold) & (rank <= k)


# --- names without accents, on columns ----------------------------------------------------------------

def _accent_table() -> dict[str, str]:
    table = {"đ": "d", "Đ": "D"}
    for codepoint in list(range(0x00C0, 0x0250)) + list(range(0x1E00, 0x1F00)):
        char = chr(codepoint)
        plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        if plain != char and char not in table:
            table[char] = plain
    return table


_ACCENTS = _accent_table()


def search_key_expr(column: str | pl.Expr) -> pl.Expr:
    """``registry.identifiers.search_key`` on a whole column (NFC text): accents removed, lower case, single
    spaces. Characters outside ASCII that have no plain form are dropped, as ``search_key`` does."""
    expr = pl.col(column) if isinstance(column, str) else column
    return (expr.str.replace_many(list(_ACCENTS), list(_ACCENTS.values()))
            .str.replace_all(r"[^\x00-\x7F]", "")
            .str.to_lowercase()
            .str.replace_all(r"\s+", " ")
            .str.strip_chars(" "))


def _tax_check_digit_expr(nine: pl.Expr) -> pl.Expr:
    total = sum(nine.str.slice(i, 1).cast(pl.Int64) * w for i, w in enumerate(TAX_CODE_WEIGHTS))
    return 10 - total % 11  # 10 means no valid code with these nine digits


# --- the plan -----------------------------------------------------------------------------------------

@dataclass
class _Context:
    seed: int
    today: date
    province_counts: dict[str, int]
    org_units: dict[str, list[int]]
    communes: dict[str, pl.DataFrame]  # province → id, province_2008, weight
    province_2008: dict[str, str | None]  # 2025 province → its 2008 province when 1:1
    birth_provinces: dict[str, list[tuple[str, float]]]  # 2025 province → 2008 codes of registration
    reserve_si: Callable[[str, int], int]  # (prefix, count) → first sequence number
    next_ids: dict[str, int]
    citizen_counters: dict[str, int] = field(default_factory=dict)
    employers: dict[str, pl.DataFrame] = field(default_factory=dict)


def _share_people(people: int, province_codes: Sequence[str]) -> dict[str, int]:
    codes = list(dict.fromkeys(province_codes))
    if not codes:
        raise ValueError("give at least one province")
    weights = [PROVINCE_POPULATION.get(code, 2_000) for code in codes]
    total = sum(weights)
    counts = {code: people * w // total for code, w in zip(codes, weights)}
    counts[codes[0]] += people - sum(counts.values())
    return counts


def _default_birth_provinces(mapping_2008: Mapping[str, str]) -> dict[str, list[tuple[str, float]]]:
    """2025 province → the 2008 provinces that formed it (registration codes), the namesake weighted most."""
    result: dict[str, list[tuple[str, float]]] = {}
    for old, new in sorted(mapping_2008.items()):
        result.setdefault(new, []).append((old, 3.0 if old == new else 1.0))
    return result


def _birth_provinces_from_file() -> dict[str, list[tuple[str, float]]]:
    try:
        from ansinh.registry.places import place_data

        return _default_birth_provinces(dict(place_data()["mapping"]["province"]))
    except Exception:  # noqa: BLE001 - the data file is optional for the plan
        return {}


def _plan_employers(ctx: _Context, province: str, employees: int) -> pl.DataFrame:
    """Employers of a province: about one per 20 expected employees, sizes from a power law."""
    rng = _Random(ctx.seed, "employers", province)
    count = max(5, employees // 20)
    # Pareto weights (alpha 0.9, capped): many micro employers, a few very large ones.
    weight = (rng.uniform(count) ** (-1 / 0.9)).clip(upper_bound=3_000.0)
    large = weight.rank("ordinal", descending=True) <= max(1, count // 50)
    owners = list(OWNERSHIP)
    ordinary = rng.choice(count, [OWNERSHIP[o][0] for o in owners])
    big = rng.choice(count, [OWNERSHIP[o][1] for o in owners])
    ownership = _pick(pl.select(pl.when(large).then(big).otherwise(ordinary)).to_series(), owners)
    region_weights = REGIONS.get(province, REGIONS_MOUNTAIN if province in MOUNTAIN else REGIONS_DEFAULT)
    region = _pick(rng.choice(count, region_weights), ("I", "II", "III", "IV"))
    # Tax codes: 2-digit province + 7 digits (a bijective scramble of a counter) + check digit; codes whose check
    # digit would be 10 are skipped, so draw more candidates than needed.
    # The counter starts at twice the first employer id: a later load (higher ids) never reuses a serial.
    candidates = 2 * count
    offset = random.Random(f"tax/{province}").randrange(10**7)
    first = 2 * ctx.next_ids["employer"]
    serial = ((pl.int_range(first, first + candidates, eager=True, dtype=pl.Int64) * 7_919 + offset) % 10**7)
    frame = pl.DataFrame({"serial": serial})
    frame = frame.with_columns(nine=pl.lit(province.zfill(2)[-2:]) + pl.col("serial").cast(pl.String).str.zfill(7))
    frame = frame.with_columns(check=_tax_check_digit_expr(pl.col("nine"))).filter(pl.col("check") < 10).head(count)
    tax_code = frame.select(pl.col("nine") + (pl.col("check") % 10).cast(pl.String)).to_series()
    word = _pick(rng.integers(count, 0, len(EMPLOYER_WORDS)), EMPLOYER_WORDS)
    trade = _pick(rng.integers(count, 0, len(EMPLOYER_TRADES)), EMPLOYER_TRADES)
    state_name = _pick(rng.integers(count, 0, len(STATE_NAMES)), STATE_NAMES)
    form_u = rng.uniform(count)
    communes = ctx.communes.get(province)
    frame = pl.DataFrame({"ownership": ownership, "region": region, "tax_code": tax_code, "word": word,
                          "trade": trade, "state_name": state_name, "form_u": form_u, "weight": weight,
                          "e_u": rng.uniform(count), "office_u": rng.uniform(count)})
    forms = {o: spec[2] for o, spec in OWNERSHIP.items() if spec[2]}
    name = pl.lit(None, dtype=pl.String)
    for owner, prefixes in forms.items():
        prefix = pl.lit(pl.Series(list(prefixes))).get((pl.col("form_u") * len(prefixes)).floor().cast(pl.Int64))
        body = (pl.col("word") if owner == "household_business"
                else pl.col("trade") + pl.lit(" ") + pl.col("word"))
        name = pl.when(pl.col("ownership") == owner).then(prefix + pl.lit(" ") + body).otherwise(name)
    name = pl.when(pl.col("ownership").is_in(["state", "public_service"])).then(
        pl.col("state_name") + pl.lit(" ") + pl.col("word")).otherwise(name)
    units = ctx.org_units[province]
    first_id = ctx.next_ids["employer"]
    ctx.next_ids["employer"] += count
    frame = frame.with_columns(
        id=pl.int_range(first_id, first_id + count, dtype=pl.Int64),
        name=name,
        sector=pl.when(pl.col("ownership").is_in(["state", "public_service"])).then(pl.lit("state"))
        .otherwise(pl.lit("private")),
        e_transactions=pl.col("e_u") < 0.97,
        org_unit_id=pl.lit(pl.Series(units, dtype=pl.Int64)).get((pl.col("office_u") * len(units)).floor()
                                                                 .cast(pl.Int64)),
        province_2025=pl.lit(province),
    ).with_columns(name_search=search_key_expr("name"))
    if communes is not None and communes.height:
        place = rng.choice(count, communes["weight"].to_list())
        frame = frame.with_columns(place_id=communes["id"].gather(place),
                                   province_2008=communes["province_2008"].gather(place))
    else:
        frame = frame.with_columns(place_id=pl.lit(None, dtype=pl.Int64),
                                   province_2008=pl.lit(ctx.province_2008.get(province), dtype=pl.String))
    return frame.select("id", "tax_code", "name", "name_search", "ownership", "region", "sector", "place_id",
                        "e_transactions", "org_unit_id", "province_2008", "province_2025", "weight")


EMPLOYER_COLUMNS = ("id", "tax_code", "name", "name_search", "ownership", "region", "sector", "place_id",
                    "e_transactions", "org_unit_id", "province_2008", "province_2025")
PERSON_COLUMNS = ("id", "citizen_id", "si_number", "full_name", "name_search", "date_of_birth", "sex", "ethnicity",
                  "residence_place_id", "phone", "household_id", "relation_to_head", "org_unit_id", "province_2008",
                  "province_2025")
HOUSEHOLD_COLUMNS = ("id", "code", "head_person_id", "residence_place_id", "org_unit_id")
COVERAGE_COLUMNS = ("person_id", "scheme", "hi_group", "valid_from", "valid_to", "insured_salary", "payer",
                    "employer_id", "household_id", "member_order", "payment_months", "support_group", "org_unit_id",
                    "province_2008", "province_2025")


def _month_start(expr: pl.Expr) -> pl.Expr:
    return expr.dt.truncate("1mo")


def _months_before(day: date, months: pl.Expr) -> pl.Expr:
    """The first day of the month ``months`` before the month of ``day``."""
    return pl.lit(day.replace(day=1)).dt.offset_by(pl.format("-{}mo", months))


def _people(ctx: _Context, province: str, chunk: int, n: int) -> pl.DataFrame:
    rng = _Random(ctx.seed, "people", province, chunk)
    today = ctx.today
    group = rng.choice(n, [share for _, _, share in AGE_PYRAMID])
    low = pl.Series([a for a, _, _ in AGE_PYRAMID]).gather(group)
    width = pl.Series([b - a + 1 for a, b, _ in AGE_PYRAMID]).gather(group)
    age_years = low + (rng.uniform(n) * width).floor().cast(pl.Int64)
    days_into_year = (rng.uniform(n) * 365).floor().cast(pl.Int64)
    frame = pl.DataFrame({"age_years": age_years, "days": days_into_year, "sex_u": rng.uniform(n)})
    # Date of birth: today minus the age in years minus part of a year.
    frame = frame.with_columns(
        date_of_birth=pl.lit(today).dt.offset_by(pl.format("-{}y", pl.col("age_years")))
        - pl.duration(days=pl.col("days"))
    ).with_columns(
        age=(today.year - pl.col("date_of_birth").dt.year()
             - ((today.month * 100 + today.day) < (pl.col("date_of_birth").dt.month().cast(pl.Int64) * 100
                                                   + pl.col("date_of_birth").dt.day().cast(pl.Int64))).cast(pl.Int64))
    )
    female_share = (pl.when(pl.col("age") >= 80).then(0.64).when(pl.col("age") >= 65).then(0.57)
                    .when(pl.col("age") >= 40).then(0.505).otherwise(0.48))
    frame = frame.with_columns(sex=pl.when(pl.col("sex_u") < female_share).then(pl.lit("female"))
                               .otherwise(pl.lit("male")))
    shares = ETHNICITY.get(province, ETHNICITY_DEFAULT)
    ethnicities = list(shares)
    frame = frame.with_columns(ethnicity=_pick(rng.choice(n, list(shares.values())), ethnicities))
    # Names: surname by the ethnicity's naming group; middle and given names by sex.
    surname = pl.lit(None, dtype=pl.String)
    for group_name, pool in SURNAMES.items():
        drawn = _pick(rng.choice(n, list(pool.values())), list(pool))
        members = [e for e in ethnicities if NAME_GROUP.get(e, "kinh") == group_name]
        if members:
            surname = pl.when(pl.col("ethnicity").is_in(members)).then(pl.lit(drawn)).otherwise(surname)
    given_weights = {sex: [1 / (rank + 6) for rank in range(len(pool))] for sex, pool in GIVEN_NAMES.items()}
    middle = {sex: _pick(rng.integers(n, 0, len(pool)), pool) for sex, pool in MIDDLE_NAMES.items()}
    given = {sex: _pick(rng.choice(n, given_weights[sex]), pool) for sex, pool in GIVEN_NAMES.items()}
    female = pl.col("sex") == "female"
    frame = frame.with_columns(
        full_name=surname + pl.lit(" ")
        + pl.when(female).then(pl.lit(middle["female"])).otherwise(pl.lit(middle["male"])) + pl.lit(" ")
        + pl.when(female).then(pl.lit(given["female"])).otherwise(pl.lit(given["male"])),
    ).with_columns(name_search=search_key_expr("full_name"))
    # Residence: a commune of the province (communes of different sizes), or none when places are not loaded.
    communes = ctx.communes.get(province)
    if communes is not None and communes.height:
        place = rng.choice(n, communes["weight"].to_list())
        frame = frame.with_columns(residence_place_id=communes["id"].gather(place),
                                   province_2008=communes["province_2008"].gather(place),
                                   commune=place)
    else:
        frame = frame.with_columns(residence_place_id=pl.lit(None, dtype=pl.Int64),
                                   province_2008=pl.lit(ctx.province_2008.get(province), dtype=pl.String),
                                   commune=pl.lit(0, dtype=pl.Int64))
    # Phone: most adults have a mobile number.
    mobile_prefixes = ("32", "33", "34", "35", "36", "37", "38", "39", "86", "96", "97", "98", "88", "91", "94",
                       "83", "84", "85", "81", "82", "70", "76", "77", "78", "79", "89", "90", "93", "56", "58")
    phone = (pl.lit("0") + pl.lit(_pick(rng.integers(n, 0, len(mobile_prefixes)), mobile_prefixes))
             + pl.lit(rng.integers(n, 0, 10**7)).cast(pl.String).str.zfill(7))
    frame = frame.with_columns(phone=pl.when((pl.col("age") >= 15) & pl.lit(rng.uniform(n) < 0.8))
                               .then(phone).otherwise(pl.lit(None, dtype=pl.String)))
    # Citizen ID: 3-digit province of birth registration (a 2008 province that formed this one, sometimes
    # another one: people move), century/sex digit, year, and 6 digits unique within that prefix.
    births = ctx.birth_provinces.get(province) or [(province, 1.0)]
    elsewhere = sorted({old for pairs in ctx.birth_provinces.values() for old, _ in pairs} - {b for b, _ in births})
    local = _pick(rng.choice(n, [w for _, w in births]), [b for b, _ in births])
    if elsewhere:
        other = _pick(rng.integers(n, 0, len(elsewhere)), elsewhere)
        birth_province = pl.select(pl.when(pl.lit(rng.uniform(n)) < 0.1).then(pl.lit(other))
                                   .otherwise(pl.lit(local))).to_series()
    else:
        birth_province = local
    year = pl.col("date_of_birth").dt.year()
    frame = frame.with_columns(
        prefix=pl.lit("0") + pl.lit(birth_province)
        + ((year // 100 - 19) * 2 + (pl.col("sex") == "female").cast(pl.Int32)).cast(pl.String)
        + (year % 100).cast(pl.String).str.zfill(2),
    ).with_columns(rank=pl.int_range(pl.len(), dtype=pl.Int64).over("prefix"))
    counters = pl.DataFrame({"prefix": list(ctx.citizen_counters), "start": list(ctx.citizen_counters.values())},
                            schema={"prefix": pl.String, "start": pl.Int64})
    frame = frame.join(counters, on="prefix", how="left", maintain_order="left").with_columns(
        pl.col("start").fill_null(0))
    scramble = random.Random(f"{ctx.seed}/cid").randrange(10**6)
    frame = frame.with_columns(
        citizen_id=pl.col("prefix")
        + (((pl.col("start") + pl.col("rank")) * 7_919 + pl.col("prefix").cast(pl.Int64) * 104_729 + scramble)
           % 10**6).cast(pl.String).str.zfill(6))
    used = frame.group_by("prefix").agg(pl.len().cast(pl.Int64).alias("count"))
    for prefix, count in used.iter_rows():  # one per prefix (a few thousand), not per person
        ctx.citizen_counters[prefix] = ctx.citizen_counters.get(prefix, 0) + count
        if ctx.citizen_counters[prefix] > 10**6:
            raise ValueError(f"more than a million citizen IDs with prefix {prefix}")
    # SI numbers: a block reserved for the province (2-digit prefix), consecutive.
    first_si = ctx.reserve_si(province[-2:], n)
    first_id = ctx.next_ids["person"]
    ctx.next_ids["person"] += n
    units = ctx.org_units[province]
    office = (rng.uniform(n) * len(units)).floor().cast(pl.Int64)
    return frame.with_columns(
        id=pl.int_range(first_id, first_id + n, dtype=pl.Int64),
        si_number=pl.lit(province[-2:]) + pl.int_range(first_si, first_si + n, dtype=pl.Int64)
        .cast(pl.String).str.zfill(8),
        org_unit_id=pl.Series(units, dtype=pl.Int64).gather(office),
        province_2025=pl.lit(province),
    ).drop("age_years", "days", "sex_u", "prefix", "rank", "start")


def _households(ctx: _Context, province: str, chunk: int, people: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Group people into households of 1–7 within their commune: adults in blocks of 1–4 (random ages, as
    families of several generations), then the minors joined to a household with an adult of 20–60."""
    rng = _Random(ctx.seed, "households", province, chunk)
    n = people.height
    frame = people.select("id", "age", "date_of_birth", "commune", "org_unit_id", "residence_place_id").with_columns(
        u=rng.uniform(n), adult=pl.col("age") >= 18)
    adults = frame.filter("adult").sort("commune", "u").with_columns(
        rank=pl.int_range(pl.len(), dtype=pl.Int64).over("commune"))
    # Sizes of adult blocks: 1: 14 %, 2: 44 %, 3: 24 %, 4: 18 % (with the minors: about 3.4 people a household);
    # one sequence of sizes, cut at a random offset per commune.
    sizes = rng.choice(max(16, adults.height), (14, 44, 24, 18)) + 1
    ends = sizes.cum_sum()
    communes = adults["commune"].unique().sort()
    offsets = pl.DataFrame({"commune": communes, "offset": (rng.uniform(communes.len()) * 1000).floor().cast(pl.Int64)})
    adults = adults.join(offsets, on="commune", how="left", maintain_order="left")
    start_block = ends.search_sorted(adults["offset"], side="right")
    block = ends.search_sorted(adults["rank"] + adults["offset"], side="right")
    adults = adults.with_columns(block=block - start_block)
    keys = adults.select("commune", "block").unique(maintain_order=True).with_row_index("household", offset=0)
    adults = adults.join(keys, on=["commune", "block"], how="left", maintain_order="left")
    # Minors: a household of the commune with an adult of 20–60 (else any household of the commune).
    parents = (adults.filter(pl.col("age").is_between(20, 60)).select("commune", "household").unique()
               .sort("commune", "household"))
    anyone = adults.select("commune", "household").unique().sort("commune", "household")
    remaining = frame.filter(~pl.col("adult")).select("id", "date_of_birth", "u", "commune")
    placed = []
    for candidates in (parents, anyone):
        counts = candidates.group_by("commune").agg(count=pl.len())
        numbered = candidates.with_columns(k=pl.int_range(pl.len(), dtype=pl.Int64).over("commune"))
        got = (remaining.join(counts, on="commune", how="inner")
               .with_columns(k=(pl.col("u") * pl.col("count")).floor().cast(pl.Int64))
               .join(numbered, on=["commune", "k"], how="inner"))
        placed.append(got.select("id", "date_of_birth", "u", pl.col("household").cast(pl.Int64)))
        remaining = remaining.join(got.select("id"), on="id", how="anti")
    # Minors still without a household (a commune without adults in this chunk) get one of their own.
    placed.append(remaining.select("id", "date_of_birth", "u", household=pl.int_range(pl.len(), dtype=pl.Int64) + keys.height))
    members = pl.concat([adults.select("id", "date_of_birth", "u", pl.col("household").cast(pl.Int64)), *placed])
    # At most 7 members: the youngest beyond the seventh move to a household of their own.
    members = members.sort("household", "date_of_birth", "u").with_columns(
        order=pl.int_range(pl.len(), dtype=pl.Int64).over("household"))
    overflow = pl.col("order") >= 7
    top = int(members["household"].max() or 0) + 1
    members = members.with_columns(
        household=pl.when(overflow).then(pl.col("household") * 64 + pl.col("order") + top * 64)
        .otherwise(pl.col("household")))
    members = members.sort("household", "date_of_birth", "u").with_columns(
        order=pl.int_range(pl.len(), dtype=pl.Int64).over("household"))
    # Household ids in the order of their first member.
    index = members.select("household").unique(maintain_order=True)
    first_id = ctx.next_ids["household"]
    ctx.next_ids["household"] += index.height
    index = index.with_columns(household_id=pl.int_range(first_id, first_id + pl.len(), dtype=pl.Int64))
    members = members.join(index, on="household", how="left", maintain_order="left")
    heads = members.filter(pl.col("order") == 0).join(
        people.select("id", "residence_place_id", "org_unit_id"), on="id", how="left")
    prefix = province[-2:]
    households = heads.select(
        id=pl.col("household_id"),
        code=pl.lit("HGD" + prefix) + pl.col("household_id").cast(pl.String).str.zfill(9),
        head_person_id=pl.col("id"),
        residence_place_id=pl.col("residence_place_id"),
        org_unit_id=pl.col("org_unit_id"),
    ).sort("id")
    links = members.select("id", "household_id",
                           relation_to_head=pl.when(pl.col("order") == 0).then(pl.lit("head"))
                           .otherwise(pl.lit("member")))
    return households, links


def _coverage(ctx: _Context, province: str, chunk: int, people: pl.DataFrame, employers: pl.DataFrame,
              households: pl.DataFrame) -> pl.DataFrame:
    rng = _Random(ctx.seed, "coverage", province, chunk)
    profile = _province_profile(province)
    today = ctx.today
    this_year = date(today.year, 1, 1)
    next_year = date(today.year + 1, 1, 1)
    last_year = date(today.year - 1, 1, 1)
    n = people.height
    # Household flags: poor, near-poor, and whether the household buys household HI.
    hh_u = rng.uniform(households.height)
    flags = households.select(household_id=pl.col("id")).with_columns(
        poor=hh_u < profile["poor"],
        near_poor=(hh_u >= profile["poor"]) & (hh_u < profile["poor"] + profile["near_poor"]),
        buys_gd=pl.lit(rng.uniform(households.height)) < profile["gd"],
        gd_month=pl.lit(rng.integers(households.height, 0, 12)),
    )
    p = people.select("id", "age", "sex", "ethnicity", "date_of_birth", "household_id", "org_unit_id",
                      "province_2008", "province_2025").join(flags, on="household_id", how="left",
                                                             maintain_order="left")
    working = pl.col("age").is_between(WORKING_AGE[0], WORKING_AGE[1] - 1)
    p = p.with_columns(working=working)
    working_count = int(p["working"].sum())
    # Employees now: weighted by age.
    age = pl.col("age")
    weight = (pl.when(age < 18).then(0.0).when(age <= 21).then(0.6).when(age <= 45).then(1.0)
              .when(age <= 55).then(0.7).when(age < WORKING_AGE[1]).then(0.3).otherwise(0.0))
    weights = p.select(weight).to_series()
    employed = _weighted_top(weights, round(profile["si"] * working_count), rng)
    p = p.with_columns(employed=employed)
    staff = p.filter("employed")
    k = staff.height
    employer_index = rng.choice(k, employers["weight"].to_list()) if k else pl.Series([], dtype=pl.Int64)
    emp = employers.select("id", "ownership", "region", "org_unit_id").rename(
        {"id": "employer_id", "org_unit_id": "employer_unit"})
    staff = pl.concat([staff, emp[employer_index]], how="horizontal") if k else staff.with_columns(
        employer_id=pl.lit(None, dtype=pl.Int64), ownership=pl.lit(None, dtype=pl.String),
        region=pl.lit(None, dtype=pl.String), employer_unit=pl.lit(None, dtype=pl.Int64))
    minimum = pl.col("region").replace_strict(REGIONAL_MINIMUM_WAGE, default=REGIONAL_MINIMUM_WAGE["IV"])
    median = profile["salary"]
    # Lognormal salaries around the province's median (Box–Muller from two uniforms), at least the minimum wage.
    normal = (-2 * rng.uniform(k).log()).sqrt() * (2 * 3.141592653589793 * rng.uniform(k)).cos()
    tenure = (-(rng.uniform(k).log()) * 60).floor().cast(pl.Int64)  # months in the current job, mean 5 years
    staff = staff.with_columns(
        salary=((pl.lit(normal) * 0.45).exp() * median / 1000).round(0).cast(pl.Int64).clip(upper_bound=SALARY_CAP // 1000) * 1000,
        tenure=pl.lit(tenure), previous_u=pl.lit(rng.uniform(k)), gap=pl.lit(rng.integers(k, 0, 6)),
        previous_employer=pl.lit(employers["id"].gather(rng.choice(k, employers["weight"].to_list()))
                                 if k else pl.Series([], dtype=pl.Int64)),
        previous_length=pl.lit(rng.integers(k, 6, 72)),
    ).with_columns(
        salary=pl.max_horizontal("salary", minimum),
        tenure=pl.min_horizontal("tenure", ((pl.col("age") - 18) * 12).clip(lower_bound=0)),
    ).with_columns(valid_from=_months_before(today, pl.col("tenure")))
    hi_group = pl.when(pl.col("ownership").is_in(["state", "public_service"])).then(pl.lit("HC")).otherwise(
        pl.lit("DN"))

    def employment(frame: pl.DataFrame, valid_from: pl.Expr, valid_to: pl.Expr, employer: str,
                   salary: pl.Expr) -> list[pl.DataFrame]:
        base = frame.select(
            person_id=pl.col("id"), valid_from=valid_from, valid_to=valid_to, insured_salary=salary,
            payer=pl.lit("employer"), employer_id=pl.col(employer), org_unit_id=pl.col("employer_unit"),
            province_2008=pl.col("province_2008"), province_2025=pl.col("province_2025"), hi=hi_group,
            ui=pl.col("ownership") != "state")
        return [base.with_columns(scheme=pl.lit("si_compulsory"), hi_group=pl.lit(None, dtype=pl.String)),
                base.with_columns(scheme=pl.lit("hi"), hi_group=pl.col("hi")),
                base.filter("ui").with_columns(scheme=pl.lit("ui"), hi_group=pl.lit(None, dtype=pl.String))]

    periods: list[pl.DataFrame] = []
    null_date = pl.lit(None, dtype=pl.Date)
    periods += employment(staff, pl.col("valid_from"), null_date, "employer_id", pl.col("salary"))
    # A previous job for a third of them (ended when, or a few months before, the current one started).
    before = staff.filter((pl.col("previous_u") < 0.33) & (pl.col("tenure") + pl.col("gap") + pl.col("previous_length")
                                                             <= (pl.col("age") - 18) * 12))
    before = before.drop("ownership", "employer_unit", "region").join(
        emp.select(pl.col("employer_id").alias("previous_employer"), "ownership", "employer_unit"),
        on="previous_employer", how="left", maintain_order="left")
    periods += employment(before, _months_before(today, pl.col("tenure") + pl.col("gap") + pl.col("previous_length")),
                          _months_before(today, pl.col("tenure") + pl.col("gap")), "previous_employer",
                          (pl.col("salary") * 0.85 / 1000).round(0).cast(pl.Int64).clip(lower_bound=REGIONAL_MINIMUM_WAGE["I"] // 1000) * 1000)
    # Former employees, not covered now: left 1 to 48 months ago.
    rest = p.filter(~pl.col("employed") & pl.col("working") & (pl.col("age") >= 22))
    m = rest.height
    former = rest.with_columns(
        u=pl.lit(rng.uniform(m)), left=pl.lit(rng.integers(m, 1, 49)), length=pl.lit(rng.integers(m, 6, 96)),
        employer_id=pl.lit(employers["id"].gather(rng.choice(m, employers["weight"].to_list())) if m
                           else pl.Series([], dtype=pl.Int64)),
        salary=pl.lit(rng.integers(m, REGIONAL_MINIMUM_WAGE["I"] // 1000, 12_000)) * 1000,
    ).filter(pl.col("u") < 0.12).filter(pl.col("left") + pl.col("length") <= (pl.col("age") - 18) * 12)
    former = former.join(emp.select("employer_id", "ownership", "employer_unit"), on="employer_id", how="left")
    periods += employment(former, _months_before(today, pl.col("left") + pl.col("length")),
                          _months_before(today, pl.col("left")), "employer_id", pl.col("salary"))

    # Voluntary SI: working age, 20+, not employed now.
    retired = age >= pl.when(pl.col("sex") == "female").then(RETIREMENT_AGE["female"]).otherwise(
        RETIREMENT_AGE["male"])
    vol_weight = (pl.when(pl.col("employed") | (age < 20) | ~pl.col("working") | retired).then(0.0)
                  .when(age >= 40).then(1.5).otherwise(1.0))
    voluntary = _weighted_top(p.select(vol_weight).to_series(), round(profile["vol"] * working_count), rng)
    p = p.with_columns(voluntary=voluntary)
    vol = p.filter("voluntary")
    v = vol.height
    incomes = (1_500_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000, 8_000_000, 10_000_000)
    vol = vol.with_columns(
        income=pl.lit(_pick(rng.choice(v, (55, 15, 12, 6, 6, 3, 3)), incomes), dtype=pl.Int64),
        months=pl.lit(_pick(rng.choice(v, (35, 15, 15, 35)), (1, 3, 6, 12)), dtype=pl.Int64),
        since=pl.lit(rng.integers(v, 0, 120)),
    ).with_columns(since=pl.min_horizontal("since", ((pl.col("age") - 18) * 12).clip(lower_bound=0)))
    support = (pl.when(pl.col("poor")).then(pl.lit("poor")).when(pl.col("near_poor")).then(pl.lit("near_poor"))
               .when(pl.col("ethnicity") != "Kinh").then(pl.lit("ethnic_minority")).otherwise(pl.lit("other")))
    periods.append(vol.select(
        person_id=pl.col("id"), scheme=pl.lit("si_voluntary"), valid_from=_months_before(today, pl.col("since")),
        valid_to=null_date, insured_salary=pl.col("income"), payer=pl.lit("self"), payment_months=pl.col("months"),
        support_group=support, org_unit_id=pl.col("org_unit_id"), province_2008=pl.col("province_2008"),
        province_2025=pl.col("province_2025")))

    # HI for the others, in the order the law gives priority: pensioners, the very old, children under 6,
    # poor and near-poor households, ethnic minorities in hardship areas, pupils and students, household HI.
    u = rng.uniform(n)
    minority = (pl.col("ethnicity") != "Kinh") & pl.lit(rng.uniform(n) < profile["dt"])
    group = (pl.when(pl.col("employed")).then(pl.lit(None, dtype=pl.String))
             .when(retired & (pl.lit(u) < profile["pension"])).then(pl.lit("HT"))
             .when(age >= 80).then(pl.lit("BT"))
             .when(age < 6).then(pl.lit("TE"))
             .when(pl.col("poor")).then(pl.lit("HN"))
             .when(minority).then(pl.lit("DT"))
             .when(pl.col("near_poor")).then(pl.lit("CN"))
             .when((age >= 6) & (age <= 17) & (pl.lit(u) < 0.97)).then(pl.lit("HS"))
             .when((age >= 18) & (age <= 22) & (pl.lit(u) < 0.35)).then(pl.lit("SV"))
             .when(pl.col("buys_gd")).then(pl.lit("GD")))
    p = p.with_columns(group=group, sixth=pl.col("date_of_birth").dt.offset_by("6y"))
    payer = {"HT": "other_budget", "BT": "state_budget", "TE": "state_budget", "HN": "state_budget",
             "DT": "state_budget", "CN": "state_budget", "HS": "self", "SV": "self", "GD": "household"}
    common = dict(person_id=pl.col("id"), scheme=pl.lit("hi"), hi_group=pl.col("group"),
                  payer=pl.col("group").replace_strict(payer, default=None), org_unit_id=pl.col("org_unit_id"),
                  province_2008=pl.col("province_2008"), province_2025=pl.col("province_2025"))
    # Pensioners: from their retirement, open.
    periods.append(p.filter(pl.col("group") == "HT").select(
        **common, valid_from=_month_start(pl.col("date_of_birth").dt.offset_by(
            pl.format("{}y", pl.when(pl.col("sex") == "female").then(RETIREMENT_AGE["female"])
                      .otherwise(RETIREMENT_AGE["male"])))).clip(HISTORY_START, today),
        valid_to=null_date))
    # Children under 6: from birth to the sixth birthday; older children keep their ended card in the history.
    periods.append(p.filter(pl.col("group") == "TE").select(**common, valid_from=pl.col("date_of_birth"),
                                                            valid_to=pl.col("sixth")))
    periods.append(p.filter((pl.col("age") >= 6) & (pl.col("age") <= 9)).with_columns(group=pl.lit("TE")).select(
        **common, valid_from=pl.col("date_of_birth"), valid_to=pl.col("sixth")))
    # Yearly cards (state budget groups, pupils, students): this calendar year, and last year's for most.
    yearly = p.filter(pl.col("group").is_in(["BT", "HN", "DT", "CN", "HS", "SV"]))
    start = pl.max_horizontal(pl.lit(this_year), pl.col("sixth"))
    periods.append(yearly.filter(start < pl.lit(next_year)).select(**common, valid_from=start,
                                                                   valid_to=pl.lit(next_year)))
    earlier = pl.max_horizontal(pl.lit(last_year), pl.col("sixth"))
    periods.append(yearly.filter(pl.lit(rng.uniform(yearly.height) < 0.93) & (earlier < pl.lit(this_year)))
                   .select(**common, valid_from=earlier, valid_to=pl.lit(this_year)))
    # Household HI: 12 months from the household's month within the last year; the year before for most.
    gd = p.filter(pl.col("group") == "GD").with_columns(
        member_order=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("household_id"),
        start=_months_before(today, pl.col("gd_month")),
    )
    gd_common = common | dict(household_id=pl.col("household_id"), member_order=pl.col("member_order"))
    periods.append(gd.select(**gd_common, valid_from=pl.col("start"),
                             valid_to=pl.col("start").dt.offset_by("12mo")))
    periods.append(gd.filter(pl.lit(rng.uniform(gd.height) < 0.9)).select(
        **gd_common, valid_from=pl.col("start").dt.offset_by("-12mo"), valid_to=pl.col("start")))

    frame = pl.concat([f.select(*[pl.col(c) for c in f.columns if c in COVERAGE_COLUMNS]) for f in periods],
                      how="diagonal_relaxed")
    frame = frame.filter(pl.col("valid_to").is_null() | (pl.col("valid_to") > pl.col("valid_from")))
    missing = {c: None for c in COVERAGE_COLUMNS if c not in frame.columns}
    return frame.with_columns(**{c: pl.lit(v) for c, v in missing.items()}).select(
        pl.col("person_id").cast(pl.Int64), "scheme", pl.col("hi_group").cast(pl.String), "valid_from", "valid_to",
        pl.col("insured_salary").cast(pl.Int64), "payer", pl.col("employer_id").cast(pl.Int64),
        pl.col("household_id").cast(pl.Int64), pl.col("member_order").cast(pl.Int64),
        pl.col("payment_months").cast(pl.Int64), pl.col("support_group").cast(pl.String),
        pl.col("org_unit_id").cast(pl.Int64), pl.col("province_2008").cast(pl.String),
        pl.col("province_2025").cast(pl.String))


def _iter_plan(ctx: _Context) -> Iterator[tuple[str, pl.DataFrame]]:
    """Yields ("employer", frame) per province, then ("household" / "person" / "coverage_period", frame) per
    chunk of at most CHUNK_PEOPLE people, then the population figures."""
    figures = []
    for province, count in ctx.province_counts.items():
        if count <= 0:
            continue
        expected_working = count * 0.64
        employers = _plan_employers(ctx, province, int(expected_working * _province_profile(province)["si"]))
        ctx.employers[province] = employers
        yield "employer", employers.select(EMPLOYER_COLUMNS)
        working_total = 0
        for chunk, start in enumerate(range(0, count, CHUNK_PEOPLE)):
            n = min(CHUNK_PEOPLE, count - start)
            people = _people(ctx, province, chunk, n)
            households, links = _households(ctx, province, chunk, people)
            people = people.join(links, on="id", how="left", maintain_order="left")
            coverage = _coverage(ctx, province, chunk, people, employers, households)
            working_total += int(people["age"].is_between(WORKING_AGE[0], WORKING_AGE[1] - 1).sum())
            yield "household", households
            yield "person", people.select(PERSON_COLUMNS)
            yield "coverage_period", coverage
        for back in range(0, 3):  # this year and the two before, about 0.9 % growth a year
            factor = (1 - 0.009) ** back
            figures.append({"structure": "2025", "province_code": province, "year": ctx.today.year - back,
                            "population": round(count * factor), "working_age_population": round(working_total * factor)})
    yield "population_figure", pl.DataFrame(figures, schema={
        "structure": pl.String, "province_code": pl.String, "year": pl.Int64, "population": pl.Int64,
        "working_age_population": pl.Int64})


def plan_population(seed: int, people: int, province_codes: Sequence[str], *, today: date,
                    org_units: Mapping[str, int | Sequence[int]] | None = None,
                    communes: Mapping[str, pl.DataFrame] | None = None,
                    first_ids: Mapping[str, int] | None = None) -> dict[str, pl.DataFrame]:
    """The whole synthetic population as frames named after their tables (pure: no database).

    ``org_units``: province → the id of its office (or several ids, the province office first; default 1 for
    every province); ``communes``: province → frame of 2025 communes (``id``, ``province_2008``, ``weight``),
    none by default (residence left empty); ``first_ids``: the first ``person``/``household``/``employer`` id
    (default 1). SI numbers are numbered from 1 per province here (the loader reserves real blocks)."""
    counters: dict[str, int] = {}

    def reserve(prefix: str, count: int) -> int:
        first = counters.get(prefix, 1)
        counters[prefix] = first + count
        return first

    ctx = _make_context(seed, people, province_codes, today=today, org_units=org_units or {}, communes=communes or {},
                        first_ids=first_ids or {}, reserve_si=reserve)
    parts: dict[str, list[pl.DataFrame]] = {}
    for table, frame in _iter_plan(ctx):
        parts.setdefault(table, []).append(frame)
    return {table: pl.concat(frames, how="vertical_relaxed") for table, frames in parts.items()}


def _make_context(seed, people, province_codes, *, today, org_units, communes, first_ids, reserve_si,
                  province_2008=None, citizen_counters=None) -> _Context:
    counts = _share_people(people, [str(c).zfill(2) for c in province_codes])
    units = {}
    for code in counts:
        given = org_units.get(code, 1)
        units[code] = [int(given)] if isinstance(given, int) else [int(x) for x in given]
    births = _birth_provinces_from_file()
    if province_2008 is None:
        province_2008 = {new: (pairs[0][0] if len(pairs) == 1 else None) for new, pairs in births.items()}
    return _Context(seed=seed, today=today, province_counts=counts, org_units=units, communes=dict(communes),
                    province_2008=province_2008, birth_provinces=births, reserve_si=reserve_si,
                    next_ids={"person": first_ids.get("person", 1), "household": first_ids.get("household", 1),
                              "employer": first_ids.get("employer", 1)},
                    citizen_counters=dict(citizen_counters or {}))


# --- loading ------------------------------------------------------------------------------------------

def _communes(session: Session, codes: Sequence[str]) -> dict[str, pl.DataFrame]:
    """2025 communes of the provinces with their 2008 province (when a single one) and a size weight."""
    from sqlalchemy.orm import aliased

    from ansinh.registry.models import Place, PlaceLevel, PlaceMapping, Structure

    old = aliased(Place)
    rows = session.execute(
        select(Place.id, Place.province_code, func.min(old.province_code), func.max(old.province_code))
        .outerjoin(PlaceMapping, PlaceMapping.new_place_id == Place.id)
        .outerjoin(old, (old.id == PlaceMapping.old_place_id) & (old.level == PlaceLevel.commune))
        .where(Place.structure == Structure.from_2025, Place.level == PlaceLevel.commune,
               Place.province_code.in_(list(codes)))
        .group_by(Place.id, Place.province_code).order_by(Place.id)).all()
    result: dict[str, pl.DataFrame] = {}
    for code in codes:
        mine = [(r[0], r[2] if r[2] == r[3] else None) for r in rows if r[1] == code]
        if not mine:
            continue
        rng = random.Random(f"communes/{code}")
        weights = [rng.lognormvariate(0, 0.6) for _ in mine]  # a few dozen communes: a loop per commune is fine
        result[code] = pl.DataFrame({"id": [m[0] for m in mine], "province_2008": [m[1] for m in mine],
                                     "weight": weights}, schema={"id": pl.Int64, "province_2008": pl.String,
                                                                 "weight": pl.Float64})
    return result


def _org_unit_ids(org_units: Mapping) -> dict[str, list[int]]:
    result = {}
    for code, given in org_units.items():
        items = given if isinstance(given, (list, tuple)) else [given]
        result[str(code)] = [int(getattr(item, "id", item)) for item in items]
    return result


def load_population(session: Session, *, seed: int, people: int, province_codes: Sequence[str],
                    org_units: Mapping, today: date, progress: Callable[[str, int], None] | None = None) -> dict:
    """Generate and write a synthetic population (see the module). ``org_units``: province code → its province
    office (an OrgUnit or an id) or a list of offices (people and employers are spread over them). Places are
    used when loaded (``registry.places.load_places``): residence communes; otherwise residence is left empty.

    Writes in chunks, in the caller's transaction (it commits). ``progress(table, rows)`` is called after each
    write. Returns the counts written and the seconds taken."""
    from ansinh.audit.service import record_event
    from ansinh.participation.models import CoveragePeriod
    from ansinh.registry.models import Employer, Household, Person, PopulationFigure, Structure
    from ansinh.registry.service import issue_si_numbers

    started = time.perf_counter()
    codes = [str(c).zfill(2) for c in province_codes]
    units = _org_unit_ids(org_units)
    missing = [c for c in codes if c not in units]
    if missing:
        raise ValueError(f"no org unit given for province(s) {', '.join(missing)}")
    postgres = session.connection().dialect.name == "postgresql"
    tables = {"person": Person.__table__, "household": Household.__table__, "employer": Employer.__table__,
              "coverage_period": CoveragePeriod.__table__}
    if postgres:  # explicit ids below: keep other writers out until commit
        session.execute(text("LOCK TABLE person, household, employer IN SHARE ROW EXCLUSIVE MODE"))
    first_ids = {name: (session.scalar(select(func.max(tables[name].c.id))) or 0) + 1
                 for name in ("person", "household", "employer")}
    # Citizen IDs already given per 6-digit prefix, so that ours continue after them.
    prefix = func.substr(Person.citizen_id, 1, 6)
    counters = dict(session.execute(select(prefix, func.count()).where(Person.citizen_id.is_not(None))
                                    .group_by(prefix)).all())

    def reserve(si_prefix: str, count: int) -> int:
        return int(issue_si_numbers(session, si_prefix, count)[0][2:])

    ctx = _make_context(seed, people, codes, today=today, org_units=units, communes=_communes(session, codes),
                        first_ids=first_ids, reserve_si=reserve, citizen_counters=counters)
    written = {"employer": 0, "household": 0, "person": 0, "coverage_period": 0, "population_figure": 0}
    household_range: list[int] = []
    for table, frame in _iter_plan(ctx):
        if table == "population_figure":
            for row in frame.iter_rows(named=True):  # three rows per province
                figure = session.scalar(select(PopulationFigure).where(
                    PopulationFigure.structure == Structure.from_2025,
                    PopulationFigure.province_code == row["province_code"], PopulationFigure.year == row["year"]))
                if figure is None:
                    session.add(PopulationFigure(structure=Structure.from_2025, province_code=row["province_code"],
                                                 year=row["year"], population=row["population"],
                                                 working_age_population=row["working_age_population"]))
                else:
                    figure.population, figure.working_age_population = row["population"], row["working_age_population"]
            written[table] += frame.height
            session.flush()
            continue
        if table == "household":
            household_range = [int(frame["id"].min()), int(frame["id"].max())]
            frame = frame.with_columns(head_person_id=pl.lit(None, dtype=pl.Int64))  # the people come next
        written[table] += bulk_insert(session, tables[table], frame)
        if table == "person" and household_range:
            heads = select(Person.id).where(Person.household_id == Household.id,
                                            Person.relation_to_head == "head").scalar_subquery()
            session.execute(update(Household).where(Household.id.between(*household_range))
                            .values(head_person_id=heads).execution_options(synchronize_session=False))
        if progress:
            progress(table, frame.height)
    if postgres:
        for name in ("person", "household", "employer"):
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                 f"(SELECT coalesce(max(id), 1) FROM {name}))"))
        for name in ("person", "household", "employer", "coverage_period"):
            session.execute(text(f"ANALYZE {name}"))
    seconds = round(time.perf_counter() - started, 2)
    record_event(session, "synthetic_load", "population", None,
                 details={"seed": seed, "people": people, "provinces": codes, "today": today.isoformat(),
                          **written})
    return {**written, "seconds": seconds}
