"""What staff do with an alert: take it, record what they did, close it.

An alert's case moves open -> acknowledged -> closed, like an incident in an on-call tool.
Taking an alert someone else holds is refused with who holds it; taking it again yourself,
or closing a closed alert, changes nothing. Recording an intervention on an open alert takes
it for the recorder. Closing needs at least one intervention. A new red for the same person
after closing comes with a new alert id, so it is a new case.

Who and when always come from the caller's token and the clock, never from a request body.
Every transition returns a new case with ``version`` one higher, so storage can write it only
over the version it was read at (two officers at once never lose one another's update).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

CaseStatus = Literal["open", "acknowledged", "closed"]
Action = Literal[
    "welfare_check",
    "conversation",
    "key_worker",
    "healthcare_referral",
    "mental_health_referral",
    "acct_opened",
    "csip_referral",
    "cell_move",
    "family_contact",
    "other",
]
Outcome = Literal["no_concern", "support_given", "acct_opened", "escalated", "not_seen"]
Useful = Literal["yes", "no", "unsure"]
NOTE_MAX = 1000

ACTION_WORDS: dict[str, str] = {
    "welfare_check": "Welfare check",
    "conversation": "Conversation",
    "key_worker": "Key worker session",
    "healthcare_referral": "Healthcare referral",
    "mental_health_referral": "Mental health referral",
    "acct_opened": "ACCT opened",
    "csip_referral": "CSIP referral",
    "cell_move": "Cell move",
    "family_contact": "Family contact",
    "other": "Other",
}
OUTCOME_WORDS: dict[str, str] = {
    "no_concern": "No concern found",
    "support_given": "Support given",
    "acct_opened": "ACCT opened",
    "escalated": "Escalated",
    "not_seen": "Not seen",
}
USEFUL_WORDS: dict[str, str] = {"yes": "Yes", "no": "No", "unsure": "Not sure"}


class CaseworkError(Exception):
    """A transition the case's state does not allow."""


class AlertHeldError(CaseworkError):
    """Someone else has already taken the alert."""

    def __init__(self, held_by: str, held_at: datetime) -> None:
        super().__init__(f"already acknowledged by {held_by}")
        self.held_by = held_by
        self.held_at = held_at


class AlertClosedError(CaseworkError):
    """The alert is closed: nothing more can be recorded on it."""


class NoInterventionError(CaseworkError):
    """An alert closes only once at least one intervention is recorded."""


class InterventionInput(BaseModel):
    """The body of ``POST /api/alerts/{alert_id}/interventions`` (contract section 4)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    action: Action
    engaged: StrictBool
    outcome: Outcome
    useful: Useful
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    next_review: date | None = None


class Intervention(InterventionInput):
    """An intervention as stored: the input plus who recorded it and when."""

    intervention_id: str
    recorded_by: str
    recorded_at: datetime

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class AlertCase:
    alert_id: str
    establishment: str
    prisoner_id: str
    status: CaseStatus = "open"
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    interventions: tuple[Intervention, ...] = field(default_factory=tuple)
    version: int = 0  # 0: never stored

    @classmethod
    def opened(cls, alert_id: str, establishment: str, prisoner_id: str) -> AlertCase:
        return cls(alert_id, establishment, prisoner_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "closed_by": self.closed_by,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "interventions": [i.to_json() for i in self.interventions],
        }


def acknowledge(case: AlertCase, user: str, now: datetime) -> AlertCase:
    """The caller takes the alert. Returns ``case`` itself when nothing changes."""
    if case.status == "closed":
        raise AlertClosedError("the alert is closed")
    if case.status == "acknowledged":
        if case.acknowledged_by == user:
            return case
        assert case.acknowledged_by is not None and case.acknowledged_at is not None
        raise AlertHeldError(case.acknowledged_by, case.acknowledged_at)
    return replace(case, status="acknowledged", acknowledged_by=user, acknowledged_at=now, version=case.version + 1)


def intervention_id_for(alert_id: str, user: str, idempotency_key: str | None) -> str:
    """A client that sends the same idempotency key again gets the same record, not a second one."""
    if not idempotency_key:
        return uuid.uuid4().hex
    return hashlib.sha256(f"{alert_id}|{user}|{idempotency_key}".encode()).hexdigest()[:32]


def record_intervention(
    case: AlertCase, entry: InterventionInput, user: str, now: datetime, idempotency_key: str | None = None
) -> tuple[AlertCase, Intervention]:
    """Adds what was done. An open alert is taken by the recorder; a closed one is refused."""
    if case.status == "closed":
        raise AlertClosedError("the alert is closed")
    intervention_id = intervention_id_for(case.alert_id, user, idempotency_key)
    for existing in case.interventions:
        if existing.intervention_id == intervention_id:
            return case, existing
    stored = Intervention(**entry.model_dump(), intervention_id=intervention_id, recorded_by=user, recorded_at=now)
    taken = case
    if case.status == "open":
        taken = replace(case, status="acknowledged", acknowledged_by=user, acknowledged_at=now)
    return replace(taken, interventions=(*case.interventions, stored), version=case.version + 1), stored


def close(case: AlertCase, user: str, now: datetime) -> AlertCase:
    """Closes the alert. Returns ``case`` itself when it is already closed."""
    if case.status == "closed":
        return case
    if not case.interventions:
        raise NoInterventionError("record at least one intervention before closing the alert")
    return replace(case, status="closed", closed_by=user, closed_at=now, version=case.version + 1)


__all__ = [
    "ACTION_WORDS",
    "NOTE_MAX",
    "OUTCOME_WORDS",
    "USEFUL_WORDS",
    "AlertCase",
    "AlertClosedError",
    "AlertHeldError",
    "CaseworkError",
    "Intervention",
    "InterventionInput",
    "NoInterventionError",
    "acknowledge",
    "close",
    "intervention_id_for",
    "record_intervention",
]
