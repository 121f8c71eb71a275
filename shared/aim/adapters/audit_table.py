"""``AuditLog`` on the AuditTable: append-only.

``pk = {EST}#{prison number}`` (``{EST}`` for entries about no one prisoner), ``sk = {time}#{entry id}``.
Each entry is put only where no item has that key (``AuditEntryExistsError`` otherwise); the API's
role may put and read, never update or delete. Entries expire after the configured retention
(``expires_at``, DynamoDB TTL).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from aim.adapters.aws import client as aws_client
from aim.domain.audit import AuditEntry, AuditEntryExistsError


def audit_partition(establishment: str, prisoner_id: str | None) -> str:
    return f"{establishment}#{prisoner_id}" if prisoner_id else establishment


class DynamoAuditLog:
    def __init__(self, table: str, retention_days: int, client: Any | None = None) -> None:
        self.table = table
        self.retention = timedelta(days=retention_days)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def put_request(self, entry: AuditEntry) -> dict[str, Any]:
        """The put of ``entry`` where no item has its key: for ``PutItem``, or as one ``Put`` of a
        transaction that writes the change it records."""
        return {
            "TableName": self.table,
            "Item": {
                "pk": {"S": audit_partition(entry.establishment, entry.prisoner_id)},
                "sk": {"S": f"{entry.at.isoformat()}#{entry.entry_id}"},
                "entry": {"S": json.dumps(entry.to_json(), separators=(",", ":"), sort_keys=True)},
                "expires_at": {"N": str(int((entry.at + self.retention).timestamp()))},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }

    def append(self, entry: AuditEntry) -> None:
        try:
            self.client.put_item(**self.put_request(entry))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise AuditEntryExistsError(entry.entry_id) from exc
            raise

    def for_prisoner(self, establishment: str, prisoner_id: str) -> list[AuditEntry]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": audit_partition(establishment, prisoner_id)}},
            "ScanIndexForward": False,
        }
        entries: list[AuditEntry] = []
        while True:
            response = self.client.query(**kwargs)
            entries.extend(AuditEntry.from_json(json.loads(i["entry"]["S"])) for i in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                return entries
            kwargs["ExclusiveStartKey"] = last


__all__ = ["DynamoAuditLog", "audit_partition"]
