"""``aim serve``: replay the demo establishment (or the batches under DIR) on the embedded local
AWS, then serve the board and staff API on 127.0.0.1 over what the replay left."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aim.config import AimConfig, load_config
from aim_local.replay import BatchFile, collect_batches, replay
from aim_local.serve import STAFF_TABLES, StaffLocal, fetch_token, serve_local

from aim_lab.console import progress_printer
from aim_lab.simulate import ScenarioSpec, simulate


def demo_batches(prisoners: int = 150, days: int = 28, seed: int = 7, wings: int = 3) -> tuple[str, list[BatchFile]]:
    spec = ScenarioSpec(
        prisoners=prisoners, days=days, seed=seed, wings=tuple("ABCD"[: max(1, wings)]), seal_minutes=(120, 180)
    )
    scenario = simulate(spec)
    return spec.establishment, [BatchFile(b.key, b.body, b.created_at) for b in scenario.batches]


def demo_outcomes_seeder(config: AimConfig, establishment: str) -> Callable[[StaffLocal], None]:
    """Before serving the demo: a few weeks of alerts worked by demo officers, for the outcomes page."""

    def prepare(staff: StaffLocal) -> None:
        from aim_lab.demo_outcomes import seed_demo_outcomes

        local = staff.local
        seeded = seed_demo_outcomes(
            local.clients,
            local.resources["state_table"],
            STAFF_TABLES["case"],
            STAFF_TABLES["audit"],
            config,
            establishment,
            datetime.now(UTC),
        )
        print(seeded.line())

    return prepare


def run_serve(args: argparse.Namespace) -> int:
    from aim_local.assets import AssetsMissingError, ensure_assets

    try:
        ensure_assets()
    except AssetsMissingError as exc:
        print(f"aim serve: {exc}", file=sys.stderr)
        return 2
    config = load_config(args.config) if args.config else load_config()
    prepare: Callable[[StaffLocal], None] | None = None
    if args.dir:
        directory = Path(args.dir)
        if not directory.is_dir():
            print(f"aim serve: {directory} is not a directory", file=sys.stderr)
            return 2
        batches = collect_batches(directory)
        if not batches:
            print(f"aim serve: no *.jsonl or *.jsonl.gz files under {directory}", file=sys.stderr)
            return 2
        print(f"Replaying {len(batches)} batches from {directory} on the embedded local AWS...")
    else:
        establishment, batches = demo_batches()
        if establishment not in config.establishments:
            config = config.model_copy(update={"establishments": [establishment]})
        prepare = demo_outcomes_seeder(config, establishment)
        print(f"Replaying the demo establishment {establishment} on the embedded local AWS...")
    summary = replay(
        batches,
        config,
        progress=progress_printer("  replay"),
        aws=True,  # the board reads the tables the embedded AWS holds
        keep=lambda local: (
            serve_local(local, args.port) if prepare is None else serve_local(local, args.port, prepare=prepare)
        ),
    )
    for line in summary.lines():
        print(line)
    return 0


def run_token(args: argparse.Namespace) -> int:
    try:
        print(fetch_token(args.user, args.url))
    except Exception as exc:  # noqa: BLE001 - any failure is reported the same way to the user
        print(f"aim token: could not get a token for {args.user} from {args.url}: {exc}", file=sys.stderr)
        return 1
    return 0
