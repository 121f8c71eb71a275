"""Scoring: the scorer function and one EventBridge Scheduler schedule per establishment."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.constructs.alerting import Alerting
from infra.constructs.common import data_key, dlq_retention, encrypted_queue, queue_send_statements
from infra.constructs.function import AimFunction, FunctionRuntime
from infra.constructs.storage import Storage
from infra.nag import ALERT_ID_KEY_NOT_ROTATED, ASYNC_DLQ, HIPAA_AND_NIST, IS_DLQ, acknowledge

# Scheduler's context attribute, substituted at each invocation.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def schedule_input(establishment: str) -> str:
    """The event the scorer receives: which establishment, and the nominal run time."""
    return json.dumps({"establishment": establishment, "scheduled_time": SCHEDULED_TIME})


def rate_expression(minutes: int) -> str:
    return f"rate({minutes} minute{'s' if minutes != 1 else ''})"


def establishment_schedules(
    scope: Construct,
    id_prefix: str,
    establishments: Sequence[str],
    *,
    minutes: int,
    purpose: str,
    target: str,
    role: iam.Role,
    policy: iam.ManagedPolicy,
    dlq_arn: str,
    max_age: Duration,
    calendar: tuple[str, str, str] | None = None,
) -> dict[str, scheduler.CfnSchedule]:
    """One EventBridge Scheduler schedule per establishment invoking ``target`` every ``minutes``
    (or, with ``calendar`` = (cron expression, time zone, when in words), at those local times),
    retried and dead-lettered; each waits for the role's policy (it must exist before the first call)."""
    expression, timezone, when = calendar or (rate_expression(minutes), None, f"every {minutes} minutes")
    schedules: dict[str, scheduler.CfnSchedule] = {}
    for establishment in establishments:
        schedule = scheduler.CfnSchedule(
            scope,
            f"{id_prefix}{establishment}",
            description=f"AIM: {purpose} {establishment} {when}",
            schedule_expression=expression,
            schedule_expression_timezone=timezone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=target,
                role_arn=role.role_arn,
                input=schedule_input(establishment),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=c.SCHEDULE_MAX_RETRIES,
                    maximum_event_age_in_seconds=max_age.to_seconds(),
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dlq_arn),
            ),
        )
        schedule.node.add_dependency(policy)
        schedules[establishment] = schedule
    return schedules


def scheduler_role(
    scope: Construct, role_id: str, function_arn: str, dlq: sqs.Queue, what: str
) -> tuple[iam.Role, iam.ManagedPolicy]:
    """The role EventBridge Scheduler assumes (from this account only) to invoke ``function_arn``
    and dead-letter failed invocations to ``dlq``; ``what`` names the function in descriptions."""
    role = iam.Role(
        scope,
        role_id,
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        ),
        description=f"EventBridge Scheduler: invoke the AIM {what}",
    )
    policy = iam.ManagedPolicy(
        scope,
        f"{role_id}Policy",
        description=f"AIM: EventBridge Scheduler invokes the {what} and dead-letters failures",
        statements=[
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function_arn]),
            *queue_send_statements(dlq),
        ],
        roles=[role],
    )
    return role, policy


def scheduled_function(
    scope: Construct,
    function_id: str,
    dlq_id: str,
    *,
    runtime: FunctionRuntime,
    handler: str,
    description: str,
    dlq_description: str,
    timeout_seconds: int,
    memory_mb: int,
    retry_attempts: int,
    max_age: Duration,
) -> tuple[sqs.Queue, AimFunction]:
    """A function run by a schedule, with its own encrypted dead-letter queue for invocations that
    failed every retry (it may send to it; cdk-nag's findings on that pattern acknowledged)."""
    dlq = encrypted_queue(scope, dlq_id, description=dlq_description, retention=dlq_retention())
    function = AimFunction(
        scope,
        function_id,
        runtime=runtime,
        handler=handler,
        description=description,
        timeout=Duration.seconds(timeout_seconds),
        memory_size=memory_mb,
        dead_letter_queue=dlq,
        retry_attempts=retry_attempts,
        max_event_age=max_age,
    )
    for statement in queue_send_statements(dlq):
        function.role.add_to_principal_policy(statement)
    acknowledge(dlq, "Serverless-SQSRedrivePolicy", IS_DLQ)
    acknowledge(function.function, "Serverless-LambdaAsyncFailureDestination", ASYNC_DLQ)
    return dlq, function


class Scoring(Construct):
    """Score function, ScoreDLQ (failed schedule deliveries and failed async invocations),
    AlertIdKey (the secret that keys alert ids; only the scorer reads it), SchedulerRole and
    one CfnSchedule per establishment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: FunctionRuntime,
        storage: Storage,
        alerting: Alerting,
        establishments: Sequence[str],
        schedule_minutes: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.schedule_minutes = schedule_minutes
        # A run older than one period is superseded by the next scheduled run.
        max_age = Duration.seconds(max(60, min(schedule_minutes * 60, 6 * 3600)))
        self.dlq, self.score = scheduled_function(
            self,
            c.SCORE_FUNCTION,
            c.SCORE_DLQ,
            runtime=runtime,
            handler=c.SCORE_HANDLER,
            description="AIM scorer: updates baselines and traffic lights, raises alerts",
            dlq_description="scoring runs that could not run",
            timeout_seconds=c.SCORE_TIMEOUT_SECONDS,
            memory_mb=c.SCORE_MEMORY_MB,
            retry_attempts=2,
            max_age=max_age,
        )
        storage.grant_scorer(self.score.role)
        alerting.grant_publish(self.score.role)
        self.alert_id_key = self._alert_id_key()

        self.scheduler_role, self.scheduler_policy = scheduler_role(
            self, c.SCHEDULER_ROLE, self.score.function.function_arn, self.dlq, "scorer"
        )

        self.schedules = establishment_schedules(
            self,
            c.SCHEDULE_PREFIX,
            establishments,
            minutes=schedule_minutes,
            purpose="score",
            target=self.score.function.function_arn,
            role=self.scheduler_role,
            policy=self.scheduler_policy,
            dlq_arn=self.dlq.queue_arn,
            max_age=max_age,
        )

    def _alert_id_key(self) -> secretsmanager.Secret:
        """A generated per-deployment key for the alert-id HMAC: without it an alert id cannot be
        traced back to a prison number by trying them. Retained: alert ids already raised stay valid."""
        key = data_key(self, f"{c.ALERT_ID_KEY_SECRET}Key", "alert-id key secret")
        secret = secretsmanager.Secret(
            self,
            c.ALERT_ID_KEY_SECRET,
            description="AIM: key of the alert-id HMAC (read by the scorer only)",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=c.ALERT_ID_KEY_LENGTH, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        secret.grant_read(self.score.role)
        self.score.function.add_environment(c.ENV_ALERT_ID_KEY_SECRET_ARN, secret.secret_arn)
        acknowledge(secret, "AwsSolutions-SMG4", ALERT_ID_KEY_NOT_ROTATED)
        for pack in HIPAA_AND_NIST:
            acknowledge(secret, f"{pack}-SecretsManagerRotationEnabled", ALERT_ID_KEY_NOT_ROTATED)
        return secret
