"""``aim demo``: one simulated establishment, through the production ingest and scoring use cases on
in-memory stores, as a duty officer sees it."""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from aim.config import load_config
from aim.domain.alerts import alert_text
from aim_local.replay import BatchFile, replay

from aim_lab.console import board_summary, progress_printer
from aim_lab.simulate import ScenarioSpec, simulate


def run_demo(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    spec = ScenarioSpec(
        prisoners=args.prisoners,
        days=args.days,
        seed=args.seed,
        wings=tuple("ABCD"[: max(1, args.wings)]),
        # Kiosks seal a batch every two to three hours here (hourly in `aim evaluate`).
        seal_minutes=(120, 180),
    )
    config = load_config(args.config) if args.config else load_config()
    if spec.establishment not in config.establishments:
        config = config.model_copy(update={"establishments": [spec.establishment]})
    print(f"Simulating {spec.establishment}: {spec.prisoners} prisoners over {spec.days} days (seed {spec.seed})...")
    scenario = simulate(spec)
    stats = scenario.stats()
    print(
        f"  {stats['records']} records in {stats['batches']} kiosk batches from {stats['kiosks']} kiosks; "
        f"{stats['collapses']} prisoners whose routine collapses (hidden from AIM), "
        f"{stats['confounders']} confounders (lockdowns, bank holidays, kiosk outage...)"
    )
    print("Running it through AIM's ingest and hourly scoring (in-memory stores; `aim replay --aws` uses moto):")
    alerts: list[dict[str, Any]] = []
    history: dict[str, list[tuple[datetime, float, float]]] = defaultdict(list)

    def observe(tick: datetime, rows: list[dict[str, Any]]) -> None:
        for row in rows:  # score over time, for the report's charts
            if row.get("in_custody") and row.get("red_at") is not None:
                history[row["prisoner_id"]].append((tick, float(row["score"]), float(row["red_at"])))

    batches = [BatchFile(b.key, b.body, b.created_at) for b in scenario.batches]
    summary = replay(
        batches, config, on_alert=alerts.append, progress=progress_printer("  day by day"), observe=observe
    )

    truth = {c.prisoner_id: c for c in scenario.truth}
    print()
    print(f"RED ALERTS as the duty officer received them by SMS and email ({len(alerts)}):")
    print("-" * 100)
    for alert in alerts:
        marker = "collapse" if alert["prisoner_id"] in truth else "no collapse in the simulation"
        print(alert_text(alert, config.timezone))
        print(f"      (simulation truth, not sent: {marker}, raised {alert['raised_at'][:10]})")
    print("-" * 100)
    print()
    print("Traffic lights now, by wing:")
    print(board_summary(summary.board))
    print()
    for line in summary.lines():
        print(line)
    alerted = {a["prisoner_id"] for a in alerts}
    caught, others = len(alerted & set(truth)), len(alerted - set(truth))
    print(
        f"simulation truth: {caught} of {len(truth)} collapsing prisoners alerted; "
        f"{others} {'prisoner' if others == 1 else 'prisoners'} alerted without a simulated collapse"
    )
    if args.report:
        try:
            from aim_lab.report import write_replay_report

            write_replay_report(Path(args.report), summary, alerts=alerts, config=config, history=dict(history))
            print(f"report: {args.report}")
        except ImportError as exc:  # plotting is a dev extra
            print(f"(report skipped: {exc})", file=sys.stderr)
    print(f"demo finished in {time.perf_counter() - started:.0f} s")
    return 0
