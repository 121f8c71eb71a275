"""``aim bench``: throughput, DynamoDB round trips, backtest speed, scoring at scale, cold start, cost.

Everything runs on this machine: the transform and scoring code in process; the backtest's
speed on the lab's in-memory stores; round trips and request units on the embedded local
stack (moto, ``aim replay --aws``). AWS calls are counted with botocore event hooks
registered on the default boto3 session before the stack creates its clients, so production
code is measured exactly as it runs, unchanged. Timings are CPU seconds (``time.process_time``) where
a rate per core is wanted and wall seconds for the backtest; the machine is shared, so treat
them as noisy. Round-trip and item counts are exact and deterministic.

Results are printed as a table and written to ``out/bench.json``; ``docs/cost.md`` is built
from them with ``monthly_cost``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aim.config import AimConfig

OUT = Path("out/bench.json")

# ------------------------------------------------------------------------------------------------
# Counting AWS calls (botocore event hooks)


def _attr_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value (its item-size rules, close enough for billing)."""
    ((kind, v),) = value.items()
    if kind == "S":
        return len(str(v).encode())
    if kind == "N":
        digits = str(v).lstrip("-").replace(".", "").lstrip("0")
        return max(1, (len(digits) + 1) // 2) + 1
    if kind == "B":
        return len(v)
    if kind == "SS":
        return sum(len(str(s).encode()) for s in v)
    if kind == "NS":
        return sum(_attr_size({"N": n}) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _attr_size(x) + 1 for k, x in v.items())
    if kind == "L":
        return 3 + sum(_attr_size(x) + 1 for x in v)
    return 1  # BOOL, NULL


def item_size(item: dict[str, Any]) -> int:
    """Bytes of an item in the DynamoDB wire form (attribute names count too)."""
    return sum(len(k.encode()) + _attr_size(v) for k, v in item.items())


def wru(size: int) -> int:
    """On-demand write request units for one item write: one per started 1 KB."""
    return max(1, math.ceil(size / 1024))


def rru(size: int, consistent: bool) -> float:
    """On-demand read request units: one per started 4 KB, half for eventually consistent."""
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


@dataclass
class OpStats:
    calls: int = 0
    items_written: int = 0
    bytes_written: int = 0
    wru: float = 0.0
    keys_requested: int = 0
    items_read: int = 0
    bytes_read: int = 0
    rru: float = 0.0

    def add(self, other: OpStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


READ_OPS = frozenset({"BatchGetItem", "GetItem", "Query", "Scan"})
WRITE_OPS = frozenset({"BatchWriteItem", "PutItem", "UpdateItem", "DeleteItem"})


def _label(service: str, op: str, params: dict[str, Any]) -> tuple[str, str]:
    """(phase, label) of one call: phase is ingest | score | harness."""
    if service == "dynamodb":
        table = str(params.get("TableName") or next(iter(params.get("RequestItems") or {}), ""))
        kind = "activity" if "activity" in table.lower() else "state" if "state" in table.lower() else table
        if kind == "activity" and op in ("BatchWriteItem", "UpdateItem"):
            return "ingest", f"{kind}.{op}"
        if kind == "activity" and op == "BatchGetItem":
            projected = any("ProjectionExpression" in r for r in (params.get("RequestItems") or {}).values())
            return ("ingest" if projected else "score"), f"{kind}.{op}"
        return "score", f"{kind}.{op}"
    if service == "s3":
        key = str(params.get("Key", ""))
        prefix = key.split("/", 1)[0] + "/" if "/" in key else key
        if op == "GetObject" and prefix == "reports/":
            return "harness", f"s3.{op} {prefix}"
        return "ingest", f"s3.{op} {prefix}"
    if service == "sqs":
        url = str(params.get("QueueUrl", ""))
        if "subscriber" in url or op == "GetQueueAttributes":
            return "harness", f"sqs.{op}"
        return "ingest", f"sqs.{op}"
    if service == "sns":
        return "score", f"sns.{op}"
    return "harness", f"{service}.{op}"


@dataclass
class CallLog:
    """Every AWS call the code under test makes, by phase and label, with DynamoDB units."""

    ops: dict[tuple[str, str], OpStats] = field(default_factory=lambda: defaultdict(OpStats))
    # Scoring-phase stats since the last ``mark()`` (one scheduled run in a replay tick).
    tick: dict[str, float] = field(default_factory=Counter)
    enabled: bool = True

    # --- hooks -------------------------------------------------------------------------------
    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self.enabled:
            return
        service = model.service_model.service_name
        context["aim_bench"] = (service, model.name, params)

    def after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        entry = context.pop("aim_bench", None)
        if entry is None:
            return
        service, op, params = entry
        phase, label = _label(service, op, params)
        stats = self._measure(service, op, params, parsed or {})
        self.ops[(phase, label)].add(stats)
        if phase == "score" and service == "dynamodb":
            self.tick["reads" if op in READ_OPS else "writes"] += 1
            self.tick["rru"] += stats.rru
            self.tick["wru"] += stats.wru
            if op == "Query" and label.startswith("state") and _prefix(params) == "P#":
                self.tick["prisoners_read"] += stats.items_read
            if op == "Query" and label.startswith("activity"):
                self.tick["facts_read"] += stats.items_read
            if op == "PutItem" and (params.get("Item") or {}).get("sk", {}).get("S") == "LEASE":
                self.tick["scored"] = 1
            if op == "BatchWriteItem" and label.startswith("state"):
                self.tick["states_written"] += stats.items_written

    @staticmethod
    def _measure(service: str, op: str, params: dict[str, Any], parsed: dict[str, Any]) -> OpStats:
        s = OpStats(calls=1)
        if service != "dynamodb":
            return s
        if op == "BatchWriteItem":
            for rows in (params.get("RequestItems") or {}).values():
                for row in rows:
                    item = (row.get("PutRequest") or {}).get("Item") or (row.get("DeleteRequest") or {}).get("Key", {})
                    size = item_size(item)
                    s.items_written += 1
                    s.bytes_written += size
                    s.wru += wru(size)
        elif op == "PutItem":
            size = item_size(params.get("Item") or {})
            s.items_written, s.bytes_written, s.wru = 1, size, wru(size)
        elif op in ("UpdateItem", "DeleteItem"):
            # The billed size is the larger of the item before and after; ``attach_item_sizes``
            # replaces this lower bound for change-set updates once the final sizes are known.
            s.items_written, s.wru = 1, 1
        elif op == "BatchGetItem":
            for table, request in (params.get("RequestItems") or {}).items():
                consistent = bool(request.get("ConsistentRead"))
                rows = (parsed.get("Responses") or {}).get(table, [])
                s.keys_requested += len(request.get("Keys", []))
                s.items_read += len(rows)
                sizes = [item_size(r) for r in rows]
                s.bytes_read += sum(sizes)
                # A key that is not found still costs the minimum read.
                missing = len(request.get("Keys", [])) - len(rows)
                s.rru += sum(rru(z, consistent) for z in sizes) + missing * rru(0, consistent)
        elif op == "GetItem":
            item = parsed.get("Item")
            size = item_size(item) if item else 0
            s.keys_requested, s.items_read, s.bytes_read = 1, int(bool(item)), size
            s.rru = rru(size, bool(params.get("ConsistentRead")))
        elif op in ("Query", "Scan"):
            rows = parsed.get("Items") or []
            size = sum(item_size(r) for r in rows)
            s.items_read, s.bytes_read = len(rows), size
            s.rru = rru(size, bool(params.get("ConsistentRead")))
        return s

    # --- use ---------------------------------------------------------------------------------
    def mark(self) -> dict[str, float]:
        out, self.tick = dict(self.tick), Counter()
        return out

    def phase(self, phase: str) -> dict[str, OpStats]:
        return {label: s for (p, label), s in self.ops.items() if p == phase}

    def total(self, phase: str, service: str = "dynamodb", ops: frozenset[str] | None = None) -> OpStats:
        total = OpStats()
        for label, s in self.phase(phase).items():
            svc = "dynamodb" if label.startswith(("activity.", "state.")) else label.split(".", 1)[0]
            op = label.split(".", 1)[1].split(" ")[0]
            if svc == service and (ops is None or op in ops):
                total.add(s)
        return total

    def reset(self) -> None:
        self.ops = defaultdict(OpStats)
        self.tick = Counter()


def _prefix(params: dict[str, Any]) -> str | None:
    values = params.get("ExpressionAttributeValues") or {}
    p = values.get(":p")
    return str(p.get("S")) if isinstance(p, dict) else None


_ACTIVE: list[CallLog] = []


def _before_hook(**kwargs: Any) -> None:
    for log in _ACTIVE:
        log.before(**kwargs)


def _after_hook(**kwargs: Any) -> None:
    for log in _ACTIVE:
        log.after(**kwargs)


@contextmanager
def counting_aws_calls() -> Iterator[CallLog]:
    """Count every call of every boto3 client created meanwhile (and of the default session's).

    moto replaces boto3's default session when it starts, and a client copies its session's
    event handlers when it is created, so the hooks go into botocore's built-in handler list,
    which every new session registers (moto's own request stub is installed the same way)."""
    import boto3
    from botocore import handlers

    log = CallLog()
    specs = [("before-parameter-build", _before_hook), ("after-call", _after_hook)]
    handlers.BUILTIN_HANDLERS.extend(specs)
    if boto3.DEFAULT_SESSION is not None:
        for event, hook in specs:
            boto3.DEFAULT_SESSION.events.register(event, hook)
    _ACTIVE.append(log)
    try:
        yield log
    finally:
        _ACTIVE.remove(log)
        for spec in specs:
            handlers.BUILTIN_HANDLERS.remove(spec)


def change_set_item_bytes(local: Any, establishments: list[str]) -> list[int]:
    """Final sizes of the day change-set items (``{EST}#DAYS``), for the UpdateItem units."""
    ddb = local.clients["dynamodb"]
    sizes: list[int] = []
    for est in establishments:
        kwargs: dict[str, Any] = {
            "TableName": local.resources["activity_table"],
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"{est}#DAYS"}},
        }
        while True:
            page = ddb.query(**kwargs)
            sizes += [item_size(i) for i in page.get("Items", [])]
            if not page.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sizes


