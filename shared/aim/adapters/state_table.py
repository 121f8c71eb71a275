"""StateTable: per-prisoner state, the scoring lease, the run's control record, alert records and
the alert outbox.

Key layout:
    pk = "{EST}",        sk = "P#{prisoner}"  a prisoner's derived state (``days`` zlib-compressed
                                              int16 counts, ``s`` the rest as JSON); ``expires_at``
                                              once they have left custody
    pk = "{EST}",        sk = "LEASE"         the scoring lease: ``holder``, ``lease_expires``
    pk = "{EST}#RUN",    sk = "~META"         the last run's record ``m`` (days loaded, kiosk hours)
    pk = "{EST}#RUN",    sk = "{alert id}"    the outbox: an alert recorded and not yet sent
    pk = "{EST}#ALERT",  sk = "{alert id}"    every alert raised, kept for audit (``expires_at``), with
                                              the person's fairness subgroups (``groups``, JSON) apart
                                              from the message
    pk = "{EST}#BOARD",  sk = "~BOARD", "~BOARD#1", ...
                                              the board: one row per prisoner in custody (``b``,
                                              zlib-compressed compact JSON), written with the
                                              states; ``parts`` on the first says how many items
    pk = "{EST}#DAY",    sk = "{YYYY-MM-DD}"  a judged day's counts for the governor's view: ``lights``
                                              and ``new_amber`` by wing, ``red_line``, ``confounders``
                                              (each JSON, no prisoner data; ``expires_at``)
    pk = "{EST}#ESC",    sk = "{alert id}#E{step}"  every escalation step recorded (``expires_at``)
    pk = "{EST}#ESCOUT", sk = "{alert id}#E{step}"  the escalation outbox: recorded and not yet sent

The run partition is read by one Query every run; ``~META`` sorts after every alert id. The board
has its own partition so that Query never reads it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from aim.adapters.dynamodb import CallCounter, DynamoTable, Key, to_attr
from aim.domain.escalation import escalation_id
from aim.domain.features import NF
from aim.domain.ports import RunControl
from aim.domain.prisoner import PrisonerState

STATE_PREFIX = "P#"
LEASE_SK = "LEASE"
META_SK = "~META"
BOARD_SK = "~BOARD"
BOARD_FIELDS = ("prisoner_id", "wing", "location", "light", "score", "since", "open_alert_id")
# Compressed bytes per board item: well under DynamoDB's 400 KB item limit (1,500 rows take ~20 KB).
BOARD_PART_BYTES = 300_000


def run_partition(establishment: str) -> str:
    return f"{establishment}#RUN"


def alert_partition(establishment: str) -> str:
    return f"{establishment}#ALERT"


def day_partition(establishment: str) -> str:
    return f"{establishment}#DAY"


DAY_FIGURES = ("lights", "new_amber", "red_line", "confounders")
DAY_RECORD_RETENTION = timedelta(days=800)  # two years of governors' ranges, and a little more


def day_update(figures: dict[str, Any], day: date) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The UpdateItem parts that set ``figures`` (each stored as JSON) of a day record."""
    names = {f"#{k}": k for k in figures if k in DAY_FIGURES} | {"#x": "expires_at"}
    values: dict[str, Any] = {f":{k}": json.dumps(v, sort_keys=True) for k, v in figures.items() if k in DAY_FIGURES}
    values[":x"] = int(datetime.combine(day + DAY_RECORD_RETENTION, time(0), tzinfo=UTC).timestamp())
    expression = "SET " + ", ".join(f"#{k} = :{k}" for k in figures if k in DAY_FIGURES) + ", #x = :x"
    return expression, names, values


def day_item(establishment: str, day: date, figures: dict[str, Any]) -> dict[str, Any]:
    """A whole day record as ``save_day`` leaves it (for seeding a table directly)."""
    _, _, values = day_update(figures, day)
    item = {"pk": day_partition(establishment), "sk": day.isoformat(), "expires_at": values.pop(":x")}
    return item | {k[1:]: v for k, v in values.items()}


def day_record_of_item(item: dict[str, Any]) -> dict[str, Any]:
    """A stored day record as plain figures: ``day`` and each of ``DAY_FIGURES`` present."""
    return {"day": str(item["sk"]), **{k: json.loads(str(item[k])) for k in DAY_FIGURES if k in item}}


def board_partition(establishment: str) -> str:
    return f"{establishment}#BOARD"


def board_part_sk(n: int) -> str:
    return BOARD_SK if n == 0 else f"{BOARD_SK}#{n}"


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
        "red_line": state.red_line,
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
        red_line=small.get("red_line"),
    )
    stored_horizon = state.days.shape[0]
    if stored_horizon != horizon:  # the configured baseline length changed: keep the latest days
        resized = np.zeros((horizon, NF), dtype=np.int16)
        keep = min(horizon, stored_horizon)
        resized[horizon - keep :] = state.days[stored_horizon - keep :]
        state.days = resized
        state.origin = state.origin + timedelta(days=stored_horizon - horizon)
    return state


