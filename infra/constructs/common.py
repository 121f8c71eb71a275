"""Small building blocks shared by the capability constructs.

Everything that holds data gets its own customer-managed KMS key (rotation on), so a
key policy never has to name a resource that in turn names the key: no circular
dependencies, and revoking one store's key leaves the others readable.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c


def data_key(scope: Construct, construct_id: str, description: str) -> kms.Key:
    """A customer-managed key for one data store; retained, because losing the key loses the data."""
    return kms.Key(
        scope,
        construct_id,
        description=f"AIM: {description}",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN,
    )


def via_service(service: str) -> dict[str, dict[str, str]]:
    """Condition restricting key use to requests an AWS service makes on the caller's behalf."""
    return {"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}}


TABLE_READ_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
TABLE_KEY_ACTIONS = (*TABLE_READ_KEY_ACTIONS, "kms:Encrypt", "kms:GenerateDataKey")


def grant_table(
    principal: iam.IGrantable, table: dynamodb.ITable, key: kms.IKey, *actions: str, read_only: bool = False
) -> None:
    """Exactly ``actions`` on ``table``, and its key's use through DynamoDB (decrypt only when
    ``read_only``)."""
    role = principal.grant_principal
    role.add_to_principal_policy(iam.PolicyStatement(actions=sorted(actions), resources=[table.table_arn]))
    role.add_to_principal_policy(
        key_use(key, "dynamodb", *(TABLE_READ_KEY_ACTIONS if read_only else TABLE_KEY_ACTIONS))
    )


def key_use(key: kms.IKey, service: str, *actions: str) -> iam.PolicyStatement:
    """Exact KMS actions on one key, only through one service (no wildcard actions)."""
    return iam.PolicyStatement(
        actions=sorted(set(actions)),
        resources=[key.key_arn],
        conditions=via_service(service),
    )


def allow_service_principal_on_key(
    key: kms.IKey,
    service_principal: str,
    actions: Sequence[str],
    *,
    source_arn: str,
    source_account: bool = True,
) -> None:
    """Let an AWS service (CloudWatch, SNS, ...) use a key only on behalf of one source
    (aws:SourceArn may contain wildcards) in this account: no confused deputy."""
    conditions: dict[str, dict[str, str]] = {"ArnLike": {"aws:SourceArn": source_arn}}
    if source_account:
        conditions["StringEquals"] = {"aws:SourceAccount": Aws.ACCOUNT_ID}
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(service_principal)],
            actions=list(actions),
            resources=["*"],  # in a key policy "*" means this key
            conditions=conditions,
        )
    )


def encrypted_queue(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    visibility_timeout: Duration | None = None,
    retention: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    """An SQS queue with its own CMK and a TLS-only queue policy."""
    key = data_key(scope, f"{construct_id}Key", f"{description} ({construct_id})")
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        data_key_reuse=Duration.hours(1),
        enforce_ssl=True,
        visibility_timeout=visibility_timeout,
        retention_period=retention,
        dead_letter_queue=dead_letter_queue,
        removal_policy=RemovalPolicy.DESTROY,
    )


def queue_send_statements(queue: sqs.Queue) -> list[iam.PolicyStatement]:
    """sqs:SendMessage on one queue plus the key use it needs (for a role that feeds a DLQ)."""
    statements = [iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn])]
    if queue.encryption_master_key is not None:
        statements.append(key_use(queue.encryption_master_key, "sqs", "kms:GenerateDataKey", "kms:Decrypt"))
    return statements


def logs_key_policy(key: kms.Key) -> None:
    """CloudWatch Logs encrypts the function log groups with this key."""
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            actions=[
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )


def dlq_retention() -> Duration:
    return Duration.days(c.DLQ_RETENTION_DAYS)
