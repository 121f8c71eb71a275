"""The ceiling study sees what the production scoring run saw: the run's ``on_scored`` callback receives
each pass's inputs and result, and a captured row carries AIM's own value against the red line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from aim.adapters.activity_table import DynamoActivityRepository
from aim.adapters.sns import SnsAlertPublisher
from aim.adapters.state_table import DynamoStateRepository
from aim.config import AimConfig
from aim.domain.batch import read_batch
from aim.service.ingest import apply_verdict
from aim.service.scoring_run import run_scoring
from aim_lab.ceiling import _keep
from aim_local.memory import LAB_ALERT_ID_KEY
from aim_local.stack import local_aws
from test_silence import DAYS, START, STOPPED, records  # the same twelve prisoners; STOPPED stops for two days

BatchMaker = Callable[..., bytes]


def test_each_scoring_pass_is_captured_with_aims_own_verdict(make_batch: BatchMaker) -> None:
    config = AimConfig(establishments=["LEI"])
    tz = ZoneInfo(config.timezone)
    rows: dict[str, list[Any]] = {"pid": [], "hours": [], "aim": [], "features": []}
    start = datetime.combine(START, time(0), tzinfo=UTC)
    passes: list[Any] = []

    def on_scored(*seen: Any) -> None:
        passes.append(seen)

    with local_aws(config) as stack:
        ddb = stack.clients["dynamodb"]
        activity = DynamoActivityRepository(stack.resources["activity_table"], ddb)
        state = DynamoStateRepository(stack.resources["state_table"], ddb)
        publisher = SnsAlertPublisher(stack.resources["topic_arn"], stack.clients["sns"])
        for i in range(DAYS):
            body = make_batch(
                records(i), batch_id=f"d{i}", kiosk_id="K1", created_at=f"{START + timedelta(days=i)}T20:00:00Z"
            )
            apply_verdict(f"incoming/LEI/K1/d{i}.jsonl", read_batch("k.jsonl", body), activity, config, tz)
            passes.clear()
            now = datetime.combine(START + timedelta(days=i + 1), time(7), tzinfo=UTC)
            run_scoring(
                "LEI", now, activity, state, publisher, config, LAB_ALERT_ID_KEY, lambda *seen: passes.append(seen)
            )
            # Given a scoring pass, when it has run, then the callback had its inputs and result, once
            (captured,) = passes
            active, inputs, result = captured
            assert inputs.counts.shape[0] == len(active) == result.score.shape[0]
            _keep(rows, captured, now, start, config)
        light = {s.prisoner_id: s.light for s in active}
    # Then the last pass's rows give AIM's verdict as value over the red line: the one who stopped is red
    last = [k for k, h in enumerate(rows["hours"]) if h == max(rows["hours"])]
    value = {rows["pid"][k]: rows["aim"][k] for k in last}
    assert light[STOPPED] == "red" and value[STOPPED] >= 1.0
    assert all(v < 1.0 for p, v in value.items() if p != STOPPED)
    # And each row's features start with the score over the static-factor multiplier
    features = np.vstack([rows["features"][k] for k in last])
    assert features.shape[1] > 100 and np.all(features[:, 1] == 1.0)  # nobody here has a static factor
