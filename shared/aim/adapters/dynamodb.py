"""DynamoDB behind the ``ItemStore`` port: batched, chunked to API limits, retrying unprocessed items."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from aim.adapters.aws import client as aws_client
from aim.domain.ports import Key

_SER = TypeSerializer()
_DESER = TypeDeserializer()
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
MAX_UNPROCESSED_RETRIES = 10


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


class DynamoItemStore:
    def __init__(
        self,
        table: str,
        client: Any | None = None,
        counter: CallCounter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.table = table
        self._client = client
        self.counter = counter or CallCounter()
        self._sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("dynamodb")
        return self._client

    def existing(self, keys: Sequence[Key], attributes: Sequence[str] = ("b",)) -> dict[Key, dict[str, Any]]:
        return self._batch_get(keys, projection=["pk", "sk", *attributes])

    def get_many(self, keys: Sequence[Key]) -> dict[Key, dict[str, Any]]:
        return self._batch_get(keys, projection=None)

    def _batch_get(self, keys: Sequence[Key], projection: Sequence[str] | None) -> dict[Key, dict[str, Any]]:
        found: dict[Key, dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in unique[start : start + BATCH_GET_LIMIT]],
                    "ConsistentRead": True,
                }
            }
            if projection:
                # Names through placeholders: any attribute name may be a DynamoDB reserved word.
                names = {f"#p{i}": name for i, name in enumerate(projection)}
                request[self.table]["ProjectionExpression"] = ", ".join(names)
                request[self.table]["ExpressionAttributeNames"] = names
            for attempt in range(MAX_UNPROCESSED_RETRIES):
                response = self.client.batch_get_item(RequestItems=request)
                rows = response.get("Responses", {}).get(self.table, [])
                self.counter.add("BatchGetItem", read=len(rows))
                found.update({(row["pk"]["S"], row["sk"]["S"]): from_attr(row) for row in rows})
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                self._sleep(min(0.05 * 2**attempt, 2.0))
            else:
                raise RuntimeError(f"BatchGetItem on {self.table} left keys unprocessed after retries")
        return found

    def put_many(self, items: Iterable[dict[str, Any]]) -> int:
        rows = [{"PutRequest": {"Item": to_attr(item)}} for item in items]
        for start in range(0, len(rows), BATCH_WRITE_LIMIT):
            request: dict[str, Any] = {self.table: rows[start : start + BATCH_WRITE_LIMIT]}
            for attempt in range(MAX_UNPROCESSED_RETRIES):
                count = len(request[self.table])
                response = self.client.batch_write_item(RequestItems=request)
                self.counter.add("BatchWriteItem", written=count)
                request = response.get("UnprocessedItems") or {}
                if not request:
                    break
                self._sleep(min(0.05 * 2**attempt, 2.0))
            else:
                raise RuntimeError(f"BatchWriteItem on {self.table} left items unprocessed after retries")
        return len(rows)

    def query(self, pk: str, sk_prefix: str | None = None, sk_from: str | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        if sk_prefix:
            kwargs["KeyConditionExpression"] += " AND begins_with(sk, :p)"
            kwargs["ExpressionAttributeValues"][":p"] = {"S": sk_prefix}
        elif sk_from:
            kwargs["KeyConditionExpression"] += " AND sk >= :f"
            kwargs["ExpressionAttributeValues"][":f"] = {"S": sk_from}
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

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        self.counter.add("GetItem", read=1)
        item = response.get("Item")
        return from_attr(item) if item else None

    def add_to_set(self, pk: str, sk: str, attribute: str, values: set[str], expires_at: int) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            UpdateExpression="ADD #a :v SET expires_at = if_not_exists(expires_at, :e)",
            ExpressionAttributeNames={"#a": attribute},
            ExpressionAttributeValues={":v": {"SS": sorted(values)}, ":e": {"N": str(expires_at)}},
        )
        self.counter.add("UpdateItem", written=1)

    def put_if_absent(self, item: dict[str, Any]) -> bool:
        return self.put_if(item, "attribute_not_exists(pk)", {})

    def put_if(self, item: dict[str, Any], condition: str, values: dict[str, Any]) -> bool:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Item": to_attr(item),
            "ConditionExpression": condition,
        }
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

    def delete(self, pk: str, sk: str) -> None:
        self.client.delete_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}})
        self.counter.add("DeleteItem")
