"""The escalate handler on moto: alert records in the StateTable, cases in a CaseTable, and a duty
governor's subscription that filters the alert topic on ``escalation=true``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aim.adapters.case_table import DynamoCaseRepository
from aim.adapters.sns import SnsAlertPublisher
from aim.adapters.state_table import DynamoEscalationStore, DynamoStateRepository
from aim.domain import casework
from aim.domain.alerts import AlertDecision, alert_message
from aim.domain.assessment import Assessment
from aim.domain.casework import AlertCase
from aim.observability import metrics
from aim.settings import get_escalation_settings
from aim_local.stack import FakeLambdaContext, create_table

from functions.escalate import handler as escalate

RAISED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CASE_TABLE = "aim-cases-escalation-test"


@pytest.fixture
def estate(local: Any) -> Iterator[dict[str, Any]]:
    ddb, sqs, sns = local.clients["dynamodb"], local.clients["sqs"], local.clients["sns"]
    create_table(ddb, CASE_TABLE)
    url = sqs.create_queue(QueueName="aim-duty-governor")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=local.resources["topic_arn"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"escalation": ["true"]})},
    )
    saved = os.environ.get("CASE_TABLE")
    os.environ["CASE_TABLE"] = CASE_TABLE
    get_escalation_settings.cache_clear()
    yield {"governor_url": url, "cases": DynamoCaseRepository(CASE_TABLE, client=ddb)}
    get_escalation_settings.cache_clear()
    if saved is None:
        os.environ.pop("CASE_TABLE", None)
    else:
        os.environ["CASE_TABLE"] = saved


def raise_red(local: Any, alert_id: str, prisoner_id: str) -> None:
    a = Assessment(prisoner_id, "red", 8.0, 3.0, 6.0, [], [{"factor": "visits", "text": "x"}], "2026-11-30")
    message = alert_message(AlertDecision("new", alert_id), "LEI", a, RAISED, "B-2-14")
    repository = DynamoStateRepository(local.resources["state_table"], local.clients["dynamodb"])
    assert repository.record_alert("LEI", message, int((RAISED + timedelta(days=365)).timestamp()))
    repository.mark_sent("LEI", alert_id)


def run_at(at: datetime) -> dict[str, Any]:
    event = {"establishment": "LEI", "scheduled_time": at.isoformat()}
    try:
        return dict(escalate.handler(event, FakeLambdaContext("aim-escalate-test")))
    finally:
        metrics.clear_metrics()


def governor_messages(local: Any, url: str) -> list[dict[str, Any]]:
    response = local.clients["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in response.get("Messages", [])]


def test_late_red_reaches_the_governor_once_per_step_and_a_taken_one_never(local: Any, estate: dict) -> None:
    # Given two reds raised at nine: one taken at 09:10, one nobody takes
    raise_red(local, "aim-lei-taken", "A1234BC")
    raise_red(local, "aim-lei-late", "B2345CD")
    taken = casework.acknowledge(AlertCase.opened("aim-lei-taken", "LEI", "A1234BC"), "amy", RAISED)
    assert estate["cases"].save(taken)
    # And an ordinary alert published on the same topic
    SnsAlertPublisher(local.resources["topic_arn"], local.clients["sns"]).publish(
        machine_json="{}", human_text="AIM RED", subject="AIM RED alert LEI", attributes={"level": "red"}
    )
    # When the scheduled job fires every five minutes until 11:35, and again at 11:35
    summaries = [run_at(RAISED + timedelta(minutes=m)) for m in range(0, 160, 5)]
    summaries.append(run_at(RAISED + timedelta(minutes=155)))
    # Then the governor's subscription got steps 1 and 2 of the late red only, once each, and not the alert
    received = governor_messages(local, estate["governor_url"])
    assert [(m["alert_id"], m["kind"], m["step"]) for m in received] == [
        ("aim-lei-late", "escalation", 1),
        ("aim-lei-late", "escalation", 2),
    ]
    assert sum(len(s["escalated"]) for s in summaries) == 2
    # And the escalation records and an empty outbox are in the StateTable
    store = DynamoEscalationStore(local.resources["state_table"], local.clients["dynamodb"])
    assert store.pending_escalations("LEI") == []
    recorded = local.clients["dynamodb"].query(
        TableName=local.resources["state_table"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "LEI#ESC"}},
    )["Items"]
    assert sorted(i["sk"]["S"] for i in recorded) == ["aim-lei-late#E01", "aim-lei-late#E02"]


def test_a_step_recorded_and_not_sent_goes_out_on_the_next_run(local: Any, estate: dict) -> None:
    # Given a run that recorded step 1 and stopped before publishing it
    raise_red(local, "aim-lei-late", "B2345CD")
    store = DynamoEscalationStore(local.resources["state_table"], local.clients["dynamodb"])
    alert = store.alerts_raised_since("LEI", RAISED)[0]
    step_one = {**alert, "kind": "escalation", "step": 1, "escalated_at": (RAISED + timedelta(minutes=30)).isoformat()}
    assert store.record_escalation("LEI", step_one, 0)
    # When the next two runs come
    first = run_at(RAISED + timedelta(minutes=35))
    second = run_at(RAISED + timedelta(minutes=40))
    # Then step 1 went out once, from the outbox
    assert (first["resent"], first["escalated"], second["resent"], second["escalated"]) == (
        ["aim-lei-late#E01"],
        [],
        [],
        [],
    )
    assert [m["step"] for m in governor_messages(local, estate["governor_url"])] == [1]
