"""Idempotency: redelivery and re-upload leave every item of both DynamoDB tables byte for byte as
it was; an event repeated in another batch is stored in that batch's pack but counts once, so the
facts the scorer reads are exactly as they were."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from aim.adapters.activity_table import facts_of_items
from aim.adapters.dynamodb import from_attr
from aim.domain.activity import Fact
from aim.observability import metrics
from aim_local.stack import FakeLambdaContext, s3_notification, sqs_lambda_event

from functions.transform import handler as transform

AT = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)


def _records(prisoner: str = "A1234BC", day: str = "2026-11-20") -> list[dict]:
    return [
        {"event_id": "E-1", "type": "kiosk_login", "prisoner_id": prisoner, "occurred_at": f"{day}T08:00:00Z"},
        {
            "event_id": "E-2",
            "type": "phone_call",
            "prisoner_id": prisoner,
            "occurred_at": f"{day}T08:05:00+00:00",
            "detail": {"duration_s": 300},
        },
        {
            "event_id": "E-3",
            "type": "canteen_order",
            "prisoner_id": "G5678KL",
            "occurred_at": "2026-11-19T23:30:00-01:00",  # 00:30 UTC on the 20th
            "detail": {"amount_pence": 500},
        },
        {"event_id": "HB-1", "type": "kiosk_heartbeat", "occurred_at": f"{day}T09:00:00Z"},
    ]


def _invoke_transform(event: dict) -> dict:
    try:
        return dict(transform.handler(event, FakeLambdaContext("aim-transform-test")))
    finally:
        metrics.clear_metrics()


def _facts_read(local, pk: str = "LEI#2026-11-20") -> list[Fact]:
    """The day's facts as the scorer reads them (packs merged, each event once)."""
    ddb = local.clients["dynamodb"]
    page = ddb.query(
        TableName=local.resources["activity_table"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )
    return facts_of_items([from_attr(i) for i in page["Items"]])


def _sqs_event_for(local, key: str, size: int) -> dict:
    body = json.dumps(s3_notification(local.resources["bucket"], key, size, AT))
    message = {"MessageId": "m-1", "ReceiptHandle": "rh-1", "Body": body}
    return sqs_lambda_event([message], local.queue_arn)


def test_redelivered_sqs_message_changes_nothing(local, make_batch, snapshot):
    # Given a batch in the bucket and the SQS event that announces it, processed once
    body = make_batch(_records())
    key = "incoming/LEI/LEI-K01/LEI-K01-B0001.jsonl"
    local.clients["s3"].put_object(Bucket=local.resources["bucket"], Key=key, Body=body)
    event = _sqs_event_for(local, key, len(body))
    first = _invoke_transform(event)
    assert first["batchItemFailures"] == []
    before = snapshot(local)
    assert len(before["activity"]) == 2  # 1 pack of the 4 facts + 1 day change set

    # When SQS delivers the very same message again
    second = _invoke_transform(event)

    # Then every item of both tables is byte-for-byte as before
    assert second["batchItemFailures"] == []
    assert snapshot(local) == before


def test_reupload_of_same_batch_changes_nothing(local, make_batch, snapshot, read_report):
    # Given a batch uploaded and applied
    body = make_batch(_records())
    key = "incoming/LEI/LEI-K01/LEI-K01-B0001.jsonl"
    local.upload(key, body, AT)
    before = snapshot(local)

    # When the kiosk uploads the same object again (same key, same bytes), a day later
    local.upload(key, body, AT + timedelta(days=1))

    # Then nothing changes, and the report says every record was a duplicate
    assert snapshot(local) == before
    report = read_report(local, key)
    assert report["status"] == "applied"
    assert report["records_applied"] == 0
    assert report["records_duplicate"] == 4


def test_batch_repeating_an_earlier_event_changes_no_fact_the_scorer_reads(local, make_batch, read_report):
    # Given a batch applied
    records = _records()
    local.upload("incoming/LEI/LEI-K01/LEI-K01-B0001.jsonl", make_batch(records), AT)
    before = _facts_read(local)

    # When another batch (different batch_id) carries only a repeat of one of its events
    key = "incoming/LEI/LEI-K01/LEI-K01-B0002.jsonl"
    local.upload(key, make_batch([records[1]], batch_id="LEI-K01-B0002"), AT + timedelta(minutes=5))

    # Then the day's facts as the scorer reads them are exactly as before: the event counts once,
    # from the batch whose ref sorts first. The repeat is stored in the new batch's pack (no lookup
    # at ingest), so the report counts it as applied, not as a duplicate.
    assert _facts_read(local) == before
    report = read_report(local, key)
    assert (report["records_applied"], report["records_duplicate"]) == (1, 0)


def test_repeated_event_from_another_kiosk_changes_no_fact_the_scorer_reads(local, make_batch):
    # Given a batch applied
    records = _records()
    local.upload("incoming/LEI/LEI-K01/LEI-K01-B0001.jsonl", make_batch(records), AT)
    before = _facts_read(local)

    # When the platform re-batches one of its events through another kiosk
    body = make_batch([records[0]], batch_id="LEI-K02-B0009", kiosk_id="LEI-K02")
    local.upload("incoming/LEI/LEI-K02/LEI-K02-B0009.jsonl", body, AT)

    # Then the facts read are unchanged (the first batch's ref sorts first: its copy, kiosk LEI-K01, wins)
    assert _facts_read(local) == before


def test_repeated_event_reads_the_same_whichever_batch_arrives_first(make_batch):
    # Given an event carried by two batches from two kiosks
    from aim.config import AimConfig
    from aim_local.stack import local_aws

    records = _records()
    first = ("incoming/LEI/LEI-K01/LEI-K01-B0001.jsonl", make_batch(records))
    second = (
        "incoming/LEI/LEI-K02/LEI-K02-B0009.jsonl",
        make_batch([records[0]], batch_id="LEI-K02-B0009", kiosk_id="LEI-K02"),
    )
    read: list[list[Fact]] = []
    for order in ([first, second], [second, first]):
        # When they arrive in either order
        with local_aws(AimConfig()) as stack:
            for key, body in order:
                stack.upload(key, body, AT)
            read.append(_facts_read(stack))

    # Then the scorer reads the same facts, the repeated one from LEI-K01's batch (its ref sorts first)
    assert read[0] == read[1]
    login = next(f for f in read[0] if f.event_id == "E-1")
    assert (login.kiosk_id, login.batch) == ("LEI-K01", "LEI-K01/LEI-K01-B0001")


def test_batch_id_reused_with_other_records_is_stored_not_taken_for_a_redelivery(local, make_batch, read_report):
    # Given a batch applied
    records = _records()
    local.upload("incoming/LEI/LEI-K01/LEI-K01-B0001.jsonl", make_batch(records[:2]), AT)

    # When the kiosk (wrongly) sends other records under the same batch_id
    key = "incoming/LEI/LEI-K01/LEI-K01-B0001-again.jsonl"
    local.upload(key, make_batch(records[1:]), AT + timedelta(minutes=5))

    # Then its new records are stored and read, each event once
    report = read_report(local, key)
    assert (report["records_applied"], report["records_duplicate"]) == (3, 0)
    assert sorted(f.event_id for f in _facts_read(local)) == ["E-1", "E-2", "E-3", "HB-1"]


def test_redelivery_after_scoring_changes_neither_table(local, make_batch, snapshot):
    # Given a batch applied and a scoring run that wrote derived state
    body = make_batch(_records())
    key = "incoming/LEI/LEI-K01/LEI-K01-B0001.jsonl"
    local.upload(key, body, AT)
    local.run_schedule(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    before = snapshot(local)
    assert any(i["sk"]["S"].startswith("P#") for i in before["state"])

    # When the upload notification is redelivered and the schedule fires again at the same time
    _invoke_transform(_sqs_event_for(local, key, len(body)))
    local.run_schedule(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))

    # Then both tables are byte-for-byte as before
    assert snapshot(local) == before
