"""The DynamoDB calls the table repositories are built from: batched, chunked to API limits,
retrying unprocessed items, counting round trips.

Only the repository modules (``activity_table``, ``state_table``) use this; they own their
tables' key layouts, item shapes and conditions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from aim.adapters.aws import client as aws_client

Key = tuple[str, str]

_SER = TypeSerializer()
_DESER = TypeDeserializer()
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
MAX_UNPROCESSED_RETRIES = 10


class UnprocessedItemsError(RuntimeError):
    """DynamoDB left items unprocessed after every retry (sustained throttling)."""


def to_attr(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _SER.serialize(v) for k, v in item.items()}


def from_attr(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _DESER.deserialize(v) for k, v in item.items()}


class CallCounter:
    """Counts DynamoDB round trips by operation (for `make bench` and the cost model)."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.items_written = 0
        self.items_read = 0

    def add(self, op: str, written: int = 0, read: int = 0) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1
        self.items_written += written
        self.items_read += read

    @property
    def round_trips(self) -> int:
        return sum(self.calls.values())


class DynamoTable:
    """One table with string keys ``pk`` and ``sk``."""

    def __init__(
        self,
        name: str,
        client: Any | None = None,
        counter: CallCounter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self._client = client
        self.counter = counter or CallCounter()
        self._sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def batch_get(self, keys: Sequence[Key], projection: Sequence[str] | None = None) -> dict[Key, dict[str, Any]]:
        """The items among ``keys`` that exist (strongly consistent), with only ``projection`` besides the key."""
        found: dict[Key, dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.name: {
                    "Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in unique[start : start + BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            if projection:
                # Names through placeholders: any attribute name may be a DynamoDB reserved word.
                names = {f"#p{i}": name for i, name in enumerate(["pk", "sk", *projection])}
                request[self.name]["ProjectionExpression"] = ", ".join(names)
                request[self.name]["ExpressionAttributeNames"] = names
            for attempt in range(MAX_UNPROCESSED_RETRIES):
                response = self.client.batch_get_item(RequestItems=request)
                rows = response.get("Responses", {}).get(self.name, [])
                self.counter.add("BatchGetItem", read=len(rows))
                found.update({(row["pk"]["S"], row["sk"]["S"]): from_attr(row) for row in rows})
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                self._sleep(min(0.05 * 2**attempt, 2.0))
            else:
                raise UnprocessedItemsError(f"BatchGetItem on {self.name} left keys unprocessed after retries")
        return found

    def batch_put(self, items: Iterable[dict[str, Any]]) -> int:
        rows = [{"PutRequest": {"Item": to_attr(item)}} for item in items]
        for start in range(0, len(rows), BATCH_WRITE_LIMIT):
            request: dict[str, Any] = {self.name: rows[start : start + BATCH_WRITE_LIMIT]}
            for attempt in range(MAX_UNPROCESSED_RETRIES):
                count = len(request[self.name])
                response = self.client.batch_write_item(RequestItems=request)
                self.counter.add("BatchWriteItem", written=count)
                request = response.get("UnprocessedItems") or {}
                if not request:
                    break
                self._sleep(min(0.05 * 2**attempt, 2.0))
            else:
                raise UnprocessedItemsError(f"BatchWriteItem on {self.name} left items unprocessed after retries")
        return len(rows)

    def query(self, pk: str, sk_prefix: str | None = None, consistent: bool = False) -> list[dict[str, Any]]:
        """Every item of a partition, or those whose sort key starts with ``sk_prefix``."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        if consistent:
            kwargs["ConsistentRead"] = True
        if sk_prefix:
            kwargs["KeyConditionExpression"] += " AND begins_with(sk, :p)"
            kwargs["ExpressionAttributeValues"][":p"] = {"S": sk_prefix}
        items: list[dict[str, Any]] = []
        while True:
            response = self.client.query(**kwargs)
            page = response.get("Items", [])
            self.counter.add("Query", read=len(page))
            items.extend(from_attr(i) for i in page)
            last = response.get("LastEvaluatedKey")
            if not last:
                return items
            kwargs["ExclusiveStartKey"] = last

    def put(self, item: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None) -> bool:
        """Write one item; with ``condition``, only if it holds (False when it does not)."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": to_attr(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        if values:
            kwargs["ExpressionAttributeValues"] = to_attr(values)
        try:
            self.client.put_item(**kwargs)
            self.counter.add("PutItem", written=1)
            return True
        except ClientError as exc:
            self.counter.add("PutItem")
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def put_all_if_absent(self, items: Sequence[dict[str, Any]]) -> bool:
        """Write every item, in one transaction, if none of them exists; False (nothing written) if any does."""
        actions = [
            {"Put": {"TableName": self.name, "Item": to_attr(item), "ConditionExpression": "attribute_not_exists(pk)"}}
            for item in items
        ]
        try:
            self.client.transact_write_items(TransactItems=actions)
            self.counter.add("TransactWriteItems", written=len(actions))
            return True
        except ClientError as exc:
            self.counter.add("TransactWriteItems")
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException" and (
                "ConditionalCheckFailed" in reasons
            ):
                return False
            raise

    def update(self, key: Key, expression: str, names: dict[str, str], values: dict[str, Any]) -> None:
        self.client.update_item(
            TableName=self.name,
            Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        self.counter.add("UpdateItem", written=1)

    def delete(self, key: Key) -> None:
        self.client.delete_item(TableName=self.name, Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}})
        self.counter.add("DeleteItem")
