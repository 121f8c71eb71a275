"""Local-only speed-ups for moto's DynamoDB (the embedded stack, never production).

1. Query.

moto 5.x answers every Query by listing and sorting *all* items of the table
(``Table.all_items()``), then filtering by partition key, so a Query costs O(table size):
hundreds of milliseconds once a backtest has stored ~100k facts. Real DynamoDB reads only
the partition. For base-table queries we hand moto's own ``query`` just the partition's
items, which yields exactly the same results (a test checks this); index queries are left
untouched. moto then deep-copies every matching item before building the response; without a
projection the copies are only read (the response converts them to new plain dicts), so such
queries skip the copy.

2. Response serialisation. moto 5.2 serialises every response by walking the service's
shape model, about 40 microseconds per attribute: a Query returning a day of facts spends
most of its time there. DynamoDB's wire format is plain JSON whose shape is the result
dict itself, so for the data-plane operations we emit it with ``json.dumps`` (binary values
base64-encoded, as the JSON protocol does). A test checks both paths give identical
parsed responses.

3. Per-request bookkeeping. For every request moto rebuilds each backend's URL table
(``BaseBackend.urls``, formatting and copying every URL pattern of the service) and lists
the response class's methods with ``inspect.getmembers``; both are functions of the class
alone, so they are computed once per class (per ISO-region setting for the URL table).

4. Request signing. botocore signs every request with SigV4: a canonical request that
hashes the payload, then four HMACs. moto never checks a signature (it reads only the
access key and region from the ``Authorization`` header), so locally the canonical request
and the signature are skipped; every header keeps its format, only the signature value is a
placeholder, and S3 bodies are sent with ``X-Amz-Content-SHA256: UNSIGNED-PAYLOAD`` (as
botocore itself does over TLS when the body carries a checksum) instead of being hashed.
Production clients are untouched: the patch lives only inside ``local_aws``.

5. Item sizes. moto checks the 400 KB item limit as each attribute is added to an item,
re-measuring every attribute already there (quadratic in attributes, and every stored fact
is built this way); the same check is made here with a running total, raising at the same
attribute. Sizes of string and number values, which are most of them, are measured directly
instead of through moto's chain of type tests (same formula). Action and SQS attribute names
are converted to method names once per name (SQS rebuilds a queue's attribute map per message).
"""

from __future__ import annotations

import base64
import copy
import inspect
import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cache
from typing import Any

import moto.core.responses as moto_responses
import moto.sqs.models as moto_sqs
from botocore.auth import S3SigV4Auth, SigV4Auth
from moto.core.base_backend import BaseBackend
from moto.core.utils import camelcase_to_underscores, method_names_from_class
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import table as moto_table
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult
from moto.settings import enable_iso_regions

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


_QUERY_SIGNATURE = inspect.signature(_original_query)
_read_only = threading.local()


class _CopyModule:
    """``copy`` as moto's table module sees it: no deep copy inside a read-only query."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if getattr(_read_only, "active", False) and type(value) is list:
            return list(value)
        return copy.deepcopy(value, memo)


def _partition_query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    # index_name is passed by position by moto's backend: bind to find it wherever it is.
    arguments = _QUERY_SIGNATURE.bind(self, hash_key, *args, **kwargs).arguments
    if arguments.get("index_name") or hash_key is None or not self.range_key_attr:
        return _original_query(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key) or {}
    items = sorted(partition.values(), key=lambda item: item.range_key.value)  # string keys: plain order
    self.all_items = lambda: items  # type: ignore[method-assign]
    _read_only.active = not arguments.get("projection_expressions")
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        _read_only.active = False
        del self.all_items


_original_urls = BaseBackend.urls
_PLACEHOLDER_SIGNATURE = "0" * 64


class _CachedUrls:
    """``BaseBackend.urls``, computed once per backend class (it depends on nothing else)."""

    def __get__(self, backend: BaseBackend | None, owner: type) -> Any:
        if backend is None:
            return self
        by_class = _URL_TABLES.setdefault((type(backend), enable_iso_regions()), {})
        if not by_class:
            by_class.update(_original_urls.fget(backend))  # type: ignore[attr-defined]
        return by_class


_URL_TABLES: dict[tuple[type, bool], dict[str, Any]] = {}
_cached_method_names = cache(method_names_from_class)


_cached_underscores = cache(camelcase_to_underscores)
_original_size = DynamoType.size
ITEM_SIZE_LIMIT = 405_000  # moto's LimitedSizeDict limit


def _fast_size(self: DynamoType) -> int:
    value = self.value
    if self.type == "S" and type(value) is str:
        return len(value.encode("utf-8"))
    if self.type == "N":
        return len(str(value))
    return _original_size(self)


def _item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    # moto's Item.__init__, with LimitedSizeDict's check made on a running total: the attributes
    # are new and distinct, so the total before each one is the sum of those already added.
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    total = 0
    for key, value in attrs.items():
        typed = DynamoType(value)
        size = len(str(key).encode("utf-8")) + typed.size()
        if total + size > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, typed)
        total += size


def _unsigned_canonical_request(self: SigV4Auth, request: Any) -> str:
    return ""


def _placeholder_signature(self: SigV4Auth, string_to_sign: str, request: Any) -> str:
    return _PLACEHOLDER_SIGNATURE


def _no_payload_hash(self: S3SigV4Auth, request: Any) -> bool:
    return False  # X-Amz-Content-SHA256: UNSIGNED-PAYLOAD, as botocore sends over TLS with a checksum


@contextmanager
def _patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    missing = object()
    original = vars(owner).get(name, missing)  # the raw attribute (a property stays a property)
    setattr(owner, name, value)
    try:
        yield
    finally:
        if original is missing:
            delattr(owner, name)  # it was inherited
        else:
            setattr(owner, name, original)


@contextmanager
def fast_partition_queries() -> Iterator[None]:
    """Every local-only speed-up above, for the duration of the block."""
    with ExitStack() as stack:
        stack.enter_context(_patched(Table, "query", _partition_query))
        stack.enter_context(_patched(moto_table, "copy", _CopyModule()))
        stack.enter_context(_patched(DynamoResult, "execute_result", _fast_execute))
        stack.enter_context(_patched(BaseBackend, "urls", _CachedUrls()))
        stack.enter_context(_patched(moto_responses, "method_names_from_class", _cached_method_names))
        stack.enter_context(_patched(moto_responses, "camelcase_to_underscores", _cached_underscores))
        stack.enter_context(_patched(moto_sqs, "camelcase_to_underscores", _cached_underscores))
        stack.enter_context(_patched(DynamoType, "size", _fast_size))
        stack.enter_context(_patched(Item, "__init__", _item_init))
        stack.enter_context(_patched(SigV4Auth, "canonical_request", _unsigned_canonical_request))
        stack.enter_context(_patched(SigV4Auth, "signature", _placeholder_signature))
        stack.enter_context(_patched(S3SigV4Auth, "_should_sha256_sign_payload", _no_payload_hash))
        yield
