"""The files a job writes (a report export's workbooks and PDFs), kept under ``<var_dir>/job-files/<job id>/``.

- A chunk writes each file with :func:`write_file`: to a temporary file in the same folder, flushed to disk, then
  renamed over the name (atomic on POSIX): a reader never sees half a file, and a chunk delivered again rewrites
  the same name (with the same bytes when its work is deterministic). It then records what it wrote (name, size,
  SHA-256) with :func:`write_manifest` (``.chunks/<chunk>.json``, written the same way), which the kind's
  ``finish`` reads back (:func:`read_manifests`) to list the files in the job's result.
- A file is served (:func:`job_file`) only to a caller who may read the job (:func:`~ansinh.jobs.service.
  get_job_in_scope`: another province's job is 404) and holds its kind's permission, and only under a name the
  job's result lists (anything else, ``../`` included, is 404); each download is audited (by the kind's own event
  when it registered one with :func:`register_file_audit`, else ``export`` of a ``job_file``).

With workers on several machines, ``ANSINH_VAR_DIR`` (or its ``job-files`` folder) is storage they share with the
web servers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ansinh.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ansinh.auth.permissions import Principal
    from ansinh.config import Settings
    from ansinh.jobs.models import Job

FILES_DIR = "job-files"
MANIFEST_DIR = ".chunks"
#: A file's name: letters, digits, dot, dash and underscore, not starting with a dot (no folder, no ``..``).
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")
MEDIA_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".zip": "application/zip",
}

#: How a kind audits the download of one of its files: ``(session, job, entry)``.
FileAudit = Callable[["Session", "Job", dict], None]
FILE_AUDITS: dict[str, FileAudit] = {}


def register_file_audit(kind: str, audit: FileAudit) -> FileAudit:
    FILE_AUDITS[kind] = audit
    return audit


def _settings(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    from ansinh.config import get_settings

    return get_settings()


def files_root(settings: Settings | None = None) -> Path:
    return Path(_settings(settings).var_dir) / FILES_DIR


def job_dir(job_id: int, settings: Settings | None = None) -> Path:
    return files_root(settings) / str(int(job_id))


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def _check_name(name: str) -> str:
    if not NAME.fullmatch(name or "") or ".." in name:
        raise ValueError(f"not a job file's name: {name!r}")
    return name


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def write_file(job_id: int, name: str, content: bytes, settings: Settings | None = None) -> dict[str, Any]:
    """Write one file of the job (atomically, replacing one of the same name); what the manifest keeps of it."""
    _write_atomically(job_dir(job_id, settings) / _check_name(name), content)
    return {"name": name, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}


def _manifest_name(chunk: str) -> str:
    return hashlib.sha256(chunk.encode()).hexdigest()[:32] + ".json"


def write_manifest(job_id: int, chunk: str, entries: list[dict], settings: Settings | None = None) -> None:
    """Record the files a chunk wrote (each entry: at least ``name``, ``size``, ``sha256``)."""
    text = json.dumps({"chunk": chunk, "files": entries}, ensure_ascii=False, sort_keys=True)
    _write_atomically(job_dir(job_id, settings) / MANIFEST_DIR / _manifest_name(chunk), text.encode())


def read_manifests(job_id: int, chunks: Iterable[str], settings: Settings | None = None) -> list[dict]:
    """The files the chunks wrote, in the chunks' order (a chunk without a manifest, failed, adds none)."""
    folder = job_dir(job_id, settings) / MANIFEST_DIR
    files = []
    for chunk in chunks:
        path = folder / _manifest_name(chunk)
        if path.is_file():
            files += json.loads(path.read_text(encoding="utf-8"))["files"]
    return files


def listed_files(job: Job) -> list[dict]:
    """The files the job's result lists (none until it has been summed up)."""
    files = (job.result or {}).get("files") if isinstance(job.result, dict) else None
    return [entry for entry in files or [] if isinstance(entry, dict) and isinstance(entry.get("name"), str)]


def job_file(session: Session, principal: Principal | None, job_id: int, name: str,
             settings: Settings | None = None) -> tuple[Job, dict, Path]:
    """A file of a job for a download: the job (in the caller's scope), its entry and its path; audited. A name the
    job's result does not list, or a file no longer kept, is 404; a caller without the kind's permission 403."""
    from ansinh.audit.service import record_event
    from ansinh.auth.permissions import permission_denied
    from ansinh.jobs.registry import get_job_kind
    from ansinh.jobs.service import get_job_in_scope

    job = get_job_in_scope(session, principal, job_id)
    kind = get_job_kind(job.kind)
    if principal is not None and kind is not None and not principal.has(kind.permission):
        raise permission_denied(kind.permission)
    entry = next((entry for entry in listed_files(job) if entry["name"] == name), None)
    if entry is None or not NAME.fullmatch(name) or ".." in name:
        raise NotFound("Job {id} has no file {name}.", id=job.id, name=name)
    folder = job_dir(job.id, settings)
    path = folder / name
    if path.parent != folder or not path.is_file():
        raise NotFound("The file {name} of job {id} is no longer kept.", id=job.id, name=name)
    audit = FILE_AUDITS.get(job.kind)
    if audit is not None:
        audit(session, job, entry)
    else:
        record_event(session, "export", "job_file", job.id,
                     org_unit_id=principal.org_unit_id if principal is not None else None,
                     details={"kind": job.kind, "name": name, "size": entry.get("size"),
                              "sha256": entry.get("sha256")})
    return job, entry, path


def file_size(size: int | None, locale: str | None = None) -> str:
    """A file's size the reader's way: ``812 B``, ``48,2 KB``, ``1,5 MB`` in Vietnamese (``48.2 KB`` in English)."""
    from ansinh.formatting import number

    if size is None:
        return ""
    if size < 1000:
        return f"{number(int(size), locale)}\u00a0B"
    for unit, scale in (("KB", 1000), ("MB", 1000**2), ("GB", 1000**3)):
        if size < scale * 1000 or unit == "GB":
            return f"{number(size / scale, locale, decimals=1)}\u00a0{unit}"
    return ""  # pragma: no cover
