"""The Staff construct: REST API behind WAF, user pool groups per establishment and role, the
append-only audit trail, alarms."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.support import ESTABLISHMENTS, Synthesized

pytestmark = pytest.mark.xdist_group("infra-synth")


def _statements(synthesized: Synthesized, role: Any) -> list[dict[str, Any]]:
    role_id = synthesized.logical_id(role)
    out: list[dict[str, Any]] = []
    for policy in synthesized.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            out.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return out


def _targets(statement: dict[str, Any], table_id: str) -> bool:
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return any(r == {"Fn::GetAtt": [table_id, "Arn"]} for r in resources)


def test_api_role_can_only_put_and_read_the_audit_trail(synthesized: Synthesized) -> None:
    staff = synthesized.stack.staff
    audit_id = synthesized.logical_id(staff.audit_table)
    statements = [s for s in _statements(synthesized, staff.api_function.role) if _targets(s, audit_id)]
    allowed = {a for s in statements if s["Effect"] == "Allow" for a in _list(s["Action"])}
    denied = {a for s in statements if s["Effect"] == "Deny" for a in _list(s["Action"])}
    assert allowed == {"dynamodb:PutItem", "dynamodb:Query"}
    assert {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} <= denied


def test_api_role_may_put_on_both_tables_a_change_and_its_audit_entry_are_written_to(
    synthesized: Synthesized,
) -> None:
    """A TransactWriteItems ``Put`` is authorised as ``PutItem`` on its table."""
    staff = synthesized.stack.staff
    statements = _statements(synthesized, staff.api_function.role)
    for table in (staff.case_table, staff.audit_table):
        table_id = synthesized.logical_id(table)
        mine = [s for s in statements if _targets(s, table_id)]
        assert any(s["Effect"] == "Allow" and "dynamodb:PutItem" in _list(s["Action"]) for s in mine)
        assert not any(s["Effect"] == "Deny" and "dynamodb:PutItem" in _list(s["Action"]) for s in mine)


def test_api_role_reads_but_never_writes_the_state_table(synthesized: Synthesized) -> None:
    staff = synthesized.stack.staff
    state_id = synthesized.logical_id(synthesized.stack.storage.state_table)
    statements = [s for s in _statements(synthesized, staff.api_function.role) if _targets(s, state_id)]
    assert {a for s in statements for a in _list(s["Action"])} == {
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
    }


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_waf_is_attached_to_the_rest_api_stage(synthesized: Synthesized) -> None:
    associations = synthesized.of_type("AWS::WAFv2::WebACLAssociation")
    assert len(associations) == 1
    acl = next(iter(synthesized.of_type("AWS::WAFv2::WebACL").values()))
    names = [r["Name"] for r in acl["Properties"]["Rules"]]
    assert "SignInRateLimit" in names and "AWSManagedRulesCommonRuleSet" in names
    logging = next(iter(synthesized.of_type("AWS::WAFv2::LoggingConfiguration").values()))
    redacted = {f["SingleHeader"]["Name"] for f in logging["Properties"]["RedactedFields"]}
    assert redacted == {"authorization", "cookie"}


def test_one_group_per_establishment_and_role(synthesized: Synthesized) -> None:
    groups = {g["Properties"]["GroupName"] for g in synthesized.of_type("AWS::Cognito::UserPoolGroup").values()}
    assert groups == {f"{e}-{r}" for e in ESTABLISHMENTS for r in ("officer", "governor", "admin")}
    pool = next(iter(synthesized.of_type("AWS::Cognito::UserPool").values()))["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_alarms_on_server_errors_and_sign_in_failures(synthesized: Synthesized) -> None:
    alarms = synthesized.of_type("AWS::CloudWatch::Alarm").values()
    metrics = {a["Properties"].get("MetricName") for a in alarms}
    assert {"5XXError", "SignInFailed"} <= metrics


def test_staff_function_settings_name_the_issuer_and_tables(synthesized: Synthesized) -> None:
    fn = synthesized.resources[synthesized.logical_id(synthesized.stack.staff.api_function.function)]
    env = fn["Properties"]["Environment"]["Variables"]
    for name in ("STATE_TABLE", "CASE_TABLE", "AUDIT_TABLE", "OIDC_ISSUER", "OIDC_AUDIENCE", "SIGN_IN_CLIENT_ID"):
        assert name in env
    assert fn["Properties"]["Handler"] == "functions.api.handler.handler"
