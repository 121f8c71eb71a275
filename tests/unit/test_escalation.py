"""Escalation of unacknowledged reds, on a simulated clock with the in-memory stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aim.config import AimConfig, Escalation
from aim.domain import casework
from aim.domain.alerts import AlertDecision, alert_message
from aim.domain.assessment import Assessment
from aim.domain.casework import AlertCase
from aim.domain.escalation import EscalationPolicy, escalation_text, latest_per_prisoner
from aim.domain.features import CHANNELS
from aim.service.escalation import run_escalation
from aim_local.memory import InMemoryCaseRepository, InMemoryEscalationStore, InMemoryStateRepository

RAISED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CONFIG = AimConfig(escalation=Escalation(first_minutes=30, repeat_minutes=120, max_steps=3))
REASONS = [{"factor": "visits", "text": "stopped booking visits"}, {"factor": "requests", "text": "healthcare app"}]


class RecordingPublisher:
    """The alert topic: every publish with its text, subject and attributes."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, *, machine_json: str, human_text: str, subject: str, attributes: dict[str, str]) -> str:
        self.published.append(
            {"message": json.loads(machine_json), "text": human_text, "subject": subject, "attributes": attributes}
        )
        return f"m-{len(self.published)}"


class PublisherDownError(RuntimeError):
    pass


class FailingPublisher:
    def publish(self, **_: Any) -> str:
        raise PublisherDownError("SNS unavailable")


class Estate:
    """One establishment's alert records, cases and topic, and a clock the test moves."""

    def __init__(self) -> None:
        self.state = InMemoryStateRepository()
        self.store = InMemoryEscalationStore(self.state)
        self.cases = InMemoryCaseRepository()
        self.topic = RecordingPublisher()

    def raise_red(self, prisoner_id: str = "A1234BC", at: datetime = RAISED, alert_id: str = "aim-lei-aaaa") -> str:
        a = Assessment(prisoner_id, "red", 8.0, 3.0, 6.0, ["ACCT open"], REASONS, "2026-11-30")
        message = alert_message(AlertDecision("new", alert_id), "LEI", a, at, "B-2-14")
        assert self.state.record_alert("LEI", message, 0)
        self.state.mark_sent("LEI", alert_id)
        return alert_id

    def acknowledge(self, alert_id: str, at: datetime, prisoner_id: str = "A1234BC") -> None:
        assert self.cases.save(casework.acknowledge(AlertCase.opened(alert_id, "LEI", prisoner_id), "amy", at))

    def run(self, at: datetime, publisher: Any = None) -> Any:
        return run_escalation("LEI", at, self.store, self.cases, publisher or self.topic, CONFIG)

    def steps(self) -> list[tuple[str, int]]:
        return [(p["message"]["alert_id"], p["message"]["step"]) for p in self.topic.published]


def every_five_minutes(start: datetime, end: datetime) -> list[datetime]:
    return [start + timedelta(minutes=5 * n) for n in range(int((end - start) / timedelta(minutes=5)) + 1)]


@pytest.fixture
def estate() -> Estate:
    return Estate()


def test_a_red_acknowledged_in_time_is_never_escalated(estate: Estate) -> None:
    # Given a red taken 20 minutes after it was raised
    alert_id = estate.raise_red()
    estate.acknowledge(alert_id, RAISED + timedelta(minutes=20))
    # When the job runs every five minutes for a day
    for at in every_five_minutes(RAISED, RAISED + timedelta(days=1)):
        estate.run(at)
    # Then nothing was escalated
    assert estate.topic.published == []
    assert estate.store.recorded("LEI") == []


def test_nothing_is_escalated_before_the_first_interval(estate: Estate) -> None:
    estate.raise_red()
    summary = estate.run(RAISED + timedelta(minutes=29, seconds=59))
    assert (summary.unacknowledged, summary.escalated, estate.topic.published) == (1, [], [])