# ------------------------------------------------------------------------------------------------
# 1. Transform throughput


class _NullActivity:
    """An activity repository that stores nothing and finds nothing: the transform's CPU work without
    I/O (every pack is new, so every pack is built and handed over to be stored)."""

    def put_packs_if_absent(self, establishment: str, packs: Any) -> list[Any]:
        return list(packs)


class _NullObjectStore:
    """The uploaded objects, read from memory; reports and quarantine copies go nowhere."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies

    def get_bytes(self, key: str) -> bytes:
        return self.bodies[key]

    def put_json(self, key: str, document: dict[str, Any]) -> None:
        return None

    def copy(self, source_key: str, target_key: str) -> None:
        return None


def transform_throughput(batches: list[tuple[str, bytes]], tz: ZoneInfo, repeats: int = 3) -> dict[str, Any]:
    """The ingest compute (``ingest_object`` with in-memory stores that keep nothing: decode, parse and
    validate each record, make the packs and the change-set updates; no I/O): records per second on one
    core over ``batches``, and the compute time of one 500-record batch (``issue_batch``).

    Each batch is received at its header's ``created_at`` (what production passes is the S3 event
    time, moments later), so the retention and clock-skew rules apply as they would."""
    from aim.domain.batch import read_batch
    from aim.service.ingest import ingest_object

    headers = [(key, read_batch(key, body).header) for key, body in batches]  # a key may come twice: a re-upload
    received = {key: header.created_at for key, header in headers}
    records = sum(header.record_count for _, header in headers)  # record lines, whatever their verdict
    objects = _NullObjectStore(dict(batches))
    activity = _NullActivity()
    config = AimConfig(establishments=sorted({key.split("/")[1] for key, _ in batches}), timezone=tz.key)

    def ingest_all() -> None:
        for key, _ in batches:
            ingest_object(key, objects, activity, config, received[key])  # type: ignore[arg-type]

    cpu_s = min(_cpu_seconds(ingest_all) for _ in range(repeats))  # the best run: the least disturbed
    rate = records / cpu_s
    return {
        "batches": len(batches),
        "records": records,
        "cpu_s": round(cpu_s, 3),
        "records_per_s": round(rate),
        "us_per_record": round(1e6 / rate, 1),
        "batch_500_ms": round(_batch_compute_ms(tz, runs=10 * repeats), 2),
        "stage_share": _stage_share(batches, tz, config, received),
    }


def _cpu_seconds(fn: Callable[[], None]) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def _batch_compute_ms(tz: ZoneInfo, runs: int) -> float:
    """Best-of-``runs`` compute time of ``ingest_object`` on one valid 500-record, 100-prisoner batch."""
    from aim.service.ingest import ingest_object

    key, body, created = issue_batch(500, 100)
    objects = _NullObjectStore({key: body})
    config = AimConfig(establishments=["LEI"], timezone=tz.key)

    def ingest_one() -> None:
        ingest_object(key, objects, _NullActivity(), config, created)  # type: ignore[arg-type]

    return 1000 * min(_cpu_seconds(ingest_one) for _ in range(runs))


def _stage_share(
    batches: list[tuple[str, bytes]], tz: ZoneInfo, config: AimConfig, received: dict[str, datetime]
) -> dict[str, float]:
    """The ingest compute split by stage: reading the batch (``read_batch``), the packs (facts to packed
    items, one pass), and the rest of ``apply_verdict`` (change sets and the outcome). The packs are
    built twice here, once alone and once inside ``apply_verdict``, so this run is not timed as a whole."""
    from aim.domain.activity import batch_packs
    from aim.domain.batch import read_batch
    from aim.service.ingest import apply_verdict

    activity = _NullActivity()
    stage = {"read_batch": 0.0, "packs": 0.0, "change_sets": 0.0}
    for key, body in batches:
        t0 = time.process_time()
        verdict = read_batch(
            key,
            body,
            expected_establishment=key.split("/")[1],
            oldest_allowed=received[key] - timedelta(days=config.retention.activity_days),
            received_at=received[key],
        )
        t1 = time.process_time()
        batch_packs(verdict, tz, config.retention.activity_days)
        t2 = time.process_time()
        apply_verdict(key, verdict, activity, config, tz)  # type: ignore[arg-type]
        t3 = time.process_time()
        stage["read_batch"] += t1 - t0
        stage["packs"] += t2 - t1
        stage["change_sets"] += (t3 - t2) - (t2 - t1)
    return {k: round(v / max(sum(stage.values()), 1e-9), 3) for k, v in stage.items()}


def profile_transform(batches: list[tuple[str, bytes]], tz: ZoneInfo, top: int = 12) -> list[dict[str, Any]]:
    """cProfile of the transform path: the functions with the most own time."""
    import cProfile
    import pstats

    from aim.domain.batch import read_batch
    from aim.service.ingest import ingest_object

    received = {key: read_batch(key, body).header.created_at for key, body in batches}
    objects = _NullObjectStore(dict(batches))
    activity = _NullActivity()
    config = AimConfig(establishments=sorted({key.split("/")[1] for key, _ in batches}), timezone=tz.key)
    prof = cProfile.Profile()
    prof.enable()
    for key, _ in batches:
        ingest_object(key, objects, activity, config, received[key])  # type: ignore[arg-type]
    prof.disable()
    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]  # type: ignore[attr-defined]
    return [
        {"function": f"{Path(f).name}:{line}({name})", "calls": v[1], "own_share": round(v[2] / total, 3)}
        for (f, line, name), v in rows
    ]


# ------------------------------------------------------------------------------------------------
# 2. Round trips: one kiosk batch (500 records, 100 prisoners, one batch)

_TYPES = ("kiosk_login", "phone_call", "canteen_order", "meal_selected", "activity_attended")


def issue_batch(records: int = 500, prisoners: int = 100, day: date = date(2026, 3, 10)) -> tuple[str, bytes, datetime]:
    """One valid batch of ``records`` records spread evenly over ``prisoners`` on one local day."""
    created = datetime(day.year, day.month, day.day, 18, 0, tzinfo=UTC)
    header = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": f"bench-{records}-{prisoners}",
        "establishment": "LEI",
        "kiosk_id": "K-A-1",
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "record_count": records,
    }
    ids = [f"{chr(65 + p // 10000 % 26)}{p % 10000:04d}BC" for p in range(prisoners)]
    lines = [json.dumps(header)]
    for n in range(records):
        t = _TYPES[n % len(_TYPES)]
        detail: dict[str, Any] = {"activity": "work", "minutes": 60} if t == "activity_attended" else {}
        at = created - timedelta(hours=8) + timedelta(seconds=50 * n)
        record = {
            "event_id": f"ev-{n:05d}",
            "type": t,
            "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "prisoner_id": ids[n % prisoners],
            "detail": detail,
        }
        lines.append(json.dumps(record))
    key = f"incoming/LEI/K-A-1/{header['batch_id']}.jsonl"
    return key, ("\n".join(lines) + "\n").encode(), created


def _ddb_calls(log: CallLog, phase: str) -> dict[str, int]:
    return {label: s.calls for label, s in sorted(log.phase(phase).items()) if label.startswith(("activity", "state"))}


def issue_round_trips(records: int = 500, prisoners: int = 100) -> dict[str, Any]:
    """Round trips for one batch of ``records`` records touching ``prisoners``, a re-upload of it,
    and the scoring run that reads it."""
    from aim_local.stack import local_aws

    config = AimConfig(establishments=["LEI"])
    key, body, created = issue_batch(records, prisoners)
    with counting_aws_calls() as log, local_aws(config) as local:
        log.reset()
        local.upload(key, body, created)
        first = _ddb_calls(log, "ingest")
        first_items = log.total("ingest").items_written
        log.reset()
        local.upload(key, body, created + timedelta(minutes=5))
        again = _ddb_calls(log, "ingest")
        log.reset()
        log.mark()
        local.run_schedule(created + timedelta(days=1))  # the day is closed and past late_data_hours
        run = log.mark()
    return {
        "records": records,
        "prisoners": prisoners,
        "ingest_round_trips": sum(first.values()),
        "ingest_calls": first,
        "items_written": first_items,
        "reupload_round_trips": sum(again.values()),
        "reupload_calls": again,
        "score_read_round_trips": int(run.get("reads", 0)),
        "score_write_round_trips": int(run.get("writes", 0)),
        "prisoners_per_read_round_trip": round(prisoners / max(run.get("reads", 1), 1), 1),
        "target_round_trips": 6,
        "met": sum(first.values()) <= 6,
    }


# ------------------------------------------------------------------------------------------------
# 3. The evaluation scenario through ``aim replay``: speed in memory; round trips and units on moto


def backtest(spec: Any, config: AimConfig) -> dict[str, Any]:
    """The evaluation scenario through ``aim replay`` on the lab's in-memory stores: how long the
    production ingest and scoring use cases take for it, wall seconds."""
    from aim_local.replay import collect_batches, replay

    from aim_lab.simulate import simulate, write_scenario

    t0 = time.perf_counter()
    scenario = simulate(spec)
    stats = scenario.stats()
    with tempfile.TemporaryDirectory(prefix="aim-bench-") as tmp:
        write_scenario(scenario, tmp)
        batches = collect_batches(Path(tmp))
        generated = time.perf_counter() - t0

        def tick(clock: str, done: int, total: int) -> None:
            if done % 100 == 0 or done == total:
                sys.stderr.write(f"\r  replay {done}/{total}  clock {clock[:16]}Z ")
                sys.stderr.flush()

        started = time.perf_counter()
        summary = replay(batches, config, progress=tick)
        wall = time.perf_counter() - started
        sys.stderr.write("\n")
    return {
        "scenario": _scenario_stats(stats, spec.days),
        "stores": "in memory",
        "generate_s": round(generated, 1),
        "replay_s": round(wall, 1),
        "ingest_s": round(summary.ingest_seconds, 1),
        "scoring_s": round(summary.scoring_seconds, 1),
        "scoring_runs": summary.scoring_runs,
        "batches": dict(summary.batches),
        "records": dict(summary.records),
        "alerts": dict(summary.alerts),
        "target_s": 60,
        "met": wall < 60,
    }


def _scenario_stats(stats: dict[str, Any], days: int) -> dict[str, Any]:
    keys = ("prisoners", "kiosks", "batches", "records", "unique_events", "prisoner_days", "events_per_prisoner_day")
    return {k: stats[k] for k in keys} | {"days": days}


def storage_backtest(spec: Any, config: AimConfig) -> dict[str, Any]:
    """A scenario through ``aim replay --aws`` (the handlers on the embedded local AWS), every AWS
    call counted: DynamoDB round trips and request units per batch, per record and per scoring run."""
    from aim_local.replay import collect_batches, replay

    from aim_lab.simulate import simulate, write_scenario

    scenario = simulate(spec)
    stats = scenario.stats()
    per_run: list[dict[str, float]] = []
    sizes: list[int] = []
    with tempfile.TemporaryDirectory(prefix="aim-bench-") as tmp:
        write_scenario(scenario, tmp)
        batches = collect_batches(Path(tmp))
        with counting_aws_calls() as log:

            def tick(clock: str, done: int, total: int) -> None:
                per_run.append(log.mark())
                if done % 100 == 0 or done == total:
                    sys.stderr.write(f"\r  replay --aws {done}/{total}  clock {clock[:16]}Z ")
                    sys.stderr.flush()

            def keep(local: Any) -> None:
                log.enabled = False
                sizes.extend(change_set_item_bytes(local, config.establishments))

            started = time.perf_counter()
            summary = replay(batches, config, progress=tick, keep=keep, aws=True)
            wall = time.perf_counter() - started
        sys.stderr.write("\n")
    return {"scenario": _scenario_stats(stats, spec.days), "replay_s": round(wall, 1)} | _storage_figures(
        log, summary, per_run, sizes, spec.days
    )


def _storage_figures(
    log: CallLog, summary: Any, per_run: list[dict[str, float]], sizes: list[int], days: int
) -> dict[str, Any]:
    ingest = log.total("ingest")
    n_batches = sum(summary.batches.values())
    records_in = sum(summary.records.values())
    applied = summary.records["applied"]
    updates = log.phase("ingest").get("activity.UpdateItem", OpStats())
    # Change-set updates: billed on the item's size, which grows through the day; charge the final size.
    update_wru = updates.calls * (sum(wru(s) for s in sizes) / max(len(sizes), 1))
    ingest_wru = ingest.wru - updates.wru + update_wru
    scored = [r for r in per_run if r.get("scored")]
    unchanged = [r for r in per_run if not r.get("scored")]
    steady = scored[len(scored) // 4 :] or scored  # after the first weeks, when everyone has a state
    reads_steady = sum(r.get("reads", 0) for r in steady)
    prisoners_steady = sum(r.get("prisoners_read", 0) for r in steady)
    score = log.total("score")
    activity_queries = log.phase("score").get("activity.Query", OpStats())
    state_writes = log.phase("score").get("state.BatchWriteItem", OpStats())
    state_query = log.phase("score").get("state.Query", OpStats())
    return {
        "ingest": {
            "ddb_calls": _ddb_calls(log, "ingest"),
            "ddb_round_trips_per_batch": round(ingest.calls / max(n_batches, 1), 2),
            "items_written_per_1000_records": round(1000 * ingest.items_written / max(records_in, 1), 1),
            "wru_per_1000_records": round(1000 * ingest_wru / max(records_in, 1), 1),
            "fact_wru_per_1000_records": round(
                1000 * log.phase("ingest").get("activity.BatchWriteItem", OpStats()).wru / max(records_in, 1), 1
            ),
            "change_set_wru_per_batch": round(update_wru / max(n_batches, 1), 3),
            "rru_per_1000_records": round(1000 * ingest.rru / max(records_in, 1), 1),
            # Facts are stored packed per batch and day: bytes of pack items per record applied.
            "fact_item_bytes": round(
                log.phase("ingest").get("activity.BatchWriteItem", OpStats()).bytes_written / max(applied, 1), 1
            ),
            "fact_items_per_1000_records": round(
                1000 * log.phase("ingest").get("activity.BatchWriteItem", OpStats()).items_written / max(records_in, 1),
                1,
            ),
            "fact_pack_bytes_mean": round(
                log.phase("ingest").get("activity.BatchWriteItem", OpStats()).bytes_written
                / max(log.phase("ingest").get("activity.BatchWriteItem", OpStats()).items_written, 1)
            ),
            "rru_per_batch": round(ingest.rru / max(n_batches, 1), 2),
            "change_set_item_bytes_final_mean": round(sum(sizes) / max(len(sizes), 1)),
            "other_calls": {
                label: s.calls for label, s in sorted(log.phase("ingest").items()) if not label.startswith("activity")
            },
        },
        "score": {
            "ddb_calls": _ddb_calls(log, "score"),
            "runs_scored": len(scored),
            "runs_unchanged": len(unchanged),
            "scored_runs_per_day": round(len(scored) / days, 2),
            "read_round_trips_per_scored_run": round(sum(r.get("reads", 0) for r in scored) / max(len(scored), 1), 2),
            "read_round_trips_per_unchanged_run": round(
                sum(r.get("reads", 0) for r in unchanged) / max(len(unchanged), 1), 2
            ),
            "max_read_round_trips_scored_run": int(max((r.get("reads", 0) for r in scored), default=0)),
            "prisoners_per_read_round_trip_steady": round(prisoners_steady / max(reads_steady, 1), 1),
            "min_prisoners_per_read_round_trip_steady": round(
                min((r.get("prisoners_read", 0) / max(r.get("reads", 1), 1) for r in steady), default=0.0), 1
            ),
            "rru_per_unchanged_run": round(sum(r.get("rru", 0) for r in unchanged) / max(len(unchanged), 1), 2),
            "state_rru_per_prisoner_read": round(state_query.rru / max(state_query.items_read, 1), 4),
            "state_item_bytes": round(state_query.bytes_read / max(state_query.items_read, 1)),
            "state_wru_per_scored_run": round(state_writes.wru / max(len(scored), 1), 1),
            "states_written_per_scored_run": round(state_writes.items_written / max(len(scored), 1), 1),
            "fact_rru_per_record_stored": round(activity_queries.rru / max(applied, 1), 4),
            "facts_read_per_record_stored": round(activity_queries.items_read / max(applied, 1), 2),
            "sns_publishes": log.phase("score").get("sns.Publish", OpStats()).calls,
            "total_rru": round(score.rru, 1),
            "total_wru": round(score.wru, 1),
            "target_prisoners_per_read": 25,
            "met": prisoners_steady / max(reads_steady, 1) >= 25,
        },
    }


# ------------------------------------------------------------------------------------------------
# 4. Scoring at scale (pure, in process)


def scoring_at_scale(prisoners: int = 1500, repeats: int = 3, seed: int = 1) -> dict[str, Any]:
    import numpy as np
    from aim.domain.features import CHANNELS, NF, F
    from aim.domain.prisoner import PrisonerState
    from aim.domain.scoring import ScoreInputs, channel_weights, score
    from aim.service.scoring_run import ScoringRun, horizon

    config = AimConfig(establishments=["LEI"])
    h = horizon(config)
    judged = date(2026, 5, 1)  # the latest closed day at the run time below (default: the last day judged)
    origin = judged - timedelta(days=h - 1)
    days = [origin + timedelta(days=t) for t in range(h)]
    rng = np.random.default_rng(seed)
    lam = np.zeros(NF)
    for name, rate in (
        ("kiosk_login", 2.0),
        ("phone_call", 1.5),
        ("canteen_order", 0.3),
        ("meal_selected", 0.9),
        ("activity_attended", 0.7),
        ("visit_booked", 0.1),
        ("application_submitted", 0.2),
    ):
        lam[F[name]] = rate
    counts = rng.poisson(lam, size=(prisoners, h, NF)).astype(np.int16)
    counts[:, :, F["routine"]] = counts.sum(axis=2) - counts[:, :, F["routine"]]
    inputs = ScoreInputs(
        counts=counts.astype(np.float64),
        valid=np.ones((prisoners, h, len(CHANNELS)), dtype=bool),
        weekday=np.array([d.weekday() for d in days], dtype=np.int64),
        judge=h - 1,
        channel_weights=channel_weights(config.factor_weights),
        arrival=rng.random(prisoners) < 0.05,
        early=np.zeros((prisoners, h), dtype=bool),
    )
    pure = []
    for _ in range(repeats):
        t = time.process_time()
        score(inputs)
        pure.append(time.process_time() - t)

    from aim_local.memory import (
        LAB_ALERT_ID_KEY,
        InMemoryActivityRepository,
        InMemoryPublisher,
        InMemoryStateRepository,
    )

    wings = "ABCDEF"
    full = []
    lights: dict[str, int] = {}
    for _ in range(repeats):
        states = {}
        for p in range(prisoners):
            pid = f"A{p:04d}BC"
            s = PrisonerState.new("LEI", pid, origin, h)
            s.days = counts[p].copy()
            s.first_seen = origin.isoformat()
            s.profile = {
                "location": [f"{wings[p % 6]}-1-{p % 40:02d}", "2026-01-01T00:00:00Z|x"],
                "date_of_birth": [f"{1960 + p % 45}-06-01", "2026-01-01T00:00:00Z|x"],
            }
            s.kiosks = {f"K-{wings[p % 6]}-1": judged.isoformat()}
            states[pid] = s
        hours = {f"K-{w}-1": {d.isoformat(): list(range(7, 21)) for d in days} for w in wings}
        loaded = {d.isoformat(): 1 for d in days}
        run = ScoringRun(
            "LEI",
            datetime(2026, 5, 2, 8, tzinfo=UTC),
            InMemoryActivityRepository(),
            InMemoryStateRepository(),  # the assessment loop records an alert before sending it
            InMemoryPublisher(),
            config,
            LAB_ALERT_ID_KEY,
        )
        t = time.process_time()
        run._score(judged, judged, states, loaded, hours)
        full.append(time.process_time() - t)
        lights = run.summary.lights
    per_est = 88_000 / 120
    full_s = min(full)
    return {
        "prisoners": prisoners,
        "horizon_days": h,
        "score_cpu_s": round(min(pure), 3),
        "score_and_assess_cpu_s": round(full_s, 3),
        "lights": lights,
        "target_s": 1.0,
        "met": full_s < 1.0,
        "estate": {
            "establishments": 120,
            "prisoners": 88_000,
            "prisoners_per_establishment": round(per_est),
            "cpu_s_per_establishment": round(full_s * per_est / prisoners, 3),
            "cpu_s_per_period_all_establishments": round(full_s * 88_000 / prisoners, 1),
        },
    }


# ------------------------------------------------------------------------------------------------
# 5. Cold start: import time of each handler module

HANDLERS = ("functions.transform.handler", "functions.score.handler")
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def import_times(module: str, runs: int = 3) -> dict[str, Any]:
    """``python -X importtime -c 'import module'`` in a clean subprocess (best of ``runs``)."""
    env = dict(os.environ)
    env.update({"POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "eu-west-2", "PYTHONDONTWRITEBYTECODE": "1"})
    best: dict[str, Any] | None = None
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        own: dict[str, int] = {}
        cumulative: dict[str, int] = {}
        for line in proc.stderr.splitlines():
            m = _IMPORT_LINE.match(line)
            if m:
                own[m.group(4)] = int(m.group(1))
                cumulative[m.group(4)] = int(m.group(2))
        total_ms = sum(own.values()) / 1000
        if proc.returncode == 0 and (best is None or total_ms < best["self_ms_total"]):
            packages: Counter[str] = Counter()
            for name, us in own.items():
                packages[name.split(".")[0]] += us
            best = {
                "module": module,
                "self_ms_total": round(total_ms, 1),
                "modules": len(own),
                "top_packages_ms": {k: round(v / 1000, 1) for k, v in packages.most_common(5)},
                "top_modules_cumulative_ms": _top_cumulative(cumulative),
            }
        if proc.returncode != 0:
            return {"module": module, "error": proc.stderr.strip().splitlines()[-1:]}
    assert best is not None
    return best


def _top_cumulative(cumulative: dict[str, int], top: int = 5) -> dict[str, float]:
    """The heaviest top-level packages, by cumulative import time (ms)."""
    ranked = sorted(
        ((k, v) for k, v in cumulative.items() if "." not in k and k not in ("functions", "aim")),
        key=lambda kv: -kv[1],
    )
    return {k: round(v / 1000, 1) for k, v in ranked[:top]}


# ------------------------------------------------------------------------------------------------
# Cost model


@dataclass(frozen=True)
class Prices:
    """eu-west-2 (London) list prices in USD, as assumed here; check the AWS pricing pages before relying on them."""

    ddb_wru_per_million: float = 0.7425  # on-demand write request units (after the Nov 2024 halving)
    ddb_rru_per_million: float = 0.1485  # on-demand read request units
    ddb_storage_gb_month: float = 0.2975  # first 25 GB free is ignored
    ddb_pitr_gb_month: float = 0.2380  # continuous backups (PITR is on for both tables)
    s3_put_per_1000: float = 0.0053
    s3_get_per_1000: float = 0.00042
    s3_storage_gb_month: float = 0.024
    sqs_per_million: float = 0.40  # standard queue, 64 KB chunks; free tier ignored
    lambda_gb_s: float = 0.0000166667  # x86
    lambda_per_million: float = 0.20
    scheduler_per_million: float = 1.00  # first 14 million a month are free
    sns_email_per_100k: float = 2.00
    sns_publish_per_million: float = 0.50
    kms_key_month: float = 1.00
    kms_per_10k_requests: float = 0.03
    logs_ingest_gb: float = 0.5985
    logs_storage_gb_month: float = 0.0315
    custom_metric_month: float = 0.30
    alarm_month: float = 0.10
    xray_per_million_traces: float = 5.00  # first 100k a month free


@dataclass(frozen=True)
class Estate:
    prisoners: int = 88_000
    establishments: int = 120
    records_per_prisoner_day: float = 10.0
    prisoners_per_kiosk: float = 40.0  # as simulated: 240 prisoners, 6 wing kiosks
    batches_per_kiosk_day: float = 11.4  # as simulated: sealed every 65-80 min over 07:00-20:30
    days_per_month: float = 30.4
    schedule_minutes: int = 60
    activity_days: int = 180
    raw_upload_days: int = 30
    kms_keys: int = 10  # customer-managed keys in infra/ (tables, bucket, topics, queues, logs)
    custom_metrics: int = 8
    alarms: int = 10
    alert_emails_per_month: int = 3_000


@dataclass(frozen=True)
class Measured:
    """Per-unit figures from the benchmark (defaults: the figures recorded in docs/cost.md)."""

    fact_wru_per_record: float = 1.0  # fact (pack) item writes per record received
    change_set_wru_per_batch: float = 1.05  # UpdateItem on the day change set(s)
    ingest_rru_per_batch: float = 1.0  # the batch's day change sets, read (consistent) before writing
    fact_item_bytes: float = 160.0  # stored fact bytes per record
    fact_items_per_record: float = 1.0  # stored items per record (a pack holds a batch's facts of a day)
    ddb_round_trips_per_batch: float = 4.0
    s3_puts_per_batch: float = 2.0  # the kiosk's upload + AIM's report
    s3_gets_per_batch: float = 1.0
    sqs_requests_per_batch: float = 3.0  # S3's send, the event source mapping's receive and delete
    transform_cpu_ms_per_record: float = 0.05
    scored_runs_per_day: float = 3.0
    state_rru_per_prisoner_read: float = 0.3
    state_wru_per_prisoner_written: float = 3.0
    states_written_share: float = 1.0  # of prisoners, per scored run
    score_fact_rru_per_record: float = 0.1  # scorer re-reads of day partitions, per record stored
    score_reads_per_unchanged_run: float = 3.0
    rru_per_unchanged_run: float = 9.0
    score_cpu_s_per_prisoner: float = 0.0005
    state_item_bytes: float = 2500.0


@dataclass(frozen=True)
class CostLine:
    service: str
    item: str
    quantity: float
    unit: str
    unit_price: float
    note: str = ""

    @property
    def dollars(self) -> float:
        return self.quantity * self.unit_price


DDB_RTT_S = 0.010  # assumed latency of one DynamoDB round trip from Lambda
S3_RTT_S = 0.030  # assumed latency of one S3 GET/PUT
TRANSFORM_GB = 1.0
SCORE_GB = 1.769


def monthly_cost(estate: Estate, m: Measured, prices: Prices | None = None) -> list[CostLine]:
    """The monthly bill, line by line; every quantity is derived from ``estate`` and ``m``."""
    p = prices or Prices()
    month = estate.days_per_month
    records = estate.prisoners * estate.records_per_prisoner_day * month
    kiosks = estate.prisoners / estate.prisoners_per_kiosk
    batches = kiosks * estate.batches_per_kiosk_day * month
    records_per_batch = records / batches
    runs = estate.establishments * (24 * 60 / estate.schedule_minutes) * month
    scored = estate.establishments * m.scored_runs_per_day * month
    unchanged = runs - scored
    per_est = estate.prisoners / estate.establishments
    stored_items = estate.prisoners * estate.records_per_prisoner_day * estate.activity_days
    # DynamoDB adds 100 bytes an item
    activity_gb = stored_items * (m.fact_item_bytes + 100 * m.fact_items_per_record) / 1e9
    state_gb = estate.prisoners * (m.state_item_bytes + 100) / 1e9

    transform_s = batches * (
        records_per_batch * m.transform_cpu_ms_per_record / 1000
        + m.ddb_round_trips_per_batch * DDB_RTT_S
        + (m.s3_gets_per_batch + 1) * S3_RTT_S
        + 0.005
    )
    score_s = unchanged * (m.score_reads_per_unchanged_run * DDB_RTT_S + 0.005) + scored * (
        per_est * m.score_cpu_s_per_prisoner + 12 * DDB_RTT_S + 0.2
    )
    log_gb = (batches * 1.8e3 + runs * 2.0e3) / 1e9
    raw_gb = records * 90 / 1e9 * estate.raw_upload_days / month  # ~90 bytes a record, half gzipped
    traces = batches + runs
    m_ = 1e6
    return [
        CostLine(
            "DynamoDB",
            "ingest: fact item writes (BatchWriteItem)",
            records * m.fact_wru_per_record / m_,
            "M WRU",
            p.ddb_wru_per_million,
        ),
        CostLine(
            "DynamoDB",
            "ingest: day change-set updates (UpdateItem)",
            batches * m.change_set_wru_per_batch / m_,
            "M WRU",
            p.ddb_wru_per_million,
        ),
        CostLine(
            "DynamoDB",
            "ingest: change-set reads (BatchGetItem, consistent)",
            batches * m.ingest_rru_per_batch / m_,
            "M RRU",
            p.ddb_rru_per_million,
        ),
        CostLine(
            "DynamoDB",
            "scorer: state writes",
            scored * per_est * m.states_written_share * m.state_wru_per_prisoner_written / m_,
            "M WRU",
            p.ddb_wru_per_million,
        ),
        CostLine(
            "DynamoDB",
            "scorer: state reads",
            scored * per_est * m.state_rru_per_prisoner_read / m_,
            "M RRU",
            p.ddb_rru_per_million,
        ),
        CostLine(
            "DynamoDB",
            "scorer: day partition re-reads",
            records * m.score_fact_rru_per_record / m_,
            "M RRU",
            p.ddb_rru_per_million,
        ),
        CostLine(
            "DynamoDB",
            "scorer: hourly checks (nothing changed)",
            unchanged * m.rru_per_unchanged_run / m_,
            "M RRU",
            p.ddb_rru_per_million,
        ),
        CostLine(
            "DynamoDB",
            f"storage (facts, {estate.activity_days}-day TTL; state)",
            activity_gb + state_gb,
            "GB-month",
            p.ddb_storage_gb_month,
        ),
        CostLine("DynamoDB", "point-in-time recovery", activity_gb + state_gb, "GB-month", p.ddb_pitr_gb_month),
        CostLine(
            "S3", "PUT (kiosk upload + report)", batches * m.s3_puts_per_batch / 1000, "1k req", p.s3_put_per_1000
        ),
        CostLine(
            "S3", "GET (transform reads the batch)", batches * m.s3_gets_per_batch / 1000, "1k req", p.s3_get_per_1000
        ),
        CostLine(
            "S3",
            "storage (raw batches + reports)",
            raw_gb + batches * 0.6e3 * 6 / 1e9,
            "GB-month",
            p.s3_storage_gb_month,
        ),
        CostLine(
            "SQS",
            "ingest queue requests",
            batches * m.sqs_requests_per_batch / m_ + 0.7,
            "M req",
            p.sqs_per_million,
            "+0.7 M empty long polls by the event source mapping",
        ),
        CostLine(
            "Lambda",
            "transform requests (1 batch per invocation, worst case)",
            batches / m_,
            "M req",
            p.lambda_per_million,
        ),
        CostLine("Lambda", "transform duration (1,024 MB)", transform_s * TRANSFORM_GB, "GB-s", p.lambda_gb_s),
        CostLine("Lambda", "score requests", runs / m_, "M req", p.lambda_per_million),
        CostLine("Lambda", "score duration (1,769 MB)", score_s * SCORE_GB, "GB-s", p.lambda_gb_s),
        CostLine(
            "EventBridge Scheduler",
            "invocations (under the 14 M free)",
            0.0,
            "M",
            p.scheduler_per_million,
            f"{runs / m_:.3f} M a month",
        ),
        CostLine(
            "SNS",
            "alert publishes + email deliveries",
            estate.alert_emails_per_month / 100_000,
            "100k",
            p.sns_email_per_100k + p.sns_publish_per_million / 10,
            "SMS aside",
        ),
        CostLine("KMS", "customer-managed keys", estate.kms_keys, "key-month", p.kms_key_month),
        CostLine(
            "KMS",
            "requests (S3 bucket key, SQS data-key reuse, DynamoDB table keys)",
            (batches * 0.05 + runs * 0.1 + 500_000) / 10_000,
            "10k req",
            p.kms_per_10k_requests,
        ),
        CostLine("CloudWatch", "log ingestion (~1.8 KB per invocation)", log_gb, "GB", p.logs_ingest_gb),
        CostLine(
            "CloudWatch",
            "log storage (1-year retention, steady state, ~6x compressed)",
            log_gb * 12 / 6,
            "GB-month",
            p.logs_storage_gb_month,
        ),
        CostLine(
            "CloudWatch",
            "custom metrics (EMF) + alarms",
            estate.custom_metrics + estate.alarms / 3,
            "metric-month",
            p.custom_metric_month,
        ),
        CostLine(
            "X-Ray",
            "traces (active tracing, ~all sampled at this rate)",
            max(0.0, traces - 100_000) / m_,
            "M traces",
            p.xray_per_million_traces,
        ),
    ]


def measured_from(results: dict[str, Any]) -> Measured:
    """Per-unit figures for the cost model from one bench run's results."""
    bt = results["storage"]
    ing, sc = bt["ingest"], bt["score"]
    scen = bt["scenario"]
    prisoners = scen["prisoners"]
    return Measured(
        fact_wru_per_record=ing["fact_wru_per_1000_records"] / 1000,
        change_set_wru_per_batch=ing["change_set_wru_per_batch"],
        ingest_rru_per_batch=ing["rru_per_batch"],
        fact_item_bytes=ing["fact_item_bytes"],
        fact_items_per_record=ing["fact_items_per_1000_records"] / 1000,
        ddb_round_trips_per_batch=ing["ddb_round_trips_per_batch"],
        transform_cpu_ms_per_record=results["transform"]["us_per_record"] / 1000,
        scored_runs_per_day=sc["scored_runs_per_day"],
        state_rru_per_prisoner_read=sc["state_rru_per_prisoner_read"],
        state_wru_per_prisoner_written=sc["state_wru_per_scored_run"] / max(sc["states_written_per_scored_run"], 1),
        states_written_share=min(1.0, sc["states_written_per_scored_run"] / prisoners),
        score_fact_rru_per_record=sc["fact_rru_per_record_stored"],
        score_reads_per_unchanged_run=sc["read_round_trips_per_unchanged_run"],
        rru_per_unchanged_run=sc["rru_per_unchanged_run"],
        score_cpu_s_per_prisoner=results["scoring"]["score_and_assess_cpu_s"] / results["scoring"]["prisoners"],
        state_item_bytes=sc["state_item_bytes"],
    )


