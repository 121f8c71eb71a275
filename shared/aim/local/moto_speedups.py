"""Local-only speed-ups for moto's DynamoDB (the embedded stack, never production).

1. Query.

moto 5.x answers every Query by listing and sorting *all* items of the table
(``Table.all_items()``), then filtering by partition key, so a Query costs O(table size):
hundreds of milliseconds once a backtest has stored ~100k facts. Real DynamoDB reads only
the partition. For base-table queries we hand moto's own ``query`` just the partition's
items, which yields exactly the same results (a test checks this); index queries are left
untouched.

2. Response serialisation. moto 5.2 serialises every response by walking the service's
shape model, about 40 microseconds per attribute: a Query returning a day of facts spends
most of its time there. DynamoDB's wire format is plain JSON whose shape is the result
dict itself, so for the data-plane operations we emit it with ``json.dumps`` (binary values
base64-encoded, as the JSON protocol does). A test checks both paths give identical
parsed responses.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult

_original_query = Table.query
_original_execute = DynamoResult.execute_result
_DATA_PLANE = frozenset(
    {"Query", "Scan", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem", "BatchWriteItem"}
)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _fast_execute(self: DynamoResult, context: Any) -> Any:
    if context.operation_model.name not in _DATA_PLANE:
        return _original_execute(self, context)
    try:
        body = json.dumps(self.result, default=_json_default, separators=(",", ":"))
    except TypeError:
        return _original_execute(self, context)
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


def _partition_query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    if kwargs.get("index_name") or hash_key is None or not self.range_key_attr:
        return _original_query(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key) or {}
    items = sorted(partition.values(), key=lambda item: item.range_key.value)  # string keys: plain order
    self.all_items = lambda: items  # type: ignore[method-assign]
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


@contextmanager
def fast_partition_queries() -> Iterator[None]:
    Table.query = _partition_query  # type: ignore[method-assign]
    DynamoResult.execute_result = _fast_execute  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = _original_query  # type: ignore[method-assign]
        DynamoResult.execute_result = _original_execute  # type: ignore[method-assign]
