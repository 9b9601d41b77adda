"""Intake of national claim files: a facility's file is accepted or refused as a whole.

:func:`receive_claim_file` reads the file a chunk of episodes at a time (:class:`ClaimFileReader`: the envelope streamed
on the calling thread, the tables checked and read on worker threads) and writes each chunk as it comes (claims,
lines and the other tables, set-based with :func:`ansinh.bulk.bulk_insert`: COPY on PostgreSQL; on a writer thread,
while the next chunk is read), inside a savepoint: as soon as a problem is found nothing more is written, the rest of
the file is read for its problems, and at the end the savepoint is rolled back and only the refused file is recorded
(``ClaimFile`` with status ``refused`` and its problems). Memory stays flat in the file's size.

- **Who may send**: a facility user for their own facility (``subject_ref``), with an HI contract in force today;
  agency staff for the facilities of their org-unit subtree; a command (no principal) for any registered facility.
  Another facility's or province's user is refused (403) and nothing is written.
- **Replays**: the same file again (facility + SHA-256) answers the report recorded the first time and changes
  nothing.
- **Episodes sent again** (facility + MA_LK): when the current version is not settled, the new one gets the next
  version and the old one is marked ``superseded_at``; when it is settled, the file is refused with a problem naming
  the episode.
- **Concurrency**: an intake takes the facility's claims lock first (a transaction-scoped advisory lock on
  PostgreSQL; SQLite serialises writers), so that two files re-sending the same episode are taken one after the
  other, and the second sees the first's version; the partial unique index ``uq_claim_current_episode`` (one current
  version per episode) holds whatever happens.
- The patient is linked to the registry by citizen ID (one query per chunk); the claims belong to the facility's org
  unit and province.

Plain functions ``verb_noun(session, ...)``; they flush, the caller commits.
"""

from __future__ import annotations

import contextvars
import hashlib
import io
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from queue import Queue
from typing import BinaryIO

import polars as pl
from sqlalchemy import and_, func, select, text, update
from sqlalchemy.orm import Session

from ansinh import clock
from ansinh.audit.service import record_event, record_read
from ansinh.auth.models import OrgUnit, Role
from ansinh.auth.permissions import Principal, ensure_in_scope, org_scope
from ansinh.bulk import bulk_insert, reserve_ids
from ansinh.cards import facilities
from ansinh.cards.models import MedicalFacility
from ansinh.claims.intake.parser import (
    CHUNK_EPISODES,
    DEFAULT_MAX_FILE_BYTES,
    Chunk,
    ClaimFileReader,
    DatedRule,
    Problem,
    peek_facility,
    problem,
)
from ansinh.claims.models import Claim, ClaimAttachment, ClaimFile, ClaimLine
from ansinh.db import allow_waiting
from ansinh.errors import NotFound, PermissionDenied, ValidationFailed
from ansinh.i18n import N_
from ansinh.registry import service as registry

#: The claims lock: one intake at a time per facility (the second key is the facility, within the schema).
_CLAIMS_LOCK = 5_470_130
#: An intake waits this long for another intake of the same facility, and may run this long (it runs off the event
#: loop, on a worker thread or in a command).
INTAKE_LOCK_WAIT_MS = 600_000
INTAKE_STATEMENT_TIMEOUT_MS = 3_600_000
#: Statuses of a received file.
ACCEPTED, REFUSED = "accepted", "refused"
#: Current versions looked up at a time.
LOOKUP_CHUNK = 5_000


@dataclass
class FileReport:
    """What became of a file: accepted (its episodes written) or refused (nothing written; every problem)."""

    file_id: int | None
    file_name: str
    facility_code: str
    status: str
    claims: int = 0
    lines: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    replayed: bool = False  # the same file was received before: this is that report, nothing changed
    resent: int = 0  # episodes sent again (a new version of an episode not yet settled)
    size_bytes: int = 0
    sha256: str = ""
    layout: str | None = None
    created_on: date | None = None
    declared_count: int | None = None
    received_at: datetime | None = None
    received_by: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    def to_json(self) -> dict:
        """The report, its reasons in the current language."""
        return {"accepted": self.accepted, "claims": self.claims, "lines": self.lines,
                "problems": [p.to_json() for p in self.problems], "problem_count": self.problem_count,
                "file_id": self.file_id, "file_name": self.file_name, "facility_code": self.facility_code,
                "status": self.status, "replayed": self.replayed, "resent": self.resent,
                "size_bytes": self.size_bytes, "sha256": self.sha256, "layout": self.layout,
                "created_on": self.created_on.isoformat() if self.created_on else None,
                "declared_count": self.declared_count,
                "received_at": self.received_at.isoformat() if self.received_at else None,
                "received_by": self.received_by}


