"""The weekly digest in the stack, who gets what on the alert topic, and the alarms on the
escalation and digest jobs."""

from __future__ import annotations

import json
from typing import Any

from infra import constants as c
from tests.infra.support import ALERT_EMAILS, ESTABLISHMENTS, GOVERNOR_EMAILS, Synthesized
from tests.infra.test_infra_escalation import _role_actions


def _ref(synthesized: Synthesized, construct: Any) -> dict[str, str]:
    return {"Ref": synthesized.logical_id(construct)}


def _arn(synthesized: Synthesized, construct: Any) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [synthesized.logical_id(construct), "Arn"]}


# --- schedule ---------------------------------------------------------------------------------
def test_one_digest_schedule_per_establishment_on_monday_at_eight_london_time(synthesized: Synthesized) -> None:
    digest = synthesized.stack.digest
    assert sorted(digest.schedules) == sorted(ESTABLISHMENTS)
    for establishment, schedule in digest.schedules.items():
        props = synthesized.resources[synthesized.logical_id(schedule)]["Properties"]
        assert props["ScheduleExpression"] == "cron(0 8 ? * MON *)"
        assert props["ScheduleExpressionTimezone"] == "Europe/London"
        assert props["State"] == "ENABLED"
        target = props["Target"]
        assert target["Arn"] == _arn(synthesized, digest.digest.function)
        assert target["RoleArn"] == _arn(synthesized, digest.scheduler_role)
        assert json.loads(target["Input"]) == {
            "establishment": establishment,
            "scheduled_time": "<aws.scheduler.scheduled-time>",
        }
        # Retried, then dead-lettered
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == c.SCHEDULE_MAX_RETRIES
        assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == c.DIGEST_MAX_EVENT_AGE_SECONDS
        assert target["DeadLetterConfig"]["Arn"] == _arn(synthesized, digest.dlq)


def test_the_digest_schedule_follows_the_configured_weekday_hour_and_time_zone() -> None:
    from aim.config import Digest

    from infra.constructs.digest import weekly_cron

    assert weekly_cron(Digest(weekday="FRI", hour=16)) == "cron(0 16 ? * FRI *)"
    assert weekly_cron(Digest()) == "cron(0 8 ? * MON *)"


