"""Alerts are recorded before they are sent and sent once, whatever fails or overlaps.

Scenario: six prisoners with a steady kiosk routine; one of them (A1000AA) stops everything
for the last days, so the scorer turns them red on one judged day. The history before that
day is built once per module (facts through the real ingest path, one scoring run per day);
each test restores the scorer's state table to that point and fires the red day's run with
its own fault: an SNS publish that fails once, the schedule firing twice, an overlapping
run, a lease left behind by a crashed run. Alerts are read from the topic's SQS subscriber.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aim.adapters.activity_table import DynamoActivityRepository
from aim.adapters.dynamodb import from_attr, to_attr
from aim.adapters.sns import SnsAlertPublisher
from aim.adapters.state_table import META_SK, DynamoStateRepository
from aim.config import AimConfig
from aim.domain.batch import read_batch
from aim.service.ingest import apply_verdict
from aim.service.scoring_run import ScoringRun, run_scoring
from aim_local.memory import LAB_ALERT_ID_KEY
from aim_local.stack import LocalAws, local_aws

CONFIG = AimConfig(establishments=["LEI"])
PRISONERS = ("A1000AA", "B2000BB", "C3000CC", "D4000DD", "E5000EE", "F6000FF")
COLLAPSING = PRISONERS[0]
START = date(2025, 6, 2)
DAYS = 18
COLLAPSE_DAYS = 4
RED_DAY = 15  # the first judged day (index) on which the collapse scores red (its second day)
ROUTINE = (
    (7, "kiosk_login", {}),
    (8, "phone_call", {"duration_s": 300}),
    (9, "activity_attended", {"activity": "work", "minutes": 120}),
    (11, "meal_selected", {}),
    (12, "kiosk_login", {}),
    (13, "meal_selected", {}),
    (14, "phone_call", {"duration_s": 60}),
    (15, "canteen_order", {"amount_pence": 100}),
    (16, "phone_call", {"duration_s": 200}),
    (17, "canteen_order", {"amount_pence": 250}),
    (18, "kiosk_login", {}),
    (19, "kiosk_login", {}),
)


def day_batch(index: int) -> bytes:
    day = START + timedelta(days=index)
    records = [
        {
            "event_id": f"{p}-{index}-{hour}",
            "type": kind,
            "prisoner_id": p,
            "occurred_at": f"{day.isoformat()}T{hour:02d}:{n:02d}:00Z",
            "detail": detail,
        }
        for n, p in enumerate(PRISONERS)
        if not (p == COLLAPSING and index >= DAYS - COLLAPSE_DAYS)
        for hour, kind, detail in ROUTINE
    ]
    header = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": f"day-{index}",
        "establishment": "LEI",
        "kiosk_id": "K1",
        "created_at": f"{day.isoformat()}T22:00:00Z",
        "record_count": len(records),
    }
    return ("\n".join(json.dumps(x) for x in [header, *records]) + "\n").encode()


def run_time(index: int) -> datetime:
    """08:00 London the morning after day ``index``: that day is closed and judged."""
    return datetime.combine(START + timedelta(days=index + 1), time(7, 0), tzinfo=UTC)


class InjectedPublishError(RuntimeError):
    pass


class FailingOncePublisher:
    """The real SNS publisher; its first publish fails as SNS throttling or a network fault would."""

    def __init__(self, inner: SnsAlertPublisher) -> None:
        self.inner = inner
        self.failed = False

    def publish(self, **kwargs: Any) -> str:
        if not self.failed:
            self.failed = True
            raise InjectedPublishError("SNS publish failed")
        return self.inner.publish(**kwargs)


class OverlappingPublisher:
    """While the first run is sending its alert, a second run for the same establishment starts."""

    def __init__(self, inner: SnsAlertPublisher, start_overlap: Any) -> None:
        self.inner = inner
        self.start_overlap = start_overlap
        self.overlap_status: str | None = None

    def publish(self, **kwargs: Any) -> str:
        if self.overlap_status is None:
            self.overlap_status = self.start_overlap().status
        return self.inner.publish(**kwargs)


@dataclass
class History:
    stack: LocalAws
    activity: DynamoActivityRepository
    state: DynamoStateRepository
    snapshot: list[dict[str, Any]]

    def publisher(self) -> SnsAlertPublisher:
        return SnsAlertPublisher(self.stack.resources["topic_arn"], self.stack.clients["sns"])

    def run(self, at: datetime, publisher: Any) -> Any:
        return run_scoring("LEI", at, self.activity, self.state, publisher, CONFIG, LAB_ALERT_ID_KEY)

    def lease(self) -> dict[str, Any] | None:
        ddb, table = self.stack.clients["dynamodb"], self.stack.resources["state_table"]
        return ddb.get_item(TableName=table, Key={"pk": {"S": "LEI"}, "sk": {"S": "LEASE"}}).get("Item")

    def pending_alerts(self) -> list[dict[str, Any]]:
        """Alerts recorded and not yet sent: the establishment's pending partition."""
        ddb, table = self.stack.clients["dynamodb"], self.stack.resources["state_table"]
        items = [from_attr(i) for i in ddb.scan(TableName=table, ConsistentRead=True)["Items"]]
        return [i for i in items if str(i["pk"]).endswith("#RUN") and i["sk"] != META_SK]


