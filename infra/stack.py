"""The AIM stack: composes one construct per capability. Read this file for the architecture."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aim.config import AimConfig
from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants as c
from infra.constructs.alerting import Alerting
from infra.constructs.common import data_key, logs_key_policy
from infra.constructs.digest import Digest
from infra.constructs.escalation import Escalation
from infra.constructs.function import ARCHITECTURE, RUNTIME, FunctionRuntime
from infra.constructs.ingest import Ingest
from infra.constructs.kiosk_access import KioskAccess
from infra.constructs.operations import Operations
from infra.constructs.scoring import Scoring
from infra.constructs.staff import Staff
from infra.constructs.storage import Storage


class AimStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AimConfig,
        code_asset_dir: Path,
        layer_asset_dir: Path,
        operator_emails: Sequence[str] = (),
        sms_spend_alarm_usd: float = c.DEFAULT_SMS_SPEND_ALARM_USD,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, description=c.STACK_DESCRIPTION, **kwargs)
        self.config = config

        self.storage = Storage(self, c.STORAGE)
        self.alerting = Alerting(
            self, c.ALERTING, alert_emails=config.alert_emails, governor_emails=config.governor_emails
        )

        logs_key = data_key(self, c.LOGS_KEY, "function log groups")
        logs_key_policy(logs_key)
        layer = lambda_.LayerVersion(
            self,
            c.DEPENDENCY_LAYER,
            code=lambda_.Code.from_asset(str(layer_asset_dir)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="AIM runtime dependencies: powertools, pydantic, numpy, tzdata",
        )
        runtime = FunctionRuntime(
            code=lambda_.Code.from_asset(str(code_asset_dir)),
            layer=layer,
            logs_key=logs_key,
            environment={
                c.ENV_ACTIVITY_TABLE: self.storage.activity_table.table_name,
                c.ENV_STATE_TABLE: self.storage.state_table.table_name,
                c.ENV_ALERT_TOPIC_ARN: self.alerting.topic.topic_arn,
                # Without alert_emails and governor_emails: staff addresses are subscribed to the
                # topic, never given to code.
                c.ENV_AIM_CONFIG: config.runtime_json(),
                c.ENV_POWERTOOLS_SERVICE_NAME: c.SERVICE_NAME,
                c.ENV_POWERTOOLS_METRICS_NAMESPACE: c.METRICS_NAMESPACE,
                c.ENV_LOG_LEVEL: c.LOG_LEVEL,
            },
        )

        self.ingest = Ingest(
            self,
            c.INGEST,
            runtime=runtime,
            storage=self.storage,
            raw_upload_days=config.retention.raw_upload_days,
            report_days=config.retention.activity_days,
        )
        self.scoring = Scoring(
            self,
            c.SCORING,
            runtime=runtime,
            storage=self.storage,
            alerting=self.alerting,
            establishments=config.establishments,
            schedule_minutes=config.schedule_minutes,
        )
        # The bucket is created inside Ingest, so its name joins the shared environment here.
        for function in (self.ingest.transform.function, self.scoring.score.function):
            function.add_environment(c.ENV_INGEST_BUCKET, self.ingest.bucket.bucket_name)
        self.kiosk_access = KioskAccess(
            self, c.KIOSK_ACCESS, bucket=self.ingest.bucket, establishments=config.establishments
        )
        self.operations = Operations(
            self,
            c.OPERATIONS,
            ingest=self.ingest,
            scoring=self.scoring,
            alerting=self.alerting,
            operator_emails=operator_emails,
            sms_spend_alarm_usd=sms_spend_alarm_usd,
        )

        self.staff = Staff(
            self,
            c.STAFF,
            runtime=runtime,
            storage=self.storage,
            establishments=config.establishments,
            alarm_topic=self.operations.topic,
            sign_in=config.sign_in,
        )
        self.escalation = Escalation(
            self,
            c.ESCALATION,
            runtime=runtime,
            storage=self.storage,
            alerting=self.alerting,
            case_table=self.staff.case_table,
            case_key=self.staff.case_key,
            establishments=config.establishments,
        )
        self.digest = Digest(
            self,
            c.DIGEST,
            runtime=runtime,
            storage=self.storage,
            alerting=self.alerting,
            case_table=self.staff.case_table,
            case_key=self.staff.case_key,
            establishments=config.establishments,
            settings=config.digest,
            timezone=config.timezone,
        )
        self.operations.watch_scheduled_jobs(
            [
                (
                    c.ESCALATE_FUNCTION,
                    c.ESCALATE_DLQ,
                    self.escalation.escalate.function,
                    self.escalation.dlq,
                    c.ESCALATION_SCHEDULE_MINUTES,
                ),
                (c.DIGEST_FUNCTION, c.DIGEST_DLQ, self.digest.digest.function, self.digest.dlq, None),
            ]
        )

        CfnOutput(self, "IngestBucketName", value=self.ingest.bucket.bucket_name)
        CfnOutput(self, "AlertTopicArn", value=self.alerting.topic.topic_arn)
        CfnOutput(self, "OperatorTopicArn", value=self.operations.topic.topic_arn)
        CfnOutput(self, "KioskUploaderRoleArn", value=self.kiosk_access.uploader_role.role_arn)
        for establishment, policy in self.kiosk_access.policies.items():
            CfnOutput(self, f"KioskUploadPolicy{establishment}Arn", value=policy.managed_policy_arn)
        CfnOutput(self, "DashboardName", value=self.operations.dashboard.dashboard_name)
