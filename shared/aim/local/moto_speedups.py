"""Local-only speed-up for moto's DynamoDB Query (the embedded stack, never production).

moto 5.x answers every Query by listing and sorting *all* items of the table
(``Table.all_items()``), then filtering by partition key, so a Query costs O(table size):
hundreds of milliseconds once a backtest has stored ~100k facts. Real DynamoDB reads only
the partition. For base-table queries we hand moto's own ``query`` just the partition's
items, which yields exactly the same results (a test checks this); index queries are left
untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.models.table import Table

_original_query = Table.query


def _partition_query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    if kwargs.get("index_name") or hash_key is None or not self.range_key_attr:
        return _original_query(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key) or {}
    items = sorted(partition.values(), key=lambda item: item.range_key)
    self.all_items = lambda: items  # type: ignore[method-assign]
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


@contextmanager
def fast_partition_queries() -> Iterator[None]:
    Table.query = _partition_query  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = _original_query  # type: ignore[method-assign]
