"""Alerting: the SNS topic staff subscribe to for alerts, escalations and the weekly digest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.constructs.common import (
    allow_service_principal_on_key,
    data_key,
    dlq_retention,
    encrypted_queue,
    key_use,
)
from infra.nag import IS_DLQ, acknowledge


def filter_policy(policy: Mapping[str, Sequence[str]]) -> dict[str, sns.SubscriptionFilter]:
    """A subscription filter policy: each message attribute must take one of the listed values."""
    return {name: sns.SubscriptionFilter.string_filter(allowlist=list(values)) for name, values in policy.items()}


def subscriber_policies(alert_emails: Sequence[str], governor_emails: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """Each address's filter policy; an address on both lists gets what both lists get (one subscription)."""
    kinds: dict[str, list[str]] = {}
    for addresses, policy in ((alert_emails, c.OFFICER_FILTER_POLICY), (governor_emails, c.GOVERNOR_FILTER_POLICY)):
        for address in addresses:
            held = kinds.setdefault(address, [])
            held.extend(k for k in policy["kind"] if k not in held)
    return {address: {"kind": held} for address, held in kinds.items()}


class Alerting(Construct):
    """AlertTopic (own CMK, TLS only) with one email subscription per configured address.

    Who gets what is a filter policy on the ``kind`` message attribute: duty officers
    (``alert_emails``) get alerts and escalations, governors (``governor_emails``) escalations
    and the weekly digest. Every subscription gets a dead-letter queue so a message SNS could
    not deliver is kept (and alarmed on) rather than lost.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alert_emails: Sequence[str],
        governor_emails: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic_key = data_key(self, f"{c.ALERT_TOPIC}Key", "AlertTopic encryption")
        self.topic = sns.Topic(
            self,
            c.ALERT_TOPIC,
            display_name="AIM alerts",
            master_key=self.topic_key,
            enforce_ssl=True,
            signature_version="2",
        )
        self.delivery_dlq: sqs.Queue = encrypted_queue(
            self, c.ALERT_DLQ, description="undeliverable AIM alerts", retention=dlq_retention()
        )
        assert self.delivery_dlq.encryption_master_key is not None
        allow_service_principal_on_key(
            self.delivery_dlq.encryption_master_key,
            "sns.amazonaws.com",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            source_arn=self.topic.topic_arn,
            source_account=False,  # as CDK's own SNS->encrypted SQS grant: the topic ARN suffices
        )
        for address, policy in subscriber_policies(alert_emails, governor_emails).items():
            self.topic.add_subscription(
                subscriptions.EmailSubscription(
                    address, dead_letter_queue=self.delivery_dlq, filter_policy=filter_policy(policy)
                )
            )
        acknowledge(self.delivery_dlq, "Serverless-SQSRedrivePolicy", IS_DLQ)
        acknowledge(
            self.delivery_dlq,
            "AwsSolutions-SQS3",
            IS_DLQ + "; it is the redrive target of the AlertTopic subscriptions, which cdk-nag does not see",
        )

    def grant_publish(self, principal: iam.IGrantable) -> None:
        principal.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn])
        )
        principal.grant_principal.add_to_principal_policy(
            key_use(self.topic_key, "sns", "kms:Decrypt", "kms:GenerateDataKey")
        )
