"""The local stack's harness-side shortcuts see exactly what the AWS APIs would show."""

from __future__ import annotations

import json
from typing import Any

import pytest


def _count_calls(client: Any, operation: str) -> list[str]:
    calls: list[str] = []

    def seen(**_: Any) -> None:
        calls.append(operation)

    client.meta.events.register(f"before-call.{client.meta.service_model.endpoint_prefix}.{operation}", seen)
    return calls


def test_read_object_gives_the_bytes_get_object_gives(local):
    # Given an object stored through the S3 API
    body = b'{"status": "applied"}\n' + "\u2603".encode()
    local.clients["s3"].put_object(
        Bucket=local.resources["bucket"], Key="reports/LEI/K1/B1.jsonl.report.json", Body=body
    )
    # When it is read directly and through GetObject
    direct = local.read_object("reports/LEI/K1/B1.jsonl.report.json")
    via_api = local.clients["s3"].get_object(
        Bucket=local.resources["bucket"], Key="reports/LEI/K1/B1.jsonl.report.json"
    )
    # Then both give the same bytes; a missing key is an error, not an empty body
    assert direct == via_api["Body"].read() == body
    with pytest.raises(KeyError):
        local.read_object("reports/LEI/K1/missing.report.json")


def test_drain_alerts_polls_only_when_the_topic_delivered_something(local):
    receives = _count_calls(local.clients["sqs"], "ReceiveMessage")
    # Given nothing published: no poll, no alerts
    assert local.drain_alerts() == []
    assert receives == []
    # Given two alerts published to the topic: both arrive, in order, and the queue is left empty
    for n in (1, 2):
        local.clients["sns"].publish(TopicArn=local.resources["topic_arn"], Message=json.dumps({"alert_id": n}))
    assert local.drain_alerts() == [{"alert_id": 1}, {"alert_id": 2}]
    assert len(receives) >= 1
    assert local.drain_alerts() == []
