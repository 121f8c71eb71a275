"""The ``aim`` command: demo, replay (backtest), upload (kiosk client), evaluate, ceiling, bench."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from aim.config import EST_CODE, AimConfig, ConfigError, load_config
from aim_lab.console import progress_printer

if TYPE_CHECKING:
    from aim_local.replay import BatchFile

EST_PATTERN = re.compile(EST_CODE)


class CommandError(Exception):
    """An ``aim`` command could not do what was asked; the message is the one line shown."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def header_establishment(batch: BatchFile) -> str | None:
    """The establishment line 1 of a batch names, or None when the header cannot say
    (the batch is then replayed and quarantined with the reason)."""
    from aim.domain.batch import QuarantineError, decode_body, strict_json

    try:
        first = decode_body(batch.key, batch.body).split("\n", 1)[0]
        header = strict_json(first)
    except (QuarantineError, ValueError, RecursionError):
        return None
    code = header.get("establishment") if isinstance(header, dict) else None
    return code if isinstance(code, str) and EST_PATTERN.match(code) else None


def replay_plan(
    batches: list[BatchFile], config: AimConfig, config_given: bool
) -> tuple[list[BatchFile], AimConfig, dict[str, int]]:
    """Which batches to replay under which configuration, and the establishments left out.

    Every establishment named in a batch header is replayed: without a configuration file with
    the default settings, with one only those it lists (the others are counted and left out)."""
    codes = [header_establishment(b) for b in batches]
    found = {code for code in codes if code is not None}
    if not config_given:
        return batches, config.with_establishments(found) if found else config, {}
    unlisted = Counter(code for code in codes if code is not None and code not in config.establishments)
    kept = [b for b, code in zip(batches, codes, strict=True) if code not in unlisted]
    return kept, config, dict(sorted(unlisted.items()))


def cmd_replay(args: argparse.Namespace) -> int:
    from aim_local.replay import collect_batches, replay

    config = load_config(args.config)
    directory = Path(args.dir)
    if not directory.is_dir():
        raise CommandError(f"{directory} is not a directory")
    found = collect_batches(directory)
    if not found:
        raise CommandError(f"no *.jsonl or *.jsonl.gz files under {directory}")
    batches, config, unlisted = replay_plan(found, config, config_given=args.config is not None)
    for code, n in unlisted.items():
        print(f"not in the configuration: {code} ({n} batch{'es' if n != 1 else ''}), not applied")
    if not batches:
        raise CommandError(f"no batch could be applied: none of their establishments is in {args.config}", exit_code=1)
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

        summary = replay(batches, config, on_alert=write, progress=progress, observe=observe, aws=args.aws)
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
    if not summary.batches["applied"]:
        raise CommandError(
            f"no batch could be applied ({summary.batches['quarantined']} quarantined, reasons above)", exit_code=1
        )
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    from aim_cli.upload import upload_files

    return upload_files([Path(f) for f in args.files], bucket=args.bucket)


def cmd_demo(args: argparse.Namespace) -> int:
    from aim_lab.demo import run_demo

    return run_demo(args)


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.families:
        from aim_lab.evaluate_families import run_families

        return run_families(args)
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


