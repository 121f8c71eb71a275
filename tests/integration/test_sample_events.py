"""The sample events in events/ (used by docs and tests) go through the handlers on moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aim.observability import metrics
from aim_local.stack import FakeLambdaContext, sqs_lambda_event

from functions.score import handler as score
from functions.transform import handler as transform

KEY = "incoming/LEI/LEI-K07/LEI-K07-20261120T0915.jsonl"
RECORDS = [
    {
        "event_id": "LEI-K07-000121",
        "type": "kiosk_login",
        "prisoner_id": "A1234BC",
        "occurred_at": "2026-11-20T08:29:41Z",
    },
    {"event_id": "LEI-K07-HB-0915", "type": "kiosk_heartbeat", "occurred_at": "2026-11-20T09:15:00+00:00"},
]


def _load(events_dir, name: str) -> dict:
    return json.loads((events_dir / name).read_text(encoding="utf-8"))


def _transform(event: dict) -> dict:
    try:
        return dict(transform.handler(event, FakeLambdaContext("aim-transform-test")))
    finally:
        metrics.clear_metrics()


def _score(event: dict) -> dict:
    try:
        return dict(score.handler(event, FakeLambdaContext("aim-score-test")))
    finally:
        metrics.clear_metrics()


def _put_batch(local, make_batch, key: str = KEY, batch_id: str = "LEI-K07-20261120T0915") -> None:
    body = make_batch(RECORDS, batch_id=batch_id, kiosk_id="LEI-K07", created_at="2026-11-20T09:15:00+00:00")
    local.clients["s3"].put_object(Bucket=local.resources["bucket"], Key=key, Body=body)


def _wrap(body: dict) -> dict:
    message = {"MessageId": "m-1", "ReceiptHandle": "rh-1", "Body": json.dumps(body)}
    return sqs_lambda_event([message], "arn:aws:sqs:eu-west-2:123456789012:aim-ingest-local")


def test_sqs_wrapped_s3_event_is_processed_by_transform(local, make_batch, events_dir, read_report):
    # Given the batch named by the sample event is in the bucket
    event = _load(events_dir, "sqs_s3.json")
    assert json.loads(event["Records"][0]["body"])["Records"][0]["s3"]["object"]["key"] == KEY
    _put_batch(local, make_batch)

    # When the transform handler receives the sample SQS event
    result = _transform(event)

    # Then no item failed and the batch is applied, processed at the notification's time
    assert result == {"batchItemFailures": []}
    report = read_report(local, KEY)
    assert (report["status"], report["records_applied"], report["heartbeats"]) == ("applied", 2, 1)
    assert report["processed_at"].startswith("2026-11-20T09:15:04")


def test_s3_put_notification_is_what_the_queue_carries(local, make_batch, events_dir, read_report):
    # Given the S3 notification sample, as S3 sends it to the ingest queue
    notification = _load(events_dir, "s3_put.json")
    assert json.loads(_load(events_dir, "sqs_s3.json")["Records"][0]["body"]) == notification
    _put_batch(local, make_batch)

    # When it arrives wrapped by the SQS event source
    result = _transform(_wrap(notification))

    # Then the batch is applied
    assert result == {"batchItemFailures": []}
    assert read_report(local, KEY)["status"] == "applied"


def test_s3_test_event_is_acknowledged_and_ignored(local, events_dir, snapshot):
    # Given the s3:TestEvent S3 sends when the notification is configured
    test_event = _load(events_dir, "s3_test_event.json")
    assert test_event["Event"] == "s3:TestEvent"
    before = snapshot(local)

    # When it reaches the transform handler
    result = _transform(_wrap(test_event))

    # Then it succeeds (not retried into the DLQ) and writes nothing anywhere
    assert result == {"batchItemFailures": []}
    assert snapshot(local) == before
    assert local.clients["s3"].list_objects_v2(Bucket=local.resources["bucket"]).get("KeyCount", 0) == 0


def test_notification_for_missing_object_is_reported_as_item_failure(local, events_dir):
    # Given the sample notification but no such object (e.g. not yet consistent, or deleted)
    event = _load(events_dir, "sqs_s3.json")

    # When the transform handler receives it
    result = _transform(event)

    # Then that message alone is reported failed, so SQS retries it (and then dead-letters it)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_url_encoded_key_is_decoded_before_reading(local, make_batch, read_report):
    # Given a batch id with a ':' (allowed by the contract), which S3 URL-encodes in the event
    key = "incoming/LEI/LEI-K07/LEI-K07:20261120T0915.jsonl"
    body = make_batch(
        RECORDS, batch_id="LEI-K07:20261120T0915", kiosk_id="LEI-K07", created_at="2026-11-20T09:15:00+00:00"
    )

    # When it is uploaded and delivered
    local.upload(key, body, datetime(2026, 11, 20, 9, 16, tzinfo=UTC))

    # Then it is read under its real key and applied
    assert local.delivery.failures == 0
    assert read_report(local, key)["records_applied"] == 2


def test_schedule_event_runs_the_scorer(local, make_batch, events_dir, snapshot):
    # Given a batch applied for the day before the schedule fires
    _put_batch(local, make_batch)
    assert _transform(_load(events_dir, "sqs_s3.json")) == {"batchItemFailures": []}
    event = _load(events_dir, "schedule.json")

    # When the scheduler invokes the score function with the sample input
    summary = _score(event)

    # Then it scored LEI, judging the latest closed day, and stored the prisoner's state, the board
    # and the day's counts for the governor's view
    assert summary["establishment"] == "LEI"
    assert summary["status"] == "scored"
    assert summary["judged_day"] == "2026-11-20"
    assert summary["days_read"] == ["2026-11-20"]
    assert summary["prisoners"] == 1
    assert sorted(i["sk"]["S"] for i in snapshot(local)["state"]) == ["2026-11-20", "P#A1234BC", "~BOARD", "~META"]
    # And the same firing again finds nothing to do
    assert _score(event)["status"] == "unchanged"
