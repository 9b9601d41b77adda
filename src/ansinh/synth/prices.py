"""Synthetic price lists of the demo's facilities: examinations, tests, imaging, procedures, bed days, drugs and
supplies with Vietnamese names and prices in dong, imported through the price-list service as the facilities' files
would be (CSV), three lists each so that the history shows:

- the list of 2025, in force from 2025-01-01 (a drug's price with its tender);
- a list from 2025-07-01 repricing some drugs (a new tender) and bed days in mid-year;
- the list of 2026, from 2026-01-01, repricing the services (examinations and tests go up) — open-ended.

Hospitals (the provincial one, the first district ones) get every item; a commune health station or private clinic the
examination, common tests, drugs and supplies. Deterministic for a seed: every price comes from a generator seeded by
the seed and the facility's code; every date is fixed (nothing depends on the day the demo is loaded).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from ansinh.cards.models import FacilityLevel, MedicalFacility

#: (kind, code, name, unit, price in dong at a hospital, for hospitals only)
ITEMS: tuple[tuple[str, str, str, str, int, bool], ...] = (
    ("service", "02.1896", "Khám Nội", "lần", 42_100, False),
    ("service", "02.1897", "Khám Ngoại", "lần", 42_100, True),
    ("service", "02.1899", "Khám Nhi", "lần", 42_100, False),
    ("service", "02.1901", "Khám Phụ sản", "lần", 42_100, True),
    ("service", "22.0121.1370", "Xét nghiệm công thức máu (tổng phân tích tế bào máu ngoại vi bằng máy đếm laser)",
     "lần", 46_200, False),
    ("service", "23.0075.1494", "Định lượng Glucose [máu]", "lần", 21_500, False),
    ("service", "23.0051.1494", "Định lượng Creatinin [máu]", "lần", 21_500, True),
    ("service", "23.0020.1493", "Đo hoạt độ ALT (GPT) [máu]", "lần", 21_500, True),
    ("service", "24.0001.1714", "Tổng phân tích nước tiểu (bằng máy tự động)", "lần", 27_400, False),
    ("service", "18.0001.0001", "Siêu âm ổ bụng (gan mật, tụy, lách, thận, bàng quang)", "lần", 43_900, True),
    ("service", "18.0119.0028", "Chụp X-quang ngực thẳng", "lần", 65_400, True),
    ("service", "02.0085.1778", "Điện tim thường", "lần", 32_800, True),
    ("service", "03.3826.0219", "Thay băng vết thương chiều dài dưới 15 cm", "lần", 57_600, False),
    ("service", "10.0507.0540", "Phẫu thuật cắt ruột thừa", "lần", 2_774_000, True),
    ("bed", "K03.1917", "Ngày giường bệnh Nội khoa loại 1", "ngày", 245_000, True),
    ("bed", "K03.1918", "Ngày giường bệnh Nội khoa loại 2", "ngày", 218_000, True),
    ("bed", "K19.1926", "Ngày giường bệnh Ngoại khoa loại 1", "ngày", 295_000, True),
    ("bed", "K01.1910", "Ngày giường bệnh Hồi sức cấp cứu", "ngày", 519_000, True),
    ("bed", "K03.1940", "Ngày giường bệnh ban ngày Nội khoa", "ngày", 73_500, True),
    ("drug", "40.17", "Paracetamol 500mg", "viên", 385, False),
    ("drug", "40.155", "Amoxicilin 500mg", "viên", 1_150, False),
    ("drug", "40.677", "Omeprazol 20mg", "viên", 620, False),
    ("drug", "40.521", "Metformin 500mg", "viên", 480, False),
    ("drug", "40.387", "Amlodipin 5mg", "viên", 290, False),
    ("drug", "40.992", "Natri clorid 0,9% 500ml", "chai", 9_870, False),
    ("drug", "40.1015", "Glucose 5% 500ml", "chai", 10_500, True),
    ("drug", "40.203", "Ceftriaxon 1g", "lọ", 18_900, True),
    ("supply", "N03.01.070", "Bơm tiêm nhựa dùng một lần 5ml", "cái", 1_050, False),
    ("supply", "N04.01.010", "Kim luồn tĩnh mạch 22G", "cái", 8_400, True),
    ("supply", "N03.05.010", "Dây truyền dịch", "bộ", 4_600, False),
    ("supply", "N02.03.040", "Găng tay khám", "đôi", 1_900, False),
    ("supply", "N05.02.030", "Ống thông tiểu Foley 2 nhánh", "cái", 19_800, True),
)
HEADER = "kind,code,name,unit,price,valid_from,valid_to,tender"
FIRST, MID_YEAR, NEXT_YEAR = date(2025, 1, 1), date(2025, 7, 1), date(2026, 1, 1)
#: Hospitals of a province priced besides the provincial one; commune stations and clinics priced.
DISTRICT_HOSPITALS, STATIONS = 4, 2


def _rounded(value: float, step: int) -> int:
    return max(step, int(round(value / step)) * step)


def _csv(rows: Iterable[tuple]) -> bytes:
    def cell(value) -> str:
        text = "" if value is None else str(value)
        return f'"{text}"' if "," in text or '"' in text else text

    return ("\n".join([HEADER, *(",".join(cell(v) for v in row) for row in rows)]) + "\n").encode()


def demo_price_lists(seed: int | str, facility: MedicalFacility) -> list[tuple[str, bytes]]:
    """The facility's three lists (file name, CSV content), deterministic for the seed."""
    rng = random.Random(f"{seed}-prices-{facility.code}")
    hospital = facility.level in (FacilityLevel.central, FacilityLevel.provincial, FacilityLevel.district)
    items = [item for item in ITEMS if hospital or not item[5]]
    station = 0.92 if not hospital else 1.0  # a commune station's examination and tests cost a little less
    tender_year = f"QĐ {rng.randint(100, 2999)}/QĐ-SYT;G{rng.randint(1, 5)};N{rng.randint(1, 5)};2024"
    new_tender = f"QĐ {rng.randint(100, 2999)}/QĐ-SYT;G{rng.randint(1, 5)};N{rng.randint(1, 5)};2025"
    base = {}
    first = []
    for kind, code, name, unit, price, _ in items:
        factor = (station if kind == "service" else 1.0) * (rng.uniform(0.95, 1.05) if kind in ("drug", "supply")
                                                            else 1.0)
        base[code] = _rounded(price * factor, 5 if kind == "drug" else 100)
        first.append((kind, code, name, unit, base[code], FIRST.isoformat(), None,
                      tender_year if kind in ("drug", "supply") else None))
    # mid-year: a new tender reprices some drugs, and the bed days go up
    mid = []
    for kind, code, name, unit, *_ in items:
        if (kind == "drug" and rng.random() < 0.5) or kind == "bed":
            price = _rounded(base[code] * rng.uniform(0.88, 0.98), 5) if kind == "drug" else \
                _rounded(base[code] * 1.06, 100)
            base[code] = price
            mid.append((kind, code, name, unit, price, MID_YEAR.isoformat(), None,
                        new_tender if kind == "drug" else None))
    # 2026: the services are repriced upwards
    following = []
    for kind, code, name, unit, *_ in items:
        if kind == "service":
            price = _rounded(base[code] * rng.uniform(1.04, 1.09), 100)
            following.append((kind, code, name, unit, price, NEXT_YEAR.isoformat(), None, None))
    return [(f"bang-gia-{facility.code}-2025.csv", _csv(first)),
            (f"bang-gia-{facility.code}-2025-07.csv", _csv(mid)),
            (f"bang-gia-{facility.code}-2026.csv", _csv(following))]


