"""cdk-nag findings the Staff construct accepts, each on the narrowest construct, each with its reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct

if TYPE_CHECKING:
    from infra.constructs.staff import Staff

_PY313 = (
    "AIM pins Python 3.13 (docs/design.md): the dependency layer is built for cp313 wheels; "
    "moving runtime is a deliberate change with the layer, not a drift"
)
_XRAY = "xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions (Resource must be *)"
_NO_VPC = (
    "The staff function only calls regional AWS APIs (DynamoDB, Cognito) over TLS with IAM auth and "
    "reaches no private resource; a VPC would add NAT/endpoints without reducing exposure"
)
_CDK_GRANT_POLICY = (
    "This AWS::IAM::Policy is the function role's own policy made by CDK (X-Ray, log stream, exact "
    "table actions); it is attached to exactly one role and is least-privilege"
)
_AUTH_IN_FUNCTION = (
    "Every request is authenticated in the function: the OIDC access token (bearer, or the board's "
    "HttpOnly session cookie) is verified against the issuer's JWKS, issuer, audience and expiry, and "
    "caseload is checked per route; an API Gateway authorizer cannot read the session cookie and would "
    "tie the API to Cognito where the issuer is configurable"
)


def _ack(scope: IConstruct, rule: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def _checkov_skip(construct: IConstruct, check: str, reason: str) -> None:
    """A checkov skip on this one resource (CloudFormation Metadata), with its reason."""
    cfn = construct.node.default_child if not isinstance(construct, CfnResource) else construct
    assert isinstance(cfn, CfnResource)
    current = cfn.get_metadata("checkov") or {"skip": []}
    current["skip"].append({"id": check, "comment": reason})
    cfn.add_metadata("checkov", current)


def acknowledge_staff_findings(staff: Staff) -> None:
    _checkov_skip(
        staff.api.deployment_stage,
        "CKV_AWS_120",
        "No gateway cache: every answer is personal to the caller's caseload and sent Cache-Control: no-store",
    )
    for method in staff.api.methods:
        _checkov_skip(method, "CKV_AWS_59", _AUTH_IN_FUNCTION)
    fn, role = staff.api_function.function, staff.api_function.role
    _ack(fn, "AwsSolutions-L1", _PY313)
    _ack(fn, "Serverless-LambdaLatestVersion", _PY313)
    _ack(role, "AwsSolutions-IAM5[Resource::*]", _XRAY)
    for pack in ("HIPAA.Security", "NIST.800.53.R5"):
        _ack(fn, f"{pack}-LambdaInsideVPC", _NO_VPC)
        _ack(
            fn,
            f"{pack}-LambdaConcurrency",
            "Concurrency is bounded in front of the function: the API stage throttles (50 rps, burst 100) "
            "and WAF rate-limits sign-in; reserved concurrency fails deployment at the default quota",
        )
        _ack(role, f"{pack}-IAMNoInlinePolicy", _CDK_GRANT_POLICY)
    for pack in ("HIPAA.Security", "NIST.800.53.R5"):
        _ack(
            fn,
            f"{pack}-LambdaDLQ",
            "Invoked synchronously by API Gateway only: the caller gets the error; a DLQ applies to "
            "asynchronous invocations",
        )
        for table in (staff.case_table, staff.audit_table):
            _ack(
                table,
                f"{pack}-DynamoDBInBackupPlan",
                "Protected by point-in-time recovery (35 days), deletion protection and RETAIN, with its "
                "own customer-managed key; an AWS Backup plan is an account-level choice of the operator",
            )
        stage = staff.api.deployment_stage
        _ack(
            stage,
            f"{pack}-APIGWCacheEnabledAndEncrypted",
            "No gateway cache on purpose: every answer is personal to the caller's caseload and sent "
            "Cache-Control: no-store; a shared cache could serve one officer's page to another",
        )
        _ack(
            stage,
            f"{pack}-APIGWSSLEnabled",
            "The integration is a Lambda proxy (AWS API call, IAM-signed), not an HTTP backend that "
            "could check a client certificate; clients reach the stage over TLS only",
        )
    _ack(
        fn,
        "Serverless-LambdaDLQ",
        "Invoked synchronously by API Gateway only: the caller gets the error; a DLQ applies to "
        "asynchronous invocations",
    )
    _ack(
        fn,
        "Serverless-LambdaAsyncFailureDestination",
        "Invoked synchronously by API Gateway only: there are no asynchronous failures to deliver",
    )
    _ack(
        staff.user_pool,
        "AwsSolutions-COG2",
        "MFA is optional in the pool (TOTP) so the board's password sign-in works on shared wing PCs; "
        "threat protection is on in full-function mode; estates that require MFA connect their own OIDC "
        "issuer, which enforces it",
    )
    _ack(
        staff.api,
        "AwsSolutions-APIG2",
        "One proxy resource for pages and API: the function validates every body with pydantic and "
        "answers 422 naming the bad field (contract section 4); a gateway model would duplicate it",
    )
    for method in staff.api.methods:
        _ack(method, "AwsSolutions-APIG4", _AUTH_IN_FUNCTION)
        _ack(method, "AwsSolutions-COG4", _AUTH_IN_FUNCTION)
    cloudwatch_role = staff.api.node.try_find_child("CloudWatchRole")
    if cloudwatch_role is not None:
        _ack(
            cloudwatch_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level role for stage logging: the AWS managed policy is the one API "
            "Gateway documents for it and only writes API Gateway's own log groups",
        )
