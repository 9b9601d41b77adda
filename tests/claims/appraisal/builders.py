"""Small hand-made batches for the appraisal rules.

``claim(...)`` and ``line(...)`` give one row each, valid by default (an outpatient examination at facility 01001 on
2026-03-10, person 1 with card DN4010000000001, an examination fee at its approved price); ``batch(claims, lines)``
adds the registry, facilities, prices and ICD-10 catalogue that make every default pass, unless given. A claim's
summary amounts are the sums of its lines unless the claim sets them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from ansinh.claims.appraisal.engine import AppraisalBatch

DAY = date(2026, 3, 10)
FACILITY = "01001"
BIRTH = date(1980, 5, 1)
KNOWN_ICD = frozenset({"J06.9", "I10", "E11.9", "K29.7", "J18.9", "S72.0", "A09"})
EXAM_CODE = "02.1896"  # an examination (cost group 13)
EXAM_PRICE = 38_700


def card_code(person_id: int, digit: int = 4, group: str = "DN") -> str:
    return f"{group}{digit}01{person_id:010d}"


def at(day: date = DAY, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute)


def claim(claim_id: int = 1, *, person_id: int | None = 1, day: date = DAY, **values) -> dict:
    """An outpatient examination (care type 01, visit category 1.1); ``values`` override any column."""
    row = {
        "claim_id": claim_id, "facility_code": FACILITY, "person_id": person_id,
        "card_code": card_code(person_id or 99), "date_of_birth": BIRTH, "visit_category": "1.1", "care_type": "01",
        "main_icd": "J06.9", "other_icd": None, "arrived_at": at(day, 8), "admitted_at": None,
        "discharged_at": at(day, 9), "treatment_days": 0, "other_sources": 0, "patient_pays": 0,
    }
    row.update(values)
    return row


def inpatient(claim_id: int = 1, *, days: int = 3, person_id: int | None = 1, day: date = DAY, **values) -> dict:
    """An inpatient stay (care type 03) from ``day`` 08:00 to ``day + days`` 10:00."""
    end = day + timedelta(days=days)
    row = claim(claim_id, person_id=person_id, day=day, care_type="03", admitted_at=at(day, 9),
                discharged_at=at(end, 10), treatment_days=days + 1)
    row.update(values)
    return row


def line(line_id: int = 1, claim_id: int = 1, *, kind: str = "service", code: str = EXAM_CODE, price: int = EXAM_PRICE,
         quantity: float = 1, benefit: int = 80, rate: int = 100, cost_group: str | None = "13",
         when: datetime | None = None, **values) -> dict:
    """A line at ``price`` (dong) × ``quantity``, paid at ``rate``% × ``benefit``%; amounts derived."""
    quantity_milli = round(quantity * 1000)
    hospital = price * quantity_milli // 1000
    insured = hospital * rate // 100
    fund = insured * benefit // 100
    row = {"line_id": line_id, "claim_id": claim_id, "kind": kind, "code": code, "cost_group": cost_group,
           "quantity_milli": quantity_milli, "unit_price_milli": price * 1000, "payment_rate": rate,
           "benefit_pct": benefit, "hospital_amount": hospital, "insured_amount": insured, "fund_amount": fund,
           "ordered_at": when, "performed_at": when}
    row.update(values)
    return row


def bed(line_id: int, claim_id: int = 1, *, days: float = 1, price: int = 200_000, **values) -> dict:
    return line(line_id, claim_id, kind="bed", code="K01.1941", price=price, quantity=days, cost_group="14",
                **values)


def drug(line_id: int, claim_id: int = 1, *, price: int = 1_500, quantity: float = 10, code: str = "40.17",
         **values) -> dict:
    return line(line_id, claim_id, kind="drug", code=code, price=price, quantity=quantity, cost_group="4", **values)


def with_totals(claims: list[dict], lines: list[dict]) -> list[dict]:
    """Each claim's summary amounts: the sums of its lines, unless the claim gives them."""
    done = []
    for row in claims:
        own = [item for item in lines if item["claim_id"] == row["claim_id"]]
        hospital = sum(item["hospital_amount"] for item in own)
        insured = sum(item["insured_amount"] for item in own)
        fund = sum(item["fund_amount"] for item in own)
        defaults = {"total_hospital": hospital, "total_insured": insured, "fund_claimed": fund,
                    "patient_copay": insured - fund}
        done.append({**defaults, **row})
    return done


def people_of(claims: list[dict]) -> pl.DataFrame:
    ids = sorted({row["person_id"] for row in claims if row["person_id"] is not None})
    return pl.DataFrame({"person_id": ids, "date_of_birth": [BIRTH] * len(ids)},
                        schema={"person_id": pl.Int64, "date_of_birth": pl.Date})