def board_row(sk: str, light: str, s: str) -> list[Any] | None:
    """The board's row (``BOARD_FIELDS``) of a stored state's ``sk``, ``light`` and ``s``; None for
    someone no longer in custody."""
    small = json.loads(s)
    movement = small.get("movement")
    if movement is not None and movement[0] != "reception":
        return None
    location = (small.get("profile") or {}).get("location")
    loc = str(location[0]) if location else None
    return [
        sk[len(STATE_PREFIX) :],
        loc.split("-")[0] if loc else "?",
        loc,
        light,
        float(small.get("score") or 0.0),
        small.get("light_since"),
        (small.get("open_alert") or {}).get("alert_id"),
    ]


def _board_parts(rows: list[list[Any]]) -> list[bytes]:
    body = zlib.compress(json.dumps(rows, separators=(",", ":")).encode("utf-8"), 6)
    if len(body) <= BOARD_PART_BYTES or len(rows) < 2:
        return [body]
    half = len(rows) // 2
    return _board_parts(rows[:half]) + _board_parts(rows[half:])


def board_items(establishment: str, states: Iterable[PrisonerState]) -> list[dict[str, Any]]:
    """The board of an establishment from every prisoner's state: the rows ``board_row`` reads of
    their stored form, in as few items as fit; deterministic, so an unchanged board compares equal."""
    rows = [
        [
            s.prisoner_id,
            s.wing,
            s.location,
            s.light,
            round(s.score, 3),
            s.light_since,
            (s.open_alert or {}).get("alert_id"),
        ]
        for s in sorted(states, key=lambda s: s.prisoner_id)
        if s.in_custody
    ]
    parts = _board_parts(rows)
    items: list[dict[str, Any]] = [
        {"pk": board_partition(establishment), "sk": board_part_sk(n), "b": b} for n, b in enumerate(parts)
    ]
    items[0]["parts"] = len(parts)
    return items


def board_rows_of_items(items: Iterable[dict[str, Any]]) -> list[list[Any]]:
    """The rows of a board's items (plain values, in any order)."""
    by_sk = {str(i["sk"]): i for i in items}
    rows: list[list[Any]] = []
    for n in range(int(by_sk[BOARD_SK]["parts"])):
        raw = by_sk[board_part_sk(n)]["b"]
        rows.extend(json.loads(zlib.decompress(bytes(raw.value if hasattr(raw, "value") else raw))))
    return rows


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


def alert_record_item(
    establishment: str, message: dict[str, Any], expires_at: int, subgroups: dict[str, str] | None = None
) -> dict[str, Any]:
    body = json.dumps(message, separators=(",", ":"))
    item = {"pk": alert_partition(establishment), "sk": message["alert_id"], "message": body, "expires_at": expires_at}
    if subgroups:
        item["groups"] = json.dumps(subgroups, sort_keys=True)
    return item


def outbox_item(establishment: str, message: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(message, separators=(",", ":"))
    return {"pk": run_partition(establishment), "sk": message["alert_id"], "message": body}


class StateSnapshots:
    """The stored form of each state as last loaded or saved, so only changed states are written."""

    def __init__(self) -> None:
        self._items: dict[Key, dict[str, Any]] = {}

    def remember(self, items: Iterable[dict[str, Any]]) -> None:
        self._items.update(((i["pk"], i["sk"]), i) for i in items)

    def changed(self, establishment: str, states: Iterable[PrisonerState]) -> list[dict[str, Any]]:
        """The states that differ from what is stored, then the board's items if it changed."""
        states = list(states)
        items = [state_item(s) for s in states] + board_items(establishment, states)
        return [i for i in items if self._items.get((i["pk"], i["sk"])) != i]


def is_state_item(item: dict[str, Any]) -> bool:
    return str(item["sk"]).startswith(STATE_PREFIX)


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
        # The board's items go last, in the same BatchWriteItem as the last changed states.
        changed = self._snapshots.changed(establishment, states)
        self.table.batch_put(changed)
        self._snapshots.remember(changed)
        return sum(1 for i in changed if is_state_item(i))

    def load_board(self, establishment: str) -> list[list[Any]] | None:
        """The board's rows as the last run saved them (``BOARD_FIELDS``); None if none was saved."""
        items = self.table.query(board_partition(establishment), BOARD_SK, consistent=True)
        return board_rows_of_items(items) if items else None

    def record_alert(
        self, establishment: str, message: dict[str, Any], expires_at: int, subgroups: dict[str, str] | None = None
    ) -> bool:
        # One transaction: an alert is never recorded without its outbox entry (it would never be sent).
        return self.table.put_all_if_absent(
            [alert_record_item(establishment, message, expires_at, subgroups), outbox_item(establishment, message)]
        )

    def save_day(self, establishment: str, day: date, figures: dict[str, Any]) -> None:
        expression, names, values = day_update(figures, day)
        self.table.update((day_partition(establishment), day.isoformat()), expression, names, to_attr(values))

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
