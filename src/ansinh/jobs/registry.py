"""The kinds of job, each registered once: what its parameters are, who may start it, how its work splits in
chunks, what one chunk does and how the run is summed up.

A domain registers its kind at import time (see :mod:`ansinh.jobs.kinds`)::

    register_job_kind(JobKind(
        "billing", N_("Billing of a month"), N_("Bills every payer of a month ..."),
        Permission.participation_manage, params=("period", "province"), parse=parse_billing,
        plan=plan_billing, run_chunk=bill_chunk, finish=finish_billing))

- ``parse(params)`` checks and normalises the parameters (raising :class:`~ansinh.errors.ValidationFailed`); the
  job's idempotency key is the kind and the values of ``params`` in order (``billing:2026-11:19``), its scope
  ``params["province"]`` (None: the whole country).
- ``plan(session, job)`` returns the chunk keys (strings such as ``"19:3"``), in the job's transaction; it may
  open the kind's own run records.
- ``run_chunk(session, job, chunk)`` does one chunk in the caller's transaction (committed with the chunk's
  ``done``). It must be idempotent: a chunk delivered again after its worker died finds its rows (or none) and
  ends with the same rows as a single run.
- ``finish(database, job)`` runs once, after the last chunk (a guarded update lets one process through), and returns
  the job's result (JSON). It must be idempotent too: a job whose process died while finishing is finished again
  when it is started again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ansinh.auth.permissions import Permission

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ansinh.db import Database
    from ansinh.jobs.models import Job


@dataclass(frozen=True)
class JobKind:
    code: str
    title: str  # English msgid (N_), shown translated
    description: str  # English msgid (N_)
    permission: Permission  # needed to start it (and to see its jobs)
    params: tuple[str, ...]
    parse: Callable[[dict[str, Any]], dict[str, Any]]
    plan: Callable[["Session", "Job"], list[str]]
    run_chunk: Callable[["Session", "Job", str], None]
    finish: Callable[["Database", "Job"], dict]
    #: Errors worth trying again later (a lock held by another run); others count as attempts too, up to the
    #: maximum, except the domain's refusals (:class:`~ansinh.errors.DomainError`), which fail the chunk at once.
    transient: tuple[type[BaseException], ...] = ()

    def key(self, params: dict[str, Any]) -> str:
        return ":".join([self.code] + [str(params.get(name) if params.get(name) is not None else "*")
                                       for name in self.params])


JOB_KINDS: dict[str, JobKind] = {}

#: A province code as the jobs take it (a 2025 code, or an office's place code).
PROVINCE_CODE = re.compile(r"^[0-9A-Za-z]{1,8}$")
#: The whole country, as ``province`` may say it.
WHOLE_COUNTRY = "*"


def parse_province(params: dict[str, Any]) -> str | None:
    """The ``province`` of a job's parameters: a province code, or None for the whole country (none given, or ``*``);
    ValidationFailed naming ``province`` otherwise."""
    from ansinh.errors import ValidationFailed

    province = params.get("province") or None
    if province == WHOLE_COUNTRY:
        return None
    if province is not None and not PROVINCE_CODE.match(str(province)):
        raise ValidationFailed("province", "{value} is not a province code.", value=province)
    return province


def register_job_kind(kind: JobKind) -> JobKind:
    existing = JOB_KINDS.get(kind.code)
    if existing is not None and existing != kind:
        raise ValueError(f"job kind {kind.code!r} registered twice, differently")
    JOB_KINDS[kind.code] = kind
    return kind


def job_kinds() -> dict[str, JobKind]:
    """Every kind, once the domains that register them are imported."""
    from ansinh.jobs import kinds  # noqa: F401 - registers the kinds

    return JOB_KINDS


def get_job_kind(code: str) -> JobKind | None:
    return job_kinds().get(code)
