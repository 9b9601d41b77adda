"""The demo's employers online: each demo employer (the ``*.donvi`` users' own, with their staff, a year of bills
and payments from ``synth.stories`` and ``synth.collection``) registered for electronic transactions a year ago,
its first account marked its administrator, and a second account for its accounting (``*.ketoan``), through the
services of :mod:`ansinh.portal.employer`.

Deterministic for a seed: the accountants' passwords come from it (printed once by ``ansinh demo load``).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ansinh.auth.models import Role, User
from ansinh.auth.service import principal_for
from ansinh.portal.employer import service
from ansinh.portal.employer.models import Duty, EmployerUserDuty
from ansinh.registry.models import Employer
from ansinh.synth.demo import DemoPlan


@dataclass(frozen=True)
class EmployerAccountPlan:
    username: str
    password: str
    full_name: str
    duty: str
    tax_code: str


def accountant_of(plan: DemoPlan, user) -> EmployerAccountPlan:
    rng = random.Random(f"{plan.seed}/employer-portal/{user.username}")
    password = "Demo-" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(12))
    from ansinh.synth.population import vietnamese_name

    username = user.username.rsplit(".", 1)[0] + ".ketoan"
    return EmployerAccountPlan(username, password, vietnamese_name(rng, female=rng.random() < 0.5),
                               Duty.accounting.value, user.subject_ref)


def load_demo_employer_portal(session: Session, plan: DemoPlan, *, today: date) -> list[EmployerAccountPlan]:
    """Register each demo employer for electronic transactions (a year before ``today``), mark its account its
    administrator and add its accountant. Returns the accounts added (to print their passwords)."""
    added = []
    registered_on = date(today.year - 1, today.month, 1)
    for user in plan.users:
        if Role.employer not in user.roles:
            continue
        employer = session.scalar(select(Employer).where(Employer.tax_code == user.subject_ref))
        admin = session.scalar(select(User).where(User.username == user.username))
        if employer is None or admin is None:
            continue
        service.register_e_transactions(session, employer, contact_name=user.full_name,
                                        email=f"{user.username}@example.vn", phone="0243" + user.subject_ref[-7:],
                                        on=registered_on, by=user.username)
        if session.get(EmployerUserDuty, admin.id) is None:
            session.add(EmployerUserDuty(user_id=admin.id, employer_id=employer.id, duty=Duty.administrator,
                                         created_by="demo-loader"))
            session.flush()
        accountant = accountant_of(plan, user)
        account = service.employer_account(session, principal_for(admin))
        service.add_employer_user(session, account, username=accountant.username, full_name=accountant.full_name,
                                  password=accountant.password, duty=accountant.duty)
        added.append(accountant)
    return added