# --- who may send, who may read ----------------------------------------------------------------------------------

def ensure_may_submit(session: Session, principal: Principal | None, facility_code: str | None, *,
                      today: date) -> MedicalFacility:
    """The facility a file is sent for, if the caller may send for it: a facility user only for their own facility
    (with a contract in force today); staff only for a facility of their subtree; a command (None) for any. 404 for an
    unknown facility, 403 otherwise."""
    if principal is not None and Role.facility in principal.roles and not principal.is_agency_staff:
        own = principal.subject_ref
        if not own:
            raise PermissionDenied("No facility is linked to this account.")
        if facility_code and facility_code.strip() != own:
            raise PermissionDenied("You may send claim files only for your own facility.")
        facility = facilities.get_facility(session, own)
        if facilities.contract_in_force(session, own, today) is None:
            raise PermissionDenied("Facility {code} has no HI contract in force on {day}.", code=own, day=today)
        return facility
    if not facility_code:
        raise ValidationFailed("facility_code", "Say which facility the file is sent for.")
    facility = facilities.get_facility(session, facility_code.strip())
    if principal is not None:
        ensure_in_scope(principal, session.get(OrgUnit, facility.org_unit_id))
    return facility


def files_in_scope(principal: Principal | None):
    """A WHERE clause keeping the claim files the caller may see (None: every file)."""
    if principal is None:
        return None
    if Role.facility in principal.roles and not principal.is_agency_staff:
        return ClaimFile.facility_code == (principal.subject_ref or "")
    return org_scope(principal, ClaimFile.org_unit_id)


def get_claim_file(session: Session, principal: Principal | None, file_id: int) -> ClaimFile:
    """A received file the caller may see (404 for a facility's user when it is another facility's; 403 for staff
    when it is outside their subtree). Reading it is audited: its problems can quote personal data."""
    row = session.get(ClaimFile, file_id)
    if row is None:
        raise NotFound("There is no claim file {id}.", id=file_id)
    if principal is not None:
        if Role.facility in principal.roles and not principal.is_agency_staff:
            if row.facility_code != principal.subject_ref:
                raise NotFound("There is no claim file {id}.", id=file_id)
        else:
            ensure_in_scope(principal, session.get(OrgUnit, row.org_unit_id))
    record_read(session, "claim_file", row.id, org_unit_id=row.org_unit_id, details={"facility": row.facility_code})
    return row


def claim_files_query(principal: Principal | None, *, facility_code: str | None = None, status: str | None = None):
    """The received files the caller may see, newest first."""
    stmt = select(ClaimFile).order_by(ClaimFile.received_at.desc(), ClaimFile.id.desc())
    scope = files_in_scope(principal)
    if scope is not None:
        stmt = stmt.where(scope)
    if facility_code:
        stmt = stmt.where(ClaimFile.facility_code == facility_code)
    if status in (ACCEPTED, REFUSED):
        stmt = stmt.where(ClaimFile.status == status)
    return stmt


def file_report(session: Session, row: ClaimFile, *, replayed: bool = False) -> FileReport:
    """The report of a recorded file."""
    resent = session.scalar(select(func.count()).select_from(Claim).where(Claim.file_id == row.id,
                                                                          Claim.version > 1)) or 0
    return FileReport(file_id=row.id, file_name=row.file_name, facility_code=row.facility_code, status=row.status,
                      claims=row.claims, lines=row.lines,
                      problems=[Problem.from_stored(item) for item in row.problems or []],
                      problem_count=row.problem_count, replayed=replayed, resent=resent,
                      size_bytes=row.size_bytes, sha256=row.sha256, layout=row.layout, created_on=row.created_on,
                      declared_count=row.declared_count, received_at=row.received_at, received_by=row.received_by)


# --- intake ------------------------------------------------------------------------------------------------------

