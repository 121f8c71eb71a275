"""Backtest: replay kiosk batches through the production use cases on a simulated clock.

Each batch is uploaded at its header's ``created_at`` (in that order); the schedule fires
every ``schedule_minutes`` on the simulated clock up to the end of the local day of the
last batch; every alert the topic delivers is collected in publication order.

The escalation job runs on the same clock, every ``SCHEDULE_MINUTES`` as in the stack. Nobody
acknowledges an alert in a replay, so every red escalates at each step of the configured
policy: the replay counts those escalations and keeps them out of the alerts. The job only
sends at the ticks where a step falls due, so only those ticks are run.

By default the stores are in memory (``aim_local.memory``): the same ingest and scoring use
cases, without AWS. With ``aws=True`` the batches go through the embedded local AWS (moto):
S3, the ingest queue and the production handlers.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aim.config import AimConfig
from aim.domain import escalation as esc
from aim.domain.prisoner import PrisonerState
from aim.service.ingest import batch_key
from aim.service.scoring_run import horizon

from aim_local.memory import InMemoryStack
from aim_local.stack import local_aws


class ReplayStack(Protocol):
    """Where a replay runs: ``InMemoryStack`` or the embedded local AWS (``LocalAws``)."""

    def ingest(self, uploads: list[tuple[str, bytes, datetime]]) -> None: ...

    def report(self, key: str) -> dict[str, Any]: ...

    def run_schedule(self, at: datetime) -> list[dict[str, Any]]: ...

    def run_escalations(self, at: datetime) -> list[dict[str, Any]]: ...

    def drain_alerts(self) -> list[dict[str, Any]]: ...

    def states(self, establishment: str, horizon: int) -> list[PrisonerState]: ...

    def dead_letters(self) -> int: ...


@dataclass(frozen=True)
class BatchFile:
    key: str
    body: bytes
    created_at: datetime | None  # None when the header cannot be read (it will be quarantined)


@dataclass
class ReplaySummary:
    batches: Counter[str] = field(default_factory=Counter)
    records: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    scoring_runs: int = 0
    escalations: Counter[int] = field(default_factory=Counter)  # step -> escalations sent
    escalation_runs: int = 0
    escalated_alerts: set[str] = field(default_factory=set)
    ingest_seconds: float = 0.0
    scoring_seconds: float = 0.0
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    board: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: int = 0

    def escalation_line(self) -> str:
        sent, reds = sum(self.escalations.values()), len(self.escalated_alerts)
        of = f" for {reds} red{'s' if reds != 1 else ''} (steps 1 to {max(self.escalations)})" if sent else ""
        return (
            f"escalations: {sent} would have been sent{of}; "
            "nobody acknowledges an alert in a replay, so every red escalates at each step"
        )

    def lines(self) -> list[str]:
        b, r, a = self.batches, self.records, self.alerts
        out = [
            f"batches: {b['applied']} applied, {b['quarantined']} quarantined",
            f"records: {r['applied']} applied, {r['rejected']} rejected, {r['duplicate']} duplicate, "
            f"{r['unknown_type']} of unknown type (kept out of scoring)",
            f"alerts: {a['red']} red, {a['amber']} amber",
            f"scoring runs: {self.scoring_runs}",
            self.escalation_line(),
        ]
        out.extend(self.red_line_lines())
        if self.dead_letters:
            out.append(f"dead-letter queue: {self.dead_letters} messages")
        return out

    def red_line_lines(self) -> list[str]:
        """The red line each establishment ended on and how it was set."""
        lines: dict[str, dict[str, Any]] = {}
        for row in self.board:
            if row.get("red_line") and row["in_custody"]:
                lines.setdefault(str(row["establishment"]), row["red_line"])
        return [f"red line {est}: {line['value']} ({line['basis']})" for est, line in sorted(lines.items())]


def header_created_at(body: bytes) -> datetime | None:
    try:
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        first = body.split(b"\n", 1)[0].decode("utf-8-sig")
        value = json.loads(first)["created_at"]
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return moment if moment.tzinfo else None
    except (ValueError, KeyError, TypeError, OSError, EOFError, zlib.error, UnicodeDecodeError):
        return None


def collect_batches(directory: Path) -> list[BatchFile]:
    """Every *.jsonl and *.jsonl.gz under ``directory`` (any depth), keyed as a kiosk would upload it."""
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name.endswith((".jsonl", ".jsonl.gz")))
    out = []
    for path in files:
        body = path.read_bytes()
        out.append(BatchFile(key=_upload_key(path, directory, body), body=body, created_at=header_created_at(body)))
    return out


def _upload_key(path: Path, root: Path, body: bytes) -> str:
    rel = path.relative_to(root).as_posix()
    if rel.startswith("incoming/"):
        return rel
    # A loose file: place it where its header says it belongs (the header is authoritative).
    try:
        raw = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        header = json.loads(raw.split(b"\n", 1)[0].decode("utf-8-sig"))
        return batch_key(header["establishment"], header["kiosk_id"], header["batch_id"], gz=path.name.endswith(".gz"))
    except (ValueError, KeyError, TypeError, OSError, EOFError, zlib.error, UnicodeDecodeError):
        return f"incoming/unknown/{path.name}"


def schedule_times(first: datetime, last: datetime, minutes: int, tz: ZoneInfo) -> list[datetime]:
    """Schedule ticks (aligned to the period) from the first batch to the end of the last batch's local day."""
    period = timedelta(minutes=minutes)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    start = epoch + ((first.astimezone(UTC) - epoch) // period + 1) * period
    end_local = datetime.combine(last.astimezone(tz).date() + timedelta(days=1), time(0), tzinfo=tz)
    ticks = []
    tick = start
    while tick <= end_local.astimezone(UTC):
        ticks.append(tick)
        tick += period
    return ticks


def read_board(stack: ReplayStack, config: AimConfig) -> list[dict[str, Any]]:
    """Every prisoner's current light, as the board shows it."""
    return [board_row(s) for est in config.establishments for s in stack.states(est, horizon(config))]


def board_row(s: PrisonerState) -> dict[str, Any]:
    return {
        "establishment": s.establishment,
        "prisoner_id": s.prisoner_id,
        "wing": s.wing,
        "location": s.location,
        "light": s.light,
        "score": s.score,
        "reasons": s.reasons,
        "static_factors": s.static_factors,
        "light_since": s.light_since,
        "judged_day": s.judged_day,
        "amber_at": s.thresholds[0] if s.thresholds else None,
        "red_at": s.thresholds[1] if s.thresholds else None,
        "in_custody": s.in_custody,
        "open_alert": s.open_alert,
        "red_line": s.red_line,
    }


@contextmanager
def replay_stack(config: AimConfig, aws: bool = False) -> Iterator[ReplayStack]:
    if aws:
        with local_aws(config) as local:
            yield local
    else:
        yield InMemoryStack(config)


def replay(
    batches: Iterable[BatchFile],
    config: AimConfig,
    on_alert: Callable[[dict[str, Any]], None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    keep: Callable[[Any], None] | None = None,
    observe: Callable[[datetime, list[dict[str, Any]]], None] | None = None,
    aws: bool = False,
    on_escalation: Callable[[dict[str, Any]], None] | None = None,
) -> ReplaySummary:
    """Run the batches through the pipeline on a simulated clock: in memory, or on the embedded
    local AWS with ``aws``. ``keep`` is handed the stack at the end (``InMemoryStack`` or ``LocalAws``).
    ``on_alert`` gets each alert, ``on_escalation`` each escalation, in publication order."""
    import time as wall

    ordered = list(batches)
    if not ordered:
        raise ValueError("no *.jsonl or *.jsonl.gz batches to replay")
    known = [b.created_at for b in ordered if b.created_at is not None]
    first = min(known) if known else datetime.now(UTC)
    last = max(known) if known else first
    # Unreadable headers are uploaded first: they will be quarantined either way.
    ordered.sort(key=lambda b: (b.created_at or first - timedelta(seconds=1)).astimezone(UTC))
    tz = ZoneInfo(config.timezone)
    ticks = schedule_times(first - timedelta(seconds=1), last, config.schedule_minutes, tz)
    summary = ReplaySummary()
    policy = esc.EscalationPolicy.of_minutes(
        config.escalation.first_minutes, config.escalation.repeat_minutes, config.escalation.max_steps
    )
    escalation_due: set[datetime] = set()
    with replay_stack(config, aws) as stack:

        def take_alerts() -> None:
            for alert in _delivered(stack, summary, on_escalation):
                summary.alerts[str(alert.get("level"))] += 1
                escalation_due.update(escalation_ticks(alert, policy))
                if on_alert:
                    on_alert(alert)

        i = 0
        for n, tick in enumerate(ticks):
            started = wall.perf_counter()
            pending: list[tuple[str, bytes, datetime]] = []
            while i < len(ordered) and (ordered[i].created_at or first) <= tick:
                batch = ordered[i]
                pending.append((batch.key, batch.body, batch.created_at or first))
                i += 1
            # Objects landing in the same schedule period are ingested before the schedule fires.
            stack.ingest(pending)
            for key, _, _ in pending:
                _count_report(stack.report(key), key, summary)
            summary.ingest_seconds += wall.perf_counter() - started
            started = wall.perf_counter()
            results = stack.run_schedule(tick)
            summary.scoring_runs += 1
            if observe and any(r.get("status") == "scored" for r in results):
                observe(tick, read_board(stack, config))  # the board after each run that re-scored
            take_alerts()
            until = ticks[n + 1] if n + 1 < len(ticks) else tick + timedelta(microseconds=1)
            for at in sorted(t for t in escalation_due if t < until):
                escalation_due.discard(at)
                stack.run_escalations(at)
                summary.escalation_runs += 1
                take_alerts()
            summary.scoring_seconds += wall.perf_counter() - started
            if progress:
                progress(tick.isoformat(), n + 1, len(ticks))
        summary.dead_letters = stack.dead_letters()
        summary.board = read_board(stack, config)
        if keep:
            keep(stack)
    return summary


def escalation_ticks(alert: dict[str, Any], policy: esc.EscalationPolicy) -> list[datetime]:
    """The escalation schedule's ticks (every ``SCHEDULE_MINUTES``, aligned) at which a step of a
    red ``alert`` falls due if nobody acknowledges it: the only ticks at which the job sends it."""
    if alert.get("level") != "red" or esc.is_escalation(alert):
        return []
    raised = esc.raised_at(alert).astimezone(UTC)
    period = timedelta(minutes=esc.SCHEDULE_MINUTES)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    ticks = []
    for step in range(policy.max_steps):
        due = raised + policy.first + step * policy.repeat
        ticks.append(epoch - ((epoch - due) // period) * period)  # the first tick at or after ``due``
    return ticks


def _delivered(
    stack: ReplayStack, summary: ReplaySummary, on_escalation: Callable[[dict[str, Any]], None] | None
) -> Iterator[dict[str, Any]]:
    """The alerts the topic delivered since the last call; escalations are counted and handed to
    ``on_escalation``, not yielded."""
    for message in stack.drain_alerts():
        if esc.is_escalation(message):
            summary.escalations[int(message["step"])] += 1
            summary.escalated_alerts.add(str(message["alert_id"]))
            if on_escalation:
                on_escalation(message)
        else:
            yield message


def _count_report(report: dict[str, Any], key: str, summary: ReplaySummary) -> None:
    summary.batches[report["status"]] += 1
    if report["status"] == "quarantined":
        summary.quarantined.append((key, report["reason"]))
    summary.records["applied"] += report["records_applied"]
    summary.records["rejected"] += report["records_rejected"]
    summary.records["duplicate"] += report["records_duplicate"]
    summary.records["unknown_type"] += report["unknown_types"]
