"""The runtime's ports in memory: the fast lab (``aim demo``, ``aim replay``, ``aim evaluate``,
``aim bench``) runs the production use cases (``ingest_object``, ``run_scoring``) on these.

They keep the repositories' semantics: packs named in a day's change set only once stored, the
distinct facts of a day chosen by the same rule, states stored in their table form (so what a
run reads back is what DynamoDB would give it), the lease, alert records and the outbox; alert
cases written over the version they were read at, with their audit entries all or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from aim.adapters.state_table import (
    DAY_FIGURES,
    StateSnapshots,
    board_rows_of_items,
    is_state_item,
    state_from_item,
)
from aim.config import AimConfig
from aim.domain.activity import DayPack, Fact, distinct_facts, facts_of_chunk
from aim.domain.audit import AuditEntry, AuditEntryExistsError
from aim.domain.casework import AlertCase
from aim.domain.escalation import escalation_id
from aim.domain.ports import RunControl
from aim.domain.prisoner import PrisonerState
from aim.service.escalation import run_escalation
from aim.service.ingest import ingest_object, report_key
from aim.service.scoring_run import run_scoring

# The lab's alert id key (the embedded local AWS stores the same value as its secret), so a
# scenario gives the same alert ids in memory and on moto. Never a deployment's key.
LAB_ALERT_ID_KEY = b"aim-lab-alert-id-key-not-for-deployment"


class InMemoryActivityRepository:
    def __init__(self) -> None:
        self._packs: dict[tuple[str, date], dict[str, DayPack]] = {}  # change set: member -> pack

    def put_packs_if_absent(self, establishment: str, packs: Sequence[DayPack]) -> list[DayPack]:
        stored = []
        for p in packs:
            day = self._packs.setdefault((establishment, p.day), {})
            if p.member not in day:
                day[p.member] = p
                stored.append(p)
        return stored

    def changed_days(self, establishment: str, days: Sequence[date], seen: Mapping[date, int]) -> dict[date, int]:
        counts = {d: len(self._packs[(establishment, d)]) for d in set(days) if (establishment, d) in self._packs}
        return {d: n for d, n in sorted(counts.items()) if seen.get(d) != n}

    def facts_of_day(self, establishment: str, day: date) -> list[Fact]:
        packs = self._packs.get((establishment, day), {}).values()
        return distinct_facts(
            f
            for p in packs
            for _, blob in p.chunks
            for f in facts_of_chunk(establishment, day, p.kiosk_id, p.batch_id, blob)
        )

    def change_sets(self, establishment: str) -> dict[date, set[str]]:
        return {d: set(members) for (est, d), members in self._packs.items() if est == establishment}


class InMemoryStateRepository:
    def __init__(self) -> None:
        self._states: dict[str, dict[str, dict[str, Any]]] = {}  # establishment -> prisoner -> stored item
        self._meta: dict[str, dict[str, Any]] = {}
        self._boards: dict[str, dict[str, dict[str, Any]]] = {}  # establishment -> sort key -> board item
        self._leases: dict[str, tuple[str, int]] = {}
        self._alerts: dict[str, dict[str, str]] = {}  # establishment -> alert id -> message JSON
        self._outbox: dict[str, dict[str, str]] = {}
        self._alert_groups: dict[str, dict[str, dict[str, str]]] = {}  # establishment -> alert id -> subgroups
        self._days: dict[str, dict[str, dict[str, Any]]] = {}  # establishment -> day -> figures
        self._snapshots = StateSnapshots()

    def load_control(self, establishment: str) -> RunControl:
        meta = json.loads(json.dumps(self._meta.get(establishment, {})))
        pending = [json.loads(m) for _, m in sorted(self._outbox.get(establishment, {}).items())]
        return RunControl(meta, pending)

    def save_meta(self, establishment: str, meta: dict[str, Any]) -> None:
        self._meta[establishment] = json.loads(json.dumps(meta))

    def take_lease(self, establishment: str, holder: str, now: int, seconds: int) -> bool:
        held = self._leases.get(establishment)
        if held is not None and not held[1] < now:
            return False
        self._leases[establishment] = (holder, now + seconds)
        return True

    def release_lease(self, establishment: str) -> None:
        self._leases.pop(establishment, None)

    def load_states(self, establishment: str, horizon: int) -> dict[str, PrisonerState]:
        items = self._states.get(establishment, {})
        states = [state_from_item(items[pid], horizon) for pid in sorted(items)]
        self._snapshots.remember(items.values())
        return {s.prisoner_id: s for s in states}

    def save_states(self, establishment: str, states: Iterable[PrisonerState]) -> int:
        changed = self._snapshots.changed(establishment, states)
        stored = self._states.setdefault(establishment, {})
        board = self._boards.setdefault(establishment, {})
        for item in changed:
            if is_state_item(item):
                stored[str(item["sk"])[2:]] = item
            else:
                board[str(item["sk"])] = item
        self._snapshots.remember(changed)
        return sum(1 for i in changed if is_state_item(i))

    def load_board(self, establishment: str) -> list[list[Any]] | None:
        board = self._boards.get(establishment)
        return board_rows_of_items(board.values()) if board else None

    def record_alert(
        self, establishment: str, message: dict[str, Any], expires_at: int, subgroups: dict[str, str] | None = None
    ) -> bool:
        records = self._alerts.setdefault(establishment, {})
        alert_id = str(message["alert_id"])
        if alert_id in records:
            return False
        records[alert_id] = self._outbox.setdefault(establishment, {})[alert_id] = json.dumps(message)
        if subgroups:
            self._alert_groups.setdefault(establishment, {})[alert_id] = dict(subgroups)
        return True

    def alert_subgroups(self, establishment: str) -> dict[str, dict[str, str]]:
        """The fairness subgroups kept with each alert record: alert id -> subgroups."""
        return {a: dict(g) for a, g in self._alert_groups.get(establishment, {}).items()}

    def save_day(self, establishment: str, day: date, figures: dict[str, Any]) -> None:
        kept = {k: json.loads(json.dumps(v)) for k, v in figures.items() if k in DAY_FIGURES}
        self._days.setdefault(establishment, {}).setdefault(day.isoformat(), {}).update(kept)

    def load_days(self, establishment: str, start: date, end: date) -> list[dict[str, Any]]:
        """The day records from ``start`` to ``end``, oldest first (as the staff reader gives them)."""
        days = self._days.get(establishment, {})
        return [
            {"day": d, **json.loads(json.dumps(days[d]))}
            for d in sorted(days)
            if start.isoformat() <= d <= end.isoformat()
        ]

    def pending_alerts(self, establishment: str) -> list[dict[str, Any]]:
        return self.load_control(establishment).pending

    def mark_sent(self, establishment: str, alert_id: str) -> None:
        self._outbox.get(establishment, {}).pop(alert_id, None)

    def alert_records(self, establishment: str) -> dict[str, str]:
        """Every alert recorded for an establishment: alert id -> ``aim.alert/1`` message JSON."""
        return dict(self._alerts.get(establishment, {}))

    def stored_states(self, establishment: str, horizon: int) -> list[PrisonerState]:
        """Every stored state (for the board), read without touching a run's snapshots."""
        items = self._states.get(establishment, {})
        return [state_from_item(items[pid], horizon) for pid in sorted(items)]


class InMemoryObjectStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_bytes(self, key: str, body: bytes) -> None:
        self.objects[key] = body

    def get_bytes(self, key: str) -> bytes:
        return self.objects[key]

    def put_json(self, key: str, document: dict[str, Any]) -> None:
        self.objects[key] = json.dumps(document, indent=1, default=str).encode("utf-8")

    def copy(self, source_key: str, target_key: str) -> None:
        self.objects[target_key] = self.objects[source_key]


class InMemoryPublisher:
    """The alert topic with one subscriber that keeps the machine form, in publication order."""

    def __init__(self) -> None:
        self.delivered: list[dict[str, Any]] = []

    def publish(self, *, machine_json: str, human_text: str, subject: str, attributes: dict[str, str]) -> str:
        self.delivered.append(json.loads(machine_json))
        return f"memory-{len(self.delivered)}"


class InMemoryStack:
    """The pipeline on in-memory ports: each upload is ingested at once (the queue never holds a
    message), and the schedule runs the scoring use case for every configured establishment."""

    def __init__(self, config: AimConfig, alert_key: bytes = LAB_ALERT_ID_KEY) -> None:
        self.config = config
        self.alert_key = alert_key
        self.objects = InMemoryObjectStore()
        self.activity = InMemoryActivityRepository()
        self.state = InMemoryStateRepository()
        self.publisher = InMemoryPublisher()
        self.audit = InMemoryAuditLog()
        self.cases = InMemoryCaseRepository(self.audit)
        self.escalations = InMemoryEscalationStore(self.state)

    def upload_many(self, uploads: list[tuple[str, bytes, datetime]]) -> None:
        for key, body, at in uploads:
            self.objects.put_bytes(key, body)
            ingest_object(key, self.objects, self.activity, self.config, at)

    def ingest(self, uploads: list[tuple[str, bytes, datetime]]) -> None:
        self.upload_many(uploads)

    def report(self, key: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.objects.get_bytes(report_key(key)))
        return document

    def run_schedule(self, at: datetime) -> list[dict[str, Any]]:
        return [
            asdict(run_scoring(est, at, self.activity, self.state, self.publisher, self.config, self.alert_key))
            for est in self.config.establishments
        ]

    def run_escalations(self, at: datetime) -> list[dict[str, Any]]:
        """The escalation schedule at ``at``: reds nobody has acknowledged (in ``self.cases``) are
        published again; they arrive in ``drain_alerts`` with ``kind: "escalation"`` and a ``step``."""
        return [
            asdict(run_escalation(est, at, self.escalations, self.cases, self.publisher, self.config))
            for est in self.config.establishments
        ]

    def drain_alerts(self) -> list[dict[str, Any]]:
        alerts, self.publisher.delivered = self.publisher.delivered, []
        return alerts

    def states(self, establishment: str, horizon: int) -> list[PrisonerState]:
        return self.state.stored_states(establishment, horizon)

    def dead_letters(self) -> int:
        return 0


