"""The lab's in-memory stores behave as the real path: one scenario replayed in memory (the ingest
and scoring use cases on ``aim_local.memory``) and on the embedded local AWS (S3, SQS, the
production handlers, DynamoDB and SNS on moto) gives the same alerts, counts and board."""

from __future__ import annotations

from typing import Any

from aim.config import load_config
from aim_lab.simulate import ScenarioSpec, simulate
from aim_local.replay import BatchFile, ReplaySummary, replay

# A scenario with a collapse that turns red within its 24 days; scoring every four hours keeps the
# moto run short without changing what is compared.
SPEC = ScenarioSpec(prisoners=40, days=24, wings=("A", "B"), seed=3, seal_minutes=(120, 180))


def _replay(aws: bool) -> tuple[ReplaySummary, list[dict[str, Any]], list[dict[str, Any]]]:
    scenario = simulate(SPEC)
    config = load_config().model_copy(update={"establishments": [SPEC.establishment], "schedule_minutes": 240})
    batches = [BatchFile(b.key, b.body, b.created_at) for b in scenario.batches]
    alerts: list[dict[str, Any]] = []
    escalations: list[dict[str, Any]] = []
    summary = replay(batches, config, on_alert=alerts.append, aws=aws, on_escalation=escalations.append)
    return summary, alerts, escalations


def test_a_scenario_replayed_in_memory_and_on_moto_gives_identical_alerts() -> None:
    # Given one scenario; When it is replayed in memory and through the handlers on moto
    memory, memory_alerts, memory_escalations = _replay(aws=False)
    moto, moto_alerts, moto_escalations = _replay(aws=True)

    # Then the same alerts are raised, in the same order: ids, levels, kinds, reasons, messages
    assert memory_alerts, "the scenario must raise at least one alert to compare"
    assert [(a["alert_id"], a["level"], a["reasons"]) for a in memory_alerts] == [
        (a["alert_id"], a["level"], a["reasons"]) for a in moto_alerts
    ]
    assert memory_alerts == moto_alerts
    # And the batches and records counted the same way, with the same number of scoring runs
    assert (memory.batches, memory.records, memory.alerts) == (moto.batches, moto.records, moto.alerts)
    assert memory.scoring_runs == moto.scoring_runs
    # And the escalation job (the use case in memory, the escalate handler on moto) sends the same
    # escalations of the reds nobody acknowledged, at the same simulated times
    assert memory_escalations and memory.escalations == moto.escalations
    assert memory_escalations == moto_escalations
    assert memory.escalation_runs == moto.escalation_runs
    # And every prisoner ends with the same light, score and reasons on the board
    assert sorted(memory.board, key=lambda r: r["prisoner_id"]) == sorted(moto.board, key=lambda r: r["prisoner_id"])