def cost_table(lines: list[CostLine]) -> list[str]:
    out = ["| service | item | quantity | unit | unit price (USD) | USD/month |", "|---|---|---:|---|---:|---:|"]
    for c in lines:
        note = f" ({c.note})" if c.note else ""
        out.append(
            f"| {c.service} | {c.item}{note} | {c.quantity:,.3f} | {c.unit} | {c.unit_price:g} | {c.dollars:,.2f} |"
        )
    out.append(f"| **total** | | | | | **{sum(c.dollars for c in lines):,.2f}** |")
    return out


# ------------------------------------------------------------------------------------------------
# The command


def _row(what: str, figure: str, target: str, met: bool | None) -> tuple[str, str, str, str]:
    return what, figure, target, "-" if met is None else ("met" if met else "MISSED")


def run_bench(args: argparse.Namespace) -> int:
    from aim_lab.simulate import ScenarioSpec, simulate

    quick = bool(getattr(args, "quick", False))
    config = AimConfig(establishments=["LEI"])
    tz = ZoneInfo(config.timezone)
    spec = ScenarioSpec(prisoners=60, days=21, wings=("A", "B"), seed=0) if quick else ScenarioSpec()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": quick,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }

    print("1/5 transform throughput ...", file=sys.stderr)
    scenario = simulate(spec)
    sample = [(b.key, b.body) for b in scenario.batches]
    results["transform"] = transform_throughput(sample, tz, repeats=2 if quick else 3)
    results["transform"]["profile"] = profile_transform(sample[: 300 if quick else 1000], tz)

    print("2/5 round trips: 500 records, 100 prisoners ...", file=sys.stderr)
    results["issue_case"] = issue_round_trips(500, 100)

    print(f"3/5 backtest: {spec.prisoners} prisoners, {spec.days} days through aim replay ...", file=sys.stderr)
    results["backtest"] = backtest(spec, config)

    print("3b/5 storage: the same scenario through aim replay --aws (moto, a few minutes) ...", file=sys.stderr)
    results["storage"] = storage_backtest(spec, config)

    print("4/5 scoring at scale ...", file=sys.stderr)
    results["scoring"] = scoring_at_scale(1500, repeats=2 if quick else 3)

    print("5/5 cold start imports ...", file=sys.stderr)
    results["cold_start"] = [import_times(m, runs=1 if quick else 3) for m in HANDLERS]

    print("6/6 staff API: board of 1,500 prisoners and a prisoner page ...", file=sys.stderr)
    from aim_lab.bench_staff import bench_staff_api

    results["staff_api"] = bench_staff_api(requests=50 if quick else 200)

    measured = measured_from(results)
    results["measured_for_cost"] = asdict(measured)
    results["cost"] = {}
    for rate in (10, 50):
        lines = monthly_cost(Estate(records_per_prisoner_day=rate), measured)
        results["cost"][str(rate)] = {
            "total_usd": round(sum(c.dollars for c in lines), 2),
            "lines": [asdict(c) | {"dollars": round(c.dollars, 2)} for c in lines],
        }

    _print(results)
    from aim_lab.bench_staff import print_staff_bench

    print_staff_bench(results["staff_api"])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1, default=str))
    print(f"\nwritten to {OUT}")
    return 0