@pytest.fixture(scope="module")
def history() -> Iterator[History]:
    with local_aws(CONFIG) as stack:
        ddb = stack.clients["dynamodb"]
        activity = DynamoActivityRepository(stack.resources["activity_table"], ddb)
        state = DynamoStateRepository(stack.resources["state_table"], ddb)
        tz = ZoneInfo(CONFIG.timezone)
        publisher = SnsAlertPublisher(stack.resources["topic_arn"], stack.clients["sns"])

        def upload(i: int) -> None:  # the kiosk sends each day's batch at 22:00 that day
            apply_verdict(f"incoming/LEI/K1/day-{i}.jsonl", read_batch("k.jsonl", day_batch(i)), activity, CONFIG, tz)

        for i in range(RED_DAY):
            upload(i)
            summary = run_scoring("LEI", run_time(i), activity, state, publisher, CONFIG, LAB_ALERT_ID_KEY)
            assert not summary.alerts_sent, "the scenario must not page before the red day"
        upload(RED_DAY)
        snapshot = ddb.scan(TableName=stack.resources["state_table"], ConsistentRead=True)["Items"]
        yield History(stack, activity, state, [from_attr(i) for i in snapshot])


@pytest.fixture
def h(history: History) -> History:
    """The module's history with the state table as it was before the red day, and no alerts queued."""
    ddb, table = history.stack.clients["dynamodb"], history.stack.resources["state_table"]
    for item in ddb.scan(TableName=table, ConsistentRead=True)["Items"]:
        ddb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    for item in history.snapshot:
        ddb.put_item(TableName=table, Item=to_attr(item))
    history.stack.drain_alerts()
    return history


def red_alerts(stack: LocalAws) -> list[dict[str, Any]]:
    alerts = stack.drain_alerts()
    assert all(a["prisoner_id"] == COLLAPSING and a["level"] == "red" for a in alerts)
    return alerts


def test_the_scenario_pages_once_for_the_collapsing_prisoner(h: History) -> None:
    # Given the history up to the red day; When the red day's run fires
    summary = h.run(run_time(RED_DAY), h.publisher())
    # Then exactly one red alert is sent, for the collapsing prisoner, and nothing is left pending
    assert summary.lights.get("red") == 1
    alerts = red_alerts(h.stack)
    assert [a["alert_id"] for a in alerts] == summary.alerts_sent
    assert h.pending_alerts() == []


