"""Escalation: a red nobody has acknowledged is published again, to the duty governor.

A red alert with no case, or whose case nobody has taken, is escalated ``first`` after it was
raised (step 1), then again every ``repeat`` (steps 2, 3, ...) up to ``max_steps``, until someone
acknowledges it. A run that finds several steps due (the schedule missed runs) sends only the
latest: one page now, not a burst. Only a prisoner's latest alert escalates; an earlier one it
superseded is no longer the one on the board. Each step of an alert has its own id, so it is
recorded, and sent, once.

The escalation is the ``aim.alert/1`` message of the alert with ``kind: "escalation"``, its
``step`` and ``escalated_at``; the human text is the alert's own allow-listed text with a lead word.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from aim.domain import alerts as alerting

ESCALATION_KIND = "escalation"
# How often the escalation job runs (the stack's schedule; the local stack and replay use the same).
SCHEDULE_MINUTES = 5
# The message attribute the duty governor's subscription filters on.
ESCALATION_ATTRIBUTE = "escalation"
TEXT_LEAD = "UNACKNOWLEDGED "


@dataclass(frozen=True)
class EscalationPolicy:
    first: timedelta
    repeat: timedelta
    max_steps: int

    @classmethod
    def of_minutes(cls, first: int, repeat: int, max_steps: int) -> EscalationPolicy:
        return cls(timedelta(minutes=first), timedelta(minutes=repeat), max_steps)

    @property
    def horizon(self) -> timedelta:
        """How long after it was raised an alert can still have a step due."""
        return self.first + self.repeat * self.max_steps

    def due_step(self, raised_at: datetime, now: datetime) -> int:
        """The step due ``now`` for an alert raised at ``raised_at`` and still unacknowledged (0: none yet)."""
        waited = now - raised_at
        if self.max_steps <= 0 or waited < self.first:
            return 0
        return min(self.max_steps, 1 + (waited - self.first) // self.repeat)


def escalation_id(alert_id: str, step: int) -> str:
    return f"{alert_id}#E{step:02d}"


def raised_at(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(message["raised_at"]))


def latest_per_prisoner(alerts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each prisoner's latest red alert (by ``raised_at``, then id), in a stable order."""
    latest: dict[str, dict[str, Any]] = {}
    for message in alerts:
        if message.get("level") != "red":
            continue
        held = latest.get(str(message["prisoner_id"]))
        if held is None or (raised_at(message), message["alert_id"]) > (raised_at(held), held["alert_id"]):
            latest[str(message["prisoner_id"])] = message
    return sorted(latest.values(), key=lambda m: (raised_at(m), m["alert_id"]))


def escalation_message(alert: dict[str, Any], step: int, now: datetime) -> dict[str, Any]:
    """The alert's ``aim.alert/1`` message as escalation ``step``; ``alert_id`` stays the alert's own,
    so the page leads to the case staff acknowledge."""
    return {**alert, "kind": ESCALATION_KIND, "step": step, "escalated_at": now.isoformat()}


def is_escalation(message: dict[str, Any]) -> bool:
    """Whether a published ``aim.alert/1`` message is an escalation of an alert (it carries its step
    and when it was escalated), rather than an alert the scorer raised (whose own ``kind`` may be
    ``escalation`` too: a score that rose)."""
    return "escalated_at" in message and "step" in message


def escalation_text(message: dict[str, Any], timezone: str | tzinfo = alerting.DEFAULT_TIMEZONE) -> str:
    """Email and SMS text: the alert's allow-listed text, no health detail, within ``alerts.TEXT_LIMIT``."""
    return alerting.alert_text(message, timezone, lead=TEXT_LEAD)


def escalation_subject(message: dict[str, Any]) -> str:
    return f"AIM RED alert {message['establishment']} not acknowledged (escalation {message['step']})"


def escalation_attributes(message: dict[str, Any]) -> dict[str, str]:
    return {
        "establishment": str(message["establishment"]),
        "level": str(message["level"]),
        alerting.KIND_ATTRIBUTE: ESCALATION_KIND,
        ESCALATION_ATTRIBUTE: "true",
    }


__all__ = [
    "ESCALATION_ATTRIBUTE",
    "ESCALATION_KIND",
    "SCHEDULE_MINUTES",
    "EscalationPolicy",
    "escalation_attributes",
    "escalation_id",
    "escalation_message",
    "escalation_subject",
    "escalation_text",
    "is_escalation",
    "latest_per_prisoner",
]
