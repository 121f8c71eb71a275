"""A full local run: kiosk batches in, a red alert out on an SQS subscriber of the topic.

A small hand-built establishment: four prisoners on two wings with steady routines for
three weeks; then one of them stops everything. Batches are replayed through the
production handlers on moto, on a simulated clock.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aim.config import AimConfig
from aim_local.replay import BatchFile, replay
from aim_local.stack import LocalAws

START = date(2026, 11, 2)  # a Monday, after the autumn clock change: local time is UTC
ROUTINE_DAYS = 21
STOP_DAYS = 4
DAYS = ROUTINE_DAYS + STOP_DAYS + 1  # one more day so the last stop day is closed and judged
STOPPER = "A1111AA"
WINGS = {"A": ("LEI-KA", [STOPPER, "A2222AA"]), "B": ("LEI-KB", ["B4444BB", "B5555BB"])}
# Twice a day keeps the run fast (moto costs ~5 ms a call); the hourly default would only add no-op runs.
CONFIG = AimConfig(establishments=["LEI"], schedule_minutes=720)
HEARTBEAT_HOURS = (8, 11, 14, 17, 19)


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).isoformat()


def _routine(prisoner: str, day: date, n: int) -> list[dict[str, Any]]:
    """One ordinary day: logins, calls, canteen, work on weekdays."""
    tag = f"{prisoner}-{day:%Y%m%d}"
    out = [
        {"event_id": f"{tag}-L1", "type": "kiosk_login", "prisoner_id": prisoner, "occurred_at": _at(day, 8, n)},
        {
            "event_id": f"{tag}-P1",
            "type": "phone_call",
            "prisoner_id": prisoner,
            "occurred_at": _at(day, 8, 10 + n),
            "detail": {"duration_s": 300},
        },
        {
            "event_id": f"{tag}-C1",
            "type": "canteen_order",
            "prisoner_id": prisoner,
            "occurred_at": _at(day, 12, 20 + n),
            "detail": {"amount_pence": 450},
        },
        {"event_id": f"{tag}-L2", "type": "kiosk_login", "prisoner_id": prisoner, "occurred_at": _at(day, 17, n)},
        {
            "event_id": f"{tag}-P2",
            "type": "phone_call",
            "prisoner_id": prisoner,
            "occurred_at": _at(day, 17, 10 + n),
            "detail": {"duration_s": 240},
        },
    ]
    if day.weekday() < 5:
        out.append(
            {
                "event_id": f"{tag}-W1",
                "type": "activity_attended",
                "prisoner_id": prisoner,
                "occurred_at": _at(day, 9, n),
                "detail": {"activity": "work", "minutes": 180},
            }
        )
    return out


def scenario() -> list[BatchFile]:
    """One batch per kiosk per day, sealed in the evening, with hourly heartbeats."""
    batches = []
    for d in range(DAYS):
        day = START + timedelta(days=d)
        for wing, (kiosk, prisoners) in WINGS.items():
            records: list[dict[str, Any]] = []
            if d == 0:
                for n, p in enumerate(prisoners):
                    records.append(
                        {
                            "event_id": f"{p}-PROFILE",
                            "type": "profile",
                            "prisoner_id": p,
                            "occurred_at": _at(day, 7, n),
                            "detail": {"location": f"{wing}-1-{n + 1}", "date_of_birth": "1980-01-01"},
                        }
                    )
            for n, p in enumerate(prisoners):
                if p == STOPPER and d >= ROUTINE_DAYS:
                    continue  # stops everything
                records.extend(_routine(p, day, n))
            records.extend(
                {"event_id": f"{kiosk}-HB-{day:%Y%m%d}{h:02d}", "type": "kiosk_heartbeat", "occurred_at": _at(day, h)}
                for h in HEARTBEAT_HOURS
            )
            batch_id = f"{kiosk}-{day:%Y%m%d}"
            created = datetime(day.year, day.month, day.day, 19, 30, tzinfo=UTC)
            header = {
                "schema": "aim.kiosk-batch/1",
                "batch_id": batch_id,
                "establishment": "LEI",
                "kiosk_id": kiosk,
                "created_at": created.isoformat(),
                "record_count": len(records),
            }
            body = "\n".join(json.dumps(x) for x in [header, *records]) + "\n"
            batches.append(BatchFile(f"incoming/LEI/{kiosk}/{batch_id}.jsonl", body.encode(), created))
    return batches


def _late_batch() -> tuple[str, bytes]:
    """A late record, for a closed day after the alert, from another prisoner."""
    late_day = START + timedelta(days=ROUTINE_DAYS + 1)
    late = {"event_id": "LATE-1", "type": "kiosk_login", "prisoner_id": "B4444BB", "occurred_at": _at(late_day, 20)}
    header = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": "LEI-KB-LATE",
        "establishment": "LEI",
        "kiosk_id": "LEI-KB",
        "created_at": _at(late_day, 21),
        "record_count": 1,
    }
    return "incoming/LEI/LEI-KB/LEI-KB-LATE.jsonl", (json.dumps(header) + "\n" + json.dumps(late) + "\n").encode()


def test_prisoner_who_stops_everything_gets_one_red_alert_and_repeat_firings_page_nobody_twice():
    # One test, one replay: the replay is the slow part and must not run once per xdist worker.
    # Given three weeks of steady routine for four prisoners on two wings, then one stops everything
    batches = scenario()
    alerts: list[dict[str, Any]] = []
    after: dict[str, Any] = {}
    last_tick = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # end of the local day of the last batch

    def keep(local: LocalAws) -> None:
        # The schedule fires again at the time of the last run, twice (at-least-once delivery).
        after["again"] = [local.run_schedule(last_tick), local.run_schedule(last_tick)]
        after["alerts_after_repeat"] = local.drain_alerts()
        # A late record for a closed day arrives; the schedule fires twice more at that same time.
        key, body = _late_batch()
        local.upload(key, body, last_tick)
        after["late"] = [local.run_schedule(last_tick), local.run_schedule(last_tick)]
        after["alerts_after_late"] = local.drain_alerts()

    # When they are replayed through the handlers with the schedule on the simulated clock
    summary = replay(batches, CONFIG, on_alert=alerts.append, keep=keep, aws=True)

    # Then every batch applied
    assert summary.batches["applied"] == 2 * DAYS
    assert summary.batches["quarantined"] == 0
    assert summary.dead_letters == 0
    # And exactly one red aim.alert/1 message arrived on the topic's SQS subscriber: for them
    assert [(a["schema"], a["level"], a["prisoner_id"]) for a in alerts] == [("aim.alert/1", "red", STOPPER)]
    alert = alerts[0]
    assert alert["establishment"] == "LEI"
    assert alert["alert_id"].startswith("aim-lei-")
    raised = datetime.fromisoformat(alert["raised_at"])
    assert START + timedelta(days=ROUTINE_DAYS) < raised.date() <= START + timedelta(days=DAYS + 1)
    assert alert["location"] == "A-1-1"
    # And it says why: factors that fell or stopped, what was observed against what was expected
    assert alert["reasons"], alert
    factors = {r["factor"] for r in alert["reasons"]}
    assert factors <= {"phone", "selfcare", "purposeful", "engagement"}
    assert len(factors) >= 2
    for reason in alert["reasons"]:
        assert reason["change"] in ("fell", "stopped") and reason["observed"] == 0
        assert reason["expected"] > 0
        assert reason["text"]
    # And the board shows them red with the open alert, everyone else green
    board = {row["prisoner_id"]: row for row in summary.board}
    assert board[STOPPER]["light"] == "red"
    assert board[STOPPER]["open_alert"]["alert_id"] == alert["alert_id"]
    assert {p: row["light"] for p, row in board.items() if p != STOPPER} == dict.fromkeys(
        ("A2222AA", "B4444BB", "B5555BB"), "green"
    )

    # Then the schedule firing twice more at the same time pages nobody
    assert after["alerts_after_repeat"] == []
    for results in after["again"]:
        assert [r["alerts_sent"] for r in results] == [[]]
    # And after a late record the first firing re-reads that day and re-scores, the second finds
    # nothing new, and still nobody is paged again
    first, second = after["late"]
    assert first[0]["status"] == "scored"
    assert first[0]["days_read"] == [(START + timedelta(days=ROUTINE_DAYS + 1)).isoformat()]
    assert first[0]["alerts_sent"] == []
    assert second[0]["status"] == "unchanged"
    assert after["alerts_after_late"] == []