def cmd_outcomes(args: argparse.Namespace) -> int:
    from aim_lab.outcomes_report import OutcomesRequestError, run_outcomes

    try:
        return run_outcomes(args)
    except OutcomesRequestError as exc:
        raise CommandError(str(exc)) from exc


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
    parser.add_argument("--workers", type=int_in(1, 64), default=2, help="scenarios captured side by side (default 2)")
    parser.add_argument("--out", default="out/ceiling.json")
    parser.add_argument("--captures", default="out/ceiling", help="where each scenario's capture is kept")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse captures kept by an earlier run (same code and config only)"
    )


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` (inclusive; no upper bound when None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: must be {bound}")
        return value

    parse.__name__ = "whole number"
    return parse


def iso_day(text: str) -> date:
    """An argparse type: a day as YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-02") from None


def est_code(text: str) -> str:
    """An argparse type: an establishment code such as LEI."""
    if not EST_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an establishment code like LEI")
    return text


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (``aim demo: argument --days: ...``), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="aim", description="AIM: Alert. Intervene. Monitor.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="simulate one establishment and run it through the local stack")
    demo.add_argument("--prisoners", type=int_in(1, 5000), default=150, help="1 to 5000 (default 150)")
    demo.add_argument("--days", type=int_in(7, 400), default=28, help="7 to 400 (default 28)")
    demo.add_argument("--wings", type=int_in(1, 4), default=3, help="wings (one kiosk each), 1 to 4 (default 3)")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--config", help="AIM config JSON (default: built-in defaults)")
    demo.add_argument("--report", default="out/demo-report.html", help="HTML report to write")
    demo.set_defaults(func=cmd_demo)

    rp = sub.add_parser("replay", help="backtest kiosk batches (in memory; on the embedded local AWS with --aws)")
    rp.add_argument("dir")
    rp.add_argument("--alerts-out", required=True)
    rp.add_argument("--config")
    rp.add_argument("--report", help="also write an HTML report")
    rp.add_argument("--quiet", action="store_true", help="no progress bar")
    rp.add_argument("--aws", action="store_true", help="through S3, SQS and the handlers on the embedded local AWS")
    rp.set_defaults(func=cmd_replay)

    up = sub.add_parser("upload", help="upload kiosk batch files (honours AWS_ENDPOINT_URL)")
    up.add_argument("files", nargs="+")
    up.add_argument("--bucket", required=True)
    up.set_defaults(func=cmd_upload)

    ev = sub.add_parser("evaluate", help="measure detection quality on generated scenarios with ground truth")
    ev.add_argument("--seeds", default="1,2,3")
    ev.add_argument("--prisoners", type=int_in(1, 5000), default=240)
    ev.add_argument("--days", type=int_in(7, 400), default=63)
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
    ev.add_argument(
        "--families",
        metavar="LIST",
        help="one evaluation across scenario families (comma-separated from mixed,stark,independent,quiet,noisy), "
        "one configuration for all, per family and pooled, beside both reference rules; replaces --seeds",
    )
    ev.add_argument("--per-family", type=int_in(1, 20), default=2, help="runs per family with --families (seeds 1..N)")
    ev.add_argument("--jobs", type=int_in(1, 16), default=2, help="processes for --families")
    ev.add_argument("--json", help="with --families: where the figures go (default out/evaluate/families.json)")
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
    rc.add_argument("--grace-minutes", type=int_in(0), default=60)
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

    oc = sub.add_parser("outcomes", help="the field report: outcome figures, an HTML report, a pseudonymised export")
    oc.add_argument("--from", dest="date_from", required=True, type=iso_day, help="first day, YYYY-MM-DD")
    oc.add_argument("--to", dest="date_to", required=True, type=iso_day, help="last day, YYYY-MM-DD")
    oc.add_argument("--est", type=est_code, help="one establishment (default: all configured; LEI locally)")
    oc.add_argument("--out", default="out/outcomes", help="directory to write to (default: out/outcomes)")
    oc.add_argument("--key-file", help="the pseudonym key (default: the AIM_PSEUDONYM_KEY variable)")
    oc.add_argument("--state-table", help="a deployed stack's state table (default: the local demo)")
    oc.add_argument("--case-table", help="a deployed stack's case table")
    oc.add_argument("--config", help="AIM config JSON (default: built-in defaults)")
    oc.set_defaults(func=cmd_outcomes)

    bench = sub.add_parser("bench", help="measure throughput, round trips, backtest speed, cold start")
    bench.add_argument("--quick", action="store_true")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``aim`` command. An expected failure is one line on stderr and a non-zero exit."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        failure = expected_failure(exc)
        if failure is None:
            raise
        message, code = failure
        print(f"aim {args.command}: {message}", file=sys.stderr)
        return code


def expected_failure(exc: BaseException) -> tuple[str, int] | None:
    """The line to show and the exit code for a failure the user can act on; None for a bug."""
    if isinstance(exc, CommandError):
        return str(exc), exc.exit_code
    if isinstance(exc, ConfigError):
        return str(exc), 2
    if isinstance(exc, OSError):  # a missing or unreadable file, a full disk
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}", 2
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE or the AWS_ACCESS_KEY_ID variables)", 2
    if isinstance(exc, BotoCoreError):
        return f"AWS: {exc}", 2
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"AWS: {error.get('Code', 'error')}: {error.get('Message', exc)}", 2
    return None


__all__ = ["CommandError", "build_parser", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
