"""One scheduled escalation run for one establishment (every few minutes, apart from scoring).

1. Read the establishment's red alerts raised within the escalation horizon (the alert records
   the scorer keeps) and the escalations recorded but not yet sent (the escalation outbox).
2. Read their cases: an alert with no case, or a case still ``open``, is unacknowledged.
3. Send each escalation left in the outbox by a run that stopped between recording and sending,
   unless its alert has been acknowledged since (then it is dropped unsent).
4. For each prisoner's latest unacknowledged red with a step due, record the step (once: keyed by
   alert id and step), send it, mark it sent.

It reads nothing the scorer has to have written this hour, so a scorer that has stopped does not
stop escalations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aim.config import AimConfig
from aim.domain import alerts as alerting
from aim.domain import escalation as esc
from aim.domain.casework import AlertCase
from aim.domain.ports import AlertPublisher

ESCALATION_RECORD_RETENTION = timedelta(days=365)


class EscalationStore(Protocol):
    """Alert records (read) and escalation records with their outbox."""

    def alerts_raised_since(self, establishment: str, since: datetime) -> list[dict[str, Any]]:
        """The ``aim.alert/1`` messages of the alerts raised at or after ``since``."""
        ...

    def record_escalation(self, establishment: str, message: dict[str, Any], expires_at: int) -> bool:
        """Record an escalation step and put it in the outbox, unless that step of that alert is
        recorded already: then nothing changes and the answer is False."""
        ...

    def pending_escalations(self, establishment: str) -> list[dict[str, Any]]:
        """The escalation outbox: steps recorded and not yet marked sent."""
        ...

    def mark_escalation_sent(self, establishment: str, alert_id: str, step: int) -> None: ...


class CaseReader(Protocol):
    def get_many(self, establishment: str, alert_ids: Sequence[str]) -> dict[str, AlertCase]: ...


@dataclass
class EscalationSummary:
    establishment: str
    unacknowledged: int = 0
    escalated: list[str] = field(default_factory=list)  # escalation ids sent by this run's own steps
    resent: list[str] = field(default_factory=list)  # left in the outbox by an earlier run
    dropped: list[str] = field(default_factory=list)  # in the outbox, alert acknowledged meanwhile


class EscalationRun:
    def __init__(
        self,
        establishment: str,
        now: datetime,
        store: EscalationStore,
        cases: CaseReader,
        publisher: AlertPublisher,
        config: AimConfig,
    ) -> None:
        self.est = establishment
        self.now = now.astimezone(UTC)
        self.store = store
        self.cases = cases
        self.publisher = publisher
        self.tz = ZoneInfo(config.timezone)
        settings = config.escalation
        self.policy = esc.EscalationPolicy.of_minutes(
            settings.first_minutes, settings.repeat_minutes, settings.max_steps
        )
        self.summary = EscalationSummary(establishment)

    def run(self) -> EscalationSummary:
        pending = self.store.pending_escalations(self.est)
        alerts: list[dict[str, Any]] = []
        if self.policy.max_steps > 0:
            raised = self.store.alerts_raised_since(self.est, self.now - self.policy.horizon)
            alerts = esc.latest_per_prisoner(raised)
        ids = sorted({str(m["alert_id"]) for m in [*pending, *alerts]})
        cases = self.cases.get_many(self.est, ids) if ids else {}
        taken = {alert_id for alert_id, case in cases.items() if case.status != "open"}
        self._resend(pending, taken)
        for alert in alerts:
            if str(alert["alert_id"]) not in taken:
                self.summary.unacknowledged += 1
                self._escalate(alert)
        return self.summary

    def _resend(self, pending: list[dict[str, Any]], taken: set[str]) -> None:
        for message in pending:
            alert_id, step = str(message["alert_id"]), int(message["step"])
            if alert_id in taken:
                self.summary.dropped.append(esc.escalation_id(alert_id, step))
            else:
                self._send(message)
                self.summary.resent.append(esc.escalation_id(alert_id, step))
            self.store.mark_escalation_sent(self.est, alert_id, step)

    def _escalate(self, alert: dict[str, Any]) -> None:
        step = self.policy.due_step(esc.raised_at(alert), self.now)
        if step == 0:
            return
        message = esc.escalation_message(alert, step, self.now)
        expires = int((self.now + ESCALATION_RECORD_RETENTION).timestamp())
        # Recorded before sent: a step recorded already (a repeated run, or one whose send is still
        # in the outbox) is not sent again.
        if self.store.record_escalation(self.est, message, expires):
            self._send(message)
            self.store.mark_escalation_sent(self.est, str(alert["alert_id"]), step)
            self.summary.escalated.append(esc.escalation_id(str(alert["alert_id"]), step))

    def _send(self, message: dict[str, Any]) -> None:
        self.publisher.publish(
            machine_json=alerting.to_json(message),
            human_text=esc.escalation_text(message, self.tz),
            subject=esc.escalation_subject(message),
            attributes=esc.escalation_attributes(message),
        )


def run_escalation(
    establishment: str,
    now: datetime,
    store: EscalationStore,
    cases: CaseReader,
    publisher: AlertPublisher,
    config: AimConfig,
) -> EscalationSummary:
    return EscalationRun(establishment, now, store, cases, publisher, config).run()


__all__ = ["CaseReader", "EscalationRun", "EscalationStore", "EscalationSummary", "run_escalation"]
