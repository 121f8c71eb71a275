"""Storage: the two DynamoDB tables (facts and derived state), each with its own CMK."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra import constants as c
from infra.constructs.common import data_key, grant_table
from infra.nag import HIPAA_AND_NIST, NO_BACKUP_PLAN, acknowledge

# DynamoDB calls the key on the caller's behalf for reads and writes.


def data_table(scope: Construct, construct_id: str, key: kms.IKey, *, ttl: bool) -> dynamodb.Table:
    """An AIM table: string keys ``pk``/``sk``, on demand, encrypted with its own key, point-in-time
    recovery, deletion protection, retained; ``expires_at`` as TTL when ``ttl``."""
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=c.PARTITION_KEY, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=c.SORT_KEY, type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True,
        time_to_live_attribute=c.TTL_ATTRIBUTE if ttl else None,
        removal_policy=RemovalPolicy.RETAIN,
    )


class Storage(Construct):
    """ActivityTable (facts, TTL `expires_at`) and StateTable (derived state; TTL for alerts and people who left)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.activity_key = data_key(self, f"{c.ACTIVITY_TABLE}Key", "ActivityTable encryption")
        self.state_key = data_key(self, f"{c.STATE_TABLE}Key", "StateTable encryption")
        self.activity_table = data_table(self, c.ACTIVITY_TABLE, self.activity_key, ttl=True)
        # TTL on state too: alert records and the state of people released or transferred expire.
        self.state_table = data_table(self, c.STATE_TABLE, self.state_key, ttl=True)
        for table in (self.activity_table, self.state_table):
            for pack in HIPAA_AND_NIST:
                acknowledge(table, f"{pack}-DynamoDBInBackupPlan", NO_BACKUP_PLAN)

    def grant_transform(self, principal: iam.IGrantable) -> None:
        """The transform reads which facts exist and writes new ones plus day markers."""
        grant_table(
            principal,
            self.activity_table,
            self.activity_key,
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:UpdateItem",
        )

    def grant_scorer(self, principal: iam.IGrantable) -> None:
        """The scorer reads facts and owns the derived state (leases, per-prisoner state, alerts)."""
        grant_table(
            principal,
            self.activity_table,
            self.activity_key,
            "dynamodb:BatchGetItem",
            "dynamodb:GetItem",
            "dynamodb:Query",
        )
        grant_table(
            principal,
            self.state_table,
            self.state_key,
            "dynamodb:BatchWriteItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        )
