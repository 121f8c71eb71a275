"""Ingest: kiosk uploads land in S3, S3 notifies SQS, the transform function drains SQS."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.constructs.common import data_key, dlq_retention, encrypted_queue, key_use
from infra.constructs.function import AimFunction, FunctionRuntime
from infra.constructs.storage import Storage
from infra.nag import (
    BUCKET_NOTIFICATIONS_HANDLER_ID,
    HIPAA_AND_NIST,
    IS_DLQ,
    NO_REPLICATION,
    SQS_NO_DESTINATION,
    SQS_TRIGGERED,
    acknowledge,
    bucket_prefix_finding,
)


class Ingest(Construct):
    """IngestBucket (+ access-log bucket), IngestQueue with IngestDLQ, and the Transform function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: FunctionRuntime,
        storage: Storage,
        raw_upload_days: int,
        report_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_log_bucket = s3.Bucket(
            self,
            c.ACCESS_LOG_BUCKET,
            # S3 server access logging can only deliver to an SSE-S3 bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(c.ACCESS_LOG_RETENTION_DAYS),
                    noncurrent_version_expiration=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.bucket_key = data_key(self, f"{c.INGEST_BUCKET}Key", "IngestBucket encryption")
        self.bucket = s3.Bucket(
            self,
            c.INGEST_BUCKET,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.bucket_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix=c.ACCESS_LOG_PREFIX,
            lifecycle_rules=[
                # Raw uploads are special-category data: keep them only as long as needed to
                # reprocess, including the copies versioning keeps.
                s3.LifecycleRule(
                    id="expire-raw-uploads",
                    prefix=c.INCOMING_PREFIX,
                    expiration=Duration.days(raw_upload_days),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-quarantine",
                    prefix=c.QUARANTINE_PREFIX,
                    expiration=Duration.days(raw_upload_days),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-batch-reports",
                    prefix=c.REPORTS_PREFIX,
                    expiration=Duration.days(report_days),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.dlq = encrypted_queue(
            self, c.INGEST_DLQ, description="ingest notifications that failed 5 times", retention=dlq_retention()
        )
        self.queue = encrypted_queue(
            self,
            c.INGEST_QUEUE,
            description="S3 upload notifications",
            visibility_timeout=Duration.seconds(c.INGEST_VISIBILITY_TIMEOUT_SECONDS),
            retention=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=c.INGEST_MAX_RECEIVE_COUNT),
        )
        destination = s3n.SqsDestination(self.queue)
        for suffix in c.UPLOAD_SUFFIXES:
            self.bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                destination,
                s3.NotificationKeyFilter(prefix=c.INCOMING_PREFIX, suffix=suffix),
            )

        self.transform = AimFunction(
            self,
            c.TRANSFORM_FUNCTION,
            runtime=runtime,
            handler=c.TRANSFORM_HANDLER,
            description="AIM transform: validates kiosk batches and stores activity facts",
            timeout=Duration.seconds(c.TRANSFORM_TIMEOUT_SECONDS),
            memory_size=c.TRANSFORM_MEMORY_MB,
        )
        self.transform.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=c.INGEST_BATCH_SIZE,
                max_batching_window=Duration.seconds(c.INGEST_MAX_BATCHING_WINDOW_SECONDS),
                max_concurrency=c.INGEST_MAX_CONCURRENCY,
                report_batch_item_failures=True,
            )
        )
        self._grant_transform_objects(self.transform.role)
        storage.grant_transform(self.transform.role)
        self._acknowledge_findings()

    def _acknowledge_findings(self) -> None:
        for rule in ("Serverless-LambdaDLQ", "HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ"):
            acknowledge(self.transform.function, rule, SQS_TRIGGERED)
        acknowledge(self.transform.function, "Serverless-LambdaEventSourceMappingDestination", SQS_NO_DESTINATION)
        for prefix, why in (
            (c.INCOMING_PREFIX, "the transform reads only uploads, any establishment, object-level"),
            (c.REPORTS_PREFIX, "the transform writes one report per processed batch under reports/"),
            (c.QUARANTINE_PREFIX, "the transform copies a quarantined batch under quarantine/"),
        ):
            acknowledge(self.transform.role, bucket_prefix_finding(self.bucket, f"{prefix}*"), f"Prefix-scoped: {why}")
        acknowledge(self.dlq, "Serverless-SQSRedrivePolicy", IS_DLQ)
        for pack in HIPAA_AND_NIST:
            acknowledge(self.bucket, f"{pack}-S3BucketReplicationEnabled", NO_REPLICATION)
            acknowledge(
                self.access_log_bucket,
                f"{pack}-S3BucketReplicationEnabled",
                "Access logs of the ingest bucket stay in its region with it; versioned and retained "
                f"{c.ACCESS_LOG_RETENTION_DAYS} days, which covers incident review",
            )
            acknowledge(
                self.access_log_bucket,
                f"{pack}-S3DefaultEncryptionKMS",
                "S3 server access logging delivers only to buckets encrypted with SSE-S3; the logs hold "
                "request metadata (keys, callers), not record content",
            )
            acknowledge(
                self.bucket.node.find_child("Notifications"),
                f"{pack}-IAMNoInlinePolicy",
                "CDK's bucket-notifications policy: s3:Get/PutBucketNotification on this bucket only",
            )
        handler = Stack.of(self).node.try_find_child(BUCKET_NOTIFICATIONS_HANDLER_ID)
        if handler is not None:
            acknowledge(
                handler,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "CDK's own custom-resource Lambda that configures the bucket notifications at deploy time; "
                "its role is not configurable and only writes its own logs",
            )

    def _grant_transform_objects(self, role: iam.IRole) -> None:
        """Read uploads; write batch reports and quarantine copies. Nothing else in the bucket."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{c.INCOMING_PREFIX}*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[
                    self.bucket.arn_for_objects(f"{c.REPORTS_PREFIX}*"),
                    self.bucket.arn_for_objects(f"{c.QUARANTINE_PREFIX}*"),
                ],
            )
        )
        role.add_to_principal_policy(key_use(self.bucket_key, "s3", "kms:Decrypt", "kms:GenerateDataKey"))
