"""A replay runs the escalation job on its simulated clock: nobody acknowledges, so each red is
escalated at every step of the policy, on the job's five-minute ticks, and reported apart from
the alerts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aim.config import AimConfig, Escalation
from aim.domain import escalation as esc
from aim_cli.main import main
from aim_local import replay as replay_module
from aim_local.replay import BatchFile, ReplaySummary, header_created_at, replay

from tests.integration.test_reliability_alerts import DAYS, day_batch

CONFIG = AimConfig(establishments=["LEI"], escalation=Escalation(first_minutes=30, repeat_minutes=120, max_steps=3))
FIVE_MINUTES = timedelta(minutes=esc.SCHEDULE_MINUTES)


def batches() -> list[BatchFile]:
    out = []
    for i in range(DAYS):
        body = day_batch(i)
        out.append(BatchFile(f"incoming/LEI/K1/day-{i}.jsonl", body, header_created_at(body)))
    return out


def run(config: AimConfig = CONFIG) -> tuple[ReplaySummary, list[dict[str, Any]], list[dict[str, Any]]]:
    alerts: list[dict[str, Any]] = []
    escalations: list[dict[str, Any]] = []
    summary = replay(batches(), config, on_alert=alerts.append, on_escalation=escalations.append)
    return summary, alerts, escalations


def on_the_grid(moment: datetime) -> bool:
    return (moment.astimezone(UTC) - datetime(2000, 1, 1, tzinfo=UTC)) % FIVE_MINUTES == timedelta(0)


def test_each_unacknowledged_red_escalates_once_per_step_on_the_five_minute_ticks() -> None:
    # Given the scenario whose collapsing prisoner turns red; When it is replayed
    summary, alerts, escalations = run()
    reds = {a["alert_id"]: a for a in alerts if a["level"] == "red"}
    assert reds, "the scenario raises a red"

    # Then the alerts written are alerts only, and every escalation is of one of them
    assert not any(esc.is_escalation(a) for a in alerts)
    assert escalations and {e["alert_id"] for e in escalations} <= set(reds)
    # And each step of an alert is sent once, in order, at the first tick at or after it fell due
    steps: dict[str, list[int]] = {}
    for e in escalations:
        steps.setdefault(e["alert_id"], []).append(e["step"])
        raised = datetime.fromisoformat(reds[e["alert_id"]]["raised_at"])
        due = raised + timedelta(minutes=30 + 120 * (e["step"] - 1))
        sent = datetime.fromisoformat(e["escalated_at"])
        assert on_the_grid(sent) and due <= sent < due + FIVE_MINUTES, e
    assert all(s == list(range(1, len(s) + 1)) for s in steps.values()), steps
    assert max(len(s) for s in steps.values()) == 3  # the policy's max_steps
    # And the summary counts them by step and says why there are so many
    assert summary.escalations == Counter(e["step"] for e in escalations)
    assert summary.escalated_alerts == set(steps)
    assert "nobody acknowledges" in summary.escalation_line()
    assert summary.escalation_runs <= 3 * len(reds)  # only the ticks where a step falls due


def test_running_only_the_due_ticks_sends_what_running_every_tick_would(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the replay's escalations when only the ticks where a step falls due are run
    _, due_alerts, due_only = run()

    # When instead the job runs on every five-minute tick while any red could still escalate
    def every_tick(alert: dict[str, Any], policy: esc.EscalationPolicy) -> list[datetime]:
        if alert.get("level") != "red":
            return []
        raised = datetime.fromisoformat(str(alert["raised_at"])).astimezone(UTC)
        epoch = datetime(2000, 1, 1, tzinfo=UTC)
        first = epoch + ((raised - epoch) // FIVE_MINUTES + 1) * FIVE_MINUTES
        return [first + k * FIVE_MINUTES for k in range(int(policy.horizon / FIVE_MINUTES) + 1)]

    monkeypatch.setattr(replay_module, "escalation_ticks", every_tick)
    summary, every_alerts, every = run()

    # Then the same escalations are sent at the same moments, and the alerts are the same
    assert summary.escalation_runs > len(every)
    assert every == due_only
    assert every_alerts == due_alerts


def test_no_escalation_steps_configured_means_none_in_the_replay() -> None:
    summary, alerts, escalations = run(CONFIG.model_copy(update={"escalation": Escalation(max_steps=0)}))
    assert alerts and escalations == [] and summary.escalation_runs == 0


def test_aim_replay_prints_the_escalations_it_would_have_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "batches"
    folder.mkdir()
    for b in batches():
        (folder / Path(b.key).name).write_bytes(b.body)
    out = tmp_path / "alerts.jsonl"
    assert main(["replay", str(folder), "--alerts-out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    line = next(x for x in printed.splitlines() if x.startswith("escalations: "))
    assert line.startswith("escalations: ") and " would have been sent for 1 red (steps 1 to 12); " in line
    assert "nobody acknowledges an alert in a replay" in line
    # And the alerts file holds alerts only
    assert '"escalated_at"' not in out.read_text()
