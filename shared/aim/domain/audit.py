"""The audit trail: who read a prisoner's detail or changed an alert, when, what, and from where."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

AUDIT_ACTIONS = (
    "prisoner.view",
    "alert.view",
    "alert.acknowledge",
    "alert.intervention",
    "alert.close",
    "audit.view",
    "outcomes.view",
)


class AuditEntryExistsError(Exception):
    """An entry with this entry's key is recorded already: entries are never overwritten, so the
    write it belonged to (a change to an alert, say) was not made either."""


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    user: str
    role: str
    action: str
    establishment: str
    prisoner_id: str | None
    alert_id: str | None
    client_address: str
    result: str = "ok"  # "ok", or what refused it ("held", "closed", "no intervention")
    entry_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "at": self.at.isoformat(),
            "user": self.user,
            "role": self.role,
            "action": self.action,
            "establishment": self.establishment,
            "prisoner_id": self.prisoner_id,
            "alert_id": self.alert_id,
            "client_address": self.client_address,
            "result": self.result,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditEntry:
        return cls(
            at=datetime.fromisoformat(str(data["at"])),
            user=str(data["user"]),
            role=str(data["role"]),
            action=str(data["action"]),
            establishment=str(data["establishment"]),
            prisoner_id=data.get("prisoner_id"),
            alert_id=data.get("alert_id"),
            client_address=str(data.get("client_address", "")),
            result=str(data.get("result", "ok")),
            entry_id=str(data["entry_id"]),
        )
