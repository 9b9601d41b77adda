"""Card issuance and renewal as a job (kind ``card_issue``): the cards of everyone insured on a day, for one province
or the country, as province × chunk tasks (``"19:2"``: province 19, the people whose id is 2 modulo the job's
``chunks``). A chunk is :func:`~ansinh.cards.service.issue_cards` of those people, in one transaction: unchanged
cards stay, so a chunk delivered again after its worker died changes nothing more (idempotent, as the whole run is).
A province's officers start their province's run; national staff the country's."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ansinh.auth.permissions import Permission
from ansinh.errors import ValidationFailed
from ansinh.i18n import N_
from ansinh.jobs.models import Job
from ansinh.jobs.registry import JobKind, register_job_kind

DEFAULT_CHUNKS = 4


def parse_card_issue(params: dict[str, Any]) -> dict[str, Any]:
    """``on`` (ISO day the cards are issued for; default ``today``, the day the API, the page and the CLI pass),
    ``province`` (a 2025 code; none: the country), ``chunks`` per province (1–64)."""
    from ansinh import clock
    from ansinh.collection.billing import _PROVINCE

    on = params.get("on") or params.get("today") or clock.today().isoformat()
    try:
        on = date.fromisoformat(str(on)).isoformat()
    except ValueError:
        raise ValidationFailed("on", "{value} is not a date.", value=on) from None
    province = params.get("province") or None
    if province == "*":
        province = None
    if province is not None and not _PROVINCE.match(str(province)):
        raise ValidationFailed("province", "{value} is not a province code.", value=province)
    chunks = params.get("chunks")
    try:
        chunks = DEFAULT_CHUNKS if chunks in (None, "") else int(chunks)
    except (TypeError, ValueError):
        raise ValidationFailed("chunks", "The number of chunks is between 1 and 64; got {value}.",
                               value=chunks) from None
    if not 1 <= chunks <= 64:
        raise ValidationFailed("chunks", "The number of chunks is between 1 and 64; got {value}.", value=chunks)
    return {"on": on, "province": province, "chunks": chunks}


def plan_card_issue(session: Session, job: Job) -> list[str]:
    from ansinh.collection.billing_jobs import billing_provinces

    provinces = [job.params["province"]] if job.params.get("province") else billing_provinces(session)
    return [f"{province}:{k}" for province in provinces for k in range(int(job.params["chunks"]))]


def issue_chunk(session: Session, job: Job, chunk: str) -> None:
    from ansinh.cards.service import issue_cards

    province, k = chunk.rsplit(":", 1)
    issue_cards(session, on=date.fromisoformat(job.params["on"]), province=province,
                part=(int(k), int(job.params["chunks"])))


def finish_card_issue(database, job: Job) -> dict:
    """The cards in force of the job's people once it ended, and how many of them were issued by this job."""
    from ansinh.cards.models import HICard
    from ansinh.registry.models import Person

    with database.unit_of_work() as session:
        stmt = select(func.count()).select_from(HICard).where(HICard.superseded_at.is_(None))
        if job.params.get("province"):
            stmt = stmt.where(HICard.person_id.in_(select(Person.id).where(
                Person.province_2025 == job.params["province"])))
        in_force = session.scalar(stmt) or 0
        issued = session.scalar(stmt.where(HICard.issued_at >= job.created_at)) or 0
    return {"on": job.params["on"], "cards_in_force": int(in_force), "issued_by_this_job": int(issued)}


CARD_ISSUE_JOB = register_job_kind(JobKind(
    "card_issue", N_("Card issuance and renewal"),
    N_("Issues or renews the health insurance card of everyone insured on a day (unchanged cards stay)."),
    Permission.cards_manage, params=("on", "province"), parse=parse_card_issue, plan=plan_card_issue,
    run_chunk=issue_chunk, finish=finish_card_issue))
