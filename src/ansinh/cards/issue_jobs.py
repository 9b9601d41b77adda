"""Card issuance runs started from the web: ``issue_cards`` for an officer's scope, in a thread of this process with
its own unit of work, so that a province's run (a minute for a million people) never holds a request open. The
page polls the run's status (``/cards/issue/status?run=...``) until it ends.

A run is known to this process only, by a random token, and only to the user who started it. One run at a time per
office: a second one while the first runs is refused (two runs would write two versions of the same cards).
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, datetime

from ansinh.audit.service import AuditContext, audit_context
from ansinh.auth.permissions import Principal
from ansinh.db import utcnow
from ansinh.errors import Conflict, DomainError, NotFound

logger = logging.getLogger(__name__)

#: The runs kept in memory (finished ones are dropped, oldest first, beyond this number).
KEEP_RUNS = 200


@dataclass
class IssueRun:
    token: str
    user_id: int
    org_unit_id: int
    on: date
    started_at: datetime
    finished_at: datetime | None = None
    result: dict | None = None
    error: DomainError | None = None
    failed: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        return not self.done.is_set()

    @property
    def counts(self) -> dict:
        """Issued for the first time, renewed (a new version of a card), left unchanged (skipped)."""
        result = self.result or {}
        renewed = int(result.get("superseded", 0))
        return {"first": int(result.get("issued", 0)) - renewed, "renewed": renewed,
                "unchanged": int(result.get("unchanged", 0)), "issued": int(result.get("issued", 0))}


_runs: dict[str, IssueRun] = {}
_lock = threading.Lock()


def _issue(database, principal: Principal, run: IssueRun, context: AuditContext) -> None:
    from ansinh.cards.service import issue_cards

    try:
        with audit_context(context), database.unit_of_work() as session:
            session.info["audit_context"] = context
            run.result = issue_cards(session, on=run.on, principal=principal)
    except DomainError as error:
        run.error = error
    except Exception:  # noqa: BLE001 - the run's page says it failed; the log has the details
        logger.exception("card issuance run %s failed", run.token)
        run.failed = True
    finally:
        run.finished_at = utcnow()
        run.done.set()


def start_issue_run(database, principal: Principal, on: date, context: AuditContext, *,
                    wait_seconds: float = 0.0) -> IssueRun:
    """Start issuing the cards of the caller's scope on a day, in a thread; wait up to ``wait_seconds`` for it to
    end (a small office's run ends at once). Conflict when a run of the same office is running."""
    with _lock:
        if any(r.running and r.org_unit_id == principal.org_unit_id for r in _runs.values()):
            raise Conflict("A card issuance run of your office is already running: wait for it to end.")
        run = IssueRun(token=secrets.token_urlsafe(16), user_id=principal.user_id,
                       org_unit_id=principal.org_unit_id, on=on, started_at=utcnow())
        finished = [r for r in _runs.values() if not r.running]
        for old in finished[:max(0, len(_runs) - KEEP_RUNS + 1)]:
            _runs.pop(old.token, None)
        _runs[run.token] = run
    threading.Thread(target=_issue, args=(database, principal, run, context), name=f"issue-cards-{run.token[:6]}",
                     daemon=True).start()
    if wait_seconds > 0:
        run.done.wait(wait_seconds)
    return run


def get_issue_run(principal: Principal, token: str) -> IssueRun:
    """A run started by the caller (NotFound for anyone else's, or one this process does not know)."""
    run = _runs.get(token or "")
    if run is None or run.user_id != principal.user_id:
        raise NotFound("This card issuance run is not known (the server may have restarted).")
    return run
