"""cdk-nag findings AIM accepts, each on the narrowest construct, each with its reason.

cdk-nag 3.x reads acknowledgements from `Validations.of(construct).acknowledge(...)`
(they apply to the construct and its children). Every acknowledgement here is a
deliberate decision; tests/infra/test_nag.py fails on any finding not listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnElement, Validations
from constructs import IConstruct

from infra import constants as c

if TYPE_CHECKING:
    from infra.stack import AimStack

# CDK's singleton Lambda behind Custom::S3BucketNotifications (one per stack).
BUCKET_NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"

_PY313 = (
    "AIM pins Python 3.13 (docs/design.md): the dependency layer is built for cp313 wheels; "
    "moving runtime is a deliberate change with the layer, not a drift"
)
_NO_VPC = (
    "The functions only call regional AWS APIs (S3, DynamoDB, SNS, SQS) over TLS with IAM auth and "
    "reach no private resource; a VPC would add NAT/endpoints without reducing exposure"
)
_NO_RESERVED_CONCURRENCY = (
    "Concurrency is bounded without reserved concurrency: the transform by the SQS event source "
    "maximum concurrency (10), the scorer by one schedule per establishment plus a lease; reserved "
    "concurrency fails deployment in accounts at the default concurrency quota"
)
_CDK_GRANT_POLICY = (
    "This AWS::IAM::Policy is the role's own policy made by CDK grants (event source, DLQ, X-Ray); it "
    "is attached to exactly one role and is least-privilege; our own statements use managed policies "
    "where CDK does not add to the role"
)
_NO_BACKUP_PLAN = (
    "Protected by point-in-time recovery (35 days), deletion protection and RETAIN; ActivityTable "
    "facts expire by TTL (data minimisation) and StateTable is derived and rebuildable from them"
)
_NO_REPLICATION = (
    "Not replicated on purpose: special-category data stays in one region; raw uploads are "
    "transient (expire after retention.raw_upload_days) and kiosks can re-send a batch"
)
_XRAY = "xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions (Resource must be *)"
_IS_DLQ = "This queue is itself a dead-letter queue (final stop for failed work, alarmed on when not empty)"


def _ack(scope: IConstruct, rule: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def _bucket_prefix_finding(bucket_logical_id: str, pattern: str) -> str:
    return f"AwsSolutions-IAM5[Resource::<{bucket_logical_id}.Arn>/{pattern}]"


def acknowledge_findings(stack: AimStack) -> None:
    ingest, scoring, alerting, kiosk = stack.ingest, stack.scoring, stack.alerting, stack.kiosk_access
    transform, score = ingest.transform, scoring.score
    bucket_cfn = ingest.bucket.node.default_child
    assert isinstance(bucket_cfn, CfnElement)
    bucket_id = str(stack.resolve(stack.get_logical_id(bucket_cfn)))

    for fn in (transform, score):
        _ack(fn.function, "AwsSolutions-L1", _PY313)
        _ack(fn.function, "Serverless-LambdaLatestVersion", _PY313)
        _ack(fn.role, "AwsSolutions-IAM5[Resource::*]", _XRAY)
        for pack in ("HIPAA.Security", "NIST.800.53.R5"):
            _ack(fn.function, f"{pack}-LambdaInsideVPC", _NO_VPC)
            _ack(fn.function, f"{pack}-LambdaConcurrency", _NO_RESERVED_CONCURRENCY)
            _ack(fn.role, f"{pack}-IAMNoInlinePolicy", _CDK_GRANT_POLICY)

    sqs_triggered = (
        "SQS-triggered: a Lambda DLQ applies only to asynchronous invocations; a message that fails "
        "5 receives moves to IngestDLQ through the queue's redrive policy"
    )
    for rule in ("Serverless-LambdaDLQ", "HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ"):
        _ack(transform.function, rule, sqs_triggered)
    _ack(
        transform.function,
        "Serverless-LambdaEventSourceMappingDestination",
        "On-failure destinations are not supported for SQS event sources; IngestDLQ (redrive "
        "policy, maxReceiveCount 5) keeps failed notifications",
    )
    _ack(
        score.function,
        "Serverless-LambdaAsyncFailureDestination",
        "Failed asynchronous runs go to ScoreDLQ through the function's DeadLetterConfig (also the "
        "schedules' DLQ); an on-failure destination as well would deliver every failure twice",
    )
    for pattern, why in (
        ("incoming/*", "the transform reads only uploads, any establishment, object-level"),
        ("reports/*", "the transform writes one report per processed batch under reports/"),
        ("quarantine/*", "the transform copies a quarantined batch under quarantine/"),
    ):
        _ack(transform.role, _bucket_prefix_finding(bucket_id, pattern), f"Prefix-scoped: {why}")

    _ack(
        kiosk.uploader_policy,
        _bucket_prefix_finding(bucket_id, "incoming/<aws:PrincipalTag/establishment>/*"),
        "Object keys are the caller's own establishment prefix (session tag, restricted to the "
        "configured establishments by the trust policy); create-only via s3:if-none-match",
    )
    for est, policy in kiosk.policies.items():
        _ack(
            policy,
            _bucket_prefix_finding(bucket_id, f"incoming/{est}/*"),
            f"Object keys under one establishment's upload prefix ({est}); create-only via s3:if-none-match",
        )

    for queue in (ingest.dlq, scoring.dlq, alerting.delivery_dlq):
        _ack(queue, "Serverless-SQSRedrivePolicy", _IS_DLQ)
    _ack(
        alerting.delivery_dlq,
        "AwsSolutions-SQS3",
        _IS_DLQ + "; it is the redrive target of the AlertTopic subscriptions, which cdk-nag does not see",
    )

    _ack(
        stack.operations.topic,
        "Serverless-SNSRedrivePolicy",
        "Operator subscriptions only mirror CloudWatch alarm states, which stay visible on the "
        "dashboard and in the console; an undelivered operator email loses no data",
    )

    for table in (stack.storage.activity_table, stack.storage.state_table):
        for pack in ("HIPAA.Security", "NIST.800.53.R5"):
            _ack(table, f"{pack}-DynamoDBInBackupPlan", _NO_BACKUP_PLAN)
    for pack in ("HIPAA.Security", "NIST.800.53.R5"):
        _ack(ingest.bucket, f"{pack}-S3BucketReplicationEnabled", _NO_REPLICATION)
        _ack(
            ingest.access_log_bucket,
            f"{pack}-S3BucketReplicationEnabled",
            "Access logs of the ingest bucket stay in its region with it; versioned and retained "
            f"{c.ACCESS_LOG_RETENTION_DAYS} days, which covers incident review",
        )
        _ack(
            ingest.access_log_bucket,
            f"{pack}-S3DefaultEncryptionKMS",
            "S3 server access logging delivers only to buckets encrypted with SSE-S3; the logs hold "
            "request metadata (keys, callers), not record content",
        )
        _ack(
            ingest.bucket.node.find_child("Notifications"),
            f"{pack}-IAMNoInlinePolicy",
            "CDK's bucket-notifications policy: s3:Get/PutBucketNotification on this bucket only",
        )

    handler = stack.node.try_find_child(BUCKET_NOTIFICATIONS_HANDLER_ID)
    if handler is not None:
        _ack(
            handler,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's own custom-resource Lambda that configures the bucket notifications at deploy time; "
            "its role is not configurable and only writes its own logs",
        )