def lock_facility_claims(session: Session, facility_code: str) -> None:
    """Take the facility's claims lock for the rest of the transaction (PostgreSQL; SQLite serialises writers)."""
    if session.get_bind().dialect.name == "postgresql":
        allow_waiting(session, lock_timeout_ms=INTAKE_LOCK_WAIT_MS, statement_timeout_ms=INTAKE_STATEMENT_TIMEOUT_MS)
        session.execute(text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema() || ':' || :facility))"),
                        {"key": _CLAIMS_LOCK, "facility": facility_code})


def _stream_of(content: BinaryIO | bytes) -> BinaryIO:
    return io.BytesIO(content) if isinstance(content, (bytes, bytearray, memoryview)) else content


def _fingerprint(stream: BinaryIO, max_bytes: int) -> tuple[str, int]:
    """(SHA-256, size) of a stream, read from its start, at most ``max_bytes + 1`` bytes (a larger file is known to be
    too large: its fingerprint is that of its first bytes); the stream is rewound."""
    start = stream.tell()
    digest = hashlib.sha256()
    size = 0
    while size <= max_bytes:
        block = stream.read(min(1 << 20, max_bytes + 1 - size))
        if not block:
            break
        digest.update(block)
        size += len(block)
    stream.seek(start)
    return digest.hexdigest(), size


def receive_claim_file(session: Session, *, content: BinaryIO | bytes, file_name: str, principal: Principal | None,
                       facility_code: str | None = None, max_bytes: int | None = None, today: date | None = None,
                       received_by: str | None = None, layout_4210_ends: DatedRule | None = None,
                       chunk_episodes: int = CHUNK_EPISODES, threads: bool = True) -> FileReport:
    """Receive a national claim file sent for a facility (see the module docstring): accepted or refused as a whole,
    the same file again answered with its first report. ``content`` is the file's bytes or a seekable binary stream;
    ``facility_code`` defaults to the facility user's own, else to the facility the file's envelope names. The caller
    commits (a refused file is recorded too)."""
    if max_bytes is None:
        from ansinh.config import get_settings

        max_bytes = get_settings().claim_file_max_bytes or DEFAULT_MAX_FILE_BYTES
    today = today or clock.today()
    stream = _stream_of(content)
    name = (file_name or "claims.xml").replace("\\", "/").rsplit("/", 1)[-1][:200] or "claims.xml"
    if not facility_code and not (principal is not None and Role.facility in principal.roles):
        start = stream.tell()
        facility_code = peek_facility(stream)
        stream.seek(start)
    facility = ensure_may_submit(session, principal, facility_code, today=today)
    lock_facility_claims(session, facility.code)
    sha256, size = _fingerprint(stream, max_bytes)
    previous = session.scalar(select(ClaimFile).where(ClaimFile.facility_code == facility.code,
                                                      ClaimFile.sha256 == sha256)
                              .execution_options(populate_existing=True))
    if previous is not None:
        return file_report(session, previous, replayed=True)
    who = (received_by or (principal.username if principal is not None else "cli"))[:64]
    now = clock.utcnow()
    if size > max_bytes:  # known from its first bytes: not read further
        row = _refused(session, facility, sha256=sha256, name=name, now=now, who=who,
                       problems=[problem("too_large", limit=max_bytes)], count=1, size_bytes=size)
        return _recorded(session, row, facility, resent=0)
    attempt = session.begin_nested()
    row = ClaimFile(facility_code=facility.code, org_unit_id=facility.org_unit_id, sha256=sha256, file_name=name,
                    size_bytes=size, status=ACCEPTED, claims=0, lines=0, problem_count=0, received_at=now,
                    received_by=who[:64])
    session.add(row)
    session.flush()
    reader = ClaimFileReader(stream, file_name=name, facility_code=facility.code, max_bytes=max_bytes,
                             layout_4210_ends=layout_4210_ends, chunk_episodes=chunk_episodes, threads=threads,
                             hashed=False)  # fingerprinted already
    written = {"claims": 0, "lines": 0, "resent": 0}
    _write_chunks(session, reader, row, facility, now, written, threads=threads)
    envelope = reader.envelope
    facts = {"layout": envelope.layout, "created_on": envelope.created_on, "declared_count": envelope.declared_count,
             "size_bytes": size}
    if reader.problems:
        attempt.rollback()
        row = _refused(session, facility, sha256=sha256, name=name, now=now, who=who,
                       problems=reader.problems.listed, count=reader.problems.count, **facts)
        return _recorded(session, row, facility, resent=0)
    for key, value in facts.items():
        setattr(row, key, value)
    row.claims, row.lines = written["claims"], written["lines"]
    session.flush()
    attempt.commit()
    return _recorded(session, row, facility, resent=written["resent"])


