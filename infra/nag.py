"""cdk-nag findings AIM accepts, and why: the reasons, and the one way to acknowledge them.

Each construct acknowledges the findings on its own resources, on the narrowest construct,
with a reason from here (`acknowledge(construct, rule, reason)`); this module knows no stack.
cdk-nag 3.x reads acknowledgements from `Validations.of(construct).acknowledge(...)` (they
apply to the construct and its children). tests/infra/test_infra_nag.py fails on any finding
not acknowledged.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct

# CDK's singleton Lambda behind Custom::S3BucketNotifications (one per stack).
BUCKET_NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"
HIPAA_AND_NIST = ("HIPAA.Security", "NIST.800.53.R5")

PY313 = (
    "AIM pins Python 3.13 (docs/design.md): the dependency layer is built for cp313 wheels; "
    "moving runtime is a deliberate change with the layer, not a drift"
)
NO_VPC = (
    "The functions only call regional AWS APIs (S3, DynamoDB, SNS, SQS, Secrets Manager) over TLS with IAM "
    "auth and reach no private resource; a VPC would add NAT/endpoints without reducing exposure"
)
NO_RESERVED_CONCURRENCY = (
    "Concurrency is bounded without reserved concurrency: the transform by the SQS event source "
    "maximum concurrency (10), the scorer by one schedule per establishment plus a lease; reserved "
    "concurrency fails deployment in accounts at the default concurrency quota"
)
CDK_GRANT_POLICY = (
    "This AWS::IAM::Policy is the role's own policy made by CDK grants (event source, DLQ, X-Ray); it "
    "is attached to exactly one role and is least-privilege; our own statements use managed policies "
    "where CDK does not add to the role"
)
NO_BACKUP_PLAN = (
    "Protected by point-in-time recovery (35 days), deletion protection and RETAIN; ActivityTable "
    "facts expire by TTL (data minimisation) and StateTable is derived and rebuildable from them"
)
NO_REPLICATION = (
    "Not replicated on purpose: special-category data stays in one region; raw uploads are "
    "transient (expire after retention.raw_upload_days) and kiosks can re-send a batch"
)
XRAY = "xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions (Resource must be *)"
IS_DLQ = "This queue is itself a dead-letter queue (final stop for failed work, alarmed on when not empty)"
SQS_TRIGGERED = (
    "SQS-triggered: a Lambda DLQ applies only to asynchronous invocations; a message that fails "
    "5 receives moves to IngestDLQ through the queue's redrive policy"
)
SQS_NO_DESTINATION = (
    "On-failure destinations are not supported for SQS event sources; IngestDLQ (redrive "
    "policy, maxReceiveCount 5) keeps failed notifications"
)
ASYNC_DLQ = (
    "Failed asynchronous runs go to ScoreDLQ through the function's DeadLetterConfig (also the "
    "schedules' DLQ); an on-failure destination as well would deliver every failure twice"
)
OPERATOR_TOPIC_NO_DLQ = (
    "Operator subscriptions only mirror CloudWatch alarm states, which stay visible on the "
    "dashboard and in the console; an undelivered operator email loses no data"
)
ALERT_ID_KEY_NOT_ROTATED = (
    "The alert-id key is not a credential: it keys the hash that makes alert ids unlinkable to a "
    "prison number. Rotating it would give an alert already raised a new id, and the same red would "
    "page the duty officer twice; it is replaced by hand, with a deploy, if it ever leaks"
)


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept one cdk-nag finding on ``scope`` and its children, saying why."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_function(function: IConstruct, role: IConstruct) -> None:
    """What every AIM function accepts: the pinned runtime, no VPC, no reserved concurrency,
    X-Ray's wildcard resource and CDK's grant policy on its role."""
    acknowledge(function, "AwsSolutions-L1", PY313)
    acknowledge(function, "Serverless-LambdaLatestVersion", PY313)
    acknowledge(role, "AwsSolutions-IAM5[Resource::*]", XRAY)
    for pack in HIPAA_AND_NIST:
        acknowledge(function, f"{pack}-LambdaInsideVPC", NO_VPC)
        acknowledge(function, f"{pack}-LambdaConcurrency", NO_RESERVED_CONCURRENCY)
        acknowledge(role, f"{pack}-IAMNoInlinePolicy", CDK_GRANT_POLICY)


def bucket_prefix_finding(bucket: IConstruct, pattern: str) -> str:
    """The AwsSolutions-IAM5 finding id for object keys ``pattern`` in ``bucket``."""
    cfn = bucket.node.default_child
    assert isinstance(cfn, CfnElement)
    stack = Stack.of(cfn)
    return f"AwsSolutions-IAM5[Resource::<{stack.resolve(stack.get_logical_id(cfn))}.Arn>/{pattern}]"
