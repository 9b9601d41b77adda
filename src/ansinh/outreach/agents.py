"""Collection agents: post offices and commune agents who collect voluntary social insurance and household health
insurance for the agency, what each collected per month and the commission it earns.

An agent's collection is a payment (:func:`ansinh.collection.payments.record_payment`: matched to the bill's payer
by the bill's reference, allocated, posted to the ledger as every payment) linked to the agent
(:class:`~ansinh.outreach.models.AgentCollection`). Its bank transaction ID is ``AG:<agent code>:<receipt>``: the
same receipt recorded again is the same payment (nothing changes); with another amount or date it is a conflict.
Only a voluntary SI or household HI bill of the agent's province may be collected by an agent.

Commission (per agent, month and scheme): the amount collected in the month (payments not reversed) × the rate of
``outreach.agent_commission_rate`` for the scheme in force on the month's first day, rounded half up to the dong.
One aggregate query (GROUP BY agent, scheme, month) gives the amounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh.auth.permissions import Principal, org_scope
from ansinh.collection.models import Bill, Payment
from ansinh.errors import Conflict, NotFound, ValidationFailed
from ansinh.i18n import N_
from ansinh.outreach.models import AGENT_KINDS, AgentCollection, CollectionAgent
from ansinh.outreach.scope import ensure_record_in_scope, ensure_staff, province_for, province_office
from ansinh.participation.service import month_start
from ansinh.rules.money import apply_ratio
from ansinh.rules.parameters import ParameterSet, get_parameters

AGENT_KIND_LABELS = {"post_office": N_("Post office"), "commune_agent": N_("Commune agent")}
AGENT_SCHEME_LABELS = {"voluntary_si": N_("Voluntary social insurance"), "household_hi": N_("Household health insurance")}
#: The bills an agent may collect, by payer type → the scheme of the commission.
BILL_SCHEMES = {"voluntary": "voluntary_si", "household": "household_hi"}
_CODE = re.compile(r"^[0-9A-Za-z._-]{1,20}$")
_RECEIPT = re.compile(r"^[0-9A-Za-z./_-]{1,30}$")
AGENT_NOT_FOUND = N_("Collection agent not found.")


@dataclass
class AgentData:
    code: str
    name: str
    kind: str
    province: str | None = None
    commune: str | None = None


def create_agent(session: Session, principal: Principal | None, data: AgentData) -> CollectionAgent:
    """A new agent of the caller's province (national staff and the command line: the one named)."""
    code = (data.code or "").strip()
    if not _CODE.match(code):
        raise ValidationFailed("code", "A code of 1 to 20 letters, digits, dots, dashes or underscores is required.")
    name = (data.name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("name", "A name of 1 to 200 characters is required.")
    if data.kind not in AGENT_KINDS:
        raise ValidationFailed("kind", "The kind is one of {accepted}.", accepted=", ".join(AGENT_KINDS))
    province = province_for(session, principal, data.province, required=True)
    commune = (data.commune or "").strip() or None
    if commune is not None:
        from ansinh.registry.models import PlaceLevel, Structure
        from ansinh.registry.places import find_place

        place = find_place(session, Structure.from_2025, PlaceLevel.commune, commune)
        if place is None or place.province_code != province:
            raise ValidationFailed("commune", "{value} is not a commune of province {province}.", value=commune,
                                   province=province)
    if session.scalar(select(CollectionAgent.id).where(CollectionAgent.code == code)) is not None:
        raise Conflict("An agent with code {code} exists already.", code=code)
    agent = CollectionAgent(code=code, name=name, kind=data.kind, province_2025=province, commune_code=commune,
                            org_unit_id=province_office(session, principal, province).id, active=True)
    session.add(agent)
    session.flush()
    return agent


def agents_query(session: Session, principal: Principal | None, province: str | None = None):
    stmt = select(CollectionAgent)
    if principal is not None and principal.org_unit_level != "national":
        stmt = stmt.where(org_scope(principal, CollectionAgent.org_unit_id))
    if province:
        stmt = stmt.where(CollectionAgent.province_2025 == province)
    return stmt


def list_agents(session: Session, principal: Principal | None, *, province: str | None = None
                ) -> list[CollectionAgent]:
    ensure_staff(principal)
    province = province_for(session, principal, province)
    return list(session.scalars(agents_query(session, principal, province).order_by(CollectionAgent.code)))


def get_agent(session: Session, principal: Principal | None, agent_id: int) -> CollectionAgent:
    agent = session.get(CollectionAgent, agent_id)
    if agent is None:
        raise NotFound(AGENT_NOT_FOUND)
    ensure_record_in_scope(session, principal, agent.org_unit_id, AGENT_NOT_FOUND)
    return agent


def agent_by_code(session: Session, principal: Principal | None, code: str) -> CollectionAgent:
    agent = session.scalar(select(CollectionAgent).where(CollectionAgent.code == (code or "").strip()))
    if agent is None:
        raise NotFound(AGENT_NOT_FOUND)
    ensure_record_in_scope(session, principal, agent.org_unit_id, AGENT_NOT_FOUND)
    return agent


def record_collection(session: Session, principal: Principal | None, agent: CollectionAgent, *, reference: str,
                      amount: int, collected_on: date, receipt: str, today: date) -> tuple[AgentCollection, bool]:
    """Record money an agent took for a bill (its reference) under the agent's receipt number: the payment
    (matched, allocated, posted) and its link to the agent. Returns (the collection, whether it is new)."""
    from ansinh.collection.payments import record_payment

    receipt = (receipt or "").strip()
    if not _RECEIPT.match(receipt):
        raise ValidationFailed("receipt", "A receipt number of 1 to 30 letters, digits, dots, slashes or dashes is "
                                          "required.")
    if not agent.active:
        raise Conflict("Agent {code} no longer collects.", code=agent.code)
    text = (reference or "").strip().upper()
    bill = session.scalar(select(Bill).where(Bill.reference == text)) if text else None
    if bill is None:
        raise ValidationFailed("reference", "No bill has the reference {value}.", value=reference)
    scheme = BILL_SCHEMES.get(bill.payer_type)
    if scheme is None:
        raise ValidationFailed("reference", "Agents collect voluntary social insurance and household health "
                                            "insurance only; bill {value} is not one.", value=text)
    if bill.province_2025 != agent.province_2025:
        raise ValidationFailed("reference", "Bill {value} is of another province than the agent's.", value=text)
    payment = record_payment(session, bank_transaction_id=f"AG:{agent.code}:{receipt}", paid_on=collected_on,
                             amount=amount, reference_text=f"{bill.reference} {agent.code}", on=today,
                             principal=principal)
    existing = session.scalar(select(AgentCollection).where(AgentCollection.payment_id == payment.id))
    if existing is not None:
        return existing, False
    collection = AgentCollection(agent_id=agent.id, payment_id=payment.id, bill_id=bill.id, scheme=scheme,
                                 receipt=receipt, collected_on=collected_on, month=month_start(collected_on),
                                 amount=amount)
    session.add(collection)
    session.flush()
    return collection, True


def commissions(session: Session, principal: Principal | None, *, since: date, until: date,
                province: str | None = None, agent_id: int | None = None, p: ParameterSet | None = None
                ) -> list[dict]:
    """Per agent, month (``since``..``until``, by their months) and scheme: the payments, the amount collected
    (reversed payments left out), the rate and the commission; agents by code, months in order."""
    ensure_staff(principal)
    p = p or get_parameters()
    province = province_for(session, principal, province)
    first, last = month_start(since), month_start(until)
    if last < first:
        raise ValidationFailed("until", "The end ({end}) must be after the start ({start}).", end=until, start=since)
    agents = agents_query(session, principal, province).subquery()
    stmt = (select(agents.c.id, agents.c.code, agents.c.name, AgentCollection.month, AgentCollection.scheme,
                   func.count(AgentCollection.id), func.sum(AgentCollection.amount))
            .join(AgentCollection, AgentCollection.agent_id == agents.c.id)
            .join(Payment, Payment.id == AgentCollection.payment_id)
            .where(Payment.status != "reversed", AgentCollection.month >= first, AgentCollection.month <= last)
            .group_by(agents.c.id, agents.c.code, agents.c.name, AgentCollection.month, AgentCollection.scheme)
            .order_by(agents.c.code, AgentCollection.month, AgentCollection.scheme))
    if agent_id is not None:
        stmt = stmt.where(agents.c.id == agent_id)
    rate = p["outreach.agent_commission_rate"]
    rows = []
    for agent, code, name, month, scheme, count, collected in session.execute(stmt):
        ratio = rate.at(month, scheme, field_name="month")
        rows.append({"agent_id": agent, "code": code, "name": name, "month": month, "scheme": scheme,
                     "payments": int(count), "collected": int(collected or 0), "rate": ratio,
                     "commission": apply_ratio(int(collected or 0), ratio)})
    return rows


def collections_of(session: Session, agent: CollectionAgent, *, limit: int = 200) -> list[dict]:
    """The agent's latest collections with their bill and payment status, newest first."""
    stmt = (select(AgentCollection, Bill.reference, Bill.payer_key, Payment.status)
            .join(Bill, Bill.id == AgentCollection.bill_id).join(Payment, Payment.id == AgentCollection.payment_id)
            .where(AgentCollection.agent_id == agent.id)
            .order_by(AgentCollection.collected_on.desc(), AgentCollection.id.desc()).limit(limit))
    return [{"id": c.id, "receipt": c.receipt, "collected_on": c.collected_on, "amount": c.amount,
             "scheme": c.scheme, "reference": reference, "payer_key": payer_key, "payment_id": c.payment_id,
             "status": status} for c, reference, payer_key, status in session.execute(stmt)]


def agent_json(agent: CollectionAgent) -> dict:
    return {"id": agent.id, "code": agent.code, "name": agent.name, "kind": agent.kind,
            "province": agent.province_2025, "commune": agent.commune_code, "active": agent.active}


def commission_json(row: dict) -> dict:
    return {**row, "month": f"{row['month']:%Y-%m}", "rate": str(row["rate"])}