def _refused(session: Session, facility: MedicalFacility, *, sha256: str, name: str, now: datetime, who: str,
             problems: list[Problem], count: int, **facts) -> ClaimFile:
    row = ClaimFile(facility_code=facility.code, org_unit_id=facility.org_unit_id, sha256=sha256, file_name=name,
                    status=REFUSED, claims=0, lines=0, problem_count=count, problems=[p.stored() for p in problems],
                    received_at=now, received_by=who, **facts)
    session.add(row)
    session.flush()
    return row


def _recorded(session: Session, row: ClaimFile, facility: MedicalFacility, *, resent: int) -> FileReport:
    """The audit event of an intake (one for the file: its claims are written in bulk), and its report."""
    record_event(session, "import", "claim_file", row.id, org_unit_id=facility.org_unit_id,
                 details={"file": row.file_name, "facility": facility.code, "status": row.status, "claims": row.claims,
                          "lines": row.lines, "resent": resent, "problems": row.problem_count, "sha256": row.sha256})
    return file_report(session, row)


def _write_chunks(session: Session, reader: ClaimFileReader, row: ClaimFile, facility: MedicalFacility,
                  now: datetime, written: dict, *, threads: bool) -> None:
    """Write the chunks the reader hands over, until a problem is found (the rest of the file is still read, for
    its problems). With ``threads``, on a writer thread of its own: the database takes a chunk in while the next one
    is read (the reading thread never touches the session meanwhile)."""
    if not threads:
        for chunk in reader.chunks():
            for item in _write_chunk(session, chunk, row, facility, now, written):
                reader.problems.add(item)
        return
    chunks: Queue[Chunk | None] = Queue(maxsize=2)
    stop = threading.Event()
    found: list[Problem] = []
    failures: list[BaseException] = []

    def write() -> None:
        while (chunk := chunks.get()) is not None:
            if stop.is_set():
                continue
            try:
                problems = _write_chunk(session, chunk, row, facility, now, written)
            except BaseException as exc:  # noqa: BLE001 - raised again on the calling thread
                failures.append(exc)
                stop.set()
                continue
            if problems:
                found.extend(problems)
                stop.set()

    writer = threading.Thread(target=contextvars.copy_context().run, args=(write,), name="claim-file-writer")
    writer.start()
    try:
        for chunk in reader.chunks():
            if not stop.is_set():
                chunks.put(chunk)
    finally:
        chunks.put(None)
        writer.join()
    if failures:
        raise failures[0]
    for item in found:
        reader.problems.add(item)


def _write_chunk(session: Session, chunk: Chunk, row: ClaimFile, facility: MedicalFacility, now: datetime,
                 written: dict) -> list[Problem]:
    """Write a chunk of checked episodes: new versions of episodes sent before (the old ones superseded), unless one
    of them is settled (then its problem: the file will be refused and nothing is written)."""
    claims = chunk.claims
    closed = _in_settled_months(session, facility.code, claims)
    if closed:
        return closed
    keys = claims["episode_key"].to_list()
    current = _current_versions(session, facility.code, keys)
    settled = current.filter(pl.col("settled"))
    if settled.height:
        hoso = dict(claims.select("episode_key", "hoso").iter_rows())
        return [problem("settled", ma_lk=key, table="XML1", row=hoso.get(key), field="MA_LK", value=key)
                for key in settled["episode_key"].to_list()]
    if current.height:
        ids = current["id"].to_list()
        for offset in range(0, len(ids), LOOKUP_CHUNK):
            session.execute(update(Claim).where(Claim.id.in_(ids[offset:offset + LOOKUP_CHUNK]))
                            .values(superseded_at=now).execution_options(synchronize_session=False))
    people = registry.person_ids_by_citizen_id(session, claims["citizen_id"].drop_nulls().to_list())
    ids = reserve_ids(session, "claim", claims.height)
    frame = claims.with_columns(
        id=ids, file_id=pl.lit(row.id, pl.Int64), facility_code=pl.lit(facility.code),
        person_id=pl.col("citizen_id").replace_strict(people, default=None, return_dtype=pl.Int64),
        province_2025=pl.lit(facility.province_2025), org_unit_id=pl.lit(facility.org_unit_id, pl.Int64),
        status=pl.lit("received"), disallowed=pl.lit(0, pl.Int64), received_at=pl.lit(now),
    ).join(current.select("episode_key", "version"), on="episode_key", how="left").with_columns(
        version=(pl.col("version").fill_null(0) + 1).cast(pl.Int32))
    bulk_insert(session, Claim.__table__, frame.drop("hoso"))
    claim_ids = frame.select("hoso", claim_id=pl.col("id"))
    # each line has its claim's settlement month (the partition of the lines on PostgreSQL)
    months = frame.select("hoso", claim_month=pl.date(pl.col("settlement_year"), pl.col("settlement_month"), 1))
    lines = chunk.lines.join(claim_ids, on="hoso", how="inner").join(months, on="hoso", how="inner") \
        .drop("hoso", "episode_key").with_columns(disallowed=pl.lit(0, pl.Int64))
    bulk_insert(session, ClaimLine.__table__, lines)
    attachments = chunk.attachments.join(claim_ids, on="hoso", how="inner").select(
        "claim_id", source_table=pl.col("table"), content=pl.col("content"))
    bulk_insert(session, ClaimAttachment.__table__, attachments)
    written["claims"] += frame.height
    written["lines"] += lines.height
    written["resent"] += current.height
    return []