def test_a_late_red_is_escalated_once_per_step_however_often_the_job_runs(estate: Estate) -> None:
    # Given a red nobody takes
    alert_id = estate.raise_red()
    # When the job runs every five minutes for a day, twice at each time (a duplicate schedule firing)
    for at in every_five_minutes(RAISED, RAISED + timedelta(days=1)):
        estate.run(at)
        estate.run(at)
    # Then each step went out exactly once: at 30 minutes, then 2 h 30 and 4 h 30 (max_steps 3)
    assert estate.steps() == [(alert_id, 1), (alert_id, 2), (alert_id, 3)]
    sent_at = [datetime.fromisoformat(p["message"]["escalated_at"]) - RAISED for p in estate.topic.published]
    assert sent_at == [timedelta(minutes=30), timedelta(minutes=150), timedelta(minutes=270)]


def test_escalation_is_the_alert_message_marked_for_the_governor_subscription(estate: Estate) -> None:
    alert_id = estate.raise_red()
    estate.run(RAISED + timedelta(minutes=30))
    [sent] = estate.topic.published
    original = json.loads(estate.state.alert_records("LEI")[alert_id])
    assert sent["message"] == {
        **original,
        "kind": "escalation",
        "step": 1,
        "escalated_at": (RAISED + timedelta(minutes=30)).isoformat(),
    }
    assert sent["attributes"] == {"establishment": "LEI", "level": "red", "kind": "escalation", "escalation": "true"}
    assert "not acknowledged" in sent["subject"]


def test_escalation_text_is_one_sms_without_health_detail(estate: Estate) -> None:
    # Given a red whose reasons include a healthcare application and a static factor
    alert_id = estate.raise_red()
    estate.run(RAISED + timedelta(minutes=30))
    text = estate.topic.published[0]["text"]
    # Then the text fits an SMS, says it is unacknowledged and where, and carries no health detail
    assert len(text) <= 160, text
    for part in ("UNACKNOWLEDGED", "RED", "LEI", "A1234BC", "B-2-14", alert_id):
        assert part in text, (part, text)
    for secret in ("ACCT", "healthcare", "health"):
        assert secret not in text, (secret, text)


def test_worst_case_escalation_text_fits_one_sms() -> None:
    reasons = [{"factor": c.factor, "text": "x"} for c in CHANNELS]
    a = Assessment("A1234BC", "red", 99.0, 3.0, 6.0, [], reasons, "2026-11-20")
    long_id = "aim-lei-" + "f" * 40
    message = {**alert_message(AlertDecision("new", long_id), "LEI", a, RAISED, "ABCD-EFGH-IJKL-MNOP"), "step": 9}
    text = escalation_text(message)
    assert len(text) <= 160 and long_id in text, (len(text), text)


def test_acknowledging_stops_later_steps(estate: Estate) -> None:
    # Given a red escalated once, then taken an hour later
    alert_id = estate.raise_red()
    for at in every_five_minutes(RAISED, RAISED + timedelta(minutes=90)):
        estate.run(at)
    estate.acknowledge(alert_id, RAISED + timedelta(minutes=95))
    # When the job keeps running
    for at in every_five_minutes(RAISED + timedelta(minutes=95), RAISED + timedelta(days=1)):
        estate.run(at)
    # Then only the first step went out
    assert estate.steps() == [(alert_id, 1)]


def test_a_crash_between_record_and_send_is_sent_once_on_the_next_run(estate: Estate) -> None:
    # Given a run that recorded step 1 and could not publish it
    alert_id = estate.raise_red()
    with pytest.raises(PublisherDownError):
        estate.run(RAISED + timedelta(minutes=30), FailingPublisher())
    assert estate.store.recorded("LEI") == [f"{alert_id}#E01"]
    # When the next runs come
    first = estate.run(RAISED + timedelta(minutes=35))
    estate.run(RAISED + timedelta(minutes=40))
    # Then the recorded step went out once, from the outbox, and was not recorded again
    assert first.resent == [f"{alert_id}#E01"] and first.escalated == []
    assert estate.steps() == [(alert_id, 1)]
    assert estate.topic.published[0]["message"]["escalated_at"] == (RAISED + timedelta(minutes=30)).isoformat()


