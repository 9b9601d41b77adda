"""Renewals: the health insurance cards and the voluntary social insurance payment cycles of a province that end
next month, by commune — the lists the collection agents work from, and reminders to the citizens.

For the month M of the list (``YYYY-MM``), with N the month after it:

- ``card``: a current, active HI card whose last day (``valid_until``) is in N, of a person not merged away,
  living in the province, who is not covered already on the first day after N (renewed);
- ``voluntary``: a current voluntary SI period paid by the person, in force on N's first day and going on after N,
  whose payment cycle ends with N (the months from its start to N, included, are a multiple of its
  ``payment_months``): the person has paid until N's last day and owes the next cycle.

Set-based: one SELECT per kind (the cycle test on month numbers in SQL), scoped to the caller's org-unit subtree.
Reminders (:func:`send_reminders`) go to the citizens' notices (kinds ``card_renewal`` and ``voluntary_renewal``)
keyed by person, card or period, and month: a second run sends nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import Integer, cast, exists, extract, func, or_, select
from sqlalchemy.orm import Session, aliased

from ansinh.auth.permissions import Principal, org_scope
from ansinh.cards.models import CardStatus, HICard
from ansinh.i18n import N_
from ansinh.notices.models import Notice
from ansinh.outreach.scope import province_for
from ansinh.participation.models import CoveragePeriod, Payer, Scheme
from ansinh.participation.service import active, add_months, month_start
from ansinh.registry.models import Person, Place

KIND_LABELS = {"card": N_("Health insurance card"), "voluntary": N_("Voluntary social insurance")}
COLUMNS = ("kind", "person_id", "si_number", "citizen_id", "full_name", "date_of_birth", "commune_code", "commune",
           "phone", "address", "card_code", "period_id", "card_id", "ends_on")


@dataclass
class RenewalList:
    month: date  # the first day of the month of the list
    province: str
    commune: str | None
    rows: list[dict]

    @property
    def ends_in(self) -> date:
        return add_months(self.month, 1)

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for r in self.rows if r["kind"] == kind) for kind in KIND_LABELS}

    def by_commune(self) -> list[dict]:
        table: dict[tuple, dict] = {}
        for row in self.rows:
            entry = table.setdefault((row["commune_code"] or "", row["commune"]),
                                     {"commune_code": row["commune_code"], "commune": row["commune"], "card": 0,
                                      "voluntary": 0})
            entry[row["kind"]] += 1
        return [table[k] for k in sorted(table)]

    def to_json(self) -> dict:
        return {"month": f"{self.month:%Y-%m}", "ends_in": f"{self.ends_in:%Y-%m}", "province": self.province,
                "commune": self.commune, "total": len(self.rows), "counts": self.counts(),
                "by_commune": self.by_commune(),
                "rows": [{**r, "date_of_birth": r["date_of_birth"].isoformat(), "ends_on": r["ends_on"].isoformat()}
                         for r in self.rows]}


def _month_index(column):
    return cast(extract("year", column), Integer) * 12 + cast(extract("month", column), Integer)


def _person_conditions(principal: Principal | None, province: str, commune: str | None) -> list:
    conditions = [Person.merged_into_id.is_(None), Person.province_2025 == province]
    if principal is not None and principal.org_unit_level != "national":
        conditions.append(org_scope(principal, Person.org_unit_id))
    if commune:
        conditions.append(Place.code == commune)
    return conditions


def _person_columns():
    return (Person.id, Person.si_number, Person.citizen_id, Person.full_name, Person.date_of_birth,
            Place.code, Place.name, Person.phone, Person.address)


def renewals_due(session: Session, principal: Principal | None, *, province: str | None, month: date,
                 commune: str | None = None) -> RenewalList:
    """The cards and voluntary cycles of ``province`` (officers: their own) ending in the month after ``month``
    (module docstring), by commune code, name and id. Not audited here: :func:`audit_renewals`."""
    province = province_for(session, principal, province, required=True)
    commune = (commune or "").strip() or None
    first = month_start(month)
    next_first = add_months(first, 1)
    after = add_months(first, 2)
    next_last = after - timedelta(days=1)
    people = _person_conditions(principal, province, commune)

    renewed = exists(active(select(CoveragePeriod.id).where(CoveragePeriod.person_id == HICard.person_id,
                                                            CoveragePeriod.scheme == Scheme.hi), after))
    cards = (select(*_person_columns(), HICard.card_code, HICard.id, HICard.valid_until)
             .join(Person, Person.id == HICard.person_id)
             .outerjoin(Place, Place.id == Person.residence_place_id)
             .where(HICard.superseded_at.is_(None), HICard.status == CardStatus.active,
                    HICard.valid_until >= next_first, HICard.valid_until <= next_last, ~renewed, *people))
    rows = [{"kind": "card", "person_id": r[0], "si_number": r[1], "citizen_id": r[2], "full_name": r[3],
             "date_of_birth": r[4], "commune_code": r[5], "commune": r[6], "phone": r[7], "address": r[8],
             "card_code": r[9], "card_id": r[10], "period_id": None, "ends_on": r[11]}
            for r in session.execute(cards)]

    cp = aliased(CoveragePeriod)
    months = func.coalesce(cp.payment_months, 1)
    cycle_ends = ((next_first.year * 12 + next_first.month + 1 - _month_index(cp.valid_from)) % months) == 0
    voluntary = (select(*_person_columns(), cp.id)
                 .select_from(cp).join(Person, Person.id == cp.person_id)
                 .outerjoin(Place, Place.id == Person.residence_place_id)
                 .where(cp.scheme == Scheme.si_voluntary, cp.payer == Payer.self, cp.superseded_at.is_(None),
                        cp.valid_from <= next_first, or_(cp.valid_to.is_(None), cp.valid_to > after),
                        cycle_ends, *people))
    rows += [{"kind": "voluntary", "person_id": r[0], "si_number": r[1], "citizen_id": r[2], "full_name": r[3],
              "date_of_birth": r[4], "commune_code": r[5], "commune": r[6], "phone": r[7], "address": r[8],
              "card_code": None, "card_id": None, "period_id": r[9], "ends_on": next_last}
             for r in session.execute(voluntary)]
    rows.sort(key=lambda r: (r["commune_code"] or "~", r["full_name"], r["person_id"], r["kind"]))
    return RenewalList(month=first, province=province, commune=commune, rows=rows)


def notice_key(row: dict, month: date) -> str:
    """One reminder per person, card (or voluntary period) and month of the list."""
    if row["kind"] == "card":
        return f"card_renewal:{row['person_id']}:{row['card_id']}:{month:%Y-%m}"
    return f"voluntary_renewal:{row['person_id']}:{row['period_id']}:{month:%Y-%m}"


def send_reminders(session: Session, listing: RenewalList, *, on: date) -> dict[str, int]:
    """A notice to each person listed (idempotent by :func:`notice_key`): ``{"sent": new, "already": sent by an
    earlier run}``."""
    from ansinh.notices.service import send_notice

    keys = {notice_key(row, listing.month): row for row in listing.rows}
    known = set()
    wanted = sorted(keys)
    for start in range(0, len(wanted), 1000):
        known |= set(session.scalars(select(Notice.key).where(Notice.key.in_(wanted[start:start + 1000]))))
    sent = 0
    for key in wanted:
        if key in known:
            continue
        row = keys[key]
        if row["kind"] == "card":
            send_notice(session, kind="card_renewal", key=key, on=on, person_id=row["person_id"],
                        person_ref=row["si_number"], link="/me/card",
                        params={"card_number": row["card_code"], "valid_to": row["ends_on"]})
        else:
            send_notice(session, kind="voluntary_renewal", key=key, on=on, person_id=row["person_id"],
                        person_ref=row["si_number"], params={"paid_until": row["ends_on"]})
        sent += 1
    return {"sent": sent, "already": len(known)}


def audit_renewals(session: Session, principal: Principal | None, listing: RenewalList, *, what: str) -> None:
    from ansinh.registry.service import record_people_listed

    people = {row["person_id"]: row["si_number"] for row in listing.rows}
    record_people_listed(session, principal, [SimpleNamespace(id=k, si_number=v) for k, v in people.items()],
                         what=what, total=len(people),
                         query={"month": f"{listing.month:%Y-%m}", "province": listing.province,
                                "commune": listing.commune})


XLSX_COLUMNS = (("kind", "Loại", "Kind", 22), ("citizen_id", "Số định danh", "Citizen ID", 14),
                ("si_number", "Mã số BHXH", "SI number", 12), ("full_name", "Họ và tên", "Full name", 26),
                ("date_of_birth", "Ngày sinh", "Date of birth", 12), ("commune", "Xã, phường", "Commune", 20),
                ("phone", "Điện thoại", "Phone", 12), ("address", "Địa chỉ", "Address", 30),
                ("card_code", "Mã thẻ BHYT", "HI card", 16), ("ends_on", "Hết hạn / đóng đến", "Ends on", 14))


def renewals_xlsx(listing: RenewalList) -> bytes:
    """Sheet ``renewals``: a bilingual header, one row per card or cycle (Vietnamese, the agents' language)."""
    from ansinh import formatting
    from ansinh.i18n import gettext, use_locale
    from ansinh.outreach.service import AgentList

    with use_locale("vi"):
        out = AgentList("renewals", "Danh sách đến hạn gia hạn / Renewals due",
                        f"Hết hạn trong tháng / Ending in: {listing.ends_in:%m/%Y} · Tỉnh / Province: "
                        f"{listing.province}{' · Xã / Commune: ' + listing.commune if listing.commune else ''}",
                        XLSX_COLUMNS)
        for number, row in enumerate(listing.rows, start=4):
            label = KIND_LABELS[row["kind"]]  # a variable: babel would take the "kind" key for a message
            values = {**row, "kind": gettext(label),
                      "date_of_birth": formatting.day(row["date_of_birth"], "vi"),
                      "ends_on": formatting.day(row["ends_on"], "vi")}
            out.write_row(number, {k: None if v is None else str(v) for k, v in values.items()})
    return out.close()


