"""Silence: several regular habits stopping altogether turns the light red though few events were lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aim.adapters.activity_table import DynamoActivityRepository
from aim.adapters.sns import SnsAlertPublisher
from aim.adapters.state_table import DynamoStateRepository
from aim.config import AimConfig, Silence
from aim.domain.batch import read_batch
from aim.service.ingest import apply_verdict
from aim.service.scoring_run import horizon, run_scoring
from aim_local.memory import LAB_ALERT_ID_KEY
from aim_local.stack import local_aws

BatchMaker = Callable[..., bytes]  # the conftest fixture make_batch

PRISONERS = [f"B{i:04d}BB" for i in range(12)]
STOPPED = PRISONERS[0]
START = date(2025, 6, 2)
DAYS = 24
ONCE_A_DAY = ((8, "phone_call"), (11, "meal_selected"), (12, "kiosk_login"))


def records(index: int, with_complaints: bool = False) -> list[dict[str, Any]]:
    """Everyone's once-a-day habits. The last two days STOPPED does nothing at all, or (with_complaints)
    stops phoning and picking meals but logs in and submits two complaints a day."""
    day = START + timedelta(days=index)
    last_two = index >= DAYS - 2
    out = [
        {
            "event_id": f"{p}-{index}-{hour}",
            "type": kind,
            "prisoner_id": p,
            "occurred_at": f"{day.isoformat()}T{hour:02d}:{n:02d}:00Z",
        }
        for n, p in enumerate(PRISONERS)
        for hour, kind in ONCE_A_DAY
        if not (p == STOPPED and last_two and (not with_complaints or kind != "kiosk_login"))
    ]
    if with_complaints and last_two:
        out += [
            {
                "event_id": f"{STOPPED}-{index}-complaint-{k}",
                "type": "complaint_submitted",
                "prisoner_id": STOPPED,
                "occurred_at": f"{day.isoformat()}T{13 + k:02d}:00:00Z",
            }
            for k in range(2)
        ]
    return out


def last_morning(
    config: AimConfig, make_batch: BatchMaker, with_complaints: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with local_aws(config) as stack:
        ddb = stack.clients["dynamodb"]
        activity = DynamoActivityRepository(stack.resources["activity_table"], ddb)
        state = DynamoStateRepository(stack.resources["state_table"], ddb)
        sent: list[dict[str, Any]] = []

        class Recorder(SnsAlertPublisher):
            def publish(self, *, machine_json: str, human_text: str, subject: str, attributes: dict[str, str]) -> str:
                sent.append(json.loads(machine_json))
                return super().publish(
                    machine_json=machine_json, human_text=human_text, subject=subject, attributes=attributes
                )

        publisher = Recorder(stack.resources["topic_arn"], stack.clients["sns"])
        tz = ZoneInfo(config.timezone)
        for i in range(DAYS):
            body = make_batch(
                records(i, with_complaints),
                batch_id=f"day-{i}",
                kiosk_id="K1",
                created_at=f"{START + timedelta(days=i)}T20:00:00Z",
            )
            apply_verdict(f"incoming/LEI/K1/d{i}.jsonl", read_batch("k.jsonl", body), activity, config, tz)
            run_scoring(
                "LEI",
                datetime.combine(START + timedelta(days=i + 1), time(7), tzinfo=UTC),
                activity,
                state,
                publisher,
                config,
                LAB_ALERT_ID_KEY,
            )
        s = state.load_states("LEI", horizon(config))[STOPPED]
        return {"light": s.light, "reasons": s.reasons}, [m for m in sent if m["prisoner_id"] == STOPPED]


def test_three_once_a_day_habits_stopping_for_two_days_is_red_and_says_which(make_batch: BatchMaker) -> None:
    # Given someone who phones, picks a meal and logs in once a day, and stops all three for two days
    s, alerts = last_morning(AimConfig(establishments=["LEI"]), make_batch)
    # Then their light is red, and the reasons name each habit that stopped
    assert s["light"] == "red"
    stopped = [r for r in s["reasons"] if r["change"] == "stopped"]
    assert {r["signal"] for r in stopped} == {"phone", "selfcare", "engagement"}
    assert all("stopped: none in the 2 days since" in r["text"] for r in stopped)
    # And a red alert went to the duty officers with the same reasons
    assert [a["level"] for a in alerts] == ["red"]
    assert {r["signal"] for r in alerts[0]["reasons"] if r["change"] == "stopped"} == {
        "phone",
        "selfcare",
        "engagement",
    }


def test_with_silence_switched_off_the_same_two_days_are_not_red(make_batch: BatchMaker) -> None:
    config = AimConfig(establishments=["LEI"], silence=Silence(factors=0))
    s, alerts = last_morning(config, make_batch)
    assert s["light"] != "red" and alerts == []


def test_two_habits_stopping_while_complaints_rise_is_red_and_names_the_rise(make_batch: BatchMaker) -> None:
    # Given someone who stops phoning and picking meals for two days but logs in to complain twice a day
    s, alerts = last_morning(AimConfig(establishments=["LEI"]), make_batch, with_complaints=True)
    # Then their light is red, and the reasons name the two habits and the complaints
    assert s["light"] == "red"
    assert {r["signal"] for r in s["reasons"] if r["change"] == "stopped"} == {"phone", "selfcare"}
    rise = [r for r in s["reasons"] if r["signal"] == "distress"]
    assert rise and rise[0]["change"] == "rose" and rise[0]["observed"] == 4
    assert "Requests and complaints rose: 4 in the 2 days since" in rise[0]["text"]
    assert [a["level"] for a in alerts] == ["red"]
    # And with the rise part switched off the same days are not red
    off = AimConfig(establishments=["LEI"], silence=Silence(factors_with_rise=0))
    s_off, alerts_off = last_morning(off, make_batch, with_complaints=True)
    assert s_off["light"] != "red" and alerts_off == []