def cards_of(claims: list[dict]) -> pl.DataFrame:
    ids = sorted({row["person_id"] for row in claims if row["person_id"] is not None})
    return pl.DataFrame({"person_id": ids, "card_code": [card_code(i) for i in ids],
                         "valid_from": [date(2025, 1, 1)] * len(ids), "valid_until": [date(2026, 12, 31)] * len(ids),
                         "status": ["active"] * len(ids), "superseded_on": [None] * len(ids),
                         "five_years_from": [None] * len(ids)},
                        schema={"person_id": pl.Int64, "card_code": pl.String, "valid_from": pl.Date,
                                "valid_until": pl.Date, "status": pl.String, "superseded_on": pl.Date,
                                "five_years_from": pl.Date})


def coverage_of(claims: list[dict]) -> pl.DataFrame:
    ids = sorted({row["person_id"] for row in claims if row["person_id"] is not None})
    return pl.DataFrame({"person_id": ids, "valid_from": [date(2025, 1, 1)] * len(ids), "valid_to": [None] * len(ids)},
                        schema={"person_id": pl.Int64, "valid_from": pl.Date, "valid_to": pl.Date})


def facilities_of(claims: list[dict], *, level_2025: str = "basic", former_level: str = "district",
                  score: int | None = 72, provisional: bool = False, health_station: bool = False,
                  contract: bool = True) -> pl.DataFrame:
    keys = sorted({(row["facility_code"], row["arrived_at"].date()) for row in claims})
    n = len(keys)
    return pl.DataFrame({"facility_code": [k[0] for k in keys], "on": [k[1] for k in keys], "contract": [contract] * n,
                         "level_2025": [level_2025] * n, "former_level": [former_level] * n, "score": [score] * n,
                         "provisional": [provisional] * n, "health_station": [health_station] * n},
                        schema={"facility_code": pl.String, "on": pl.Date, "contract": pl.Boolean,
                                "level_2025": pl.String, "former_level": pl.String, "score": pl.Int64,
                                "provisional": pl.Boolean, "health_station": pl.Boolean})


def prices_of(claims: list[dict], lines: list[dict]) -> pl.DataFrame:
    """Every item of the lines at its facility, approved at the line's own unit price from 2025-01-01."""
    facility = {row["claim_id"]: row["facility_code"] for row in claims}
    items = sorted({(facility[item["claim_id"]], item["kind"], item["code"], item["unit_price_milli"] // 1000)
                    for item in lines})
    best: dict[tuple, int] = {}
    for code, kind, item, price in items:  # one price per item: the lowest of the lines
        best[(code, kind, item)] = min(price, best.get((code, kind, item), price))
    keys = sorted(best)
    return pl.DataFrame({"facility_code": [k[0] for k in keys], "kind": [k[1] for k in keys],
                         "code": [k[2] for k in keys], "price": [best[k] for k in keys],
                         "valid_from": [date(2025, 1, 1)] * len(keys), "in_force_until": [None] * len(keys)},
                        schema={"facility_code": pl.String, "kind": pl.String, "code": pl.String, "price": pl.Int64,
                                "valid_from": pl.Date, "in_force_until": pl.Date})


def icd_known(codes: pl.Series) -> pl.Series:
    return codes.is_in(sorted(KNOWN_ICD))


_DEFAULT = object()


def batch(claims: list[dict], lines: list[dict], *, people=_DEFAULT, cards=_DEFAULT, coverage=_DEFAULT,
          facilities=_DEFAULT, prices=_DEFAULT, icd=_DEFAULT, history=None, **facility_args) -> AppraisalBatch:
    claims = with_totals(claims, lines)
    claim_frame = pl.DataFrame(claims, infer_schema_length=None)
    line_frame = pl.DataFrame(lines, infer_schema_length=None) if lines else pl.DataFrame(
        schema={"line_id": pl.Int64, "claim_id": pl.Int64, "fund_amount": pl.Int64})
    return AppraisalBatch(
        claims=claim_frame, lines=line_frame,
        people=people_of(claims) if people is _DEFAULT else people,
        cards=cards_of(claims) if cards is _DEFAULT else cards,
        coverage=coverage_of(claims) if coverage is _DEFAULT else coverage,
        facilities=facilities_of(claims, **facility_args) if facilities is _DEFAULT else facilities,
        prices=prices_of(claims, lines) if prices is _DEFAULT else prices,
        icd_known=icd_known if icd is _DEFAULT else icd,
        history=None if history is None else pl.DataFrame(history, infer_schema_length=None),
    )