def _print(r: dict[str, Any]) -> None:
    t, ic, bt, sc, cs = r["transform"], r["issue_case"], r["backtest"], r["scoring"], r["cold_start"]
    ing, scr = r["storage"]["ingest"], r["storage"]["score"]
    rows = [
        _row("transform: records/s on one core (ingest compute, no I/O)", f"{t['records_per_s']:,}", "", None),
        _row("transform: one 500-record batch, compute", f"{t['batch_500_ms']} ms", "", None),
        _row(
            "500 records / 100 prisoners: DynamoDB round trips",
            f"{ic['ingest_round_trips']} {ic['ingest_calls']}",
            "<= 6",
            ic["met"],
        ),
        _row("  same batch re-uploaded: round trips", str(ic["reupload_round_trips"]), "", None),
        _row(
            "  its scoring run: prisoners per read round trip",
            f"{ic['prisoners_per_read_round_trip']} ({ic['score_read_round_trips']} reads)",
            ">= 25",
            ic["prisoners_per_read_round_trip"] >= 25,
        ),
        _row("storage scenario: DynamoDB round trips per batch", f"{ing['ddb_round_trips_per_batch']}", "", None),
        _row("storage scenario: items written per 1,000 records", f"{ing['items_written_per_1000_records']}", "", None),
        _row(
            "storage scenario: WRU / RRU per 1,000 records (ingest)",
            f"{ing['wru_per_1000_records']} / {ing['rru_per_1000_records']}",
            "",
            None,
        ),
        _row(
            "storage scenario: read round trips per scored run (max)",
            f"{scr['read_round_trips_per_scored_run']} ({scr['max_read_round_trips_scored_run']})",
            "",
            None,
        ),
        _row(
            "storage scenario: read round trips per unchanged run",
            f"{scr['read_round_trips_per_unchanged_run']}",
            "",
            None,
        ),
        _row(
            "storage scenario: prisoners per read round trip (steady; worst run)",
            f"{scr['prisoners_per_read_round_trip_steady']} ({scr['min_prisoners_per_read_round_trip_steady']})",
            ">= 25",
            scr["met"],
        ),
        _row(
            f"backtest {bt['scenario']['prisoners']} prisoners x {bt['scenario']['days']} days "
            f"({bt['scenario']['records']:,} records, {bt['scenario']['batches']:,} batches)",
            f"{bt['replay_s']} s (ingest {bt['ingest_s']} s, scoring {bt['scoring_s']} s), in memory",
            "< 60 s",
            bt["met"],
        ),
        _row(
            f"scoring {sc['prisoners']} x {sc['horizon_days']} days: score() / with assessment loop",
            f"{sc['score_cpu_s']} s / {sc['score_and_assess_cpu_s']} s",
            "< 1 s",
            sc["met"],
        ),
        _row(
            "estate (88,000 prisoners, 120 establishments): CPU per hourly period",
            f"{sc['estate']['cpu_s_per_period_all_establishments']} s in all, "
            f"{sc['estate']['cpu_s_per_establishment']} s per establishment",
            "",
            None,
        ),
    ]
    for c in cs:
        if "error" in c:
            rows.append(_row(f"cold start: import {c['module']}", f"failed: {c['error']}", "", None))
            continue
        top = ", ".join(f"{k} {v}" for k, v in c["top_modules_cumulative_ms"].items())
        rows.append(_row(f"cold start: import {c['module']} (sum of self times)", f"{c['self_ms_total']} ms", "", None))
        rows.append(_row("  heaviest (cumulative ms)", top, "", None))
    for rate, cost in r["cost"].items():
        rows.append(
            _row(
                f"monthly AWS bill, estate, {rate} records/prisoner/day",
                f"${cost['total_usd']:,.0f}",
                "< $300 at 10" if rate == "10" else "",
                cost["total_usd"] < 300 if rate == "10" else None,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    widths[1] = min(widths[1], 70)
    print(f"\naim bench {'--quick ' if r['quick'] else ''}{r['date']} ({r['machine']}, load {r['load_average']})\n")
    header = ("what", "figure", "target", "")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print("\ntransform time by stage:", ", ".join(f"{k} {v:.0%}" for k, v in t["stage_share"].items()))
    print("transform profile (own time):", "; ".join(f"{p['function']} {p['own_share']:.0%}" for p in t["profile"][:6]))
