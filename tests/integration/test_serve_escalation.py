"""`aim serve`'s local stack runs the escalation job on the wall clock while it serves the board."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aim.adapters.case_table import DynamoCaseRepository
from aim.adapters.state_table import DynamoStateRepository
from aim.domain import casework
from aim.domain.alerts import AlertDecision, alert_message
from aim.domain.assessment import Assessment
from aim.domain.casework import AlertCase
from aim.domain.escalation import is_escalation
from aim_local.serve import free_port, serve_local


def raise_red(local: Any, alert_id: str, prisoner_id: str, raised: datetime) -> None:
    a = Assessment(prisoner_id, "red", 8.0, 3.0, 6.0, [], [{"factor": "visits", "text": "x"}], "2026-11-30")
    message = alert_message(AlertDecision("new", alert_id), "LEI", a, raised, "B-2-14")
    repository = DynamoStateRepository(local.resources["state_table"], local.clients["dynamodb"])
    assert repository.record_alert("LEI", message, int((raised + timedelta(days=365)).timestamp()))
    repository.mark_sent("LEI", alert_id)
    local.drain_alerts()


def test_aim_serve_escalates_a_red_nobody_acknowledged_and_not_one_taken(local: Any) -> None:
    # Given two reds raised forty minutes ago: one an officer took, one nobody took
    raised = datetime.now(UTC) - timedelta(minutes=40)
    raise_red(local, "aim-lei-nobody", "A1234BC", raised)
    raise_red(local, "aim-lei-taken", "B2345CD", raised)
    cases = DynamoCaseRepository(local.resources["case_table"], client=local.clients["dynamodb"])
    assert cases.save(casework.acknowledge(AlertCase.opened("aim-lei-taken", "LEI", "B2345CD"), "amy", raised))
    said: list[str] = []

    def until() -> None:  # serve until the escalation job has run once
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(s.startswith("escalation job: 1 ") for s in said):
            time.sleep(0.05)

    # When the board is served over the local stack
    serve_local(local, free_port(), announce=said.append, until=until, escalate_every=3600)

    # Then the untaken red was escalated once, at its first step, and the taken one not at all
    escalations = [m for m in local.drain_alerts() if is_escalation(m)]
    assert [(m["alert_id"], m["step"]) for m in escalations] == [("aim-lei-nobody", 1)]
    assert "escalation job: 1 escalation of unacknowledged reds sent" in said
