"""Derives tests/rules/cases/contributions.yaml. Independent hand calculation of compulsory contributions (does not import ansinh): the figures below are
copied from the laws and decrees, and the arithmetic is plain Python on Fractions."""
from fractions import Fraction as F
from datetime import date
import yaml

def base(on):
    for d, v in [(date(2026,7,1),2530000),(date(2024,7,1),2340000),(date(2023,7,1),1800000),(date(2019,7,1),1490000),(date(2018,7,1),1390000)]:
        if on >= d: return v
RMW = [(date(2026,1,1),{"I":5310000,"II":4730000,"III":4140000,"IV":3700000}),
       (date(2024,7,1),{"I":4960000,"II":4410000,"III":3860000,"IV":3450000}),
       (date(2022,7,1),{"I":4680000,"II":4160000,"III":3640000,"IV":3250000}),
       (date(2020,1,1),{"I":4420000,"II":3920000,"III":3430000,"IV":3070000}),
       (date(2019,1,1),{"I":4180000,"II":3710000,"III":3250000,"IV":2920000})]
def rmw(on, r):
    for d, v in RMW:
        if on >= d: return v[r]
def rh(x): return int((F(x)*2+1)//2)
def calc(salary, on, region, sector="private"):
    b, m = base(on), rmw(on, region)
    new_si_law = on >= date(2025,7,1); new_ui_law = on >= date(2026,1,1)
    floor = b if (new_si_law or sector == "state") else m
    si_cap = hi_cap = 20*b
    ui_cap = 20*m if (sector == "private" or new_ui_law) else 20*b
    s = max(salary, floor)
    si, hi, ui = min(s, si_cap), min(s, hi_cap), min(s, ui_cap)
    er = {"retirement": rh(si*F("0.14")), "sickness_maternity": rh(si*F("0.03")), "occupational": rh(si*F("0.005")),
          "health": rh(hi*F("0.03")), "unemployment": rh(ui*F("0.01"))}
    ee = {"retirement": rh(si*F("0.08")), "sickness_maternity": 0, "occupational": 0,
          "health": rh(hi*F("0.015")), "unemployment": rh(ui*F("0.01"))}
    er["total"] = sum(er.values()); ee["total"] = sum(ee.values())
    return {"insured_salary": {"si": si, "hi": hi, "ui": ui}, "employer": er, "employee": ee, "total": er["total"]+ee["total"]}, (floor, si_cap, ui_cap)

def main() -> None:
    SRC = ("Rates: Law 58/2014 Art 85-86 / Law 41/2024 Art 33-34 (14%+8% retirement, 3% sickness-maternity), Decree 58/2020 "
           "Art 4 (0.5% occupational), Decree 146/2018 Art 7 (3%+1.5% HI), Law 38/2013 Art 57 / Decree 374/2025 Art 4 (1%+1% UI).")
    rows = [
     ("Private worker, region I, 10,000,000 in January 2025", 10_000_000, date(2025,1,15), "I", "private", "the standard 21.5% + 10.5% split"),
     ("Private worker, region III, 7,500,000 in March 2024", 7_500_000, date(2024,3,10), "III", "private", ""),
     ("Salary above the SI/HI cap in January 2025 (20 × 2,340,000 = 46,800,000)", 60_000_000, date(2025,1,15), "I", "private", "SI and HI capped at 46,800,000; UI cap 20 × 4,960,000 = 99,200,000 not reached"),
     ("Cap on the last day of 2,340,000 (2026-06-30)", 100_000_000, date(2026,6,30), "I", "private", "SI/HI cap 46,800,000; UI cap 20 × 5,310,000 = 106,200,000"),
     ("Cap from 2026-07-01 (20 × 2,530,000 = 50,600,000)", 100_000_000, date(2026,7,1), "I", "private", "Decree 161/2026 base salary"),
     ("UI cap, private, region IV, 2025 (20 × 3,450,000 = 69,000,000)", 120_000_000, date(2025,3,1), "IV", "private", "Law 38/2013 Art 58(2)"),
     ("UI cap, state pay, 2025-12-31 (20 × base salary = 46,800,000)", 60_000_000, date(2025,12,31), "I", "state", "Law 38/2013 Art 58(1)"),
     ("UI cap, state pay, 2026-01-01: 20 × regional minimum wage (106,200,000)", 60_000_000, date(2026,1,1), "I", "state", "Law 74/2025 Art 34(2)"),
     ("Below the floor before 2025-07-01: raised to the regional minimum wage 4,960,000", 3_000_000, date(2025,6,30), "I", "private", "floor = regional minimum wage (QĐ 595 practice)"),
     ("Below the floor from 2025-07-01: the floor is the reference level 2,340,000", 2_000_000, date(2025,7,1), "I", "private", "Law 41/2024 Art 31(1)(đ)"),
     ("A salary of 3,000,000 in July 2025 is above the new floor and stays", 3_000_000, date(2025,7,15), "II", "private", "Law 41/2024 Art 31(1)(đ)"),
     ("State pay below the base salary in 2024: floor 2,340,000", 1_000_000, date(2024,8,1), "II", "state", "state pay scale coefficient ≥ 1"),
     ("Cap in March 2019 (20 × 1,390,000 = 27,800,000; UI 20 × 4,180,000)", 100_000_000, date(2019,3,1), "I", "private", "Decree 72/2018, Decree 157/2018"),
     ("Cap from 2019-07-01 (20 × 1,490,000 = 29,800,000)", 40_000_000, date(2019,7,1), "II", "private", "Decree 38/2019"),
     ("Floor in 2019, region IV: 2,920,000", 2_500_000, date(2019,12,31), "IV", "private", "Decree 157/2018"),
     ("Floor from 2020-01-01, region I: 4,420,000", 4_000_000, date(2020,1,1), "I", "private", "Decree 90/2019"),
     ("Occupational rate before Decree 58/2020 (2020-07-14)", 8_000_000, date(2020,7,14), "I", "private", "Decree 44/2017: 0.5%"),
     ("Occupational rate from Decree 58/2020 (2020-07-15)", 8_000_000, date(2020,7,15), "I", "private", "Decree 58/2020 Art 4(1)(a): 0.5%"),
     ("Floor from 2022-07-01, region II: 4,160,000", 4_000_000, date(2022,7,1), "II", "private", "Decree 38/2022"),
     ("Region II worker on 2022-06-30: floor 3,920,000", 4_000_000, date(2022,6,30), "II", "private", "Decree 90/2019"),
     ("Cap from 2023-07-01 (20 × 1,800,000 = 36,000,000)", 50_000_000, date(2023,7,1), "I", "private", "Decree 24/2023"),
     ("Cap on 2023-06-30 (29,800,000)", 50_000_000, date(2023,6,30), "I", "private", "Decree 38/2019"),
     ("Floor from 2024-07-01, region III: 3,860,000", 3_500_000, date(2024,7,1), "III", "private", "Decree 74/2024"),
     ("HI rate under Decree 188/2025 (from 2025-08-15)", 12_000_000, date(2025,9,1), "I", "private", "Decree 188/2025 keeps 4.5%"),
     ("HI rate on 2025-08-14 under Decree 146/2018", 12_000_000, date(2025,8,14), "I", "private", "Decree 146/2018 Art 7"),
     ("UI under Law 74/2025 and Decree 374/2025 (2026-03)", 15_000_000, date(2026,3,1), "II", "private", "Decree 374/2025 Art 4: 1% + 1%"),
     ("UI cap region IV from 2026 (20 × 3,700,000 = 74,000,000)", 80_000_000, date(2026,2,1), "IV", "private", "Decree 293/2025"),
     ("Rounding halves up: 3,450,100 × 1.5% = 51,751.5 → 51,752", 3_450_100, date(2025,3,1), "IV", "private", "rounding to the dong, halves up"),
     ("Rounding: 4,960,001 × 0.5% = 24,800.005 → 24,800", 4_960_001, date(2025,3,1), "I", "private", "rounding to the dong"),
     ("A zero salary is raised to the floor (region III, 2025-02)", 0, date(2025,2,1), "III", "private", "floor = 3,860,000"),
     ("State pay in 2026 after the base salary rise: 5,000,000", 5_000_000, date(2026,8,1), "I", "state", "coefficient 1.98 × 2,530,000 ≈ 5,009,400; here 5,000,000"),
     ("Hà Nội office worker, 25,000,000, October 2026", 25_000_000, date(2026,10,1), "I", "private", "no cap reached"),
    ]
    cases = []
    for name, salary, on, region, sector, note in rows:
        expected, (floor, si_cap, ui_cap) = calc(salary, on, region, sector)
        inp = {"salary": salary, "on": on.isoformat(), "region": region}
        if sector != "private": inp["sector"] = sector
        work = (f"worked by hand: floor {floor:,}, SI/HI cap {si_cap:,}, UI cap {ui_cap:,}; insured SI {expected['insured_salary']['si']:,}, "
                f"HI {expected['insured_salary']['hi']:,}, UI {expected['insured_salary']['ui']:,}; each share rounded to the dong, halves up.")
        cases.append({"name": name, "calculator": "contributions", "date": on.isoformat(), "input": inp, "expected": expected,
                      "source": f"{SRC} {note}. {work}".replace(" . ", " ")})
    cases += [
     {"name": "Unknown region", "calculator": "contributions", "date": "2025-01-15", "input": {"salary": 10_000_000, "on": "2025-01-15", "region": "V"}, "error": {"field": "region"}, "source": "Regions I-IV (Decree 74/2024 Art 3)"},
     {"name": "Negative salary", "calculator": "contributions", "date": "2025-01-15", "input": {"salary": -1, "on": "2025-01-15", "region": "I"}, "error": {"field": "salary"}, "source": "an amount cannot be negative"},
     {"name": "Date before the first regional minimum wage in the rules (2019-01-01)", "calculator": "contributions", "date": "2017-12-31", "input": {"salary": 5_000_000, "on": "2017-12-31", "region": "I"}, "error": {"field": "on"}, "source": "the regional minimum wage parameters start with Decree 157/2018 (2019-01-01)"},
     {"name": "Unknown sector", "calculator": "contributions", "date": "2025-01-15", "input": {"salary": 5_000_000, "on": "2025-01-15", "region": "I", "sector": "military"}, "error": {"field": "sector"}, "source": "sector is private or state"},
     {"name": "Absurd salary (above 10^12 dong)", "calculator": "contributions", "date": "2025-01-15", "input": {"salary": 10**13, "on": "2025-01-15", "region": "I"}, "error": {"field": "salary"}, "source": "amounts are limited to 10^12 dong"},
    ]
    open(__import__("pathlib").Path(__file__).resolve().parents[1] / "tests/rules/cases/contributions.yaml", "w").write(
        "# Compulsory contributions: worked examples. Expected values were computed by hand from the figures of the\n"
        "# laws and decrees cited in each case (see the source line), not by running ansinh.\n" +
        yaml.safe_dump(cases, allow_unicode=True, sort_keys=False, width=120))
    print(len(cases))


if __name__ == "__main__":
    main()
