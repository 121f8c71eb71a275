"""`aim reconcile`: every upload is applied, quarantined, or listed; dead letters are listed, not consumed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aim.config import AimConfig
from aim_cli.main import main
from aim_cli.reconcile import reconcile
from aim_local.stack import LocalAws, local_aws, s3_notification

AT = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)


def batch(batch_id: str, records: int = 1, record_count: int | None = None) -> bytes:
    header = {
        "schema": "aim.kiosk-batch/1",
        "batch_id": batch_id,
        "establishment": "LEI",
        "kiosk_id": "K1",
        "created_at": "2025-06-01T09:30:00Z",
        "record_count": records if record_count is None else record_count,
    }
    recs = [
        {
            "event_id": f"{batch_id}-{n}",
            "type": "kiosk_login",
            "prisoner_id": "A1234BC",
            "occurred_at": "2025-06-01T09:00:00Z",
        }
        for n in range(records)
    ]
    return ("\n".join(json.dumps(x) for x in [header, *recs]) + "\n").encode()


@pytest.fixture
def stack() -> Iterator[LocalAws]:
    with local_aws(AimConfig(establishments=["LEI"])) as s:
        yield s


def run(stack: LocalAws, now: datetime, grace: timedelta = timedelta(minutes=60)) -> Any:
    c, r = stack.clients, stack.resources
    return reconcile(c["s3"], c["dynamodb"], c["sqs"], r["bucket"], r["activity_table"], r["dlq_url"], now, grace)


def later() -> datetime:
    return datetime.now(UTC) + timedelta(hours=2)  # moto stamps LastModified with the wall clock


def test_applied_and_quarantined_uploads_are_accounted_for(stack: LocalAws) -> None:
    # Given one good batch and one truncated batch, both processed
    stack.upload("incoming/LEI/K1/good.jsonl", batch("good"), AT)
    stack.upload("incoming/LEI/K1/bad.jsonl", batch("bad", record_count=3), AT)
    # When reconciling after the grace period
    report = run(stack, later())
    # Then both are accounted for and nothing is flagged
    assert (report.checked, report.accounted) == (2, 2)
    assert report.ok and report.unaccounted == [] and report.dead_letters == []


def test_unprocessed_uploads_are_listed_with_why(stack: LocalAws) -> None:
    # Given an upload whose notification was lost, a file S3 never notifies about, and a batch whose
    # facts were stored but whose report was never written (the transform died after the facts)
    s3, bucket = stack.clients["s3"], stack.resources["bucket"]
    s3.put_object(Bucket=bucket, Key="incoming/LEI/K1/lost.jsonl", Body=batch("lost"))
    s3.put_object(Bucket=bucket, Key="incoming/LEI/K1/notes.txt", Body=b"hello")
    stack.upload("incoming/LEI/K1/half.jsonl", batch("half"), AT)
    s3.delete_object(Bucket=bucket, Key="reports/LEI/K1/half.jsonl.report.json")
    # When reconciling
    report = run(stack, later())
    # Then all three are unaccounted for, each with its reason
    reasons = {u.key: u.reason for u in report.unaccounted}
    assert set(reasons) == {"incoming/LEI/K1/lost.jsonl", "incoming/LEI/K1/notes.txt", "incoming/LEI/K1/half.jsonl"}
    assert "never processed" in reasons["incoming/LEI/K1/lost.jsonl"]
    assert "never notified" in reasons["incoming/LEI/K1/notes.txt"]
    assert "facts of this batch are stored" in reasons["incoming/LEI/K1/half.jsonl"]
    assert not report.ok


def test_uploads_inside_the_grace_period_are_not_flagged(stack: LocalAws) -> None:
    # Given an upload the transform has not reached yet
    stack.clients["s3"].put_object(Bucket=stack.resources["bucket"], Key="incoming/LEI/K1/new.jsonl", Body=batch("new"))
    # When reconciling within the grace period
    report = run(stack, datetime.now(UTC) + timedelta(minutes=5))
    # Then it is neither checked nor flagged
    assert report.checked == 0 and report.ok


def test_dead_letters_are_listed_with_their_keys_and_left_on_the_queue(stack: LocalAws) -> None:
    # Given two notifications on the dead-letter queue (one with a URL-encoded key) and a junk message
    sqs, dlq = stack.clients["sqs"], stack.resources["dlq_url"]
    for key in ("incoming/LEI/K1/a b.jsonl", "incoming/LEI/K1/c.jsonl.gz"):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps(s3_notification(stack.resources["bucket"], key, 10, AT)))
    sqs.send_message(QueueUrl=dlq, MessageBody="not json")
    # When reconciling (twice)
    first = run(stack, later())
    second = run(stack, later())
    # Then every message is listed with the object keys it names, and none was consumed
    keys = sorted(k for d in first.dead_letters for k in d.keys)
    assert keys == ["incoming/LEI/K1/a b.jsonl", "incoming/LEI/K1/c.jsonl.gz"]
    assert any(d.note == "body is not JSON" for d in first.dead_letters)
    assert len(second.dead_letters) == 3
    assert not first.ok


def test_cli_exits_1_and_prints_what_is_unaccounted(stack: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    # Given one applied batch and one upload never processed
    stack.upload("incoming/LEI/K1/good.jsonl", batch("good"), AT)
    stack.clients["s3"].put_object(
        Bucket=stack.resources["bucket"], Key="incoming/LEI/K1/lost.jsonl", Body=batch("lost")
    )
    r = stack.resources
    args = ["reconcile", "--bucket", r["bucket"], "--activity-table", r["activity_table"], "--dlq-url", r["dlq_url"]]
    # When the operator runs `aim reconcile --grace-minutes 0`
    code = main([*args, "--grace-minutes", "0"])
    # Then it exits 1 naming the lost upload, and prints no record content
    out = capsys.readouterr().out
    assert code == 1
    assert "UNACCOUNTED incoming/LEI/K1/lost.jsonl" in out
    assert "A1234BC" not in out


def test_cli_exits_0_when_everything_is_accounted_for(stack: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    stack.upload("incoming/LEI/K1/good.jsonl", batch("good"), AT)
    r = stack.resources
    code = main(
        [
            "reconcile",
            "--bucket",
            r["bucket"],
            "--activity-table",
            r["activity_table"],
            "--dlq-url",
            r["dlq_url"],
            "--grace-minutes",
            "0",
        ]
    )
    assert code == 0
    assert "unaccounted: 0, dead letters: 0" in capsys.readouterr().out
