"""Judging today (``judge_open_days``): the open day counts as far as the kiosk group has sent it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aim.adapters.activity_table import DynamoActivityRepository
from aim.adapters.sns import SnsAlertPublisher
from aim.adapters.state_table import DynamoStateRepository
from aim.config import AimConfig
from aim.domain.batch import read_batch
from aim.service.ingest import apply_verdict
from aim.service.scoring_run import horizon, run_scoring
from aim_local.memory import LAB_ALERT_ID_KEY
from aim_local.stack import local_aws

BatchMaker = Callable[..., bytes]  # the conftest fixture make_batch

PRISONERS = [f"A{i:04d}AA" for i in range(12)]
STOPPED = PRISONERS[0]
START = date(2025, 6, 2)
DAYS = 24  # the last one is today, still open when the run fires
ROUTINE = ((8, "phone_call"), (9, "activity_attended"), (11, "meal_selected"), (12, "kiosk_login"), (14, "phone_call"))


def records(index: int, until_hour: int) -> list[dict[str, Any]]:
    """Day ``index``'s records up to ``until_hour`` (UTC); the stopped prisoner sends nothing on the last day."""
    day = START + timedelta(days=index)
    return [
        {
            "event_id": f"{p}-{index}-{hour}",
            "type": kind,
            "prisoner_id": p,
            "occurred_at": f"{day.isoformat()}T{hour:02d}:{n:02d}:00Z",
            **({"detail": {"activity": "work", "minutes": 60}} if kind == "activity_attended" else {}),
        }
        for n, p in enumerate(PRISONERS)
        if not (p == STOPPED and index == DAYS - 1)
        for hour, kind in ROUTINE
        if hour < until_hour
    ]


def run_today(config: AimConfig, make_batch: BatchMaker) -> tuple[object, float]:
    with local_aws(config) as stack:
        ddb = stack.clients["dynamodb"]
        activity = DynamoActivityRepository(stack.resources["activity_table"], ddb)
        state = DynamoStateRepository(stack.resources["state_table"], ddb)
        tz = ZoneInfo(config.timezone)
        publisher = SnsAlertPublisher(stack.resources["topic_arn"], stack.clients["sns"])
        for i in range(DAYS):
            until = 13 if i == DAYS - 1 else 23  # today: the morning's records are in
            body = make_batch(
                records(i, until),
                batch_id=f"day-{i}-{until}",
                kiosk_id="K1",
                created_at=f"{START + timedelta(days=i)}T{until:02d}:00:00Z",
            )
            apply_verdict(f"incoming/LEI/K1/d{i}.jsonl", read_batch("k.jsonl", body), activity, config, tz)
            at = START + timedelta(days=i + 1)  # the next morning's run builds up the history
            if i < DAYS - 1:
                run_scoring(
                    "LEI",
                    datetime.combine(at, time(7), tzinfo=UTC),
                    activity,
                    state,
                    publisher,
                    config,
                    LAB_ALERT_ID_KEY,
                )
        now = datetime.combine(START + timedelta(days=DAYS - 1), time(13, 30), tzinfo=UTC)
        summary = run_scoring("LEI", now, activity, state, publisher, config, LAB_ALERT_ID_KEY)
        return summary, state.load_states("LEI", horizon(config))[STOPPED].score


def test_by_default_a_run_judges_up_to_the_latest_closed_day(make_batch: BatchMaker) -> None:
    summary, score = run_today(AimConfig(establishments=["LEI"]), make_batch)
    yesterday = (START + timedelta(days=DAYS - 2)).isoformat()
    assert (summary.judged_day, summary.scored_to) == (yesterday, yesterday)  # type: ignore[attr-defined]
    assert summary.status == "unchanged"  # type: ignore[attr-defined]  # the morning run judged yesterday
    assert score < 1.0  # nothing had changed up to yesterday


def test_with_open_days_todays_absence_counts_as_far_as_the_others_have_sent(make_batch: BatchMaker) -> None:
    summary, score = run_today(AimConfig(establishments=["LEI"], judge_open_days=True), make_batch)
    assert summary.scored_to == (START + timedelta(days=DAYS - 1)).isoformat()  # type: ignore[attr-defined]
    # the others sent this morning's records; the stopped prisoner sent none of their usual ~4 by 13:00
    assert score > 2.0
    assert summary.lights == {"green": len(PRISONERS)}  # type: ignore[attr-defined]  # half a day: not yet amber