def test_digest_function_runs_the_digest_handler_with_a_dead_letter_queue(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    props = synthesized.resources[synthesized.logical_id(stack.digest.digest.function)]["Properties"]
    assert props["Handler"] == c.DIGEST_HANDLER
    assert props["DeadLetterConfig"] == {"TargetArn": _arn(synthesized, stack.digest.dlq)}
    env = props["Environment"]["Variables"]
    assert env["CASE_TABLE"] == _ref(synthesized, stack.staff.case_table)
    assert env[c.ENV_STATE_TABLE] == _ref(synthesized, stack.storage.state_table)
    assert env[c.ENV_ALERT_TOPIC_ARN] == _ref(synthesized, stack.alerting.topic)
    invoke = [
        r["Properties"]
        for r in synthesized.of_type("AWS::Lambda::EventInvokeConfig").values()
        if r["Properties"]["FunctionName"] == _ref(synthesized, stack.digest.digest.function)
    ]
    assert invoke and invoke[0]["MaximumRetryAttempts"] == 2


def test_digest_function_only_reads_alerts_and_cases_and_publishes(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    granted = _role_actions(synthesized, stack.digest.digest.role)
    state_arn = json.dumps(_arn(synthesized, stack.storage.state_table))
    case_arn = json.dumps(_arn(synthesized, stack.staff.case_table))
    assert {a for a in granted if a.startswith("dynamodb:")} == {"dynamodb:Query", "dynamodb:BatchGetItem"}
    assert granted["dynamodb:Query"] == {state_arn}
    assert granted["dynamodb:BatchGetItem"] == {case_arn}
    assert granted["sns:Publish"] == {json.dumps(_ref(synthesized, stack.alerting.topic))}
    assert granted["sqs:SendMessage"] == {json.dumps(_arn(synthesized, stack.digest.dlq))}
    kms_actions = {a for a in granted if a.startswith("kms:")}
    assert "kms:Encrypt" not in kms_actions  # it writes to no table
    allowed_services = ("dynamodb:", "kms:", "sns:", "sqs:", "logs:", "xray:")
    assert all(a.startswith(allowed_services) for a in granted), sorted(granted)


def test_digest_scheduler_role_only_invokes_the_digest_and_feeds_its_dlq(synthesized: Synthesized) -> None:
    digest = synthesized.stack.digest
    granted = _role_actions(synthesized, digest.scheduler_role)
    assert granted["lambda:InvokeFunction"] == {json.dumps(_arn(synthesized, digest.digest.function))}
    assert granted["sqs:SendMessage"] == {json.dumps(_arn(synthesized, digest.dlq))}
    assert set(granted) == {"lambda:InvokeFunction", "sqs:SendMessage", "kms:Decrypt", "kms:GenerateDataKey"}


# --- who gets what --------------------------------------------------------------------------
def _alert_topic_subscriptions(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    topic = _ref(synthesized, synthesized.stack.alerting.topic)
    return {
        s["Properties"]["Endpoint"]: s["Properties"]
        for s in synthesized.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == topic
    }


def test_officers_get_alerts_and_escalations_and_governors_escalations_and_digests(
    synthesized: Synthesized,
) -> None:
    subscriptions = _alert_topic_subscriptions(synthesized)
    officer_only = [a for a in ALERT_EMAILS if a not in GOVERNOR_EMAILS]
    governor_only = [a for a in GOVERNOR_EMAILS if a not in ALERT_EMAILS]
    both = [a for a in ALERT_EMAILS if a in GOVERNOR_EMAILS]
    assert officer_only and governor_only and both
    for address in officer_only:
        assert subscriptions[address]["FilterPolicy"] == {"kind": ["alert", "escalation"]}
    for address in governor_only:
        assert subscriptions[address]["FilterPolicy"] == {"kind": ["escalation", "digest"]}
    for address in both:  # one subscription, so one copy of each escalation
        assert subscriptions[address]["FilterPolicy"] == {"kind": ["alert", "escalation", "digest"]}
    dlq = _arn(synthesized, synthesized.stack.alerting.delivery_dlq)
    for props in subscriptions.values():
        assert props["Protocol"] == "email"
        assert props.get("FilterPolicyScope", "MessageAttributes") == "MessageAttributes"
        assert props["RedrivePolicy"] == {"deadLetterTargetArn": dlq}


def test_the_filter_policies_name_the_kinds_the_functions_publish() -> None:
    from aim.domain.alerts import ALERT_KIND, KIND_ATTRIBUTE
    from aim.domain.digest import DIGEST_KIND
    from aim.domain.escalation import ESCALATION_KIND

    assert c.OFFICER_FILTER_POLICY == {KIND_ATTRIBUTE: [ALERT_KIND, ESCALATION_KIND]}
    assert c.GOVERNOR_FILTER_POLICY == {KIND_ATTRIBUTE: [ESCALATION_KIND, DIGEST_KIND]}


# --- alarms -----------------------------------------------------------------------------------
def _alarms_on(synthesized: Synthesized, dimension: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for alarm in synthesized.of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if dimension in props.get("Dimensions", []):
            found[props["MetricName"]] = props
    return found


def test_escalation_and_digest_dlqs_and_errors_page_the_operators(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    operator_topic = [_ref(synthesized, stack.operations.topic)]
    for function, dlq in (
        (stack.escalation.escalate.function, stack.escalation.dlq),
        (stack.digest.digest.function, stack.digest.dlq),
    ):
        queue = _alarms_on(
            synthesized, {"Name": "QueueName", "Value": {"Fn::GetAtt": [synthesized.logical_id(dlq), "QueueName"]}}
        )
        on_function = _alarms_on(synthesized, {"Name": "FunctionName", "Value": _ref(synthesized, function)})
        not_empty = queue["ApproximateNumberOfMessagesVisible"]
        errors = on_function["Errors"]
        for alarm in (not_empty, errors):
            assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
            assert alarm["Threshold"] == 0
            assert alarm["AlarmActions"] == operator_topic
    escalate = _alarms_on(
        synthesized, {"Name": "FunctionName", "Value": _ref(synthesized, stack.escalation.escalate.function)}
    )
    missed = escalate["Invocations"]
    assert missed["Period"] == 2 * c.ESCALATION_SCHEDULE_MINUTES * 60
    assert (missed["ComparisonOperator"], missed["Threshold"]) == ("LessThanThreshold", 1)
    assert missed["TreatMissingData"] == "breaching"
    digest = _alarms_on(synthesized, {"Name": "FunctionName", "Value": _ref(synthesized, stack.digest.digest.function)})
    assert "Invocations" not in digest  # weekly: longer than an alarm can look back
