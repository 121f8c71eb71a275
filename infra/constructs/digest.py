"""Digest: the weekly digest function and one EventBridge Scheduler schedule per establishment,
on the configured weekday and hour in the establishment's local time."""

from __future__ import annotations

from collections.abc import Sequence

from aim.config import Digest as DigestSettings
from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra import constants as c
from infra.constructs.alerting import Alerting
from infra.constructs.common import grant_table
from infra.constructs.function import FunctionRuntime
from infra.constructs.scoring import establishment_schedules, scheduled_function, scheduler_role
from infra.constructs.storage import Storage

# Reading a table encrypted with a customer-managed key.


def weekly_cron(settings: DigestSettings) -> str:
    """EventBridge Scheduler cron: minute hour day-of-month month day-of-week year."""
    return f"cron(0 {settings.hour} ? * {settings.weekday} *)"


class Digest(Construct):
    """Digest function (reads alert records and cases, publishes to the alert topic), DigestDLQ
    (failed schedule deliveries and failed async invocations), DigestSchedulerRole and one
    CfnSchedule per establishment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: FunctionRuntime,
        storage: Storage,
        alerting: Alerting,
        case_table: dynamodb.ITable,
        case_key: kms.IKey,
        establishments: Sequence[str],
        settings: DigestSettings,
        timezone: str,
    ) -> None:
        super().__init__(scope, construct_id)
        max_age = Duration.seconds(c.DIGEST_MAX_EVENT_AGE_SECONDS)
        self.dlq, self.digest = scheduled_function(
            self,
            c.DIGEST_FUNCTION,
            c.DIGEST_DLQ,
            runtime=runtime,
            handler=c.DIGEST_HANDLER,
            description="AIM weekly digest: how the week's reds were acted on, to the governors",
            dlq_description="weekly digests that could not be sent",
            timeout_seconds=c.DIGEST_TIMEOUT_SECONDS,
            memory_mb=c.DIGEST_MEMORY_MB,
            retry_attempts=2,
            max_age=max_age,
        )
        self.digest.function.add_environment("CASE_TABLE", case_table.table_name)
        role = self.digest.role
        # Read only: the alert records (one query) and their cases (batch get).
        grant_table(role, storage.state_table, storage.state_key, "dynamodb:Query", read_only=True)
        grant_table(role, case_table, case_key, "dynamodb:BatchGetItem", read_only=True)
        alerting.grant_publish(role)
        self.expression = weekly_cron(settings)
        self.timezone = timezone
        self._schedules(establishments, settings, timezone, max_age)

    def _schedules(
        self, establishments: Sequence[str], settings: DigestSettings, timezone: str, max_age: Duration
    ) -> None:
        self.scheduler_role, policy = scheduler_role(
            self, c.DIGEST_SCHEDULER_ROLE, self.digest.function.function_arn, self.dlq, "weekly digest function"
        )
        self.schedules = establishment_schedules(
            self,
            c.DIGEST_SCHEDULE_PREFIX,
            establishments,
            minutes=7 * 24 * 60,
            purpose="send the weekly digest of",
            target=self.digest.function.function_arn,
            role=self.scheduler_role,
            policy=policy,
            dlq_arn=self.dlq.queue_arn,
            max_age=max_age,
            calendar=(self.expression, timezone, f"every {settings.weekday} at {settings.hour:02d}:00 {timezone}"),
        )
