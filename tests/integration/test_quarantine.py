"""An operator can find every bad batch and why: a copy under quarantine/, a report with
the reason, nothing applied. A batch with rejected records has the rejects in its report."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

AT = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
RECORD = {"event_id": "E-1", "type": "kiosk_login", "prisoner_id": "A1234BC", "occurred_at": "2026-11-20T08:00:00Z"}


def _header(record_count: int = 1) -> str:
    return json.dumps(
        {
            "schema": "aim.kiosk-batch/1",
            "batch_id": "LEI-K01-B0001",
            "establishment": "LEI",
            "kiosk_id": "LEI-K01",
            "created_at": "2026-11-20T12:00:00Z",
            "record_count": record_count,
        }
    )


def _plain(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# The five kinds of broken framing the contract names; more variants are unit tests of the reader.
BAD_BATCHES = {
    "bad gzip": (".jsonl.gz", b"\x1f\x8b\x08\x00" + b"not really deflate data", "gzip"),
    "bad utf-8": (".jsonl", _plain(_header()).replace(b"LEI-K01-B0001", b"LEI-K01-B\xff\xfe01"), "UTF-8"),
    "record_count mismatch": (".jsonl", _plain(_header(record_count=2), json.dumps(RECORD)), "record_count"),
    "missing header": (".jsonl", _plain(json.dumps(RECORD)), "header"),
    "invalid JSON line": (".jsonl", _plain(_header(), '{"event_id": "E-1", "type": '), "line 2"),
}


@pytest.mark.parametrize("case", sorted(BAD_BATCHES))
def test_quarantined_batch_is_copied_reported_with_reason_and_not_applied(case, local, snapshot, read_report):
    # Given a broken batch
    suffix, body, reason_word = BAD_BATCHES[case]
    key = f"incoming/LEI/LEI-K01/LEI-K01-B0001{suffix}"
    before = snapshot(local)

    # When the kiosk uploads it
    local.upload(key, body, AT)

    # Then the report says quarantined, with a reason an operator can act on
    report = read_report(local, key)
    assert report["status"] == "quarantined"
    assert reason_word.lower() in report["reason"].lower()
    assert report["records_applied"] == 0
    # And the object is kept, byte for byte, under quarantine/
    s3 = local.clients["s3"]
    copy = s3.get_object(Bucket=local.resources["bucket"], Key=f"quarantine/LEI/LEI-K01/LEI-K01-B0001{suffix}")
    assert copy["Body"].read() == body
    # And the original is not deleted
    assert s3.get_object(Bucket=local.resources["bucket"], Key=key)["Body"].read() == body
    # And nothing reached DynamoDB; the message was handled (not dead-lettered)
    assert snapshot(local) == before
    assert local.dead_letters() == 0
    assert local.delivery.failures == 0


def test_key_outside_the_contract_layout_is_quarantined(local, snapshot, read_report):
    # Given a valid batch uploaded under a key that does not follow incoming/{EST}/{kiosk}/{batch}.jsonl
    key = "incoming/LEI/LEI-K01/nested/LEI-K01-B0001.jsonl"
    before = snapshot(local)

    # When it is processed
    local.upload(key, _plain(_header(), json.dumps(RECORD)), AT)

    # Then it is quarantined with the reason, not applied
    report = read_report(local, key)
    assert report["status"] == "quarantined"
    assert "key" in report["reason"]
    assert snapshot(local) == before


def test_rejected_records_are_listed_with_line_and_reason_while_the_rest_applies(local, read_report):
    # Given a batch with one good record and two bad ones
    bad_type = dict(RECORD, event_id="E-2", prisoner_id="A1234B")
    future = dict(RECORD, event_id="E-3", occurred_at="2026-11-21T08:00:00Z")
    body = _plain(_header(record_count=3), json.dumps(RECORD), json.dumps(bad_type), json.dumps(future))
    key = "incoming/LEI/LEI-K01/LEI-K01-B0001.jsonl"

    # When it is uploaded
    local.upload(key, body, AT)

    # Then the operator finds the rejects, by line, with their reasons, and the rest applied
    report = read_report(local, key)
    assert report["status"] == "applied"
    assert report["records_applied"] == 1
    assert [(r["line"], r["event_id"]) for r in report["rejects"]] == [(3, "E-2"), (4, "E-3")]
    assert "prisoner_id" in report["rejects"][0]["reason"]
    assert "created_at" in report["rejects"][1]["reason"]
    # And nothing is quarantined
    listed = local.clients["s3"].list_objects_v2(Bucket=local.resources["bucket"], Prefix="quarantine/")
    assert listed.get("KeyCount", 0) == 0


def test_object_outside_incoming_is_ignored_without_a_report(local, snapshot):
    # Given an object AIM itself wrote (a report) that somehow produced a notification
    key = "reports/LEI/LEI-K01/x.jsonl"
    before = snapshot(local)

    # When it is delivered
    local.upload(key, _plain(_header(), json.dumps(RECORD)), AT)

    # Then it is left alone: no report beside it, no quarantine copy, nothing applied
    listed = local.clients["s3"].list_objects_v2(Bucket=local.resources["bucket"])
    assert sorted(o["Key"] for o in listed["Contents"]) == [key]
    assert snapshot(local) == before
