"""Escalation: the escalate function and one EventBridge Scheduler schedule per establishment,
every few minutes, independent of the scorer's schedule."""

from __future__ import annotations

from collections.abc import Sequence

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


class Escalation(Construct):
    """Escalate function, EscalateDLQ (failed schedule deliveries and failed async invocations),
    EscalationSchedulerRole and one CfnSchedule per establishment."""

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
        schedule_minutes: int = c.ESCALATION_SCHEDULE_MINUTES,
    ) -> None:
        super().__init__(scope, construct_id)
        # A run older than one period is superseded by the next one.
        max_age = Duration.seconds(max(60, schedule_minutes * 60))
        self.dlq, self.escalate = scheduled_function(
            self,
            c.ESCALATE_FUNCTION,
            c.ESCALATE_DLQ,
            runtime=runtime,
            handler=c.ESCALATE_HANDLER,
            description="AIM escalation: re-publishes reds nobody has acknowledged",
            dlq_description="escalation runs that could not run",
            timeout_seconds=c.ESCALATE_TIMEOUT_SECONDS,
            memory_mb=c.ESCALATE_MEMORY_MB,
            retry_attempts=1,
            max_age=max_age,
        )
        self.escalate.function.add_environment("CASE_TABLE", case_table.table_name)
        role = self.escalate.role
        # Alert records read; escalation records and outbox written (a transaction of two puts), outbox deleted.
        state_actions = ("dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query")
        grant_table(role, storage.state_table, storage.state_key, *state_actions)
        grant_table(role, case_table, case_key, "dynamodb:BatchGetItem")
        alerting.grant_publish(role)
        self._schedules(establishments, schedule_minutes, max_age)

    def _schedules(self, establishments: Sequence[str], minutes: int, max_age: Duration) -> None:
        self.scheduler_role, policy = scheduler_role(
            self, c.ESCALATION_SCHEDULER_ROLE, self.escalate.function.function_arn, self.dlq, "escalation function"
        )
        self.schedules = establishment_schedules(
            self,
            c.ESCALATION_SCHEDULE_PREFIX,
            establishments,
            minutes=minutes,
            purpose="escalate unacknowledged reds of",
            target=self.escalate.function.function_arn,
            role=self.scheduler_role,
            policy=policy,
            dlq_arn=self.dlq.queue_arn,
            max_age=max_age,
        )
