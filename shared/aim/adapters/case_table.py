"""``CaseRepository`` on the CaseTable: one item per alert that staff have acted on.

``pk = {EST}``, ``sk = CASE#{alert id}``; ``version`` (number) and the case as JSON in ``case``.
A write succeeds only over the version it was read at (a new case only where none exists), so
two officers acting at once never overwrite one another. A case saved with its audit entry is one
``TransactWriteItems`` over the CaseTable and the AuditTable: both land or neither does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from aim.adapters.audit_table import DynamoAuditLog
from aim.adapters.aws import client as aws_client
from aim.domain.audit import AuditEntry, AuditEntryExistsError
from aim.domain.casework import AlertCase, Intervention

BATCH_GET_LIMIT = 100


def case_key(establishment: str, alert_id: str) -> dict[str, Any]:
    return {"pk": {"S": establishment}, "sk": {"S": f"CASE#{alert_id}"}}


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def case_from_item(item: dict[str, Any]) -> AlertCase:
    data = json.loads(item["case"]["S"])
    return AlertCase(
        alert_id=data["alert_id"],
        establishment=data["establishment"],
        prisoner_id=data["prisoner_id"],
        status=data["status"],
        acknowledged_by=data.get("acknowledged_by"),
        acknowledged_at=_when(data.get("acknowledged_at")),
        closed_by=data.get("closed_by"),
        closed_at=_when(data.get("closed_at")),
        interventions=tuple(Intervention.model_validate(i) for i in data.get("interventions", [])),
        version=int(item["version"]["N"]),
    )


def case_to_item(case: AlertCase) -> dict[str, Any]:
    data = {"alert_id": case.alert_id, "establishment": case.establishment, "prisoner_id": case.prisoner_id}
    data.update(case.to_json())
    return {
        **case_key(case.establishment, case.alert_id),
        "status": {"S": case.status},
        "version": {"N": str(case.version)},
        "case": {"S": json.dumps(data, separators=(",", ":"), sort_keys=True)},
    }


class DynamoCaseRepository:
    """``audit_log`` is where a case saved with its audit entry puts that entry (in the same transaction)."""

    def __init__(self, table: str, client: Any | None = None, audit_log: DynamoAuditLog | None = None) -> None:
        self.table = table
        self._client = client
        self.audit_log = audit_log

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def get(self, establishment: str, alert_id: str) -> AlertCase | None:
        response = self.client.get_item(
            TableName=self.table, Key=case_key(establishment, alert_id), ConsistentRead=True
        )
        item = response.get("Item")
        return case_from_item(item) if item else None

    def get_many(self, establishment: str, alert_ids: Sequence[str]) -> dict[str, AlertCase]:
        unique = list(dict.fromkeys(alert_ids))
        found: dict[str, AlertCase] = {}
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            keys = [case_key(establishment, a) for a in unique[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    case = case_from_item(item)
                    found[case.alert_id] = case
                request = response.get("UnprocessedKeys") or {}
        return found

    def save(self, case: AlertCase, audit: AuditEntry | None = None) -> bool:
        put = self._put(case)
        try:
            if audit is None:
                self.client.put_item(**put)
            else:
                self.client.transact_write_items(TransactItems=[{"Put": put}, {"Put": self._audit_put(audit)}])
        except ClientError as exc:
            refused = refused_puts(exc)
            if refused[:1] in (["ConditionalCheckFailed"], ["TransactionConflict"]):
                return False  # the case moved on since it was read, or is being written: nothing was written
            if refused[1:] == ["ConditionalCheckFailed"] and audit is not None:
                raise AuditEntryExistsError(audit.entry_id) from exc
            raise
        return True

    def _put(self, case: AlertCase) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table, "Item": case_to_item(case)}
        if case.version <= 1:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "#v = :read"
            put["ExpressionAttributeNames"] = {"#v": "version"}
            put["ExpressionAttributeValues"] = {":read": {"N": str(case.version - 1)}}
        return put

    def _audit_put(self, entry: AuditEntry) -> dict[str, Any]:
        if self.audit_log is None:
            raise ValueError("a case saved with its audit entry needs the repository's audit_log")
        return self.audit_log.put_request(entry)


def refused_puts(exc: ClientError) -> list[str | None]:
    """Why each put of a refused write failed (``ConditionalCheckFailed``, ``TransactionConflict``, or
    None for a put that would have succeeded): ``[case]`` or ``[case, audit entry]``; empty when the
    whole call failed (a missing table, throttling)."""
    code = exc.response.get("Error", {}).get("Code")
    if code == "ConditionalCheckFailedException":
        return ["ConditionalCheckFailed"]
    if code == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons") or []
        return [None if r.get("Code") in (None, "None") else r.get("Code") for r in reasons]
    return []


__all__ = ["DynamoCaseRepository", "case_from_item", "case_to_item", "refused_puts"]
