"""The ``aim`` command: demo, replay (backtest), upload (kiosk client), evaluate, ceiling, bench."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from aim.config import ConfigError, load_config
from aim_lab.console import progress_printer


def cmd_replay(args: argparse.Namespace) -> int:
    from aim_local.replay import collect_batches, replay

    config = load_config(args.config)
    directory = Path(args.dir)
    if not directory.is_dir():
        print(f"aim replay: {directory} is not a directory", file=sys.stderr)
        return 2
    batches = collect_batches(directory)
    if not batches:
        print(f"aim replay: no *.jsonl or *.jsonl.gz files under {directory}", file=sys.stderr)
        return 2
    out = Path(args.alerts_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with out.open("w", encoding="utf-8") as sink:

        def write(alert: dict[str, Any]) -> None:
            sink.write(json.dumps(alert, separators=(",", ":")) + "\n")

        progress = None if args.quiet else progress_printer("replay")
        history: dict[str, list[tuple[Any, float, float]]] = defaultdict(list)

        def observe(tick: Any, rows: list[dict[str, Any]]) -> None:
            if args.report:  # score over time, for the report's charts
                for row in rows:
                    if row.get("in_custody") and row.get("red_at") is not None:
                        history[row["prisoner_id"]].append((tick, float(row["score"]), float(row["red_at"])))

        summary = replay(batches, config, on_alert=write, progress=progress, observe=observe)
    elapsed = time.perf_counter() - started
    for line in summary.lines():
        print(line)
    for key, reason in summary.quarantined[:20]:
        print(f"  quarantined {key}: {reason}")
    print(f"time: {elapsed:.1f} s (ingest {summary.ingest_seconds:.1f} s, scoring {summary.scoring_seconds:.1f} s)")
    print(f"alerts written to {out}")
    if args.report:
        from aim_lab.report import write_replay_report

        write_replay_report(Path(args.report), summary, alerts_path=out, config=config, history=dict(history))
        print(f"report written to {args.report}")
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    from aim_cli.upload import upload_files

    return upload_files([Path(f) for f in args.files], bucket=args.bucket)


def cmd_demo(args: argparse.Namespace) -> int:
    from aim_lab.demo import run_demo

    return run_demo(args)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from aim_lab.evaluate import run_evaluate

    return run_evaluate(args)


def cmd_ceiling(args: argparse.Namespace) -> int:
    from aim_lab.ceiling import run

    return run(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from aim_lab.bench import run_bench

    return run_bench(args)


def cmd_reconcile(args: argparse.Namespace) -> int:
    from aim_cli.reconcile import run_reconcile

    return run_reconcile(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from aim_lab.serve_demo import run_serve

    return run_serve(args)


def cmd_token(args: argparse.Namespace) -> int:
    from aim_lab.serve_demo import run_token

    return run_token(args)


def _ceiling_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help="AIM config file (default: built-in defaults)")
    parser.add_argument("--test-seeds", default="1-3", help="held-out seeds of each kind (default 1-3)")
    parser.add_argument(
        "--train-seeds", default="101-108", help="mixed and stark training seeds, 15%% collapses (101-108)"
    )
    parser.add_argument("--train-independent-seeds", default="11-16", help="independent training seeds (11-16)")
    parser.add_argument("--workers", type=int, default=2, help="scenarios captured side by side (default 2)")
    parser.add_argument("--out", default="out/ceiling.json")
    parser.add_argument("--captures", default="out/ceiling", help="where each scenario's capture is kept")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse captures kept by an earlier run (same code and config only)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aim", description="AIM: Alert. Intervene. Monitor.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="simulate one establishment and run it through the local stack")
    demo.add_argument("--prisoners", type=int, default=150)
    demo.add_argument("--days", type=int, default=28)
    demo.add_argument("--wings", type=int, default=3, help="wings (one kiosk each), at most 4")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--config", help="AIM config JSON (default: built-in defaults)")
    demo.add_argument("--report", default="out/demo-report.html", help="HTML report to write")
    demo.set_defaults(func=cmd_demo)

    rp = sub.add_parser("replay", help="backtest kiosk batches on the embedded local AWS")
    rp.add_argument("dir")
    rp.add_argument("--alerts-out", required=True)
    rp.add_argument("--config")
    rp.add_argument("--report", help="also write an HTML report")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.set_defaults(func=cmd_replay)

    up = sub.add_parser("upload", help="upload kiosk batch files (honours AWS_ENDPOINT_URL)")
    up.add_argument("files", nargs="+")
    up.add_argument("--bucket", required=True)
    up.set_defaults(func=cmd_upload)

    ev = sub.add_parser("evaluate", help="measure detection quality on generated scenarios with ground truth")
    ev.add_argument("--seeds", default="1,2,3")
    ev.add_argument("--prisoners", type=int, default=240)
    ev.add_argument("--days", type=int, default=63)
    ev.add_argument("--config")
    ev.add_argument(
        "--collapses",
        choices=("mixed", "stark"),
        default="mixed",
        help="mixed: collapses vary in speed, depth and factors (default); stark: every collapse is abrupt, "
        "total and touches every factor the person has",
    )
    ev.add_argument("--report", default="out/evaluate-report.html")
    ev.add_argument(
        "--scenario",
        action="append",
        metavar="DIR",
        help="evaluate a scenario written elsewhere: kiosk batches under DIR and DIR/truth.json "
        "(aim.scenario-truth/1, see aim_lab.truth_file); repeatable; replaces --seeds",
    )
    ev.set_defaults(func=cmd_evaluate)

    ce = sub.add_parser(
        "ceiling", help="how far a classifier trained on ground truth gets on the same scenarios (needs .[study])"
    )
    _ceiling_arguments(ce)
    ce.set_defaults(func=cmd_ceiling)

    rc = sub.add_parser("reconcile", help="list uploads neither applied nor quarantined, and dead letters")
    rc.add_argument("--bucket", required=True)
    rc.add_argument("--activity-table", required=True)
    rc.add_argument("--dlq-url", required=True)
    rc.add_argument("--grace-minutes", type=int, default=60)
    rc.set_defaults(func=cmd_reconcile)

    sv = sub.add_parser("serve", help="the board and staff API on 127.0.0.1 over the local stack (demo or DIR)")
    sv.add_argument("dir", nargs="?", help="kiosk batches to replay first (default: the demo establishment)")
    sv.add_argument("--port", type=int, default=8080)
    sv.add_argument("--config", help="AIM config JSON (default: built-in defaults)")
    sv.set_defaults(func=cmd_serve)

    tk = sub.add_parser("token", help="print a bearer token for a demo user of a running aim serve")
    tk.add_argument("user")
    tk.add_argument("--url", required=True, help="the URL aim serve printed, e.g. http://127.0.0.1:8080")
    tk.set_defaults(func=cmd_token)

    bench = sub.add_parser("bench", help="measure throughput, round trips, backtest speed, cold start")
    bench.add_argument("--quick", action="store_true")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"aim {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