def priced_facilities(facilities: Iterable[MedicalFacility], required_codes: Iterable[str] = ()) -> list[str]:
    """Which of a province's facilities the demo prices: the provincial hospital, the first district ones, the
    first commune stations or clinics, and the facility users' own."""
    required = set(required_codes)
    chosen, district, stations = [], 0, 0
    for facility in sorted(facilities, key=lambda f: f.code):
        take = facility.code in required or facility.level in (FacilityLevel.central, FacilityLevel.provincial)
        if not take and facility.level == FacilityLevel.district and district < DISTRICT_HOSPITALS:
            district += 1
            take = True
        if not take and facility.level == FacilityLevel.commune and stations < STATIONS:
            stations += 1
            take = True
        if take:
            chosen.append(facility.code)
    return chosen


def load_demo_prices(session: Session, *, seed: int | str, facilities: Iterable[MedicalFacility],
                     required_codes: Iterable[str] = ()) -> dict:
    """Import the demo's price lists of these facilities (see :func:`priced_facilities`) through the service."""
    from ansinh.claims.prices.service import import_price_list

    by_code = {f.code: f for f in facilities}
    lists = items = 0
    for code in priced_facilities(by_code.values(), required_codes):
        for file_name, content in demo_price_lists(seed, by_code[code]):
            if content.count(b"\n") < 2:  # a station without a drug repriced in mid-year: no such list
                continue
            report = import_price_list(session, content=content, file_name=file_name, facility_code=code,
                                       actor="demo-loader", today=NEXT_YEAR)
            if report.status != "applied":  # the demo's own data: a refusal is a bug here
                raise RuntimeError(f"demo price list {file_name}: {report.to_json()}")
            lists += 1
            items += report.created
    return {"price_lists": lists, "prices": items}
