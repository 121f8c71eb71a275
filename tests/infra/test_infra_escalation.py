"""The escalation job: its own schedule per establishment every five minutes, and least privilege."""

from __future__ import annotations

import json
from typing import Any

from infra import constants as c
from tests.infra.support import ESTABLISHMENTS, Synthesized


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_actions(synthesized: Synthesized, role: Any) -> dict[str, set[str]]:
    """Action -> resource references, over every policy attached to ``role``."""
    role_ref = {"Ref": synthesized.logical_id(role)}
    granted: dict[str, set[str]] = {}
    for resource in synthesized.resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") or role_ref not in props.get(
            "Roles", []
        ):
            continue
        for statement in _as_list(props["PolicyDocument"]["Statement"]):
            for action in _as_list(statement["Action"]):
                granted.setdefault(action, set()).update(json.dumps(r) for r in _as_list(statement["Resource"]))
    return granted


def test_one_escalation_schedule_per_establishment_every_five_minutes(synthesized: Synthesized) -> None:
    escalation = synthesized.stack.escalation
    function_arn = {"Fn::GetAtt": [synthesized.logical_id(escalation.escalate.function), "Arn"]}
    inputs = []
    for schedule in escalation.schedules.values():
        props = synthesized.resources[synthesized.logical_id(schedule)]["Properties"]
        assert props["ScheduleExpression"] == f"rate({c.ESCALATION_SCHEDULE_MINUTES} minutes)"
        target = props["Target"]
        assert target["Arn"] == function_arn
        assert target["RoleArn"] == {"Fn::GetAtt": [synthesized.logical_id(escalation.scheduler_role), "Arn"]}
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [synthesized.logical_id(escalation.dlq), "Arn"]}
        inputs.append(json.loads(target["Input"]))
    assert sorted(i["establishment"] for i in inputs) == sorted(ESTABLISHMENTS)


def test_escalate_function_runs_the_escalate_handler_with_the_case_table(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    props = synthesized.resources[synthesized.logical_id(stack.escalation.escalate.function)]["Properties"]
    assert props["Handler"] == c.ESCALATE_HANDLER
    env = props["Environment"]["Variables"]
    assert env["CASE_TABLE"] == {"Ref": synthesized.logical_id(stack.staff.case_table)}
    assert env[c.ENV_STATE_TABLE] == {"Ref": synthesized.logical_id(stack.storage.state_table)}
    assert env[c.ENV_ALERT_TOPIC_ARN] == {"Ref": synthesized.logical_id(stack.alerting.topic)}


def test_escalate_function_reads_cases_and_alerts_writes_state_and_publishes_only(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    granted = _role_actions(synthesized, stack.escalation.escalate.role)
    table_actions = {a for a in granted if a.startswith("dynamodb:")}
    assert table_actions == {"dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"}
    case_arn = json.dumps({"Fn::GetAtt": [synthesized.logical_id(stack.staff.case_table), "Arn"]})
    state_arn = json.dumps({"Fn::GetAtt": [synthesized.logical_id(stack.storage.state_table), "Arn"]})
    assert granted["dynamodb:BatchGetItem"] == {case_arn}
    for action in ("dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"):
        assert granted[action] == {state_arn}, action
    assert granted["sns:Publish"] == {json.dumps({"Ref": synthesized.logical_id(stack.alerting.topic)})}
    assert not any(a.startswith("secretsmanager:") for a in granted)