def test_a_step_left_unsent_is_dropped_if_the_alert_is_acknowledged_meanwhile(estate: Estate) -> None:
    alert_id = estate.raise_red()
    with pytest.raises(PublisherDownError):
        estate.run(RAISED + timedelta(minutes=30), FailingPublisher())
    estate.acknowledge(alert_id, RAISED + timedelta(minutes=32))
    summary = estate.run(RAISED + timedelta(minutes=35))
    assert summary.dropped == [f"{alert_id}#E01"]
    assert estate.topic.published == []
    assert estate.store.pending_escalations("LEI") == []


def test_only_a_prisoners_latest_alert_escalates(estate: Estate) -> None:
    # Given an alert superseded by a newer one for the same prisoner, and another prisoner's alert
    estate.raise_red(alert_id="aim-lei-old", at=RAISED - timedelta(hours=1))
    newer = estate.raise_red(alert_id="aim-lei-new", at=RAISED)
    other = estate.raise_red(prisoner_id="B2345CD", alert_id="aim-lei-other", at=RAISED)
    # When the first step is due for the newer alerts
    estate.run(RAISED + timedelta(minutes=30))
    # Then the newer alert and the other prisoner's escalate, not the superseded one
    assert sorted(estate.steps()) == sorted([(newer, 1), (other, 1)])


def test_a_run_that_finds_several_steps_due_sends_only_the_latest(estate: Estate) -> None:
    # Given the job did not run for five hours after a red was raised
    alert_id = estate.raise_red()
    estate.run(RAISED + timedelta(hours=5))
    assert estate.steps() == [(alert_id, 3)]


def test_max_steps_zero_switches_escalation_off(estate: Estate) -> None:
    estate.raise_red()
    off = AimConfig(escalation=Escalation(max_steps=0))
    run_escalation("LEI", RAISED + timedelta(hours=3), estate.store, estate.cases, estate.topic, off)
    assert estate.topic.published == []


@pytest.mark.parametrize(
    ("waited", "step"),
    [(0, 0), (29, 0), (30, 1), (149, 1), (150, 2), (270, 3), (10_000, 3)],
)
def test_due_step_counts_intervals_after_the_first(waited: int, step: int) -> None:
    policy = EscalationPolicy.of_minutes(30, 120, 3)
    assert policy.due_step(RAISED, RAISED + timedelta(minutes=waited)) == step


def test_latest_per_prisoner_ignores_anything_but_red() -> None:
    amber = {"alert_id": "x", "level": "amber", "prisoner_id": "A1", "raised_at": RAISED.isoformat()}
    assert latest_per_prisoner([amber]) == []


def test_default_escalation_config() -> None:
    assert (AimConfig().escalation.first_minutes, AimConfig().escalation.repeat_minutes) == (30, 120)


def test_the_in_memory_stack_escalates_a_red_its_scorer_raised_and_nobody_took() -> None:
    from aim_local.memory import InMemoryStack

    # Given the in-memory pipeline holding a red alert record, as its scorer records them
    stack = InMemoryStack(CONFIG)
    a = Assessment("A1234BC", "red", 8.0, 3.0, 6.0, [], REASONS, "2026-11-30")
    stack.state.record_alert("LEI", alert_message(AlertDecision("new", "aim-lei-a"), "LEI", a, RAISED, "B-2-14"), 0)
    stack.state.mark_sent("LEI", "aim-lei-a")
    # When the escalation schedule fires before and after the first interval
    stack.run_escalations(RAISED + timedelta(minutes=10))
    stack.run_escalations(RAISED + timedelta(minutes=40))
    stack.run_escalations(RAISED + timedelta(minutes=45))
    # Then one escalation arrived on the topic
    assert [(m["alert_id"], m["kind"], m["step"]) for m in stack.drain_alerts()] == [("aim-lei-a", "escalation", 1)]
