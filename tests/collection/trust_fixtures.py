"""Two provinces' collection, for the tests of scope, bounds and races: Hà Nội (a province office and a local
office under it) and Sơn La, each with an employer, bills, a matched payment and a payment in suspense on the
province's own receiving account; and a payment in suspense on a national account (no province).

Data are built through the services (registry, payments); bills with their postings as a billing run writes
them (``arrears_fixtures.make_bill``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ansinh.auth.models import OrgUnit, Role
from ansinh.collection import payments
from tests.collection.arrears_fixtures import make_bill, make_employer

#: Receiving accounts: the first Hà Nội's (01), the second Sơn La's (14), the third national.
HANOI_ACCOUNT, SONLA_ACCOUNT, NATIONAL_ACCOUNT = "113000006100", "12010000660099", "1500201099999"
ACCOUNTS = f"970415:{HANOI_ACCOUNT}:01,970418:{SONLA_ACCOUNT}:14,970405:{NATIONAL_ACCOUNT}"
PAID_ON = date(2025, 3, 10)
TODAY = date(2025, 4, 20)
JAN, FEB = date(2025, 1, 1), date(2025, 2, 1)


@dataclass
class Books:
    hanoi_employer: int
    local_employer: int  # under the local office (Ba Đình)
    sonla_employer: int
    hanoi_bills: list[int]
    sonla_bills: list[int]
    hanoi_paid: int  # a matched payment of the Hà Nội employer
    sonla_paid: int
    hanoi_waiting: int  # in suspense on Hà Nội's account
    sonla_waiting: int
    national_waiting: int  # in suspense on a national account


def make_books(session, org) -> Books:
    hanoi, office, sonla = (session.get(OrgUnit, unit.id)
                            for unit in (org.hanoi, org.hanoi_office, org.sonla))
    employers = {"hn": make_employer(session, hanoi, "Công ty Hà Nội"),
                 "local": make_employer(session, office, "Công ty Ba Đình"),
                 "sl": make_employer(session, sonla, "Hợp tác xã Sơn La")}
    bills: dict[str, list] = {}
    for name, unit, province in (("hn", hanoi, "01"), ("local", office, "01"), ("sl", sonla, "14")):
        employer = employers[name]
        bills[name] = [make_bill(session, payer_key=f"E:{employer.id}", period=month,
                                 due=month.replace(day=28), total=10_000_000, unit=unit, province=province,
                                 employer_id=employer.id) for month in (JAN, FEB)]

    def receive(txn: str, account: str, text: str, amount: int = 4_000_000) -> int:
        return payments.record_payment(session, bank_transaction_id=txn, paid_on=PAID_ON, amount=amount,
                                       reference_text=text, receiving_account=account, on=TODAY).id

    return Books(
        hanoi_employer=employers["hn"].id, local_employer=employers["local"].id,
        sonla_employer=employers["sl"].id,
        hanoi_bills=[b.id for b in bills["hn"]], sonla_bills=[b.id for b in bills["sl"]],
        hanoi_paid=receive("HN-PAID", HANOI_ACCOUNT, f"MST {employers['hn'].tax_code} nop BHXH"),
        sonla_paid=receive("SL-PAID", SONLA_ACCOUNT, f"MST {employers['sl'].tax_code} nop BHXH"),
        hanoi_waiting=receive("HN-WAIT", HANOI_ACCOUNT, "chuyen tien"),
        sonla_waiting=receive("SL-WAIT", SONLA_ACCOUNT, "chuyen tien"),
        national_waiting=receive("VN-WAIT", NATIONAL_ACCOUNT, "chuyen tien"))


USERS = {"hn.local": ("hanoi_office", Role.district_officer), "hn.tinh": ("hanoi", Role.provincial_officer),
         "sl.tinh": ("sonla", Role.provincial_officer), "vn.quantri": ("national", Role.administrator)}


def make_users(make_user, org) -> None:
    for username, (unit, role) in USERS.items():
        make_user(username, getattr(org, unit), role)
