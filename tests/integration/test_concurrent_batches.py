"""Two batches for the same prisoner and day, applied at the same moment, both count.

Runs against a real (threaded) moto server so the two ingests really interleave over HTTP.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from aim.adapters.activity_table import DynamoActivityRepository
from aim.adapters.s3 import S3ObjectStore
from aim.config import AimConfig
from aim.domain.activity import member_ref
from aim.service.ingest import ingest_object
from aim_local.stack import REGION, create_resources
from botocore.config import Config
from moto.dynamodb.models import DynamoDBBackend
from moto.server import ThreadedMotoServer

ROUNDS = 4
AT = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)


def _atomic(method: Callable[..., Any], lock: threading.Lock) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return locked


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # DynamoDB applies each single-item write atomically; moto's server does not (its
    # UpdateItem reads, creates and mutates an item without a lock, so two concurrent ADDs
    # to a new item can lose one). Give moto the atomicity the real service has, per call,
    # and nothing more: the two ingests still interleave freely between calls.
    lock = threading.Lock()
    for name in ("update_item", "put_item", "delete_item"):
        monkeypatch.setattr(DynamoDBBackend, name, _atomic(getattr(DynamoDBBackend, name), lock))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 2}),
    )


def _batch(make_batch, n: int, kiosk: str, round_: int) -> tuple[str, bytes]:
    batch_id = f"{kiosk}-R{round_}-B{n}"
    records = [
        {
            "event_id": f"{kiosk}-R{round_}-E{i}",
            "type": "phone_call" if i % 2 else "kiosk_login",
            "prisoner_id": "A1234BC",
            "occurred_at": f"2026-11-20T{6 + i:02d}:{10 * n:02d}:00Z",
        }
        for i in range(6)
    ]
    return f"incoming/LEI/{kiosk}/{batch_id}.jsonl", make_batch(records, batch_id=batch_id, kiosk_id=kiosk)


def test_two_batches_for_same_prisoner_and_day_applied_concurrently_both_count(moto_server, make_batch):
    # Given the stack's resources on a threaded moto server
    config = AimConfig()
    clients = {name: _client(name, moto_server) for name in ("s3", "sqs", "dynamodb", "sns", "secretsmanager")}
    resources = create_resources(config, clients)

    for round_ in range(ROUNDS):
        # And two batches, from two kiosks, for the same prisoner on the same local day
        uploads = [_batch(make_batch, 1, "LEI-K01", round_), _batch(make_batch, 2, "LEI-K02", round_)]
        for key, body in uploads:
            clients["s3"].put_object(Bucket=resources["bucket"], Key=key, Body=body)
        barrier = threading.Barrier(len(uploads))
        outcomes: dict[str, Any] = {}
        errors: list[BaseException] = []

        def ingest(
            key: str,
            barrier: threading.Barrier = barrier,
            outcomes: dict[str, Any] = outcomes,
            errors: list[BaseException] = errors,
        ) -> None:
            # each worker has its own clients and adapters, as two Lambda instances would
            objects = S3ObjectStore(resources["bucket"], client=_client("s3", moto_server))
            activity = DynamoActivityRepository(resources["activity_table"], client=_client("dynamodb", moto_server))
            try:
                barrier.wait(timeout=10)
                outcomes[key] = ingest_object(key, objects, activity, config, AT)
            except BaseException as exc:  # surfaced in the main thread below
                errors.append(exc)

        # When both are ingested at the same moment
        threads = [threading.Thread(target=ingest, args=(key,)) for key, _ in uploads]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)

        # Then both applied all their records
        assert not errors, errors
        assert [outcomes[key].applied for key, _ in uploads] == [6, 6]
        # And every event of both batches is stored
        store = DynamoActivityRepository(resources["activity_table"], client=clients["dynamodb"])
        stored = {f.identity for f in store.facts_of_day("LEI", date(2026, 11, 20))}
        for kiosk in ("LEI-K01", "LEI-K02"):
            assert {f"A1234BC#{kiosk}-R{round_}-E{i}" for i in range(6)} <= stored
        # And the day's change set names both batches (and every earlier round's)
        day = store.change_sets("LEI")[date(2026, 11, 20)]
        expected = {f"{k}/{k}-R{r}-B{n}" for r in range(round_ + 1) for n, k in ((1, "LEI-K01"), (2, "LEI-K02"))}
        assert {member_ref(m) for m in day} == expected
