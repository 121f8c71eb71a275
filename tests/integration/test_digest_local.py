"""The weekly digest function on the embedded local AWS: it reads the alerts and cases the scorer
and staff wrote, and only a subscription filtering on ``digest=true`` receives it."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from aim.adapters.audit_table import DynamoAuditLog
from aim.adapters.board_state import StateTableBoardReader
from aim.adapters.case_table import DynamoCaseRepository
from aim.config import load_config
from aim.domain.access import Principal
from aim.domain.casework import InterventionInput
from aim.service.scoring_run import horizon
from aim.service.staff import StaffService
from aim_local.board_seed import seed_establishment
from aim_local.stack import FakeLambdaContext, create_table, local_aws

PRISON_NUMBER = re.compile(r"[A-Z][0-9]{4}[A-Z]{2}")
CASE_TABLE = "aim-case-digest-test"
NOTE = "Talked about his family visit"


def subscribe(local: object, name: str, policy: dict[str, list[str]] | None) -> str:
    sqs, sns = local.clients["sqs"], local.clients["sns"]  # type: ignore[attr-defined]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"RawMessageDelivery": "false"}
    if policy:
        attributes["FilterPolicy"] = json.dumps(policy)
    sns.subscribe(
        TopicArn=local.resources["topic_arn"],  # type: ignore[attr-defined]
        Protocol="sqs",
        Endpoint=arn,
        Attributes=attributes,
    )
    return str(url)


def test_digest_handler_publishes_counts_to_governors_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.digest import handler

    config = load_config().with_establishments(["LEI"])
    with local_aws(config) as local:
        ddb = local.clients["dynamodb"]
        create_table(ddb, CASE_TABLE)
        create_table(ddb, "aim-audit-digest-test")
        monkeypatch.setenv("CASE_TABLE", CASE_TABLE)
        handler.get_digest_settings.cache_clear()
        # Three reds raised on Tue 24 Nov at 07:00; the digest runs on Mon 30 Nov.
        alerts = seed_establishment(
            ddb, local.resources["state_table"], "LEI", config, 8, reds=3, judged=date(2026, 11, 23)
        )
        raised = datetime(2026, 11, 24, 7, tzinfo=UTC)
        moment = [raised]
        reader = StateTableBoardReader(local.resources["state_table"], horizon(config), client=ddb)
        audit = DynamoAuditLog("aim-audit-digest-test", 2555, client=ddb)
        service = StaffService(
            reader, DynamoCaseRepository(CASE_TABLE, client=ddb, audit_log=audit), audit, clock=lambda: moment[0]
        )
        officer = Principal("lei-officer", {"LEI": "officer"})
        moment[0] = raised + timedelta(minutes=15)
        service.acknowledge(officer, alerts[0].alert_id, "127.0.0.1")
        moment[0] = raised + timedelta(minutes=45)
        entry = InterventionInput(
            action="welfare_check", engaged=True, outcome="support_given", useful="yes", note=NOTE
        )
        service.record_intervention(officer, alerts[0].alert_id, entry, "127.0.0.1")
        service.close(officer, alerts[0].alert_id, "127.0.0.1")
        governors = subscribe(local, "governors", {"digest": ["true"]})
        officers = subscribe(local, "officers", {"level": ["red"]})

        result = handler.handler(
            {"establishment": "LEI", "scheduled_time": "2026-11-30T08:00:00+00:00"}, FakeLambdaContext("aim-digest")
        )
        assert (result["reds_raised"], result["acknowledged"], result["closed"]) == (3, 1, 1)
        assert result["open_over_a_day"] == 2 and result["unacknowledged_over_a_day"] == 2

        sqs = local.clients["sqs"]
        got = sqs.receive_message(QueueUrl=governors, MaxNumberOfMessages=10).get("Messages", [])
        assert len(got) == 1
        envelope = json.loads(got[0]["Body"])
        assert envelope["Subject"] == "AIM weekly digest LEI"
        assert envelope["MessageAttributes"]["digest"]["Value"] == "true"
        assert json.loads(envelope["Message"])["reds_raised"] == 3
        assert not PRISON_NUMBER.search(got[0]["Body"]) and NOTE not in got[0]["Body"]
        assert sqs.receive_message(QueueUrl=officers, MaxNumberOfMessages=10).get("Messages", []) == []