#: Why an episode of a settled month is refused.
SETTLED_MONTH = N_("The month {month} of this facility is settled: no claim of it can be sent any more.")


def _in_settled_months(session: Session, facility_code: str, claims: pl.DataFrame) -> list[Problem]:
    """A problem (field THANG_QT) for each episode of a settlement month the facility has settled: the month is
    closed."""
    from ansinh.claims.settlement.service import settled_months

    months = settled_months(session, facility_code)
    if not months or not claims.height:
        return []
    settled = pl.DataFrame(sorted(months), schema={"settlement_year": claims.schema["settlement_year"],
                                                   "settlement_month": claims.schema["settlement_month"]},
                           orient="row")
    closed = claims.join(settled, on=["settlement_year", "settlement_month"], how="semi")
    return [Problem(key, "XML1", hoso, "THANG_QT", SETTLED_MONTH, {"month": f"{month:02d}/{year}"}, str(month),
                    hoso)
            for key, hoso, year, month in closed.select("episode_key", "hoso", "settlement_year",
                                                        "settlement_month").iter_rows()]


def _current_versions(session: Session, facility_code: str, keys: list[str]) -> pl.DataFrame:
    """The current (not superseded) version of each episode of the facility among ``keys``, locked (PostgreSQL) so
    that none is settled meanwhile."""
    schema = {"id": pl.Int64, "episode_key": pl.String, "version": pl.Int32, "settled": pl.Boolean}
    rows = []
    stmt = select(Claim.id, Claim.episode_key, Claim.version, Claim.settled).where(
        Claim.facility_code == facility_code, Claim.superseded_at.is_(None))
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        if keys:
            # The lookup runs once per chunk: after a few, the driver prepares it and PostgreSQL may switch to a
            # generic plan, blind to the keys (measured: 2,000 keys went from 10 ms to 5 s); a plan of its own each
            # time (only for it: the foreign-key checks of the writes keep their cached plans).
            previous = session.scalar(text("SELECT current_setting('plan_cache_mode')"))
            session.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"))
            rows = session.execute(stmt.where(Claim.episode_key == any_(bindparam(
                "keys", keys, type_=ARRAY(Claim.episode_key.type)))).with_for_update(of=Claim)).all()
            session.execute(text("SELECT set_config('plan_cache_mode', :mode, true)"), {"mode": previous})
    else:
        for offset in range(0, len(keys), LOOKUP_CHUNK):
            rows += session.execute(stmt.where(Claim.episode_key.in_(keys[offset:offset + LOOKUP_CHUNK]))).all()
    return pl.DataFrame(rows, schema=schema, orient="row")




def current_claim(session: Session, facility_code: str, episode_key: str) -> Claim | None:
    """The current version of an episode."""
    return session.scalar(select(Claim).where(and_(Claim.facility_code == facility_code,
                                                   Claim.episode_key == episode_key, Claim.superseded_at.is_(None))))
