"""``BoardReader`` over the scorer's StateTable.

Read through the key layout that ``aim.adapters.state_table`` owns (written by the scoring run):

- ``pk = {EST}``, ``sk = P#{prison number}``: one ``PrisonerState`` item (``light``, ``origin``,
  compressed ``days``, and the JSON ``s`` with profile, score, reasons, static factors, open alert).
- ``pk = {EST}#ALERT``, ``sk = {alert id}``: the ``aim.alert/1`` message of every alert raised.
- ``pk = {EST}#BOARD``, ``sk = ~BOARD``: the board's rows for everyone in custody, compressed,
  written by the scoring run with the states (more items, ``~BOARD#1`` on, only for a board too
  large for one).
- ``pk = {EST}#RUN``, ``sk = ~META``: written by every scoring run that changed anything, after
  the states and the board it wrote.
- ``pk = {EST}#DAY``, ``sk = {YYYY-MM-DD}``: each judged day's counts for the governor's view.

The board keeps what it read while the run marker stays the same: one small GetItem when nothing
was scored since, and one more for the board item after a run. Only a table no run has written a
board to yet is read prisoner by prisoner (``light`` and ``s``, never the day vectors). A
prisoner's page reads one item.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from aim.adapters.aws import client as aws_client
from aim.adapters.state_table import (
    BOARD_SK,
    META_SK,
    STATE_PREFIX,
    alert_partition,
    board_part_sk,
    board_partition,
    board_row,
    board_rows_of_items,
    day_partition,
    day_record_of_item,
    state_from_item,
)
from aim.adapters.state_table import run_partition as control_partition
from aim.domain.board import AlertRecord, BoardRow, PrisonerView, routine_against_usual

_DESER = TypeDeserializer()
BATCH_GET_LIMIT = 100


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _DESER.deserialize(v) for k, v in item.items()}


class StateTableBoardReader:
    def __init__(self, table: str, horizon: int, client: Any | None = None) -> None:
        self.table = table
        self.horizon = horizon
        self._client = client
        self._boards: dict[str, tuple[str, list[BoardRow]]] = {}  # establishment -> (run marker, rows)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        kwargs = {"TableName": self.table, **kwargs}
        items: list[dict[str, Any]] = []
        while True:
            response = self.client.query(**kwargs)
            items.extend(response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                return items
            kwargs["ExclusiveStartKey"] = last

    # --- board ------------------------------------------------------------------------------------
    def _run_marker(self, establishment: str) -> str | None:
        response = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": control_partition(establishment)}, "sk": {"S": META_SK}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return None
        return hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()

    def board(self, establishment: str) -> list[BoardRow]:
        marker = self._run_marker(establishment)
        cached = self._boards.get(establishment)
        if marker is not None and cached is not None and cached[0] == marker:
            return list(cached[1])
        rows = self._read_board(establishment)
        if marker is not None:
            self._boards[establishment] = (marker, rows)
        return list(rows)

    def _read_board(self, establishment: str) -> list[BoardRow]:
        rows = self._board_item_rows(establishment)
        if rows is None:
            rows = self._state_rows(establishment)
        return [BoardRow(str(r[0]), str(r[1]), r[2], str(r[3]), float(r[4]), r[5], r[6]) for r in rows]

    def _board_item_rows(self, establishment: str) -> list[list[Any]] | None:
        """The rows of the board the last scoring run wrote; None if no run has written one."""
        pk = board_partition(establishment)
        first = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": BOARD_SK}}, ConsistentRead=True
        ).get("Item")
        if not first:
            return None
        items = [_plain(first)]
        parts = int(items[0]["parts"])
        for start in range(1, parts, BATCH_GET_LIMIT):
            keys = [
                {"pk": {"S": pk}, "sk": {"S": board_part_sk(n)}}
                for n in range(start, min(parts, start + BATCH_GET_LIMIT))
            ]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                items.extend(_plain(i) for i in response.get("Responses", {}).get(self.table, []))
                request = response.get("UnprocessedKeys") or {}
        return board_rows_of_items(items)

    def _state_rows(self, establishment: str) -> list[list[Any]]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={":pk": {"S": establishment}, ":p": {"S": STATE_PREFIX}},
            ProjectionExpression="sk, #l, s",
            ExpressionAttributeNames={"#l": "light"},
        )
        found = (board_row(i["sk"]["S"], i.get("light", {}).get("S", "insufficient"), i["s"]["S"]) for i in items)
        return [r for r in found if r is not None]

    # --- one prisoner -----------------------------------------------------------------------------
    def prisoner(self, establishment: str, prisoner_id: str) -> PrisonerView | None:
        response = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": establishment}, "sk": {"S": f"{STATE_PREFIX}{prisoner_id}"}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return None
        state = state_from_item(_plain(item), self.horizon)
        last = (
            date.fromisoformat(state.judged_day)
            if state.judged_day
            else state.origin + timedelta(days=state.days.shape[0] - 1)
        )
        return PrisonerView(
            establishment=establishment,
            prisoner_id=state.prisoner_id,
            wing=state.wing,
            location=state.location,
            light=state.light,
            score=state.score,
            since=state.light_since,
            judged_day=state.judged_day,
            reasons=state.reasons,
            static_factors=state.static_factors,
            open_alert_id=(state.open_alert or {}).get("alert_id"),
            in_custody=state.in_custody,
            routine=routine_against_usual(state.days, state.origin, last, first_day=state.custody_start()),
        )

    # --- alerts -----------------------------------------------------------------------------------
    def alert(self, establishments: Sequence[str], alert_id: str) -> AlertRecord | None:
        if not establishments:
            return None
        keys = [{"pk": {"S": alert_partition(est)}, "sk": {"S": alert_id}} for est in establishments][:BATCH_GET_LIMIT]
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        found: list[dict[str, Any]] = []
        while request:
            response = self.client.batch_get_item(RequestItems=request)
            found.extend(response.get("Responses", {}).get(self.table, []))
            request = response.get("UnprocessedKeys") or {}
        for item in found:
            record = _record(item)
            if record.establishment in establishments and record.alert_id == alert_id:
                return record
        return None

    def _alerts(self, establishment: str, prisoner_id: str | None = None) -> list[AlertRecord]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": alert_partition(establishment)}},
        }
        if prisoner_id:
            kwargs["FilterExpression"] = "contains(message, :pid)"
            kwargs["ExpressionAttributeValues"][":pid"] = {"S": f'"prisoner_id":"{prisoner_id}"'}
        records = [_record(i) for i in self._query(**kwargs)]
        return [r for r in records if prisoner_id is None or r.prisoner_id == prisoner_id]

    def alerts_for_prisoner(self, establishment: str, prisoner_id: str) -> list[AlertRecord]:
        return self._alerts(establishment, prisoner_id)

    def alerts_raised(self, establishment: str, start: datetime, end: datetime) -> list[AlertRecord]:
        return [r for r in self._alerts(establishment) if start <= datetime.fromisoformat(r.raised_at) < end]

    # --- days -------------------------------------------------------------------------------------
    def day_records(self, establishment: str, start: date, end: date) -> list[dict[str, Any]]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": {"S": day_partition(establishment)},
                ":lo": {"S": start.isoformat()},
                ":hi": {"S": end.isoformat()},
            },
        )
        return [day_record_of_item(_plain(i)) for i in items]


def _record(item: dict[str, Any]) -> AlertRecord:
    groups = item.get("groups", {}).get("S")
    return AlertRecord.from_message(json.loads(item["message"]["S"]), json.loads(groups) if groups else None)


__all__ = ["StateTableBoardReader"]
