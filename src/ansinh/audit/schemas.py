"""What crosses the API for the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor_user_id: int | None
    actor_username: str
    actor_org_unit_id: int | None
    action: str
    entity_type: str
    entity_id: str | None
    org_unit_id: int | None
    person_ref: str | None
    changes: dict[str, Any] | None
    channel: str
    ip: str | None
    user_agent: str | None
    request_id: str | None
