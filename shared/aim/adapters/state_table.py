"""StateTable: per-prisoner state, the scoring lease, the run's control record, alert records and
the alert outbox.

Key layout:
    pk = "{EST}",        sk = "P#{prisoner}"  a prisoner's derived state (``days`` zlib-compressed
                                              int16 counts, ``s`` the rest as JSON); ``expires_at``
                                              once they have left custody
    pk = "{EST}",        sk = "LEASE"         the scoring lease: ``holder``, ``lease_expires``
    pk = "{EST}#RUN",    sk = "~META"         the last run's record ``m`` (days loaded, kiosk hours)
    pk = "{EST}#RUN",    sk = "{alert id}"    the outbox: an alert recorded and not yet sent
    pk = "{EST}#ALERT",  sk = "{alert id}"    every alert raised, kept for audit (``expires_at``)
    pk = "{EST}#ESC",    sk = "{alert id}#E{step}"  every escalation step recorded (``expires_at``)
    pk = "{EST}#ESCOUT", sk = "{alert id}#E{step}"  the escalation outbox: recorded and not yet sent

The run partition is read by one Query every run; ``~META`` sorts after every alert id.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from aim.adapters.dynamodb import CallCounter, DynamoTable, Key
from aim.domain.escalation import escalation_id
from aim.domain.features import NF
from aim.domain.ports import RunControl
from aim.domain.prisoner import PrisonerState

STATE_PREFIX = "P#"
LEASE_SK = "LEASE"
META_SK = "~META"


def run_partition(establishment: str) -> str:
    return f"{establishment}#RUN"


def alert_partition(establishment: str) -> str:
    return f"{establishment}#ALERT"


def state_item(state: PrisonerState) -> dict[str, Any]:
    """A prisoner's state as stored. Deterministic: equal states give equal items."""
    small = {
        "profile": state.profile,
        "movement": state.movement,
        "reception_day": state.reception_day,
        "first_seen": state.first_seen,
        "significant_dates": state.significant_dates,
        "kiosks": dict(sorted(state.kiosks.items(), key=lambda kv: (kv[1], kv[0]))[-4:]),
        "score": round(state.score, 3),
        "reasons": state.reasons,
        "static_factors": state.static_factors,
        "judged_day": state.judged_day,
        "light_since": state.light_since,
        "open_alert": state.open_alert,
        "thresholds": state.thresholds,
    }
    item: dict[str, Any] = {
        "pk": state.establishment,
        "sk": f"{STATE_PREFIX}{state.prisoner_id}",
        "light": state.light,
        "origin": state.origin.isoformat(),
        # zlib: mostly zeros and small counts; a state then fits one write unit (1 KB), not three.
        "days": zlib.compress(state.days.astype("<i2").tobytes(), 6),
        "s": json.dumps(small, separators=(",", ":"), sort_keys=True),
    }
    if not state.in_custody and state.movement is not None and state.retention_days:
        # Someone released or transferred out: their derived state expires with their facts.
        left = date.fromisoformat(str(state.movement[2]))
        item["expires_at"] = int(
            datetime.combine(left + timedelta(days=state.retention_days), time(0), tzinfo=UTC).timestamp()
        )
    return item


def state_from_item(item: dict[str, Any], horizon: int) -> PrisonerState:
    """A stored state with ``horizon`` days of counts (the latest days kept if the horizon changed)."""
    small = json.loads(str(item["s"]))
    raw = item["days"].value if hasattr(item["days"], "value") else item["days"]
    days = np.frombuffer(zlib.decompress(bytes(raw)), dtype="<i2").reshape(-1, NF).astype(np.int16)
    state = PrisonerState(
        establishment=str(item["pk"]),
        prisoner_id=str(item["sk"])[len(STATE_PREFIX) :],
        origin=date.fromisoformat(str(item["origin"])),
        days=days.copy(),
        light=str(item.get("light", "insufficient")),
        **{k: small.get(k) for k in ("movement", "reception_day", "first_seen", "judged_day", "light_since")},
        profile=small.get("profile") or {},
        significant_dates=small.get("significant_dates") or {},
        kiosks=small.get("kiosks") or {},
        score=float(small.get("score") or 0.0),
        reasons=small.get("reasons") or [],
        static_factors=small.get("static_factors") or [],
        open_alert=small.get("open_alert"),
        thresholds=small.get("thresholds") or [],
    )
    stored_horizon = state.days.shape[0]
    if stored_horizon != horizon:  # the configured baseline length changed: keep the latest days
        resized = np.zeros((horizon, NF), dtype=np.int16)
        keep = min(horizon, stored_horizon)
        resized[horizon - keep :] = state.days[stored_horizon - keep :]
        state.days = resized
        state.origin = state.origin + timedelta(days=stored_horizon - horizon)
    return state


