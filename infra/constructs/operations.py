"""Operations: alarms on everything that can silently stop AIM, a dashboard, an operator topic."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.constructs.alerting import Alerting
from infra.constructs.common import allow_service_principal_on_key, data_key
from infra.constructs.ingest import Ingest
from infra.constructs.scoring import Scoring
from infra.nag import OPERATOR_TOPIC_NO_DLQ, acknowledge

_FIVE_MINUTES = Duration.minutes(5)
_MAX_ALARM_PERIOD_SECONDS = 86_400  # CloudWatch: period x evaluation periods <= 1 day


class Operations(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ingest: Ingest,
        scoring: Scoring,
        alerting: Alerting,
        operator_emails: Sequence[str],
        sms_spend_alarm_usd: float,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic_key = data_key(self, f"{c.OPERATOR_TOPIC}Key", "OperatorTopic encryption")
        self.topic = sns.Topic(
            self,
            c.OPERATOR_TOPIC,
            display_name="AIM operations",
            master_key=self.topic_key,
            enforce_ssl=True,
            signature_version="2",
        )
        # CloudWatch alarms of this account publish to the encrypted topic: the topic policy
        # made for enforce_ssl replaces SNS's default one, so allow them explicitly.
        alarms_in_this_account = Stack.of(self).format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        allow_service_principal_on_key(
            self.topic_key,
            "cloudwatch.amazonaws.com",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            source_arn=alarms_in_this_account,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": alarms_in_this_account},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        for address in operator_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))
        acknowledge(self.topic, "Serverless-SNSRedrivePolicy", OPERATOR_TOPIC_NO_DLQ)
        self._action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

        for queue_id, queue in (
            (c.INGEST_DLQ, ingest.dlq),
            (c.SCORE_DLQ, scoring.dlq),
            (c.ALERT_DLQ, alerting.delivery_dlq),
        ):
            self._alarm(
                f"{queue_id}NotEmpty",
                queue.metric_approximate_number_of_messages_visible(period=_FIVE_MINUTES, statistic="Maximum"),
                f"{queue_id} holds messages: work that failed and needs an operator (redrive after the fix)",
                threshold=0,
            )
        self._alarm(
            "IngestBacklogOld",
            ingest.queue.metric_approximate_age_of_oldest_message(period=_FIVE_MINUTES, statistic="Maximum"),
            "Kiosk uploads have waited over an hour: the transform is not keeping up or is failing",
            threshold=3600,
        )
        for function_id, function in (
            (c.TRANSFORM_FUNCTION, ingest.transform.function),
            (c.SCORE_FUNCTION, scoring.score.function),
        ):
            self._alarm(
                f"{function_id}Errors",
                function.metric_errors(period=_FIVE_MINUTES, statistic="Sum"),
                f"The {function_id} function raised errors",
                threshold=0,
            )
        missed_period = Duration.seconds(min(2 * scoring.schedule_minutes * 60, _MAX_ALARM_PERIOD_SECONDS))
        self._alarm(
            "ScoreMissedSchedule",
            scoring.score.function.metric_invocations(period=missed_period, statistic="Sum"),
            "The scorer was not invoked for two schedule periods: traffic lights are going stale",
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing=cloudwatch.TreatMissingData.BREACHING,
        )
        self._alarm(
            "AlertDeliveryFailed",
            alerting.topic.metric_number_of_notifications_failed(period=_FIVE_MINUTES, statistic="Sum"),
            "SNS failed to deliver alerts to a subscriber",
            threshold=0,
        )
        self._alarm(
            "SmsSpend",
            cloudwatch.Metric(
                namespace="AWS/SNS",
                metric_name="SMSMonthToDateSpentUSD",
                period=Duration.hours(1),
                statistic="Maximum",
            ),
            f"SMS spend this month is above {sms_spend_alarm_usd} USD",
            threshold=sms_spend_alarm_usd,
        )

        self.dashboard = cloudwatch.Dashboard(self, c.DASHBOARD, default_interval=Duration.days(1))
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="AIM alarms", alarms=list(self.alarms), width=24, height=4)
        )
        self.dashboard.add_widgets(
            *[
                self._function_widget(name, fn)
                for name, fn in (
                    (c.TRANSFORM_FUNCTION, ingest.transform.function),
                    (c.SCORE_FUNCTION, scoring.score.function),
                )
            ],
            self._queue_widget(ingest.queue, ingest.dlq, scoring.dlq, alerting.delivery_dlq),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Alerts (SNS)",
                left=[
                    alerting.topic.metric_number_of_messages_published(period=_FIVE_MINUTES),
                    alerting.topic.metric_number_of_notifications_delivered(period=_FIVE_MINUTES),
                    alerting.topic.metric_number_of_notifications_failed(period=_FIVE_MINUTES),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Scorer duration (ms)",
                left=[scoring.score.function.metric_duration(period=_FIVE_MINUTES, statistic="p99")],
                right=[scoring.score.function.metric_duration(period=_FIVE_MINUTES, statistic="Maximum")],
                width=12,
            ),
        )

    def watch_scheduled_jobs(
        self, jobs: Sequence[tuple[str, str, lambda_.IFunction, sqs.IQueue, int | None]]
    ) -> list[cloudwatch.Alarm]:
        """Alarms for functions run by their own schedules (escalation, digest), as the scorer has:
        each ``(function id, dead-letter queue id, function, dead-letter queue, schedule minutes)``
        gets an alarm on its dead-letter queue and on its errors, and, when its schedule is shorter
        than a day, one on missed runs. One row of the dashboard shows them."""
        added: list[cloudwatch.Alarm] = []
        for function_id, queue_id, function, dlq, minutes in jobs:
            added.append(
                self._alarm(
                    f"{queue_id}NotEmpty",
                    dlq.metric_approximate_number_of_messages_visible(period=_FIVE_MINUTES, statistic="Maximum"),
                    f"{queue_id} holds messages: {function_id} runs that failed (redrive after the fix)",
                    threshold=0,
                )
            )
            added.append(
                self._alarm(
                    f"{function_id}Errors",
                    function.metric_errors(period=_FIVE_MINUTES, statistic="Sum"),
                    f"The {function_id} function raised errors",
                    threshold=0,
                )
            )
            if minutes is not None and 2 * minutes * 60 <= _MAX_ALARM_PERIOD_SECONDS:
                added.append(
                    self._alarm(
                        f"{function_id}MissedSchedule",
                        function.metric_invocations(period=Duration.minutes(2 * minutes), statistic="Sum"),
                        f"The {function_id} function was not invoked for two schedule periods",
                        threshold=1,
                        comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                        missing=cloudwatch.TreatMissingData.BREACHING,
                    )
                )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="AIM scheduled jobs: alarms", alarms=added, width=24, height=3)
        )
        return added

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            alarm_description=description,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=1,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    @staticmethod
    def _function_widget(name: str, function: lambda_.IFunction) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(
            title=f"{name} function",
            left=[
                function.metric_invocations(period=_FIVE_MINUTES),
                function.metric_errors(period=_FIVE_MINUTES),
                function.metric_throttles(period=_FIVE_MINUTES),
            ],
            width=8,
        )

    @staticmethod
    def _queue_widget(queue: sqs.IQueue, *dlqs: sqs.IQueue) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(
            title="Queues (visible messages)",
            left=[queue.metric_approximate_number_of_messages_visible(period=_FIVE_MINUTES)],
            right=[d.metric_approximate_number_of_messages_visible(period=_FIVE_MINUTES) for d in dlqs],
            width=8,
        )
