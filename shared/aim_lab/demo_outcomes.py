"""A few weeks of worked alerts for the demo, so the governor's outcomes page has something to show.

The replay's own alerts are left as the scorer raised them (the board's live reds). Before them,
one to three reds a week are written for prisoners the replay put on the board, dated in the weeks
before ``now``, and demo officers work them through the staff service on a clock set after each
alert: most acknowledged within two hours, most of those with an intervention, about half closed.
The days of those weeks the replay did not judge get day records around today's board (people in
each light, new ambers, the configured red line), with a bank holiday, a wing lockdown and a kiosk
outage among them.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from aim.adapters.audit_table import DynamoAuditLog
from aim.adapters.board_state import StateTableBoardReader
from aim.adapters.case_table import DynamoCaseRepository
from aim.adapters.state_table import alert_record_item, day_item
from aim.config import AimConfig
from aim.domain.alerts import ALERT_SCHEMA, alert_id_for
from aim.domain.board import AlertRecord, BoardRow
from aim.service.scoring_run import horizon
from aim.service.staff import StaffService
from aim_local.memory import LAB_ALERT_ID_KEY

from aim_lab.outcomes_report import work_alerts

AGE_BANDS = ("18-24", "25-39", "40+")
DEMO_LINE_BASIS = "configured: no red capacity set"
DEMO_REASONS = [
    {
        "factor": "phone",
        "signal": "phone",
        "change": "stopped",
        "observed": 0,
        "expected": 9.0,
        "window_days": 10,
        "text": "Phone calls and credit stopped: none in the last 10 days",
    }
]


@dataclass(frozen=True)
class SeededOutcomes:
    alerts: int
    acknowledged: int
    interventions: int
    closed: int
    days: int = 0

    def line(self) -> str:
        return (
            f"Seeded {self.alerts} past alerts for the outcomes page: {self.acknowledged} acknowledged, "
            f"{self.interventions} with an intervention, {self.closed} closed; and {self.days} days of lights"
        )


def past_alert(row: BoardRow, establishment: str, raised: datetime) -> dict[str, Any]:
    judged = (raised - timedelta(days=1)).date().isoformat()
    return {
        "schema": ALERT_SCHEMA,
        "alert_id": alert_id_for(LAB_ALERT_ID_KEY, establishment, row.prisoner_id, judged, "new"),
        "level": "red",
        "establishment": establishment,
        "prisoner_id": row.prisoner_id,
        "raised_at": raised.isoformat(),
        "reasons": DEMO_REASONS,
        "kind": "new",
        "score": 6.8,
        "red_threshold": 6.0,
        "static_factors": [],
        "judged_day": judged,
        "location": row.location,
    }


def seed_demo_outcomes(
    clients: dict[str, Any],
    state_table: str,
    case_table: str,
    audit_table: str,
    config: AimConfig,
    establishment: str,
    now: datetime,
    weeks: int = 4,
    seed: int = 7,
) -> SeededOutcomes:
    """Writes and works past reds over the ``weeks`` before ``now``; returns what was recorded."""
    from boto3.dynamodb.types import TypeSerializer

    ddb, ser, rng = clients["dynamodb"], TypeSerializer(), random.Random(seed)
    reader = StateTableBoardReader(state_table, horizon(config), client=ddb)
    rows = [r for r in reader.board(establishment) if not r.open_alert_id]
    if not rows:
        return SeededOutcomes(0, 0, 0, 0)
    records: dict[str, AlertRecord] = {}
    for week in range(weeks, 0, -1):
        for _ in range(rng.randint(1, 3)):
            day = now.date() - timedelta(days=7 * week - rng.randint(0, 5))
            raised = datetime.combine(day, time(7, rng.randint(0, 59)), tzinfo=UTC)
            message = past_alert(rng.choice(rows), establishment, raised)
            if message["alert_id"] in records:
                continue
            expires = int((raised + timedelta(days=365)).timestamp())
            item = alert_record_item(establishment, message, expires, demo_subgroups(rng))
            ddb.put_item(TableName=state_table, Item={k: ser.serialize(v) for k, v in item.items()})
            records[message["alert_id"]] = AlertRecord.from_message(message)
    days = seed_demo_days(ddb, state_table, reader, config, establishment, now, weeks, rng)
    audit = DynamoAuditLog(audit_table, 2555, client=ddb)
    cases = DynamoCaseRepository(case_table, client=ddb, audit_log=audit)
    moment = [now]
    service = StaffService(reader, cases, audit, clock=lambda: moment[0])
    work_alerts(service, list(records.values()), moment, rng)
    worked = cases.get_many(establishment, list(records)).values()
    return SeededOutcomes(
        alerts=len(records),
        acknowledged=sum(1 for c in worked if c.acknowledged_at is not None),
        interventions=sum(1 for c in worked if c.interventions),
        closed=sum(1 for c in worked if c.status == "closed"),
        days=days,
    )


def demo_subgroups(rng: random.Random) -> dict[str, str]:
    return {"age_band": rng.choice(AGE_BANDS), "kiosk_use": "low" if rng.random() < 0.2 else "normal"}


def demo_day(
    board: Counter[tuple[str, str]], config: AimConfig, establishment: str, rng: random.Random
) -> dict[str, Any]:
    """One past day's record around today's board: a few people more or less amber or red per wing."""
    lights: dict[str, dict[str, int]] = {}
    new_amber: dict[str, int] = {}
    for wing in sorted({w for w, _ in board}):
        people = sum(n for (w, _), n in board.items() if w == wing)
        red = min(people, rng.choice((0, 0, 0, 1)))
        amber = min(people - red, max(0, board[(wing, "amber")] + rng.randint(-1, 2)))
        insufficient = min(people - red - amber, board[(wing, "insufficient")])
        lights[wing] = {"red": red, "amber": amber, "insufficient": insufficient}
        lights[wing]["green"] = people - red - amber - insufficient
        if amber and rng.random() < 0.4:
            new_amber[wing] = 1
    thresholds = config.thresholds_for(establishment)
    line = {"value": thresholds.red, "amber": thresholds.amber, "method": "configured", "basis": DEMO_LINE_BASIS}
    return {"lights": lights, "new_amber": new_amber, "red_line": line, "confounders": []}


def seed_demo_days(
    ddb: Any,
    state_table: str,
    reader: StateTableBoardReader,
    config: AimConfig,
    establishment: str,
    now: datetime,
    weeks: int,
    rng: random.Random,
) -> int:
    """Day records for the ``weeks`` before ``now`` that have none, around today's board, with a bank
    holiday, a wing lockdown and a kiosk outage; returns how many were written."""
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    first, last = now.date() - timedelta(days=7 * weeks), now.date() - timedelta(days=1)
    held = {r["day"] for r in reader.day_records(establishment, first, last)}
    board = Counter((r.wing, r.light) for r in reader.board(establishment))
    wings = sorted({w for w, _ in board}) or ["A"]
    events = {
        first + timedelta(days=4): {"kind": "routine_drop", "wing": "all", "detail": "visits, purposeful, selfcare"},
        first + timedelta(days=11): {"kind": "routine_drop", "wing": wings[-1], "detail": "phone, purposeful"},
        first + timedelta(days=17): {"kind": "kiosk_outage", "wing": wings[0], "detail": f"{establishment}-K01"},
    }
    items = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        if day.isoformat() in held:
            continue
        figures = demo_day(board, config, establishment, rng)
        if day in events:
            figures["confounders"] = [events[day]]
        items.append(day_item(establishment, day, figures))
    rows = [{"PutRequest": {"Item": {k: ser.serialize(v) for k, v in i.items()}}} for i in items]
    for start in range(0, len(rows), 25):
        ddb.batch_write_item(RequestItems={state_table: rows[start : start + 25]})
    return len(items)


__all__ = ["SeededOutcomes", "past_alert", "seed_demo_outcomes"]