class InMemoryAuditLog:
    """Append-only, as the AuditTable: an entry is never written over one with the same key."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str | None, str], AuditEntry] = {}

    @staticmethod
    def key(entry: AuditEntry) -> tuple[str, str | None, str]:
        return entry.establishment, entry.prisoner_id, f"{entry.at.isoformat()}#{entry.entry_id}"

    def check_absent(self, entry: AuditEntry) -> None:
        if self.key(entry) in self._entries:
            raise AuditEntryExistsError(entry.entry_id)

    def append(self, entry: AuditEntry) -> None:
        self.check_absent(entry)
        self._entries[self.key(entry)] = entry

    def for_prisoner(self, establishment: str, prisoner_id: str) -> list[AuditEntry]:
        found = [e for (est, pid, _), e in self._entries.items() if est == establishment and pid == prisoner_id]
        return sorted(found, key=lambda e: e.at, reverse=True)


class InMemoryCaseRepository:
    """Alert cases, written only over the version they were read at (as the CaseTable); a case saved
    with its audit entry is stored with it in ``audit_log``, both or neither."""

    def __init__(self, audit_log: InMemoryAuditLog | None = None) -> None:
        self._cases: dict[tuple[str, str], AlertCase] = {}
        self.audit_log = audit_log

    def get(self, establishment: str, alert_id: str) -> AlertCase | None:
        return self._cases.get((establishment, alert_id))

    def get_many(self, establishment: str, alert_ids: Sequence[str]) -> dict[str, AlertCase]:
        found = (self._cases.get((establishment, a)) for a in alert_ids)
        return {c.alert_id: c for c in found if c is not None}

    def save(self, case: AlertCase, audit: AuditEntry | None = None) -> bool:
        if audit is not None and self.audit_log is None:
            raise ValueError("a case saved with its audit entry needs the repository's audit_log")
        stored = self._cases.get((case.establishment, case.alert_id))
        if (stored.version if stored else 0) != case.version - 1:
            return False
        if audit is not None and self.audit_log is not None:
            self.audit_log.check_absent(audit)  # raises before either is written
            self.audit_log.append(audit)
        self._cases[(case.establishment, case.alert_id)] = case
        return True


class InMemoryEscalationStore:
    """The escalation job's view of an ``InMemoryStateRepository``'s alert records, with its own
    escalation records and outbox."""

    def __init__(self, state: InMemoryStateRepository) -> None:
        self.state = state
        self._records: dict[str, dict[str, str]] = {}  # establishment -> escalation id -> message JSON
        self._outbox: dict[str, dict[str, str]] = {}

    def alerts_raised_since(self, establishment: str, since: datetime) -> list[dict[str, Any]]:
        messages = (json.loads(m) for m in self.state.alert_records(establishment).values())
        return [m for m in messages if datetime.fromisoformat(str(m["raised_at"])) >= since]

    def record_escalation(self, establishment: str, message: dict[str, Any], expires_at: int) -> bool:
        key = escalation_id(str(message["alert_id"]), int(message["step"]))
        records = self._records.setdefault(establishment, {})
        if key in records:
            return False
        records[key] = self._outbox.setdefault(establishment, {})[key] = json.dumps(message)
        return True

    def pending_escalations(self, establishment: str) -> list[dict[str, Any]]:
        return [json.loads(m) for _, m in sorted(self._outbox.get(establishment, {}).items())]

    def mark_escalation_sent(self, establishment: str, alert_id: str, step: int) -> None:
        self._outbox.get(establishment, {}).pop(escalation_id(alert_id, step), None)

    def recorded(self, establishment: str) -> list[str]:
        return sorted(self._records.get(establishment, {}))
