"""Who gets what on the alert topic, with the stack's own filter policies evaluated by moto's SNS:
duty officers get the alert and its escalations, governors the escalations and the weekly digest.

The alert is a real red raised by the scorer (the reliability scenario's collapsing prisoner), the
escalation comes from the escalate handler on the local stack's schedule, the digest from the digest
handler; each subscriber is an SQS queue subscribed as the stack subscribes the email addresses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aim.adapters.activity_table import DynamoActivityRepository
from aim.adapters.sns import SnsAlertPublisher
from aim.adapters.state_table import DynamoEscalationStore, DynamoStateRepository
from aim.domain.batch import read_batch
from aim.observability import metrics
from aim.service.ingest import apply_verdict
from aim.service.scoring_run import run_scoring
from aim_local.memory import LAB_ALERT_ID_KEY
from aim_local.stack import FakeLambdaContext, LocalAws, local_aws

from infra import constants as c
from tests.integration.test_reliability_alerts import CONFIG, RED_DAY, day_batch, run_time


def subscribe(local: LocalAws, name: str, policy: dict[str, list[str]]) -> str:
    sqs, sns = local.clients["sqs"], local.clients["sns"]
    url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=local.resources["topic_arn"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "false", "FilterPolicy": json.dumps(policy)},
    )
    return url


def received(local: LocalAws, url: str) -> list[dict[str, Any]]:
    """SNS envelopes the queue holds, in order (each with its message attributes)."""
    out: list[dict[str, Any]] = []
    while True:
        messages = local.clients["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return out
        out.extend(json.loads(m["Body"]) for m in messages)
        for m in messages:
            local.clients["sqs"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def kinds(envelopes: list[dict[str, Any]]) -> list[str]:
    return [e["MessageAttributes"]["kind"]["Value"] for e in envelopes]


@pytest.fixture(scope="module")
def red_raised() -> Iterator[tuple[LocalAws, dict[str, str]]]:
    """The local stack after the scorer has raised one red, with an officer and a governor subscribed."""
    with local_aws(CONFIG) as local:
        ddb = local.clients["dynamodb"]
        activity = DynamoActivityRepository(local.resources["activity_table"], ddb)
        state = DynamoStateRepository(local.resources["state_table"], ddb)
        publisher = SnsAlertPublisher(local.resources["topic_arn"], local.clients["sns"])
        tz = ZoneInfo(CONFIG.timezone)
        for i in range(RED_DAY + 1):
            apply_verdict(f"incoming/LEI/K1/day-{i}.jsonl", read_batch("k.jsonl", day_batch(i)), activity, CONFIG, tz)
            if i < RED_DAY:
                run_scoring("LEI", run_time(i), activity, state, publisher, CONFIG, LAB_ALERT_ID_KEY)
        queues = {
            "officer": subscribe(local, "aim-officer-email", c.OFFICER_FILTER_POLICY),
            "governor": subscribe(local, "aim-governor-email", c.GOVERNOR_FILTER_POLICY),
        }
        summary = run_scoring("LEI", run_time(RED_DAY), activity, state, publisher, CONFIG, LAB_ALERT_ID_KEY)
        assert len(summary.alerts_sent) == 1, "the scenario raises one red on its red day"
        yield local, queues


def test_officers_get_alerts_and_escalations_governors_escalations_and_the_digest(
    red_raised: tuple[LocalAws, dict[str, str]],
) -> None:
    from functions.digest import handler as digest

    local, queues = red_raised
    raised = run_time(RED_DAY)
    # Given the red alert nobody acknowledges; When the escalation schedule fires 30 minutes later
    results = local.run_escalations(raised + timedelta(minutes=CONFIG.escalation.first_minutes))
    assert [len(r["escalated"]) for r in results] == [1]
    # And the weekly digest goes out two days later
    digest.get_digest_settings.cache_clear()
    try:
        event = {"establishment": "LEI", "scheduled_time": (raised + timedelta(days=2)).isoformat()}
        sent = digest.handler(event, FakeLambdaContext("aim-digest-local"))
    finally:
        metrics.clear_metrics()
        digest.get_digest_settings.cache_clear()
    assert sent["reds_raised"] == 1

    # Then the duty officer's subscription got the alert and its escalation, not the digest
    officer = received(local, queues["officer"])
    assert kinds(officer) == ["alert", "escalation"]
    alert_id = json.loads(officer[0]["Message"])["alert_id"]
    assert json.loads(officer[1]["Message"])["alert_id"] == alert_id
    # And the governor's got the escalation and the digest, not the alert
    governor = received(local, queues["governor"])
    assert kinds(governor) == ["escalation", "digest"]
    assert json.loads(governor[0]["Message"])["step"] == 1
    assert governor[1]["MessageAttributes"]["digest"]["Value"] == "true"
    # And the machine subscriber (no filter) got all three, the escalation still an escalation
    every = local.drain_alerts()
    assert [m.get("step") for m in every] == [None, 1, None]


def test_an_acknowledged_red_is_not_escalated_by_the_local_stack(
    red_raised: tuple[LocalAws, dict[str, str]],
) -> None:
    from aim.adapters.case_table import DynamoCaseRepository
    from aim.domain import casework
    from aim.domain.casework import AlertCase

    local, queues = red_raised
    raised = run_time(RED_DAY)
    store = DynamoEscalationStore(local.resources["state_table"], local.clients["dynamodb"])
    (alert_id,) = [str(m["alert_id"]) for m in store.alerts_raised_since("LEI", run_time(0))]
    for queue in queues.values():  # whatever an earlier test left
        received(local, queue)
    # Given an officer took the red (in the case table the board writes)
    cases = DynamoCaseRepository(local.resources["case_table"], client=local.clients["dynamodb"])
    taken = casework.acknowledge(AlertCase.opened(alert_id, "LEI", "A1000AA"), "amy", raised)
    assert cases.save(taken)
    # When the next escalation step falls due
    step_two = raised + timedelta(minutes=CONFIG.escalation.first_minutes + CONFIG.escalation.repeat_minutes)
    results = local.run_escalations(step_two)
    # Then nothing is sent to anyone
    assert [r["escalated"] for r in results] == [[]]
    assert received(local, queues["officer"]) == [] and received(local, queues["governor"]) == []
