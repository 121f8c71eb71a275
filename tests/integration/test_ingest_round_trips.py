"""A batch of 500 records touching 100 prisoners costs 3 DynamoDB round trips (at most 6).

Counted, not timed: the repository's call counter records every DynamoDB request the ingest makes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aim.adapters.activity_table import DynamoActivityRepository
from aim.adapters.s3 import S3ObjectStore
from aim.config import AimConfig
from aim.service.ingest import ingest_object
from aim_lab.bench import issue_batch
from aim_local.stack import REGION, create_table

CONFIG = AimConfig(establishments=["LEI"])


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[S3ObjectStore, DynamoActivityRepository, Any]]:
    import boto3
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        ddb = boto3.client("dynamodb", region_name=REGION)
        s3.create_bucket(Bucket="aim-rt", CreateBucketConfiguration={"LocationConstraint": REGION})
        create_table(ddb, "aim-rt-activity")
        yield S3ObjectStore("aim-rt", s3), DynamoActivityRepository("aim-rt-activity", ddb), s3


def test_issue_batch_of_500_records_for_100_prisoners_takes_at_most_6_round_trips(stores) -> None:
    # Given a large batch: 500 records, 100 prisoners, one local day
    objects, activity, s3 = stores
    key, body, created = issue_batch(500, 100)
    s3.put_object(Bucket="aim-rt", Key=key, Body=body)

    # When it is ingested
    outcome = ingest_object(key, objects, activity, CONFIG, created)

    # Then every record is applied in 3 DynamoDB round trips: read the day's change set, write the
    # day's pack, add the batch to the change set
    assert (outcome.applied, outcome.duplicates) == (500, 0)
    assert activity.counter.calls == {"BatchGetItem": 1, "BatchWriteItem": 1, "UpdateItem": 1}
    assert activity.counter.round_trips <= 6
    assert activity.counter.items_written == 2  # one pack + one change set

    # And a redelivery of it reads once and writes nothing, reporting every record as a duplicate
    activity.counter.calls.clear()
    again = ingest_object(key, objects, activity, CONFIG, created + timedelta(minutes=5))
    assert (again.applied, again.duplicates) == (0, 500)
    assert activity.counter.calls == {"BatchGetItem": 1}


def test_a_batch_spanning_three_days_takes_one_write_per_day_changed_plus_two(stores, make_batch) -> None:
    # Given a batch whose records fall on three local days (late records)
    objects, activity, s3 = stores
    records = [
        {
            "event_id": f"E-{d}-{n}",
            "type": "kiosk_login",
            "prisoner_id": "A1234BC",
            "occurred_at": f"2026-11-{d}T09:0{n}:00Z",
        }
        for d in (18, 19, 20)
        for n in range(4)
    ]
    key = "incoming/LEI/K1/B1.jsonl"
    s3.put_object(Bucket="aim-rt", Key=key, Body=make_batch(records, batch_id="B1", kiosk_id="K1"))

    # When it is ingested
    ingest_object(key, objects, activity, CONFIG, datetime(2026, 11, 20, 12, tzinfo=UTC))

    # Then one read, one write of the three packs, one change-set update per day
    assert activity.counter.calls == {"BatchGetItem": 1, "BatchWriteItem": 1, "UpdateItem": 3}