def test_failed_publish_is_recorded_and_resent_by_the_next_run(h: History) -> None:
    # Given SNS fails the first publish of the red day's run
    at = run_time(RED_DAY)
    with pytest.raises(InjectedPublishError):
        h.run(at, FailingOncePublisher(h.publisher()))
    # Then the alert was recorded before the send (a PENDING record), and nobody was paged yet; the lease is released
    pending = h.pending_alerts()
    assert len(pending) == 1
    alert_id = json.loads(pending[0]["message"])["alert_id"]
    assert h.stack.drain_alerts() == []
    assert h.lease() is None
    # When the next scheduled run fires
    summary = h.run(at + timedelta(hours=1), h.publisher())
    # Then it resends the recorded alert (same alert_id) and nothing is pending any more
    assert alert_id in summary.alerts_resent
    assert alert_id in {a["alert_id"] for a in red_alerts(h.stack)}
    assert h.pending_alerts() == []


def test_failed_publish_then_retry_pages_nobody_twice(h: History) -> None:
    # Given SNS fails the first publish of the red day's run
    at = run_time(RED_DAY)
    with pytest.raises(InjectedPublishError):
        h.run(at, FailingOncePublisher(h.publisher()))
    # When the next run fires and then the one after it
    h.run(at + timedelta(hours=1), h.publisher())
    h.run(at + timedelta(hours=2), h.publisher())
    # Then the duty officer got the red alert exactly once
    alerts = red_alerts(h.stack)
    assert len(alerts) == 1, [a["alert_id"] for a in alerts]


def test_schedule_firing_twice_at_the_same_time_pages_once(h: History) -> None:
    # Given the red day; When EventBridge Scheduler delivers the same invocation twice (through the handler)
    first = h.stack.run_schedule(run_time(RED_DAY))
    second = h.stack.run_schedule(run_time(RED_DAY))
    # Then one alert: the second run finds nothing changed
    assert len(first[0]["alerts_sent"]) == 1
    assert second[0]["alerts_sent"] == [] and second[0]["alerts_resent"] == []
    assert len(red_alerts(h.stack)) == 1


def test_later_runs_on_the_same_red_day_do_not_page_again(h: History) -> None:
    # Given the red alert was sent; When the hourly schedule keeps firing through the day
    h.run(run_time(RED_DAY), h.publisher())
    for hour in range(1, 4):
        h.run(run_time(RED_DAY) + timedelta(hours=hour), h.publisher())
    # Then still one alert (the quiet period holds further reminders back)
    assert len(red_alerts(h.stack)) == 1


def test_overlapping_run_is_skipped_by_the_lease(h: History) -> None:
    # Given a run that is part-way through sending its alert when a second run starts
    at = run_time(RED_DAY)
    overlap = OverlappingPublisher(
        h.publisher(), lambda: ScoringRun("LEI", at, h.activity, h.state, h.publisher(), CONFIG, LAB_ALERT_ID_KEY).run()
    )
    summary = h.run(at, overlap)
    # Then the second run saw the lease and did nothing, and the alert went out once
    assert overlap.overlap_status == "skipped: another run holds the lease"
    assert len(summary.alerts_sent) == 1
    assert len(red_alerts(h.stack)) == 1


def test_lease_left_by_a_crashed_run_delays_scoring_until_it_expires(h: History) -> None:
    # Given a run that died holding the lease (never reached its finally) a minute before the red day's run
    at = run_time(RED_DAY)
    assert h.state.take_lease("LEI", "crashed", int((at - timedelta(minutes=1)).timestamp()), 900)
    # When the run fires while the lease is live, and again after it expired
    blocked = h.run(at, h.publisher())
    later = h.run(at + timedelta(minutes=30), h.publisher())
    # Then the first does nothing, the second pages once
    assert blocked.status.startswith("skipped") and blocked.alerts_sent == []
    assert len(later.alerts_sent) == 1
    assert len(red_alerts(h.stack)) == 1