def meta_item(establishment: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {"pk": run_partition(establishment), "sk": META_SK, "m": json.dumps(meta, sort_keys=True)}


def control_of_items(items: Iterable[dict[str, Any]]) -> RunControl:
    control = RunControl()
    for item in items:
        if item["sk"] == META_SK:
            control.meta = json.loads(str(item["m"]))
        else:
            control.pending.append(json.loads(str(item["message"])))
    return control


def alert_record_item(establishment: str, message: dict[str, Any], expires_at: int) -> dict[str, Any]:
    body = json.dumps(message, separators=(",", ":"))
    return {"pk": alert_partition(establishment), "sk": message["alert_id"], "message": body, "expires_at": expires_at}


def outbox_item(establishment: str, message: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(message, separators=(",", ":"))
    return {"pk": run_partition(establishment), "sk": message["alert_id"], "message": body}


class StateSnapshots:
    """The stored form of each state as last loaded or saved, so only changed states are written."""

    def __init__(self) -> None:
        self._items: dict[Key, dict[str, Any]] = {}

    def remember(self, items: Iterable[dict[str, Any]]) -> None:
        self._items.update(((i["pk"], i["sk"]), i) for i in items)

    def changed(self, states: Iterable[PrisonerState]) -> list[dict[str, Any]]:
        items = (state_item(s) for s in states)
        return [i for i in items if self._items.get((i["pk"], i["sk"])) != i]


class DynamoStateRepository:
    """The state port on DynamoDB."""

    def __init__(self, table: str, client: Any | None = None, counter: CallCounter | None = None) -> None:
        self.table = DynamoTable(table, client, counter)
        self._snapshots = StateSnapshots()

    @property
    def counter(self) -> CallCounter:
        return self.table.counter

    def load_control(self, establishment: str) -> RunControl:
        return control_of_items(self.table.query(run_partition(establishment)))

    def save_meta(self, establishment: str, meta: dict[str, Any]) -> None:
        self.table.batch_put([meta_item(establishment, meta)])

    def take_lease(self, establishment: str, holder: str, now: int, seconds: int) -> bool:
        return self.table.put(
            {"pk": establishment, "sk": LEASE_SK, "holder": holder, "lease_expires": now + seconds},
            "attribute_not_exists(pk) OR lease_expires < :now",
            {":now": now},
        )

    def release_lease(self, establishment: str) -> None:
        self.table.delete((establishment, LEASE_SK))

    def load_states(self, establishment: str, horizon: int) -> dict[str, PrisonerState]:
        states = [state_from_item(i, horizon) for i in self.table.query(establishment, STATE_PREFIX)]
        self._snapshots.remember(state_item(s) for s in states)
        return {s.prisoner_id: s for s in states}

    def save_states(self, establishment: str, states: Iterable[PrisonerState]) -> int:
        changed = self._snapshots.changed(states)
        self.table.batch_put(changed)
        self._snapshots.remember(changed)
        return len(changed)

    def record_alert(self, establishment: str, message: dict[str, Any], expires_at: int) -> bool:
        # One transaction: an alert is never recorded without its outbox entry (it would never be sent).
        return self.table.put_all_if_absent(
            [alert_record_item(establishment, message, expires_at), outbox_item(establishment, message)]
        )

    def pending_alerts(self, establishment: str) -> list[dict[str, Any]]:
        return self.load_control(establishment).pending

    def mark_sent(self, establishment: str, alert_id: str) -> None:
        self.table.delete((run_partition(establishment), alert_id))


def escalation_partition(establishment: str) -> str:
    return f"{establishment}#ESC"


def escalation_outbox_partition(establishment: str) -> str:
    return f"{establishment}#ESCOUT"


class DynamoEscalationStore:
    """The escalation job's view of the StateTable: alert records read, escalation steps recorded
    with their outbox in one transaction (a step is never recorded without being queued to send)."""

    def __init__(self, table: str, client: Any | None = None, counter: CallCounter | None = None) -> None:
        self.table = DynamoTable(table, client, counter)

    def alerts_raised_since(self, establishment: str, since: datetime) -> list[dict[str, Any]]:
        messages = (json.loads(str(i["message"])) for i in self.table.query(alert_partition(establishment)))
        return [m for m in messages if datetime.fromisoformat(str(m["raised_at"])) >= since]

    def record_escalation(self, establishment: str, message: dict[str, Any], expires_at: int) -> bool:
        sk = escalation_id(str(message["alert_id"]), int(message["step"]))
        body = json.dumps(message, separators=(",", ":"))
        return self.table.put_all_if_absent(
            [
                {"pk": escalation_partition(establishment), "sk": sk, "message": body, "expires_at": expires_at},
                {"pk": escalation_outbox_partition(establishment), "sk": sk, "message": body},
            ]
        )

    def pending_escalations(self, establishment: str) -> list[dict[str, Any]]:
        items = self.table.query(escalation_outbox_partition(establishment), consistent=True)
        return [json.loads(str(i["message"])) for i in items]

    def mark_escalation_sent(self, establishment: str, alert_id: str, step: int) -> None:
        self.table.delete((escalation_outbox_partition(establishment), escalation_id(alert_id, step)))
